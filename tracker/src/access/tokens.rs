//! Publish tokens: `Authorization: Bearer <token>`, the token being any line of
//! `--publish-token-file` (reloaded on SIGHUP). Without a token file the web API's write
//! operations are off.

use std::path::{Path, PathBuf};

use parking_lot::RwLock;

/// Why a request may not write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// No `Authorization: Bearer` header (HTTP 401).
    #[error("this needs `Authorization: Bearer <token>` with a publish token")]
    Missing,
    /// A token that is not in the token file (HTTP 403).
    #[error("the publish token is not valid")]
    Wrong,
    /// No token file: writing is off (HTTP 403).
    #[error("publishing is off on this tracker (start it with --publish-token-file)")]
    Off,
}

/// The publish tokens.
#[derive(Debug, Default)]
pub struct Tokens {
    path: Option<PathBuf>,
    tokens: RwLock<Vec<String>>,
}

/// Why the token file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read publish token file {path}: {error}")]
pub struct TokenFileError {
    pub path: PathBuf,
    pub error: std::io::Error,
}

impl Tokens {
    /// Load `path` (no tokens, writing off, when `None`).
    pub fn open(path: Option<PathBuf>) -> Result<Tokens, TokenFileError> {
        let tokens = Tokens {
            path,
            tokens: RwLock::new(Vec::new()),
        };
        tokens.reload()?;
        Ok(tokens)
    }

    /// Re-read the file; on error the old tokens stay. Returns how many there are.
    pub fn reload(&self) -> Result<usize, TokenFileError> {
        let Some(path) = &self.path else {
            return Ok(0);
        };
        let list = read_lines(path).map_err(|error| TokenFileError {
            path: path.clone(),
            error,
        })?;
        let count = list.len();
        *self.tokens.write() = list;
        Ok(count)
    }

    /// Is writing on at all?
    pub fn enabled(&self) -> bool {
        self.path.is_some()
    }

    /// Check an `Authorization` header value.
    pub fn check(&self, authorization: Option<&str>) -> Result<(), Denied> {
        if !self.enabled() {
            return Err(Denied::Off);
        }
        let token = authorization
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(Denied::Missing)?;
        let known = self.tokens.read();
        // Compare every token in full, so the time taken says nothing about near misses.
        let found = known.iter().fold(false, |found, t| {
            found | same_bytes(t.as_bytes(), token.as_bytes())
        });
        if found { Ok(()) } else { Err(Denied::Wrong) }
    }
}

/// Constant-time equality for equal lengths.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Non-empty lines without `#` comments, trimmed.
pub fn read_lines(path: &Path) -> std::io::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_wrong_off_and_right() {
        assert_eq!(
            Tokens::open(None).unwrap().check(Some("Bearer x")),
            Err(Denied::Off)
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        std::fs::write(&path, "# tokens\nalpha\n\n beta \n").unwrap();
        let t = Tokens::open(Some(path.clone())).unwrap();
        assert_eq!(t.check(None), Err(Denied::Missing));
        assert_eq!(t.check(Some("Basic alpha")), Err(Denied::Missing));
        assert_eq!(t.check(Some("Bearer gamma")), Err(Denied::Wrong));
        assert_eq!(t.check(Some("Bearer alph")), Err(Denied::Wrong));
        assert_eq!(t.check(Some("Bearer beta")), Ok(()));
        std::fs::write(&path, "gamma\n").unwrap();
        assert_eq!(t.reload().unwrap(), 1);
        assert_eq!(t.check(Some("Bearer gamma")), Ok(()));
        assert_eq!(t.check(Some("Bearer beta")), Err(Denied::Wrong));
    }
}
