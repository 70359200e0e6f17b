//! A tiny, self-contained metainfo writer (single-file and multi-file) for the interop tests.
//!
//! It bencodes the info dictionary by hand (keys in sorted order, as BEP 3 requires) so the
//! tests that pit our client against aria2, libtorrent, Transmission and the fake peer do not
//! depend on `mkmeta` or the `metainfo` crate being finished; the info-hash it returns is the
//! SHA-1 of exactly the bytes it wrote.

use sha1::{Digest, Sha1};
use std::io::Read;
use std::path::{Path, PathBuf};

/// What a test needs to know about a torrent it created.
#[derive(Clone, Debug)]
pub struct TestTorrent {
    /// Where the `.meta` file was written.
    pub meta: PathBuf,
    /// The payload the torrent describes: a file, or the folder of a multi-file torrent.
    pub payload: PathBuf,
    /// `name` in the info dictionary (the payload's file or folder name).
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
    let name = file_name(payload);
    let (total_length, piece_hashes) = hash_pieces(&[payload.to_path_buf()], piece_length);
    let mut body = Vec::new();
    bstr(&mut body, b"length");
    bint(&mut body, total_length);
    let info = info_dict(&body, &name, piece_length, &piece_hashes);
    TestTorrent {
        meta: meta.to_path_buf(),
        payload: payload.to_path_buf(),
        name,
        info_hash: write_file(meta, &info, announce),
        piece_length,
        total_length,
        piece_hashes,
    }
}

/// Write a multi-file metainfo for the folder `dir` to `meta`: every file under it (zero-length
/// ones too), in path order, with `piece_length`-byte pieces and an optional announce URL. The
/// torrent's name is the folder's name; [`TestTorrent::payload`] is the folder.
pub fn write_multi_meta(
    dir: &Path,
    meta: &Path,
    piece_length: u64,
    announce: Option<&str>,
) -> TestTorrent {
    assert!(piece_length >= 16 * 1024 && piece_length.is_power_of_two());
    let name = file_name(dir);
    let files = files_under(dir);
    assert!(!files.is_empty(), "{} holds no files", dir.display());
    let (total_length, piece_hashes) = hash_pieces(&files, piece_length);
    let mut body = Vec::new();
    bstr(&mut body, b"files");
    body.push(b'l');
    for file in &files {
        let len = std::fs::metadata(file).expect("stat payload file").len();
        body.push(b'd');
        bstr(&mut body, b"length");
        bint(&mut body, len);
        bstr(&mut body, b"path");
        body.push(b'l');
        for part in file.strip_prefix(dir).expect("file under dir").components() {
            bstr(
                &mut body,
                part.as_os_str().to_str().expect("UTF-8 path").as_bytes(),
            );
        }
        body.push(b'e');
        body.push(b'e');
    }
    body.push(b'e');
    let info = info_dict(&body, &name, piece_length, &piece_hashes);
    TestTorrent {
        meta: meta.to_path_buf(),
        payload: dir.to_path_buf(),
        name,
        info_hash: write_file(meta, &info, announce),
        piece_length,
        total_length,
        piece_hashes,
    }
}

/// Write the files `(relative path, length)` under `dir` with deterministic contents
/// (each from `seed` plus its index), creating folders; returns `dir`.
pub fn write_tree(dir: &Path, files: &[(&str, u64)], seed: u64) -> PathBuf {
    for (i, (rel, len)) in files.iter().enumerate() {
        crate::write_random_file(&dir.join(rel), *len, seed.wrapping_add(i as u64 * 7919));
    }
    dir.to_path_buf()
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .expect("payload has a UTF-8 file name")
        .to_string()
}

/// Every file under `dir`, sorted by path (component by component, as BEP 3 orders nothing
/// but every client accepts).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read payload dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

/// `d` + `body` (keys sorting before "name") + name, piece length, pieces + `e`.
fn info_dict(body: &[u8], name: &str, piece_length: u64, hashes: &[[u8; 20]]) -> Vec<u8> {
    let mut info = vec![b'd'];
    info.extend_from_slice(body);
    bstr(&mut info, b"name");
    bstr(&mut info, name.as_bytes());
    bstr(&mut info, b"piece length");
    bint(&mut info, piece_length);
    bstr(&mut info, b"pieces");
    bstr(&mut info, &hashes.concat());
    info.push(b'e');
    info
}

/// Write the metainfo around `info` to `meta`; returns the info-hash.
fn write_file(meta: &Path, info: &[u8], announce: Option<&str>) -> [u8; 20] {
    let mut out = Vec::new();
    out.push(b'd');
    if let Some(url) = announce {
        bstr(&mut out, b"announce");
        bstr(&mut out, url.as_bytes());
    }
    bstr(&mut out, b"created by");
    bstr(&mut out, b"swarm-tests");
    bstr(&mut out, b"info");
    out.extend_from_slice(info);
    out.push(b'e');
    if let Some(parent) = meta.parent() {
        std::fs::create_dir_all(parent).expect("create meta dir");
    }
    std::fs::write(meta, out).expect("write meta");
    Sha1::digest(info).into()
}

/// SHA-1 of every piece of the concatenation of `files`.
fn hash_pieces(files: &[PathBuf], piece_length: u64) -> (u64, Vec<[u8; 20]>) {
    let mut buf = vec![0u8; piece_length as usize];
    let mut filled = 0;
    let mut hashes = Vec::new();
    let mut total = 0u64;
    for path in files {
        let mut file = std::fs::File::open(path).expect("open payload");
        loop {
            let n = file.read(&mut buf[filled..]).expect("read payload");
            if n == 0 {
                break;
            }
            filled += n;
            total += n as u64;
            if filled == buf.len() {
                hashes.push(Sha1::digest(&buf).into());
                filled = 0;
            }
        }
    }
    if filled > 0 {
        hashes.push(Sha1::digest(&buf[..filled]).into());
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
