//! A tiny, self-contained single-file metainfo writer for the interop tests.
//!
//! It bencodes the info dictionary by hand (keys in sorted order, as BEP 3 requires) so the
//! tests that pit our client against aria2, libtorrent, Transmission and the fake peer do not
//! depend on `mkmeta` or the `metainfo` crate being finished; the info-hash it returns is the
//! SHA-1 of exactly the bytes it wrote.

use sha1::{Digest, Sha1};
use std::io::Read;
use std::path::{Path, PathBuf};

/// What a test needs to know about a single-file torrent it created.
#[derive(Clone, Debug)]
pub struct TestTorrent {
    /// Where the `.meta` file was written.
    pub meta: PathBuf,
    /// The payload file the torrent describes.
    pub payload: PathBuf,
    /// `name` in the info dictionary (the payload's file name).
    pub name: String,
    /// SHA-1 of the bencoded info dictionary.
    pub info_hash: [u8; 20],
    /// Bytes per piece (the last piece may be shorter).
    pub piece_length: u64,
    /// Payload length in bytes.
    pub total_length: u64,
    /// SHA-1 of every piece.
    pub piece_hashes: Vec<[u8; 20]>,
}

impl TestTorrent {
    /// Number of pieces.
    pub fn piece_count(&self) -> u32 {
        self.piece_hashes.len() as u32
    }

    /// Length of piece `index` (the last one may be short).
    pub fn piece_size(&self, index: u32) -> u64 {
        let start = u64::from(index) * self.piece_length;
        self.piece_length
            .min(self.total_length.saturating_sub(start))
    }

    /// The info-hash as 40 lowercase hex digits.
    pub fn info_hash_hex(&self) -> String {
        hex::encode(self.info_hash)
    }
}

/// Write a single-file metainfo for `payload` to `meta`, with `piece_length`-byte pieces and
/// an optional announce URL. The torrent's name is the payload's file name.
pub fn write_meta(
    payload: &Path,
    meta: &Path,
    piece_length: u64,
    announce: Option<&str>,
) -> TestTorrent {
    assert!(piece_length >= 16 * 1024 && piece_length.is_power_of_two());
    let name = payload
        .file_name()
        .and_then(|n| n.to_str())
        .expect("payload has a UTF-8 file name")
        .to_string();
    let (total_length, piece_hashes) = hash_pieces(payload, piece_length);

    let mut pieces = Vec::with_capacity(piece_hashes.len() * 20);
    for h in &piece_hashes {
        pieces.extend_from_slice(h);
    }
    let mut info = Vec::new();
    info.push(b'd');
    bstr(&mut info, b"length");
    bint(&mut info, total_length);
    bstr(&mut info, b"name");
    bstr(&mut info, name.as_bytes());
    bstr(&mut info, b"piece length");
    bint(&mut info, piece_length);
    bstr(&mut info, b"pieces");
    bstr(&mut info, &pieces);
    info.push(b'e');
    let info_hash: [u8; 20] = Sha1::digest(&info).into();

    let mut out = Vec::new();
    out.push(b'd');
    if let Some(url) = announce {
        bstr(&mut out, b"announce");
        bstr(&mut out, url.as_bytes());
    }
    bstr(&mut out, b"created by");
    bstr(&mut out, b"swarm-tests");
    bstr(&mut out, b"info");
    out.extend_from_slice(&info);
    out.push(b'e');
    if let Some(parent) = meta.parent() {
        std::fs::create_dir_all(parent).expect("create meta dir");
    }
    std::fs::write(meta, out).expect("write meta");

    TestTorrent {
        meta: meta.to_path_buf(),
        payload: payload.to_path_buf(),
        name,
        info_hash,
        piece_length,
        total_length,
        piece_hashes,
    }
}

fn hash_pieces(payload: &Path, piece_length: u64) -> (u64, Vec<[u8; 20]>) {
    let mut file = std::fs::File::open(payload).expect("open payload");
    let mut buf = vec![0u8; piece_length as usize];
    let mut hashes = Vec::new();
    let mut total = 0u64;
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            let n = file.read(&mut buf[filled..]).expect("read payload");
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            break;
        }
        total += filled as u64;
        hashes.push(Sha1::digest(&buf[..filled]).into());
        if filled < buf.len() {
            break;
        }
    }
    (total, hashes)
}

fn bstr(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(s.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(s);
}

fn bint(out: &mut Vec<u8>, v: u64) {
    out.push(b'i');
    out.extend_from_slice(v.to_string().as_bytes());
    out.push(b'e');
}
