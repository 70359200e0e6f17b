//! Every file in `fixtures/bad/` (written by `fixtures/bad/generate.py`) is rejected with the
//! error for the one rule it breaks — never a panic, never a different rule — and the message
//! is a single line.

use std::path::PathBuf;

use metainfo::bencode::BencodeError as B;
use metainfo::{Metainfo, MetainfoError as E, PathProblem as P};

type Check = fn(&E) -> bool;

const CASES: &[(&str, Check)] = &[
    ("truncated", |e| matches!(e, E::Bencode(B::Truncated(_)))),
    ("trailing-garbage", |e| {
        matches!(e, E::Bencode(B::TrailingData(_)))
    }),
    ("deep-nesting", |e| {
        matches!(e, E::Bencode(B::TooDeep { max: 64, .. }))
    }),
    ("non-canonical-integer", |e| {
        matches!(e, E::Bencode(B::NonCanonicalInteger(_)))
    }),
    ("negative-zero", |e| {
        matches!(e, E::Bencode(B::NonCanonicalInteger(_)))
    }),
    ("integer-overflow", |e| {
        matches!(e, E::Bencode(B::IntegerOutOfRange(_)))
    }),
    ("huge-string-length", |e| {
        matches!(e, E::Bencode(B::StringPastEnd { .. }))
    }),
    ("dictionary-key-not-a-string", |e| {
        matches!(e, E::Bencode(B::NonStringKey(1)))
    }),
    ("not-a-dictionary", |e| matches!(e, E::NotADictionary)),
    ("empty", |e| matches!(e, E::Bencode(B::Empty))),
    ("missing-info", |e| matches!(e, E::MissingInfo)),
    ("info-not-a-dictionary", |e| {
        matches!(e, E::InfoNotADictionary)
    }),
    ("wrong-type", |e| matches!(e, E::WrongType(_))),
    ("missing-name", |e| matches!(e, E::MissingName)),
    ("name-dot-dot", |e| {
        matches!(
            e,
            E::InvalidName {
                problem: P::ParentDir,
                ..
            }
        )
    }),
    ("name-with-slash", |e| {
        matches!(
            e,
            E::InvalidName {
                problem: P::Separator,
                ..
            }
        )
    }),
    ("name-empty", |e| {
        matches!(
            e,
            E::InvalidName {
                problem: P::Empty,
                ..
            }
        )
    }),
    ("missing-piece-length", |e| {
        matches!(e, E::MissingPieceLength)
    }),
    ("zero-piece-length", |e| {
        matches!(e, E::NonPositivePieceLength(0))
    }),
    ("negative-piece-length", |e| {
        matches!(e, E::NonPositivePieceLength(-16384))
    }),
    ("huge-piece-length", |e| {
        matches!(e, E::PieceLengthTooLarge { .. })
    }),
    ("missing-pieces", |e| matches!(e, E::MissingPieces)),
    ("pieces-not-multiple-of-20", |e| {
        matches!(e, E::PiecesNotMultipleOf20(59))
    }),
    ("too-few-pieces", |e| {
        matches!(
            e,
            E::PieceCountMismatch {
                actual: 2,
                expected: 3,
                ..
            }
        )
    }),
    ("too-many-pieces", |e| {
        matches!(
            e,
            E::PieceCountMismatch {
                actual: 4,
                expected: 3,
                ..
            }
        )
    }),
    ("missing-length-and-files", |e| {
        matches!(e, E::MissingLengthAndFiles)
    }),
    ("both-length-and-files", |e| {
        matches!(e, E::BothLengthAndFiles)
    }),
    ("negative-length", |e| {
        matches!(e, E::NegativeLength { length: -1, .. })
    }),
    ("huge-length", |e| {
        matches!(e, E::TotalLengthTooLarge { .. })
    }),
    ("no-data", |e| matches!(e, E::NoData)),
    ("empty-file-list", |e| matches!(e, E::NoFiles)),
    ("file-missing-length", |e| {
        matches!(e, E::MissingFileLength { index: 1 })
    }),
    ("file-missing-path", |e| {
        matches!(e, E::MissingFilePath { index: 1 })
    }),
    ("file-empty-path", |e| {
        matches!(e, E::EmptyFilePath { index: 1 })
    }),
    ("negative-file-length", |e| {
        matches!(e, E::NegativeLength { length: -50, .. })
    }),
    ("huge-file-lengths", |e| {
        matches!(e, E::TotalLengthTooLarge { .. })
    }),
    ("path-empty-component", |e| {
        matches!(
            e,
            E::InvalidPathComponent {
                problem: P::Empty,
                ..
            }
        )
    }),
    ("path-dot", |e| {
        matches!(
            e,
            E::InvalidPathComponent {
                problem: P::CurrentDir,
                ..
            }
        )
    }),
    ("path-dot-dot", |e| {
        matches!(
            e,
            E::InvalidPathComponent {
                problem: P::ParentDir,
                ..
            }
        )
    }),
    ("path-absolute", |e| {
        matches!(
            e,
            E::InvalidPathComponent {
                problem: P::Separator,
                ..
            }
        )
    }),
    ("path-backslash", |e| {
        matches!(
            e,
            E::InvalidPathComponent {
                problem: P::Separator,
                ..
            }
        )
    }),
    ("path-nul", |e| {
        matches!(
            e,
            E::InvalidPathComponent {
                problem: P::Nul,
                ..
            }
        )
    }),
    ("path-drive", |e| {
        matches!(
            e,
            E::InvalidPathComponent {
                problem: P::DrivePrefix,
                ..
            }
        )
    }),
    (
        "duplicate-paths",
        |e| matches!(e, E::DuplicatePath(p) if p == "dir/a/b"),
    ),
    (
        "file-is-also-directory",
        |e| matches!(e, E::FileIsAlsoDirectory(p) if p == "dir/a"),
    ),
    ("too-many-files", |e| {
        matches!(e, E::TooManyFiles { count: 100_000, .. })
    }),
];

fn bad_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/bad")
}

#[test]
fn each_bad_fixture_is_rejected_with_its_own_error() {
    let mut failures = Vec::new();
    for (name, check) in CASES {
        let path = bad_dir().join(format!("{name}.meta"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let started = std::time::Instant::now();
        let result = Metainfo::from_bytes(&bytes);
        let elapsed = started.elapsed();
        match result {
            Ok(_) => failures.push(format!("{name}: accepted")),
            Err(err) if !check(&err) => failures.push(format!("{name}: wrong error: {err:?}")),
            Err(err) => {
                let message = err.to_string();
                assert!(
                    !message.contains('\n'),
                    "{name}: multi-line message {message:?}"
                );
                println!("{name}: {message} ({elapsed:?})");
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_bad_fixture_is_checked() {
    let mut unchecked = Vec::new();
    for entry in std::fs::read_dir(bad_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(stem) = name.strip_suffix(".meta")
            && !CASES.iter().any(|(case, _)| *case == stem)
        {
            unchecked.push(name);
        }
    }
    assert!(unchecked.is_empty(), "no expectation for {unchecked:?}");
}

#[test]
fn oversized_input_is_rejected_before_parsing() {
    let bytes = vec![b'd'; metainfo::MAX_METAINFO_SIZE + 1];
    assert!(matches!(
        Metainfo::from_bytes(&bytes),
        Err(E::TooLarge { .. })
    ));
}

#[test]
fn errors_distinguish_each_rule() {
    // Different fixtures breaking different rules give different messages.
    let mut messages = std::collections::HashSet::new();
    for (name, _) in CASES {
        let bytes = std::fs::read(bad_dir().join(format!("{name}.meta"))).unwrap();
        let err = Metainfo::from_bytes(&bytes).unwrap_err();
        messages.insert(err.to_string());
    }
    assert_eq!(messages.len(), CASES.len());
}
