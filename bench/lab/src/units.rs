//! Quantities written by people in scenario files: rates in bits per second ("20Mbit"),
//! sizes in bytes ("64MiB"), fractions ("0.1%"), durations ("40ms") and time spans
//! ("0s" or ["0s", "10s"]).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A link rate in bits per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rate(pub u64);

impl Rate {
    /// Bytes per second.
    pub fn bytes_per_sec(self) -> f64 {
        self.0 as f64 / 8.0
    }

    pub fn bits_per_sec(self) -> f64 {
        self.0 as f64
    }
}

impl TryFrom<String> for Rate {
    type Error = String;
    fn try_from(text: String) -> Result<Rate, String> {
        parse_rate(&text)
    }
}

impl From<Rate> for String {
    fn from(rate: Rate) -> String {
        rate.to_string()
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bits = self.0 as f64;
        if bits >= 1e9 {
            write!(f, "{}Gbit", trim(bits / 1e9))
        } else if bits >= 1e6 {
            write!(f, "{}Mbit", trim(bits / 1e6))
        } else if bits >= 1e3 {
            write!(f, "{}kbit", trim(bits / 1e3))
        } else {
            write!(f, "{}bit", self.0)
        }
    }
}

/// `20Mbit`, `20 Mbit/s`, `500kbit`, `1Gbit`, `2.5MiB/s` (bytes), `800bit`. Decimal prefixes
/// for bits (as tc uses them), binary for bytes.
pub fn parse_rate(text: &str) -> Result<Rate, String> {
    let t = text.trim();
    let t = t
        .strip_suffix("/s")
        .or_else(|| t.strip_suffix("ps"))
        .unwrap_or(t);
    let (number, unit) = split_number(t).ok_or_else(|| format!("`{text}`: not a rate"))?;
    let bits_per_unit = match unit.to_ascii_lowercase().as_str() {
        "bit" | "b" => 1.0,
        "kbit" | "kb" => 1e3,
        "mbit" | "mb" => 1e6,
        "gbit" | "gb" => 1e9,
        "bytes" | "byte" => 8.0,
        "kib" => 8.0 * 1024.0,
        "mib" => 8.0 * 1024.0 * 1024.0,
        "gib" => 8.0 * 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "`{text}`: unknown rate unit `{unit}` (use bit, kbit, Mbit, Gbit, KiB/s, MiB/s)"
            ));
        }
    };
    if unit.is_empty() {
        return Err(format!("`{text}`: a rate needs a unit, e.g. 20Mbit"));
    }
    let bits = number * bits_per_unit;
    if !(1.0..1e12).contains(&bits) {
        return Err(format!("`{text}`: rate out of range (1 bit/s to 1 Tbit/s)"));
    }
    Ok(Rate(bits.round() as u64))
}

/// A size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Size(pub u64);

impl TryFrom<String> for Size {
    type Error = String;
    fn try_from(text: String) -> Result<Size, String> {
        parse_size(&text)
    }
}

impl From<Size> for String {
    fn from(size: Size) -> String {
        size.to_string()
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0 as f64;
        const K: f64 = 1024.0;
        if b >= K * K * K {
            write!(f, "{}GiB", trim(b / (K * K * K)))
        } else if b >= K * K {
            write!(f, "{}MiB", trim(b / (K * K)))
        } else if b >= K {
            write!(f, "{}KiB", trim(b / K))
        } else {
            write!(f, "{}B", self.0)
        }
    }
}

/// `64MiB`, `4 MiB`, `256KiB`, `1GiB`, `1M` (binary), `12345` (bytes).
pub fn parse_size(text: &str) -> Result<Size, String> {
    let (number, unit) =
        split_number(text.trim()).ok_or_else(|| format!("`{text}`: not a size"))?;
    let mult: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kib" | "kb" => 1024.0,
        "m" | "mib" | "mb" => 1024.0 * 1024.0,
        "g" | "gib" | "gb" => 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "`{text}`: unknown size unit `{unit}` (use KiB, MiB, GiB)"
            ));
        }
    };
    let bytes = number * mult;
    if !(1.0..1e13).contains(&bytes) {
        return Err(format!("`{text}`: size out of range"));
    }
    Ok(Size(bytes.round() as u64))
}

/// A probability, written `0.1%` or `0.001`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize, Default)]
#[serde(try_from = "toml::Value", into = "f64")]
pub struct Fraction(pub f64);

impl TryFrom<toml::Value> for Fraction {
    type Error = String;
    fn try_from(value: toml::Value) -> Result<Fraction, String> {
        let f = match value {
            toml::Value::Float(f) => f,
            toml::Value::Integer(i) => i as f64,
            toml::Value::String(s) => parse_fraction(&s)?.0,
            other => return Err(format!("`{other}`: not a fraction (e.g. \"0.1%\")")),
        };
        if !(0.0..1.0).contains(&f) {
            return Err(format!(
                "{f}: a loss rate is from 0 up to (not including) 1"
            ));
        }
        Ok(Fraction(f))
    }
}

impl From<Fraction> for f64 {
    fn from(f: Fraction) -> f64 {
        f.0
    }
}

/// `0.1%` → 0.001; `0.001` → 0.001.
pub fn parse_fraction(text: &str) -> Result<Fraction, String> {
    let t = text.trim();
    let value = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| format!("`{text}`: not a fraction (e.g. 0.1%)"))?;
    if !(0.0..1.0).contains(&value) {
        return Err(format!("`{text}`: out of range (0 % up to 100 %)"));
    }
    Ok(Fraction(value))
}

/// A duration written as text: `40ms`, `1.5s`, `2min`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Dur(pub Duration);

impl TryFrom<String> for Dur {
    type Error = String;
    fn try_from(text: String) -> Result<Dur, String> {
        parse_duration(&text).map(Dur)
    }
}

impl From<Dur> for String {
    fn from(d: Dur) -> String {
        humantime::format_duration(d.0).to_string()
    }
}

/// `40ms`, `10s`, `1.5s`, `2min`, `0`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    // humantime has no fractions ("1.5s"); take those by hand.
    if let Some((number, unit)) = split_number(t)
        && t.contains('.')
    {
        let secs = match unit {
            "s" => number,
            "ms" => number / 1e3,
            "min" | "m" => number * 60.0,
            _ => return Err(format!("`{text}`: not a duration (e.g. 40ms, 1.5s, 2min)")),
        };
        return Duration::try_from_secs_f64(secs).map_err(|e| format!("`{text}`: {e}"));
    }
    humantime::parse_duration(t).map_err(|e| format!("`{text}`: {e} (e.g. 40ms, 10s, 2min)"))
}

/// A point in time or a range to pick uniformly from: `"5s"` or `["0s", "10s"]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "SpanText")]
pub struct Span {
    pub lo: Duration,
    pub hi: Duration,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SpanText {
    One(String),
    Two([String; 2]),
}

impl TryFrom<SpanText> for Span {
    type Error = String;
    fn try_from(text: SpanText) -> Result<Span, String> {
        let (lo, hi) = match text {
            SpanText::One(t) => {
                let d = parse_duration(&t)?;
                (d, d)
            }
            SpanText::Two([a, b]) => (parse_duration(&a)?, parse_duration(&b)?),
        };
        if hi < lo {
            return Err(format!(
                "span [{lo:?}, {hi:?}]: the end comes before the start"
            ));
        }
        Ok(Span { lo, hi })
    }
}

impl Span {
    #[cfg(test)]
    pub fn at(d: Duration) -> Span {
        Span { lo: d, hi: d }
    }

    /// A point of the span, `u` in [0, 1] saying where.
    pub fn pick(&self, u: f64) -> Duration {
        self.lo + (self.hi - self.lo).mul_f64(u.clamp(0.0, 1.0))
    }
}

/// "20.0" → "20", "2.50" → "2.5".
fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Splits "2.5 MiB" into (2.5, "MiB").
fn split_number(t: &str) -> Option<(f64, &str)> {
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let number = t[..end].parse::<f64>().ok()?;
    Some((number, t[end..].trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_in_bits_with_decimal_prefixes_and_bytes_with_binary_ones() {
        assert_eq!(parse_rate("20Mbit").unwrap(), Rate(20_000_000));
        assert_eq!(parse_rate("20 Mbit/s").unwrap(), Rate(20_000_000));
        assert_eq!(parse_rate("500kbit").unwrap(), Rate(500_000));
        assert_eq!(parse_rate("1Gbit").unwrap(), Rate(1_000_000_000));
        assert_eq!(parse_rate("1MiB/s").unwrap(), Rate(8 * 1024 * 1024));
        assert_eq!(Rate(20_000_000).to_string(), "20Mbit");
        assert_eq!(Rate(2_500_000).to_string(), "2.5Mbit");
    }

    #[test]
    fn a_rate_without_unit_or_with_a_wrong_one_is_refused() {
        assert!(parse_rate("20").is_err());
        assert!(parse_rate("20furlongs").is_err());
        assert!(parse_rate("0Mbit").is_err());
        assert!(parse_rate("Mbit").is_err());
    }

    #[test]
    fn sizes_are_binary() {
        assert_eq!(parse_size("64MiB").unwrap(), Size(64 << 20));
        assert_eq!(parse_size("4 MiB").unwrap(), Size(4 << 20));
        assert_eq!(parse_size("256K").unwrap(), Size(256 << 10));
        assert_eq!(parse_size("1000").unwrap(), Size(1000));
        assert_eq!(Size(64 << 20).to_string(), "64MiB");
        assert!(parse_size("-1MiB").is_err());
    }

    #[test]
    fn fractions_as_percent_or_plain() {
        assert_eq!(parse_fraction("0.1%").unwrap(), Fraction(0.001));
        assert_eq!(parse_fraction("0.001").unwrap(), Fraction(0.001));
        assert!(parse_fraction("100%").is_err());
        assert!(parse_fraction("x").is_err());
    }

    #[test]
    fn durations_with_fractions_and_units() {
        assert_eq!(parse_duration("40ms").unwrap(), Duration::from_millis(40));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2min").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn spans_from_one_value_or_two() {
        #[derive(Deserialize)]
        struct T {
            a: Span,
            b: Span,
        }
        let t: T = toml::from_str("a = \"5s\"\nb = [\"1s\", \"3s\"]").unwrap();
        assert_eq!(t.a, Span::at(Duration::from_secs(5)));
        assert_eq!(t.b.pick(0.5), Duration::from_secs(2));
        assert!(toml::from_str::<T>("a = \"5s\"\nb = [\"3s\", \"1s\"]").is_err());
    }
}
