//! What `swarm get` was given, told apart by form: a magnet link (`magnet:?…`), an
//! `http://` or `https://` URL of a metainfo file, or else a metainfo file's path.

use std::path::Path;

use anyhow::Context;
use metainfo::{Magnet, Metainfo};
use swarm_client::fetch::{FetchOptions, fetch_metainfo};

use crate::{Failure, load_meta};

/// Exit status of a source that cannot be read or is not a torrent.
const BAD_SOURCE: u8 = 3;

/// One source of `swarm get`.
pub enum Source {
    /// A metainfo, read from a file or fetched from a URL.
    Meta(Box<Metainfo>),
    /// A magnet link: the metainfo comes from peers once the session runs.
    Magnet(Box<Magnet>),
}

/// Reads, fetches or parses `source`; the error names it.
pub async fn load(source: &Path) -> Result<Source, Failure> {
    let text = source.to_str().unwrap_or_default();
    if has_prefix(text, "magnet:") {
        let magnet = Magnet::parse(text)
            .with_context(|| format!("bad magnet link {}", shorten(text)))
            .map_err(|e| Failure::new(BAD_SOURCE, e))?;
        return Ok(Source::Magnet(Box::new(magnet)));
    }
    if has_prefix(text, "http://") || has_prefix(text, "https://") {
        let meta = fetch_metainfo(text, &FetchOptions::default())
            .await
            .map_err(|e| Failure::new(BAD_SOURCE, e.into()))?;
        return Ok(Source::Meta(Box::new(meta)));
    }
    let meta = load_meta(source).map_err(|e| Failure::new(BAD_SOURCE, e))?;
    Ok(Source::Meta(Box::new(meta)))
}

fn has_prefix(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// A magnet link cut to a readable length for an error line.
fn shorten(link: &str) -> String {
    const MAX: usize = 80;
    match link.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &link[..at]),
        None => link.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_are_recognised_in_any_case() {
        assert!(has_prefix("MAGNET:?xt=urn:btih:00", "magnet:"));
        assert!(has_prefix("HTTPS://x/y.meta", "https://"));
        assert!(!has_prefix("magnet", "magnet:"));
        assert!(!has_prefix("./magnet:x", "magnet:"));
    }

    #[test]
    fn a_long_link_is_cut_on_a_character_boundary() {
        let link = format!("magnet:?dn={}", "é".repeat(100));
        let short = shorten(&link);
        assert!(short.ends_with('…'));
        assert_eq!(short.chars().count(), 81);
    }
}
