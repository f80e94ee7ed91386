//! Building finding descriptions as Markdown `**Label:** value` lines, the
//! layout DefectDojo users know. Everything appends to one `String`, so a
//! description costs one buffer, not a `format!` per line.

use std::fmt::{Display, Write as _};

/// Appends `**label:** value` and a line break when `value` is present and
/// not blank (it is trimmed).
pub fn push_field(out: &mut String, label: &str, value: Option<&str>) {
    if let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) {
        push_label(out, label);
        out.push(' ');
        out.push_str(value);
        out.push('\n');
    }
}

/// Like [`push_field`] for values that are not text (numbers, booleans).
pub fn push_field_display(out: &mut String, label: &str, value: Option<impl Display>) {
    if let Some(value) = value {
        push_label(out, label);
        // Writing into a String cannot fail.
        let _ = writeln!(out, " {value}");
    }
}

/// Like [`push_field`], but a value of several lines goes into a fenced code
/// block under the label, so code snippets and commit messages keep their shape.
pub fn push_block_field(out: &mut String, label: &str, value: Option<&str>) {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return;
    };
    if value.contains('\n') {
        push_label(out, label);
        out.push_str("\n```\n");
        out.push_str(value);
        out.push_str("\n```\n");
    } else {
        push_field(out, label, Some(value));
    }
}

fn push_label(out: &mut String, label: &str) {
    out.push_str("**");
    out.push_str(label);
    out.push_str(":**");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_skip_missing_and_blank_values() {
        let mut md = String::new();
        push_field(&mut md, "Rule", Some("  R1 "));
        push_field(&mut md, "Missing", None);
        push_field(&mut md, "Blank", Some(" \n "));
        push_field_display(&mut md, "Line", Some(42));
        push_field_display(&mut md, "Score", None::<f32>);
        assert_eq!(md, "**Rule:** R1\n**Line:** 42\n");
    }

    #[test]
    fn several_lines_go_into_a_code_block() {
        let mut md = String::new();
        push_block_field(&mut md, "Code", Some("a = 1\nb = 2\n"));
        push_block_field(&mut md, "One", Some("x"));
        push_block_field(&mut md, "None", None);
        assert_eq!(md, "**Code:**\n```\na = 1\nb = 2\n```\n**One:** x\n");
    }
}
