//! Text a tracker sends for people (failure reasons, warnings, BEP 15 error messages):
//! bounded, and valid UTF-8 however it arrived.
//!
//! Invalid bytes become replacement characters, which take three bytes where the invalid
//! byte took one, so the text is cut again after the conversion: the bound holds, and a
//! message read, written and read again comes back the same.

/// Longest tracker text kept, in bytes.
pub(crate) const MAX_TEXT_LEN: usize = 1024;

/// At most [`MAX_TEXT_LEN`] bytes of `bytes` as text, invalid UTF-8 replaced, and at most
/// that many bytes still after the replacement.
pub(crate) fn bounded_text(bytes: &[u8]) -> String {
    let lossy = String::from_utf8_lossy(bytes.get(..MAX_TEXT_LEN).unwrap_or(bytes));
    cut_at_char(&lossy, MAX_TEXT_LEN).to_owned()
}

/// The longest start of `text` of at most `max` bytes that ends at a character boundary.
pub(crate) fn cut_at_char(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_bytes_do_not_stretch_the_text_past_its_bound() {
        let text = bounded_text(&[0xff; MAX_TEXT_LEN + 40]);
        assert!(text.len() <= MAX_TEXT_LEN, "{} bytes", text.len());
        assert!(text.chars().all(|c| c == char::REPLACEMENT_CHARACTER));
        assert_eq!(bounded_text(text.as_bytes()), text, "reads back the same");
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        assert_eq!(cut_at_char("éé", 3), "é");
        assert_eq!(cut_at_char("abc", 10), "abc");
        let mut text = "a".repeat(MAX_TEXT_LEN - 1).into_bytes();
        text.extend_from_slice("é".as_bytes());
        assert_eq!(bounded_text(&text), "a".repeat(MAX_TEXT_LEN - 1));
    }
}
