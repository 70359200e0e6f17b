//! A small, bounded bencode reader and the writer helpers used by the tracker reply formats.
//!
//! The reader borrows from the input, limits nesting depth and never recurses more than
//! [`MAX_DEPTH`] levels, so a hostile reply cannot exhaust the stack. Lengths are checked
//! against the remaining input before anything is sliced.

use super::ReplyError;

/// Deepest nesting of lists/dictionaries the reader accepts.
pub const MAX_DEPTH: usize = 16;

/// A borrowed bencode value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Int(i64),
    Bytes(&'a [u8]),
    List(Vec<Value<'a>>),
    /// Dictionary entries in input order (keys are not required to be sorted).
    Dict(Vec<(&'a [u8], Value<'a>)>),
}

impl<'a> Value<'a> {
    /// The entry for `key` (the last one if a dictionary repeats it).
    pub(crate) fn get(&self, key: &[u8]) -> Option<&Value<'a>> {
        match self {
            Value::Dict(entries) => entries
                .iter()
                .rev()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// A short name of the value's type for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Int(_) => "integer",
            Value::Bytes(_) => "string",
            Value::List(_) => "list",
            Value::Dict(_) => "dictionary",
        }
    }
}

/// Parse one complete bencoded value; only ASCII whitespace may follow it.
pub(crate) fn parse(input: &[u8]) -> Result<Value<'_>, ReplyError> {
    let mut reader = Reader { buf: input, pos: 0 };
    let value = reader.value(0)?;
    if input[reader.pos..].iter().any(|b| !b.is_ascii_whitespace()) {
        return Err(ReplyError::Bencode {
            offset: reader.pos,
            what: "data after the end of the reply",
        });
    }
    Ok(value)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn error(&self, what: &'static str) -> ReplyError {
        ReplyError::Bencode {
            offset: self.pos,
            what,
        }
    }

    fn peek(&self) -> Result<u8, ReplyError> {
        self.buf
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.error("unexpected end of input"))
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, ReplyError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        match self.peek()? {
            b'i' => {
                self.pos += 1;
                Ok(Value::Int(self.integer(b'e')?))
            }
            b'0'..=b'9' => Ok(Value::Bytes(self.bytes()?)),
            b'l' => {
                self.pos += 1;
                let mut items = Vec::new();
                while self.peek()? != b'e' {
                    items.push(self.value(depth + 1)?);
                }
                self.pos += 1;
                Ok(Value::List(items))
            }
            b'd' => {
                self.pos += 1;
                let mut entries = Vec::new();
                while self.peek()? != b'e' {
                    if !self.peek()?.is_ascii_digit() {
                        return Err(self.error("dictionary key is not a string"));
                    }
                    let key = self.bytes()?;
                    let value = self.value(depth + 1)?;
                    entries.push((key, value));
                }
                self.pos += 1;
                Ok(Value::Dict(entries))
            }
            _ => Err(self.error("not a bencode value")),
        }
    }

    /// Digits (with an optional leading '-') up to `end`, as an i64.
    fn integer(&mut self, end: u8) -> Result<i64, ReplyError> {
        let start = self.pos;
        let negative = self.peek()? == b'-';
        if negative {
            self.pos += 1;
        }
        let mut value: i64 = 0;
        let mut digits = 0;
        loop {
            let b = self.peek()?;
            if b == end {
                break;
            }
            if !b.is_ascii_digit() {
                return Err(self.error("bad digit in integer"));
            }
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(i64::from(b - b'0')))
                .ok_or_else(|| self.error("integer out of range"))?;
            digits += 1;
            self.pos += 1;
        }
        if digits == 0 {
            self.pos = start;
            return Err(self.error("empty integer"));
        }
        self.pos += 1;
        Ok(if negative { -value } else { value })
    }

    fn bytes(&mut self) -> Result<&'a [u8], ReplyError> {
        let len = self.integer(b':')?;
        let len = usize::try_from(len).map_err(|_| self.error("negative string length"))?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&end| end <= self.buf.len())
            .ok_or_else(|| self.error("string longer than the input"))?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }
}

/// Append `i<n>e`.
pub(crate) fn write_int(out: &mut Vec<u8>, n: i64) {
    out.push(b'i');
    write_decimal(out, n);
    out.push(b'e');
}

/// Append `<len>:<bytes>`.
pub(crate) fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_decimal(out, bytes.len() as i64);
    out.push(b':');
    out.extend_from_slice(bytes);
}

/// Append the decimal digits of `n` without allocating.
fn write_decimal(out: &mut Vec<u8>, n: i64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_values() {
        let v = parse(b"d1:ai-12e1:bl3:xyzee").unwrap();
        assert_eq!(v.get(b"a"), Some(&Value::Int(-12)));
        assert_eq!(v.get(b"b"), Some(&Value::List(vec![Value::Bytes(b"xyz")])));
    }

    #[test]
    fn rejects_malformed_input() {
        for bad in [
            &b""[..],
            b"i12",
            b"ie",
            b"i1x2e",
            b"5:abc",
            b"d1:a",
            b"di1ei2ee",
            b"x",
            b"i99999999999999999999e",
            b"-1:",
            b"i1ejunk",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn limits_depth() {
        let deep = [vec![b'l'; 1000], vec![b'e'; 1000]].concat();
        assert!(parse(&deep).is_err());
        let ok = [vec![b'l'; MAX_DEPTH], vec![b'e'; MAX_DEPTH]].concat();
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn writes_integers() {
        let mut out = Vec::new();
        write_int(&mut out, 0);
        write_int(&mut out, -7);
        write_int(&mut out, i64::MIN);
        write_bytes(&mut out, b"ab");
        assert_eq!(out, b"i0ei-7ei-9223372036854775808e2:ab");
    }
}
