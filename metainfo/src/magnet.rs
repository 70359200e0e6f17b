//! Magnet links (BEP 9): `magnet:?xt=urn:btih:<hex>&dn=<name>&tr=<tracker>...`.

use crate::Metainfo;
use crate::info_hash::percent_encode_str;

impl Metainfo {
    /// The magnet link: info-hash, percent-encoded name, and every tracker of every tier once,
    /// in tier order, each percent-encoded.
    pub fn magnet(&self) -> String {
        let mut link = format!(
            "magnet:?xt=urn:btih:{}&dn={}",
            self.info_hash,
            percent_encode_str(&self.info.name)
        );
        let mut seen = Vec::new();
        for url in self.trackers().into_iter().flatten() {
            if !seen.contains(&url) {
                link.push_str("&tr=");
                link.push_str(&percent_encode_str(&url));
                seen.push(url);
            }
        }
        link
    }
}
