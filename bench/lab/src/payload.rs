//! The payload a scenario shares (pseudo-random bytes from the scenario's seed), its
//! metainfo (made with the `metainfo` crate, as `mkmeta` would), and the check of a
//! leecher's file against the piece hashes after the run.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use metainfo::Metainfo;
use metainfo::create::CreateOptions;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sha1::{Digest, Sha1};

use crate::scenario::Scenario;

/// Name of the shared file.
pub const FILE_NAME: &str = "payload.bin";

/// Writes `dir/payload.bin` and `dir/payload.meta` (announcing to `tracker_url`); returns the
/// metainfo's path and the metainfo.
pub fn make(sc: &Scenario, dir: &Path, tracker_url: &str) -> anyhow::Result<(PathBuf, Metainfo)> {
    let data = dir.join(FILE_NAME);
    write_random(&data, sc.file_size.0, sc.seed)?;
    let options = CreateOptions {
        trackers: vec![tracker_url.to_string()],
        piece_length: sc.piece_length.map(|p| p.0),
        creation_date: Some(0),
        ..CreateOptions::default()
    };
    let meta = metainfo::create::create(&data, &options, |_| {})
        .with_context(|| format!("cannot make metainfo for {}", data.display()))?;
    let meta_path = dir.join("payload.meta");
    std::fs::write(&meta_path, meta.to_bytes())
        .with_context(|| format!("cannot write {}", meta_path.display()))?;
    Ok((meta_path, meta))
}

fn write_random(path: &Path, len: u64, seed: u64) -> anyhow::Result<()> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x00DA_7A00_0001);
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        rng.fill_bytes(&mut buf[..n]);
        out.write_all(&buf[..n])?;
        left -= n as u64;
    }
    out.flush()?;
    Ok(())
}

/// Pieces of `path` that do not match the metainfo's hashes (a missing or short file counts
/// every missing piece).
pub fn bad_pieces(path: &Path, meta: &Metainfo) -> u32 {
    let info = &meta.info;
    let Ok(mut file) = File::open(path) else {
        return info.piece_count();
    };
    let mut buf = vec![0u8; info.piece_length as usize];
    let mut bad = 0;
    for index in 0..info.piece_count() {
        let size = info.piece_size(index) as usize;
        let ok = file.read_exact(&mut buf[..size]).is_ok()
            && info
                .piece_hash(index)
                .is_some_and(|h| Sha1::digest(&buf[..size]).as_slice() == h.as_slice());
        if !ok {
            bad += 1;
        }
    }
    bad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(size: &str, piece: &str) -> Scenario {
        toml::from_str(&format!(
            "name = \"t\"\nfile_size = \"{size}\"\npiece_length = \"{piece}\"\n[[group]]\nname = \"s\"\nrole = \"seed\"\n[[group]]\nname = \"l\"\nrole = \"leech\"\n"
        ))
        .unwrap()
    }

    #[test]
    fn the_payload_verifies_and_a_flipped_byte_is_one_bad_piece() {
        let dir = tempfile::tempdir().unwrap();
        let sc = scenario("100KiB", "16KiB");
        let (meta_path, meta) = make(&sc, dir.path(), "http://10.77.0.1:6969/announce").unwrap();
        assert!(meta_path.exists());
        assert_eq!(meta.info.piece_count(), 7);
        let data = dir.path().join(FILE_NAME);
        assert_eq!(bad_pieces(&data, &meta), 0);
        let mut bytes = std::fs::read(&data).unwrap();
        bytes[40_000] ^= 1;
        std::fs::write(&data, &bytes).unwrap();
        assert_eq!(bad_pieces(&data, &meta), 1);
        std::fs::write(&data, &bytes[..50_000]).unwrap();
        assert_eq!(
            bad_pieces(&data, &meta),
            5,
            "pieces 3.. are short or missing, 2 is flipped"
        );
        assert_eq!(bad_pieces(&dir.path().join("none"), &meta), 7);
    }

    #[test]
    fn the_same_seed_makes_the_same_torrent() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let sc = scenario("64KiB", "16KiB");
        let (_, ma) = make(&sc, a.path(), "http://x/announce").unwrap();
        let (_, mb) = make(&sc, b.path(), "http://x/announce").unwrap();
        assert_eq!(ma.info_hash, mb.info_hash);
    }
}
