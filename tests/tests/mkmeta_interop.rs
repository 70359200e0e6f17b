//! Metainfo made by `mkmeta` against other tools: `transmission-show` and libtorrent read
//! it with the same info-hash, mktorrent hashes the same pieces at the same piece length,
//! and `mkmeta --verify` checks data against metainfo made by those tools.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use metainfo::Metainfo;
use swarm_tests::{SYSTEM_PYTHON, bin, require_libtorrent, require_tool, write_random_file};
use tempfile::TempDir;

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("start command");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn load(path: &Path) -> Metainfo {
    Metainfo::from_bytes(&fs::read(path).expect("read metainfo")).expect("valid metainfo")
}

/// A single ~1 MiB file and a tree with nested directories and a zero-length file, named so
/// that byte-wise path order and component-wise order agree.
fn payloads(root: &Path) -> (PathBuf, PathBuf) {
    let single = root.join("single.bin");
    write_random_file(&single, 1_000_003, 11);
    let tree = root.join("tree");
    write_random_file(&tree.join("README"), 1_234, 12);
    write_random_file(&tree.join("a/one.bin"), 300_000, 13);
    write_random_file(&tree.join("a/z/two.bin"), 65_536, 14);
    write_random_file(&tree.join("b/empty"), 0, 15);
    write_random_file(&tree.join("b/three.bin"), 250_001, 16);
    (single, tree)
}

/// mkmeta `input` into `out` with 32 KiB pieces.
fn mkmeta(input: &Path, out: &Path) -> Metainfo {
    run(Command::new(bin("mkmeta"))
        .arg(input)
        .args([
            "--piece-length",
            "32K",
            "-t",
            "http://127.0.0.1:6969/announce",
            "-o",
        ])
        .arg(out));
    load(out)
}

#[test]
fn transmission_show_reads_mkmeta_output_with_the_same_info_hash() {
    if !require_tool("transmission-show") {
        return;
    }
    let tmp = TempDir::new().expect("tempdir");
    let (single, tree) = payloads(tmp.path());
    for input in [single, tree] {
        let meta_path = tmp.path().join("out.meta");
        let meta = mkmeta(&input, &meta_path);
        let out = run(Command::new("transmission-show").arg(&meta_path));
        let text = String::from_utf8_lossy(&out.stdout);
        let hash = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Hash: "))
            .unwrap_or_else(|| panic!("no Hash line in:\n{text}"));
        assert_eq!(hash, meta.info_hash.to_string(), "{}", input.display());
        let pieces = format!("Piece Count: {}", meta.info.piece_count());
        assert!(text.contains(&pieces), "{pieces} in:\n{text}");
        fs::remove_file(&meta_path).expect("rm");
    }
}

#[test]
fn libtorrent_reads_mkmeta_output_with_the_same_info_hash_files_and_pieces() {
    if !require_libtorrent() {
        return;
    }
    let tmp = TempDir::new().expect("tempdir");
    let (single, tree) = payloads(tmp.path());
    let script = r#"
import sys, libtorrent as lt
ti = lt.torrent_info(sys.argv[1])
fs = ti.files()
print(ti.info_hashes().v1)
print(ti.num_pieces(), ti.piece_length(), ti.total_size())
for i in range(fs.num_files()):
    print(fs.file_size(i), fs.file_path(i))
for i in range(ti.num_pieces()):
    print(bytes(ti.hash_for_piece(i)).hex())
"#;
    for input in [single, tree] {
        let meta_path = tmp.path().join("out.meta");
        let meta = mkmeta(&input, &meta_path);
        let out = run(Command::new(SYSTEM_PYTHON)
            .arg("-c")
            .arg(script)
            .arg(&meta_path));
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some(meta.info_hash.to_string().as_str()));
        let info = &meta.info;
        let counts = format!(
            "{} {} {}",
            info.piece_count(),
            info.piece_length,
            info.total_length()
        );
        assert_eq!(lines.next(), Some(counts.as_str()));
        for file in &info.files {
            let want = format!("{} {}", file.length, file.path.join("/"));
            assert_eq!(lines.next(), Some(want.as_str()));
        }
        for hash in &info.pieces {
            assert_eq!(lines.next(), Some(hex::encode(hash).as_str()));
        }
        assert_eq!(lines.next(), None);
        fs::remove_file(&meta_path).expect("rm");
    }
}

#[test]
fn piece_hashes_equal_mktorrents_at_the_same_piece_length() {
    if !require_tool("mktorrent") {
        return;
    }
    let tmp = TempDir::new().expect("tempdir");
    let (single, tree) = payloads(tmp.path());
    for input in [single, tree] {
        let ours = mkmeta(&input, &tmp.path().join("ours.meta"));
        let theirs_path = tmp.path().join("theirs.meta");
        run(Command::new("mktorrent")
            .args([
                "-d",
                "-l",
                "15",
                "-a",
                "http://127.0.0.1:6969/announce",
                "-o",
            ])
            .arg(&theirs_path)
            .arg(&input));
        let theirs = load(&theirs_path);
        assert_eq!(ours.info.piece_length, theirs.info.piece_length);
        assert_eq!(ours.info.files, theirs.info.files, "{}", input.display());
        assert_eq!(ours.info.pieces, theirs.info.pieces, "{}", input.display());
        fs::remove_file(tmp.path().join("ours.meta")).expect("rm");
        fs::remove_file(&theirs_path).expect("rm");
    }
}

#[test]
fn verify_checks_data_against_other_tools_metainfo() {
    // Needs no tool: the fixtures were made by mktorrent, transmission-create and libtorrent.
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    for (meta, data) in [
        ("mktorrent-single.meta", "payload/single.bin"),
        ("mktorrent-tree.meta", "payload/tree"),
        ("transmission-single.meta", "payload/single.bin"),
        ("transmission-tree.meta", "payload/tree"),
        ("libtorrent-single.meta", "payload/single.bin"),
        ("libtorrent-tree.meta", "payload/tree"),
        // BEP 47 padding files (`.pad/N`) are not on disk: they count as zeros.
        ("libtorrent-hybrid-tree.meta", "payload/tree"),
    ] {
        let out = Command::new(bin("mkmeta"))
            .arg("--verify")
            .arg(fixtures.join(meta))
            .arg(fixtures.join(data))
            .output()
            .expect("run mkmeta");
        assert!(
            out.status.success(),
            "{meta}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
