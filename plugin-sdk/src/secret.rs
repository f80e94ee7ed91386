//! Showing leaked secrets without leaking them again: secret scanners report
//! the secret itself, and findings are read by many more people than the
//! repository was.

/// A masked form of a secret: its length and, for long ones, the first four
/// characters (enough to tell which key to rotate, not enough to use it).
/// A PEM header line ("-----BEGIN RSA PRIVATE KEY-----") is kept as it is:
/// it is not secret and says which kind of key leaked. Blank gives "".
pub fn mask(secret: &str) -> String {
    let s = secret.trim();
    if is_pem_header(s) {
        return s.to_owned();
    }
    let n = s.chars().count();
    if n == 0 {
        return String::new();
    }
    let prefix: String = if n >= 16 {
        s.chars().take(4).collect()
    } else {
        String::new()
    };
    format!("{prefix}**** ({n} characters, masked)")
}

/// `text` with every occurrence of `secret` replaced by `****`. Text is kept
/// as it is when the secret is blank, already redacted by the scanner, or a
/// PEM header (see [`mask`]).
pub fn mask_in(text: &str, secret: &str) -> String {
    let s = secret.trim();
    if s.is_empty() || s == "REDACTED" || is_pem_header(s) || !text.contains(s) {
        return text.to_owned();
    }
    text.replace(s, "****")
}

fn is_pem_header(s: &str) -> bool {
    s.starts_with("-----BEGIN") && s.ends_with("-----") && !s.contains('\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_secrets_keep_a_prefix_short_ones_nothing() {
        assert_eq!(
            mask("AKIAIOSFODNN7EXAMPLE"),
            "AKIA**** (20 characters, masked)"
        );
        assert_eq!(mask(" hunter2 "), "**** (7 characters, masked)");
        assert_eq!(
            mask("é".repeat(16).as_str()),
            "éééé**** (16 characters, masked)"
        );
        assert_eq!(mask("  "), "");
    }

    #[test]
    fn pem_headers_are_not_masked() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----";
        assert_eq!(mask(pem), pem);
        assert_eq!(mask_in(&format!("key: {pem}"), pem), format!("key: {pem}"));
        assert_ne!(mask("-----BEGIN X-----\nMIIE\n-----END X-----"), "");
    }

    #[test]
    fn secrets_are_masked_inside_text() {
        assert_eq!(
            mask_in("token=s3cr3t; again s3cr3t", "s3cr3t"),
            "token=****; again ****"
        );
        assert_eq!(mask_in("nothing here", "s3cr3t"), "nothing here");
        assert_eq!(mask_in("a REDACTED b", "REDACTED"), "a REDACTED b");
        assert_eq!(mask_in("text", ""), "text");
    }
}
