//! A small, bounded bencode tokenizer.
//!
//! It checks that an input is exactly one well-formed, canonical bencode value — no trailing
//! bytes, integers without leading zeros or `-0` that fit in an `i64`, string lengths that stay
//! inside the input, dictionary keys that are strings — while bounding the nesting depth and the
//! number of values, so that the typed decoding that follows (serde_bencode) only ever sees
//! small, sane input. It also reports the exact byte span of each top-level dictionary value,
//! which is how the info-hash is taken over the `info` dictionary's raw bytes.
//!
//! [`parse`] builds a borrowed [`Value`] tree with the same checks and bounds, for small
//! documents read field by field (tracker announce and scrape replies).
//!
//! Dictionary key order is *not* checked: files made by other tools are not always sorted and
//! must still parse (their info-hash covers the bytes as they are).

use std::ops::Range;

use thiserror::Error;

/// Bounds applied while tokenizing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest allowed nesting of lists and dictionaries (the top-level value is depth 1).
    pub max_depth: usize,
    /// Most values (integers, strings, lists, dictionaries, including keys) in the input.
    pub max_values: usize,
}

impl Default for Limits {
    /// 64 levels and 2,000,000 values: far beyond any real metainfo or tracker reply.
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_values: 2_000_000,
        }
    }
}

/// Why an input is not acceptable bencode. Offsets are byte positions in the input.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BencodeError {
    /// The input is empty.
    #[error("input is empty")]
    Empty,
    /// The input ends in the middle of a value.
    #[error("input is truncated (ends at byte {0} inside a value)")]
    Truncated(usize),
    /// A byte that cannot start a value.
    #[error("unexpected byte 0x{byte:02x} at byte {offset}")]
    UnexpectedByte { offset: usize, byte: u8 },
    /// An integer that is not `i<digits>e`.
    #[error("malformed integer at byte {0}")]
    InvalidInteger(usize),
    /// An integer with a leading zero or written `-0`.
    #[error("non-canonical integer (leading zero or -0) at byte {0}")]
    NonCanonicalInteger(usize),
    /// An integer that does not fit in 64 signed bits.
    #[error("integer out of the 64-bit range at byte {0}")]
    IntegerOutOfRange(usize),
    /// A string length prefix that is malformed or has a leading zero.
    #[error("malformed string length at byte {0}")]
    InvalidStringLength(usize),
    /// A string that claims more bytes than the input holds.
    #[error("string at byte {offset} claims {len} bytes, past the end of the input")]
    StringPastEnd { offset: usize, len: u64 },
    /// A dictionary key that is not a string.
    #[error("dictionary key at byte {0} is not a string")]
    NonStringKey(usize),
    /// Nesting deeper than [`Limits::max_depth`].
    #[error("nesting deeper than {max} levels at byte {offset}")]
    TooDeep { offset: usize, max: usize },
    /// More values than [`Limits::max_values`].
    #[error("more than {0} values")]
    TooManyValues(usize),
    /// Bytes after the end of the value.
    #[error("trailing data after the value, at byte {0}")]
    TrailingData(usize),
    /// The top-level value is not a dictionary (from [`dict_entries`]).
    #[error("the top-level value is not a dictionary")]
    NotADictionary,
}

impl BencodeError {
    /// The byte offset the error refers to, when it has one.
    pub fn offset(&self) -> Option<usize> {
        match *self {
            BencodeError::Empty => Some(0),
            BencodeError::Truncated(offset)
            | BencodeError::UnexpectedByte { offset, .. }
            | BencodeError::InvalidInteger(offset)
            | BencodeError::NonCanonicalInteger(offset)
            | BencodeError::IntegerOutOfRange(offset)
            | BencodeError::InvalidStringLength(offset)
            | BencodeError::StringPastEnd { offset, .. }
            | BencodeError::NonStringKey(offset)
            | BencodeError::TooDeep { offset, .. }
            | BencodeError::TrailingData(offset) => Some(offset),
            BencodeError::TooManyValues(_) | BencodeError::NotADictionary => None,
        }
    }

    /// A short, fixed description of the error, without offsets or sizes.
    pub fn reason(&self) -> &'static str {
        match self {
            BencodeError::Empty | BencodeError::Truncated(_) => "unexpected end of input",
            BencodeError::UnexpectedByte { .. } => "not a bencode value",
            BencodeError::InvalidInteger(_) => "malformed integer",
            BencodeError::NonCanonicalInteger(_) => "non-canonical integer",
            BencodeError::IntegerOutOfRange(_) => "integer out of range",
            BencodeError::InvalidStringLength(_) => "malformed string length",
            BencodeError::StringPastEnd { .. } => "string longer than the input",
            BencodeError::NonStringKey(_) => "dictionary key is not a string",
            BencodeError::TooDeep { .. } => "nesting too deep",
            BencodeError::TooManyValues(_) => "too many values",
            BencodeError::TrailingData(_) => "data after the end of the value",
            BencodeError::NotADictionary => "not a dictionary",
        }
    }
}

/// A bencode value borrowing its strings from the input, as built by [`parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// `i<n>e`.
    Int(i64),
    /// `<len>:<bytes>`.
    Bytes(&'a [u8]),
    /// `l...e`.
    List(Vec<Value<'a>>),
    /// `d...e`: entries in input order (keys are not required to be sorted or unique).
    Dict(Vec<(&'a [u8], Value<'a>)>),
}

impl<'a> Value<'a> {
    /// The dictionary entry for `key` (the last one if the dictionary repeats it); `None`
    /// when absent or when this is not a dictionary.
    pub fn get(&self, key: &[u8]) -> Option<&Value<'a>> {
        match self {
            Value::Dict(entries) => entries
                .iter()
                .rev()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// A short name of the value's type, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Int(_) => "integer",
            Value::Bytes(_) => "string",
            Value::List(_) => "list",
            Value::Dict(_) => "dictionary",
        }
    }
}

/// Checks `input` like [`validate`] and returns the value as a borrowed tree.
pub fn parse(input: &[u8], limits: Limits) -> Result<Value<'_>, BencodeError> {
    let mut tokenizer = Tokenizer::new(input, limits)?;
    let value = tokenizer.value(1)?;
    tokenizer.finish()?;
    Ok(value)
}

/// Like [`parse`], but for a value followed by other bytes (a BEP 9 `data` message is a
/// dictionary followed by raw metadata): returns the value and the number of bytes it spans.
pub fn parse_prefix(input: &[u8], limits: Limits) -> Result<(Value<'_>, usize), BencodeError> {
    let mut tokenizer = Tokenizer::new(input, limits)?;
    let value = tokenizer.value(1)?;
    Ok((value, tokenizer.pos))
}

/// Appends `i<n>e`.
pub fn write_int(out: &mut Vec<u8>, n: i64) {
    out.push(b'i');
    write_decimal(out, n);
    out.push(b'e');
}

/// Appends `<len>:<bytes>`.
pub fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_decimal(out, bytes.len());
    out.push(b':');
    out.extend_from_slice(bytes);
}

/// Appends the decimal digits of `n` without allocating. Every tracker reply writes about
/// ten of these (lengths and integers); `itoa` does two digits per step from a table.
fn write_decimal(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// One entry of a top-level dictionary: its key and the byte span of its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DictEntry<'a> {
    /// The key's bytes.
    pub key: &'a [u8],
    /// Where the value's bencoding starts and ends in the input.
    pub value: Range<usize>,
}

/// Checks that `input` is exactly one well-formed, canonical bencode value within `limits`.
pub fn validate(input: &[u8], limits: Limits) -> Result<(), BencodeError> {
    let mut tokenizer = Tokenizer::new(input, limits)?;
    tokenizer.skip_value(1)?;
    tokenizer.finish()
}

/// Checks `input` like [`validate`], requires a dictionary at the top level and returns its
/// entries in input order, each with the byte span of its value.
pub fn dict_entries(input: &[u8], limits: Limits) -> Result<Vec<DictEntry<'_>>, BencodeError> {
    let mut tokenizer = Tokenizer::new(input, limits)?;
    if tokenizer.peek()? != b'd' {
        // Still report structural problems first, so that garbage gets the precise error.
        tokenizer.skip_value(1)?;
        tokenizer.finish()?;
        return Err(BencodeError::NotADictionary);
    }
    tokenizer.count_value()?;
    tokenizer.pos += 1;
    let mut entries = Vec::new();
    while tokenizer.peek()? != b'e' {
        let key = tokenizer.key()?;
        let start = tokenizer.pos;
        tokenizer.skip_value(2)?;
        entries.push(DictEntry {
            key,
            value: start..tokenizer.pos,
        });
    }
    tokenizer.pos += 1;
    tokenizer.finish()?;
    Ok(entries)
}

/// Cursor over the input; every method bounds-checks and never panics.
struct Tokenizer<'a> {
    input: &'a [u8],
    pos: usize,
    limits: Limits,
    values: usize,
}

impl<'a> Tokenizer<'a> {
    fn new(input: &'a [u8], limits: Limits) -> Result<Self, BencodeError> {
        if input.is_empty() {
            return Err(BencodeError::Empty);
        }
        Ok(Tokenizer {
            input,
            pos: 0,
            limits,
            values: 0,
        })
    }

    fn peek(&self) -> Result<u8, BencodeError> {
        self.input
            .get(self.pos)
            .copied()
            .ok_or(BencodeError::Truncated(self.pos))
    }

    fn finish(&self) -> Result<(), BencodeError> {
        if self.pos == self.input.len() {
            Ok(())
        } else {
            Err(BencodeError::TrailingData(self.pos))
        }
    }

    fn count_value(&mut self) -> Result<(), BencodeError> {
        self.values += 1;
        if self.values > self.limits.max_values {
            return Err(BencodeError::TooManyValues(self.limits.max_values));
        }
        Ok(())
    }

    fn check_depth(&self, depth: usize) -> Result<(), BencodeError> {
        if depth > self.limits.max_depth {
            return Err(BencodeError::TooDeep {
                offset: self.pos,
                max: self.limits.max_depth,
            });
        }
        Ok(())
    }

    /// Reads one value at nesting `depth` into a tree, with the checks of [`Self::skip_value`].
    fn value(&mut self, depth: usize) -> Result<Value<'a>, BencodeError> {
        self.check_depth(depth)?;
        match self.peek()? {
            b'i' => self.integer().map(Value::Int),
            b'0'..=b'9' => self.string().map(Value::Bytes),
            b'l' => {
                self.count_value()?;
                self.pos += 1;
                let mut items = Vec::new();
                while self.peek()? != b'e' {
                    items.push(self.value(depth + 1)?);
                }
                self.pos += 1;
                Ok(Value::List(items))
            }
            b'd' => {
                self.count_value()?;
                self.pos += 1;
                let mut entries = Vec::new();
                while self.peek()? != b'e' {
                    let key = self.key()?;
                    entries.push((key, self.value(depth + 1)?));
                }
                self.pos += 1;
                Ok(Value::Dict(entries))
            }
            byte => Err(BencodeError::UnexpectedByte {
                offset: self.pos,
                byte,
            }),
        }
    }

    /// Skips one value at nesting `depth`, checking it and everything inside it.
    fn skip_value(&mut self, depth: usize) -> Result<(), BencodeError> {
        self.check_depth(depth)?;
        match self.peek()? {
            b'i' => self.integer().map(drop),
            b'0'..=b'9' => self.string().map(drop),
            b'l' => {
                self.count_value()?;
                self.pos += 1;
                while self.peek()? != b'e' {
                    self.skip_value(depth + 1)?;
                }
                self.pos += 1;
                Ok(())
            }
            b'd' => {
                self.count_value()?;
                self.pos += 1;
                while self.peek()? != b'e' {
                    self.key()?;
                    self.skip_value(depth + 1)?;
                }
                self.pos += 1;
                Ok(())
            }
            byte => Err(BencodeError::UnexpectedByte {
                offset: self.pos,
                byte,
            }),
        }
    }

    fn key(&mut self) -> Result<&'a [u8], BencodeError> {
        match self.peek()? {
            b'0'..=b'9' => self.string(),
            _ => Err(BencodeError::NonStringKey(self.pos)),
        }
    }

    /// Reads `i<n>e`; canonical, within `i64`.
    fn integer(&mut self) -> Result<i64, BencodeError> {
        self.count_value()?;
        let start = self.pos;
        self.pos += 1; // 'i'
        let end = self.find(b'e', start)?;
        let digits = &self.input[self.pos..end];
        let (negative, magnitude) = match digits.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, digits),
        };
        if magnitude.is_empty() || !magnitude.iter().all(u8::is_ascii_digit) {
            return Err(BencodeError::InvalidInteger(start));
        }
        if (magnitude[0] == b'0' && magnitude.len() > 1) || (negative && magnitude == b"0") {
            return Err(BencodeError::NonCanonicalInteger(start));
        }
        // Digits are ASCII, so the slice is valid UTF-8 and `parse` checks the range.
        let value = std::str::from_utf8(digits)
            .ok()
            .and_then(|text| text.parse::<i64>().ok())
            .ok_or(BencodeError::IntegerOutOfRange(start))?;
        self.pos = end + 1;
        Ok(value)
    }

    /// Reads `<len>:<bytes>`; canonical length, bytes inside the input.
    fn string(&mut self) -> Result<&'a [u8], BencodeError> {
        self.count_value()?;
        let start = self.pos;
        let colon = self.find(b':', start)?;
        let digits = &self.input[start..colon];
        if digits.is_empty()
            || !digits.iter().all(u8::is_ascii_digit)
            || (digits[0] == b'0' && digits.len() > 1)
            || digits.len() > 19
        {
            return Err(BencodeError::InvalidStringLength(start));
        }
        let len = digits
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        let body = colon + 1;
        let remaining = (self.input.len() - body) as u64;
        if len > remaining {
            return Err(BencodeError::StringPastEnd { offset: start, len });
        }
        let end = body + len as usize;
        self.pos = end;
        Ok(&self.input[body..end])
    }

    /// Position of the next `byte` at or after the cursor; a truncation error if none.
    fn find(&self, byte: u8, start: usize) -> Result<usize, BencodeError> {
        let rest = self.input.get(self.pos..).unwrap_or_default();
        // Integers and length prefixes are short: stop looking after 21 bytes.
        rest.iter()
            .take(21)
            .position(|&b| b == byte)
            .map(|i| self.pos + i)
            .ok_or_else(|| {
                if rest.len() <= 21 && !rest.iter().any(|b| !b.is_ascii_digit() && *b != b'-') {
                    BencodeError::Truncated(self.input.len())
                } else if byte == b'e' {
                    BencodeError::InvalidInteger(start)
                } else {
                    BencodeError::InvalidStringLength(start)
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &[u8]) -> Result<(), BencodeError> {
        validate(input, Limits::default())
    }

    #[test]
    fn accepts_well_formed_values() {
        for input in [
            &b"i0e"[..],
            b"i-5e",
            b"i9223372036854775807e",
            b"i-9223372036854775808e",
            b"0:",
            b"3:abc",
            b"le",
            b"de",
            b"l4:spami42ee",
            b"d3:bar4:spam3:fooi42ee",
            b"d1:zi1e1:ai2ee", // unsorted keys are tolerated
        ] {
            assert_eq!(check(input), Ok(()), "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn rejects_non_canonical_integers() {
        assert_eq!(check(b"i03e"), Err(BencodeError::NonCanonicalInteger(0)));
        assert_eq!(check(b"i-0e"), Err(BencodeError::NonCanonicalInteger(0)));
        assert_eq!(check(b"i00e"), Err(BencodeError::NonCanonicalInteger(0)));
    }

    #[test]
    fn rejects_malformed_integers() {
        for input in [&b"ie"[..], b"i-e", b"i1x2e", b"i+1e", b"i--1e", b"i1.5e"] {
            assert_eq!(check(input), Err(BencodeError::InvalidInteger(0)));
        }
        assert_eq!(
            check(b"i9223372036854775808e"),
            Err(BencodeError::IntegerOutOfRange(0))
        );
        assert_eq!(
            check(b"i99999999999999999999e"),
            Err(BencodeError::IntegerOutOfRange(0))
        );
        assert!(matches!(
            check(b"i1111111111111111111111111111e"),
            Err(BencodeError::InvalidInteger(0))
        ));
    }

    #[test]
    fn rejects_bad_strings() {
        assert_eq!(check(b"03:abc"), Err(BencodeError::InvalidStringLength(0)));
        assert_eq!(
            check(b"5:abc"),
            Err(BencodeError::StringPastEnd { offset: 0, len: 5 })
        );
        assert_eq!(
            check(b"99999999999999999999:x"),
            Err(BencodeError::InvalidStringLength(0))
        );
        assert_eq!(
            check(b"9999999999999999999:x"),
            Err(BencodeError::StringPastEnd {
                offset: 0,
                len: 9_999_999_999_999_999_999
            })
        );
    }

    #[test]
    fn parse_prefix_stops_after_the_first_value() {
        let input = b"d8:msg_typei1e5:piecei0eeRAW BYTES";
        let (value, len) = parse_prefix(input, Limits::default()).unwrap();
        assert_eq!(len, input.len() - b"RAW BYTES".len());
        assert_eq!(value.get(b"msg_type"), Some(&Value::Int(1)));
        assert_eq!(
            parse_prefix(b"i1e", Limits::default()),
            Ok((Value::Int(1), 3))
        );
        assert_eq!(
            parse_prefix(b"d3:foo", Limits::default()),
            Err(BencodeError::Truncated(6))
        );
    }

    #[test]
    fn writers_produce_what_parse_reads() {
        let mut out = Vec::new();
        out.push(b'l');
        write_int(&mut out, -42);
        write_bytes(&mut out, b"spam");
        out.push(b'e');
        assert_eq!(out, b"li-42e4:spame");
        assert_eq!(
            parse(&out, Limits::default()),
            Ok(Value::List(vec![Value::Int(-42), Value::Bytes(b"spam")]))
        );
    }

    #[test]
    fn rejects_truncation_and_trailing_data() {
        assert_eq!(check(b""), Err(BencodeError::Empty));
        assert_eq!(check(b"l"), Err(BencodeError::Truncated(1)));
        assert_eq!(check(b"d3:foo"), Err(BencodeError::Truncated(6)));
        assert_eq!(check(b"i12"), Err(BencodeError::Truncated(3)));
        assert_eq!(check(b"12"), Err(BencodeError::Truncated(2)));
        assert_eq!(check(b"i1ei2e"), Err(BencodeError::TrailingData(3)));
        assert_eq!(check(b"dex"), Err(BencodeError::TrailingData(2)));
    }

    #[test]
    fn rejects_bad_keys_and_bytes() {
        assert_eq!(check(b"di1ei2ee"), Err(BencodeError::NonStringKey(1)));
        assert_eq!(
            check(b"x"),
            Err(BencodeError::UnexpectedByte {
                offset: 0,
                byte: b'x'
            })
        );
        assert_eq!(
            check(b"l-e"),
            Err(BencodeError::UnexpectedByte {
                offset: 1,
                byte: b'-'
            })
        );
    }

    #[test]
    fn bounds_depth_and_value_count() {
        let deep = [vec![b'l'; 64], vec![b'e'; 64]].concat();
        assert_eq!(check(&deep), Ok(()));
        let deeper = [vec![b'l'; 65], vec![b'e'; 65]].concat();
        assert_eq!(
            check(&deeper),
            Err(BencodeError::TooDeep {
                offset: 64,
                max: 64
            })
        );
        let huge = [vec![b'l'; 1_000_000], vec![b'e'; 1_000_000]].concat();
        assert!(matches!(check(&huge), Err(BencodeError::TooDeep { .. })));
        let limits = Limits {
            max_depth: 4,
            max_values: 3,
        };
        assert_eq!(validate(b"li1ei2ee", limits), Ok(()));
        assert_eq!(
            validate(b"li1ei2ei3ee", limits),
            Err(BencodeError::TooManyValues(3))
        );
    }

    #[test]
    fn parse_builds_a_tree() {
        let v = parse(b"d1:ai-12e1:bl3:xyze1:ai3ee", Limits::default()).unwrap();
        assert_eq!(v.get(b"a"), Some(&Value::Int(3)), "last duplicate wins");
        assert_eq!(v.get(b"b"), Some(&Value::List(vec![Value::Bytes(b"xyz")])));
        assert_eq!(v.get(b"c"), None);
        assert_eq!(v.kind(), "dictionary");
        assert_eq!(Value::Int(1).get(b"a"), None);
    }

    #[test]
    fn parse_checks_like_validate() {
        for input in [
            &b""[..],
            b"i12",
            b"ie",
            b"i1x2e",
            b"i03e",
            b"i-0e",
            b"5:abc",
            b"d1:a",
            b"di1ei2ee",
            b"x",
            b"i99999999999999999999e",
            b"-1:",
            b"i1ejunk",
            b"li1ee ",
        ] {
            assert_eq!(
                parse(input, Limits::default()).map(drop),
                validate(input, Limits::default()),
                "{:?}",
                String::from_utf8_lossy(input)
            );
            assert!(parse(input, Limits::default()).is_err());
        }
        let limits = Limits {
            max_depth: 16,
            max_values: 100,
        };
        let ok = [vec![b'l'; 16], vec![b'e'; 16]].concat();
        assert!(parse(&ok, limits).is_ok());
        let deep = [vec![b'l'; 17], vec![b'e'; 17]].concat();
        assert_eq!(
            parse(&deep, limits),
            Err(BencodeError::TooDeep {
                offset: 16,
                max: 16
            })
        );
        let huge = [vec![b'l'; 1_000_000], vec![b'e'; 1_000_000]].concat();
        assert!(matches!(
            parse(&huge, limits),
            Err(BencodeError::TooDeep { .. })
        ));
        let small = Limits {
            max_depth: 4,
            max_values: 3,
        };
        assert_eq!(
            parse(b"li1ei2ei3ee", small),
            Err(BencodeError::TooManyValues(3))
        );
    }

    #[test]
    fn error_offsets_and_reasons() {
        assert_eq!(BencodeError::TrailingData(7).offset(), Some(7));
        assert_eq!(BencodeError::TooManyValues(3).offset(), None);
        assert_eq!(BencodeError::Empty.reason(), "unexpected end of input");
    }

    #[test]
    fn writes_integers_and_strings() {
        let mut out = Vec::new();
        write_int(&mut out, 0);
        write_int(&mut out, -7);
        write_int(&mut out, i64::MIN);
        write_int(&mut out, i64::MAX);
        write_bytes(&mut out, b"ab");
        write_bytes(&mut out, b"");
        assert_eq!(
            out,
            b"i0ei-7ei-9223372036854775808ei9223372036854775807e2:ab0:"
        );
        assert_eq!(
            validate(b"i-9223372036854775808e", Limits::default()),
            Ok(())
        );
    }

    #[test]
    fn dict_entries_reports_value_spans() {
        let input = b"d4:infod1:xi1ee3:zzz3:abce";
        let entries = dict_entries(input, Limits::default()).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].key, b"info");
        assert_eq!(&input[entries[0].value.clone()], b"d1:xi1ee");
        assert_eq!(entries[1].key, b"zzz");
        assert_eq!(&input[entries[1].value.clone()], b"3:abc");
        assert_eq!(
            dict_entries(b"li1ee", Limits::default()),
            Err(BencodeError::NotADictionary)
        );
        assert_eq!(
            dict_entries(b"li1eex", Limits::default()),
            Err(BencodeError::TrailingData(5))
        );
    }
}
