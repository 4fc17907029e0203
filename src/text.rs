//! Untrusted text made safe to show: captions, sources, notes and file
//! names come from anyone. Characters that change how text around them is
//! displayed without showing themselves — bidirectional overrides and
//! isolates (U+202A–U+202E, U+2066–U+2069), zero-width and direction
//! marks (U+200B–U+200F, U+061C, U+FEFF), line and paragraph separators —
//! could make "gpj.exe" read as "exe.jpg" or hide words. Every human
//! output (terminal, Markdown, HTML) shows them as a visible `[U+XXXX]`
//! instead; `--json` keeps the text exactly as recorded.

/// Longest caption or note accepted, in bytes — by `archive` and by
/// `import` alike, so whatever an archive holds can be exported and
/// imported anywhere.
pub const MAX_LONG_TEXT: usize = 64 << 10;
/// Longest source (URL) accepted, in bytes.
pub const MAX_SOURCE: usize = 16 << 10;

/// Checks a user-given text against its limit and for NUL characters.
///
/// # Errors
/// [`crate::Error::Invalid`] naming the field, its length and the limit.
pub fn check_len(what: &'static str, s: &str, max: usize) -> crate::Result<()> {
    if s.len() > max {
        return Err(crate::Error::Invalid {
            what,
            reason: format!("{} bytes exceeds the limit of {max}", s.len()),
        });
    }
    if s.contains('\0') {
        return Err(crate::Error::Invalid {
            what,
            reason: "contains a NUL character".to_string(),
        });
    }
    Ok(())
}

/// True for a character that is invisible yet changes how text displays.
pub fn is_invisible_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// The visible stand-in for such a character: `[U+202E]`.
pub fn marker(c: char) -> String {
    format!("[U+{:04X}]", u32::from(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_and_zero_width_are_caught_and_ordinary_text_is_not() {
        for c in [
            '\u{202E}', '\u{2066}', '\u{2069}', '\u{200B}', '\u{200F}', '\u{FEFF}',
        ] {
            assert!(is_invisible_control(c), "{c:?}");
        }
        for c in ['a', 'é', 'ß', '中', '😀', ' ', '\u{00A0}'] {
            assert!(!is_invisible_control(c), "{c:?}");
        }
        assert_eq!(marker('\u{202E}'), "[U+202E]");
    }
}
