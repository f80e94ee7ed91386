//! Users, passwords and API tokens: hashing and token formats. Only hashes are
//! ever stored; a token is shown once, when it is created.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use rand::Rng;
use sha2::{Digest, Sha256};

use super::{DomainError, check_len};

/// Prefix of every Palisade API token, so leaked tokens are recognisable.
pub const TOKEN_PREFIX: &str = "pal_";
const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const TOKEN_RANDOM_CHARS: usize = 40;

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, DomainError> {
    validate_password(password)?;
    let mut salt = [0u8; 16];
    rand::rng().fill(&mut salt);
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DomainError::Invalid {
            field: "password".to_owned(),
            message: format!("cannot hash: {e}"),
        })
}

/// Whether `password` matches a stored PHC hash (false for malformed hashes).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Rejects passwords too short to be worth hashing.
pub fn validate_password(password: &str) -> Result<(), DomainError> {
    if password.chars().count() < 8 {
        return Err(DomainError::Invalid {
            field: "password".to_owned(),
            message: "must be at least 8 characters long".to_owned(),
        });
    }
    check_len("password", password, 1024, true)
}

/// Validates a username: 1–150 characters of letters, digits and `@.+-_`.
pub fn validate_username(name: &str) -> Result<(), DomainError> {
    check_len("username", name, 150, true)?;
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || "@.+-_".contains(c))
    {
        return Err(DomainError::Invalid {
            field: "username".to_owned(),
            message: "may contain only letters, digits and @ . + - _".to_owned(),
        });
    }
    Ok(())
}

/// A freshly generated token: the secret (shown once) and what is stored.
#[derive(Debug, Clone)]
pub struct NewTokenSecret {
    /// The whole token, `pal_` and 40 random characters.
    pub secret: String,
    /// The first characters, shown in lists to tell tokens apart.
    pub prefix: String,
    /// SHA-256 of the secret: tokens carry 238 bits of randomness, so a fast
    /// hash is safe and keeps every request's lookup cheap.
    pub hash: Vec<u8>,
}

/// Generates a new random token.
pub fn generate_token() -> NewTokenSecret {
    let mut rng = rand::rng();
    let random: String = (0..TOKEN_RANDOM_CHARS)
        .map(|_| char::from(TOKEN_ALPHABET[rng.random_range(0..TOKEN_ALPHABET.len())]))
        .collect();
    let secret = format!("{TOKEN_PREFIX}{random}");
    NewTokenSecret {
        prefix: secret.chars().take(TOKEN_PREFIX.len() + 8).collect(),
        hash: token_hash(&secret),
        secret,
    }
}

/// The stored hash of a presented token.
pub fn token_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.trim().as_bytes()).to_vec()
}

/// A random password for the bootstrap administrator.
pub fn random_password() -> String {
    let mut rng = rand::rng();
    (0..24)
        .map(|_| char::from(TOKEN_ALPHABET[rng.random_range(0..TOKEN_ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_hashes_are_salted() {
        let a = hash_password("correct horse").expect("hash");
        let b = hash_password("correct horse").expect("hash");
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &a));
        assert!(!verify_password("wrong horse", &a));
        assert!(!verify_password("anything", "not a hash"));
        assert!(hash_password("short").is_err());
    }

    #[test]
    fn tokens_are_random_prefixed_and_hashed() {
        let t = generate_token();
        assert!(t.secret.starts_with(TOKEN_PREFIX));
        assert_eq!(t.secret.len(), TOKEN_PREFIX.len() + TOKEN_RANDOM_CHARS);
        assert_eq!(t.hash, token_hash(&t.secret));
        assert_ne!(generate_token().secret, t.secret);
        assert!(t.secret.starts_with(&t.prefix));
    }

    #[test]
    fn usernames_are_checked() {
        assert!(validate_username("alice.smith@corp").is_ok());
        assert!(validate_username("bad name").is_err());
        assert!(validate_username("").is_err());
    }
}
