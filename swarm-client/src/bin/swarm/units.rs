//! Units on the command line: transfer rates (`5MiB`, `500K`, `2.5MB/s`) and durations
//! (`30s`, `5m`, `1h 30m`, through `humantime`).

use std::time::Duration;

/// A rate in bytes per second: a number (decimals allowed) and an optional unit — `K`, `M`,
/// `G` and `KiB`, `MiB`, `GiB` are binary (×1024), `KB`, `MB`, `GB` decimal (×1000) — with an
/// optional `/s`. `0` means unlimited.
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let bare = text.trim().trim_end_matches("/s").trim();
    let split = bare
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(bare.len());
    let (number, unit) = bare.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a rate (e.g. 500K, 5MiB, 2.5MB/s)"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?} (use K, M, G, KiB, MB…)"
            ));
        }
    };
    let bytes = value * scale as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(format!("{text:?} is too large"));
    }
    Ok(bytes.round() as u64)
}

/// A duration: `30s`, `5m`, `2h`, `1h 30m`; a plain number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if let Ok(secs) = text.trim().parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("{text:?} is not a duration (e.g. 30s, 5m, 1h): {e}"))
}

/// A seed ratio: a non-negative number (`1`, `0.5`, `2.0`).
pub fn parse_ratio(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && r >= 0.0 => Ok(r),
        _ => Err(format!(
            "{text:?} is not a ratio (a number such as 1 or 0.5)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_in_binary_and_decimal_units() {
        assert_eq!(parse_rate("2MiB"), Ok(2 << 20));
        assert_eq!(parse_rate("2M"), Ok(2 << 20));
        assert_eq!(parse_rate("500K"), Ok(500 << 10));
        assert_eq!(parse_rate("2.5MB/s"), Ok(2_500_000));
        assert_eq!(parse_rate("1234"), Ok(1234));
        assert_eq!(parse_rate("0"), Ok(0));
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("5 parsecs").is_err());
        assert!(parse_rate("1e30G").is_err());
    }

    #[test]
    fn durations_and_ratios() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_ratio("1.5"), Ok(1.5));
        assert!(parse_ratio("-1").is_err());
        assert!(parse_ratio("NaN").is_err());
    }
}
