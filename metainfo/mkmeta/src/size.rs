//! Parsing of human-written byte sizes such as `256K`, `1M`, `4MiB` or `262144`.
//!
//! Suffixes are binary: `K`, `KB` and `KiB` all mean 1024 bytes (piece lengths are powers
//! of two), likewise `M`/`MB`/`MiB` and `G`/`GB`/`GiB`. Case does not matter; a space
//! between the number and the suffix is allowed.

/// Parse a byte count; zero, garbage and overflowing values are rejected with one line.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let digits_end = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, suffix) = trimmed.split_at(digits_end);
    if number.is_empty() {
        return Err(format!(
            "`{text}` is not a size: expected a number of bytes, optionally followed by K, M or G (e.g. 256K, 1M, 4MiB)"
        ));
    }
    let multiplier = multiplier(suffix.trim()).ok_or_else(|| {
        format!(
            "`{text}` has an unknown unit `{}`: use K, M or G (binary: 1K = 1024 bytes)",
            suffix.trim()
        )
    })?;
    let value: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is too large"))?;
    let bytes = value
        .checked_mul(multiplier)
        .ok_or_else(|| format!("`{text}` is too large"))?;
    if bytes == 0 {
        return Err("the size must be greater than zero".to_string());
    }
    Ok(bytes)
}

/// Bytes per unit for a suffix (already trimmed), or `None` when unknown.
fn multiplier(suffix: &str) -> Option<u64> {
    let unit = suffix.to_ascii_lowercase();
    let scale = match unit.as_str() {
        "" | "b" => return Some(1),
        "k" | "kb" | "kib" => 1,
        "m" | "mb" | "mib" => 2,
        "g" | "gb" | "gib" => 3,
        _ => return None,
    };
    Some(1024u64.pow(scale))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn accepts_the_documented_forms() {
        assert_eq!(parse_size("262144"), Ok(262_144));
        assert_eq!(parse_size("256K"), Ok(256 * 1024));
        assert_eq!(parse_size("256k"), Ok(256 * 1024));
        assert_eq!(parse_size("256KiB"), Ok(256 * 1024));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert_eq!(parse_size("4MiB"), Ok(4 << 20));
        assert_eq!(parse_size("4 MB"), Ok(4 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("16384B"), Ok(16_384));
    }

    #[test]
    fn rejects_zero_garbage_and_overflow() {
        for bad in [
            "0",
            "0K",
            "",
            "K",
            "abc",
            "1.5M",
            "-1",
            "12Q",
            "1MiBs",
            "99999999999999999999",
            "99999999999G",
        ] {
            let err = parse_size(bad).expect_err(bad);
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }
}
