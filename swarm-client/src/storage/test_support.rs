//! Helpers for unit tests of storage, resume and verify: small torrents with known data.

use std::path::Path;

use metainfo::{FileEntry, Info};

use sha1::{Digest, Sha1};

/// Deterministic pseudo-random bytes (a tiny xorshift, so tests need no RNG crate).
pub fn payload(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// A multi-file torrent named `name` over `data`, split into `files` (path below the name,
/// length) in order; piece hashes are those of `data`.
pub fn multi_file_info(name: &str, piece_length: u64, files: &[(&str, u64)], data: &[u8]) -> Info {
    let mut offset = 0;
    let entries = files
        .iter()
        .map(|(path, length)| {
            let mut components = vec![name.to_string()];
            components.extend(path.split('/').map(str::to_string));
            let entry = FileEntry {
                path: components,
                length: *length,
                offset,
            };
            offset += length;
            entry
        })
        .collect();
    assert_eq!(
        offset,
        data.len() as u64,
        "file lengths must add up to the data"
    );
    Info {
        name: name.to_string(),
        piece_length,
        pieces: data
            .chunks(piece_length as usize)
            .map(|piece| Sha1::digest(piece).into())
            .collect(),
        private: false,
        files: entries,
        single_file: false,
    }
}

/// A single-file torrent of `data`.
pub fn single_file_info(name: &str, piece_length: u64, data: &[u8]) -> Info {
    Info {
        name: name.to_string(),
        piece_length,
        pieces: data
            .chunks(piece_length as usize)
            .map(|piece| Sha1::digest(piece).into())
            .collect(),
        private: false,
        files: vec![FileEntry {
            path: vec![name.to_string()],
            length: data.len() as u64,
            offset: 0,
        }],
        single_file: true,
    }
}

/// Writes the torrent's files under `root` directly (as another client would have).
pub fn write_files(root: &Path, info: &Info, data: &[u8]) {
    for entry in &info.files {
        let path = root.join(entry.relative_path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let start = entry.offset as usize;
        std::fs::write(&path, &data[start..start + entry.length as usize]).unwrap();
    }
}

/// The standard awkward layout: zero-length files at the start, middle and end, files
/// smaller than a piece, a file spanning several pieces, and a short last piece.
pub fn awkward_torrent() -> (Info, Vec<u8>) {
    let files: &[(&str, u64)] = &[
        ("empty0", 0),
        ("a", 5),
        ("sub/b", 100),
        ("sub/empty1", 0),
        ("sub/deeper/c", 3),
        ("d", 1000),
        ("z-empty2", 0),
    ];
    let total: u64 = files.iter().map(|f| f.1).sum();
    let data = payload(total as usize, 42);
    (multi_file_info("t", 64, files, &data), data)
}
