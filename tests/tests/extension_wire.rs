//! The fast extension (BEP 6) and the extension protocol (BEP 10) as `swarm seed` speaks them,
//! checked on the wire by a test peer: the seeder opens with its extended handshake and
//! `have all`, and answers every request it will not serve with an explicit `reject`, so the
//! asking peer never waits for a block that is not coming.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use swarm_tests::metafile::{TestTorrent, write_meta};
use swarm_tests::ours::swarm_seed_all;
use swarm_tests::write_random_file;

const HAVE_ALL: u8 = 0x0E;
const REJECT: u8 = 0x10;
const ALLOWED_FAST: u8 = 0x11;
const PIECE: u8 = 7;
const EXTENDED: u8 = 20;

fn payload(root: &Path) -> TestTorrent {
    let data = root.join("payload.bin");
    write_random_file(&data, 1024 * 1024, 31);
    write_meta(&data, &root.join("t.meta"), 32 * 1024, None)
}

/// A raw connection speaking both extensions.
struct TestPeer(TcpStream);

impl TestPeer {
    fn connect(addr: &str, info_hash: &[u8; 20]) -> (TestPeer, [u8; 8]) {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut hello = vec![19];
        hello.extend_from_slice(b"BitTorrent protocol");
        hello.extend_from_slice(&[0, 0, 0, 0, 0, 0x10, 0, 0x04]);
        hello.extend_from_slice(info_hash);
        hello.extend_from_slice(b"-TP0001-testpeer0001");
        stream.write_all(&hello).unwrap();
        let mut theirs = [0u8; 68];
        stream.read_exact(&mut theirs).unwrap();
        let mut reserved = [0u8; 8];
        reserved.copy_from_slice(&theirs[20..28]);
        (TestPeer(stream), reserved)
    }

    /// The next message that is not a keep-alive: its id and payload.
    fn try_next(&mut self) -> std::io::Result<(u8, Vec<u8>)> {
        loop {
            let mut len = [0u8; 4];
            self.0.read_exact(&mut len)?;
            let len = u32::from_be_bytes(len) as usize;
            if len == 0 {
                continue;
            }
            let mut body = vec![0u8; len];
            self.0.read_exact(&mut body)?;
            return Ok((body[0], body[1..].to_vec()));
        }
    }

    fn next(&mut self) -> (u8, Vec<u8>) {
        self.try_next().expect("a message from the seeder")
    }

    fn request(&mut self, index: u32, begin: u32, length: u32) {
        let mut msg = 13u32.to_be_bytes().to_vec();
        msg.push(6);
        for v in [index, begin, length] {
            msg.extend_from_slice(&v.to_be_bytes());
        }
        self.0.write_all(&msg).unwrap();
    }
}

#[test]
fn swarm_seed_opens_with_have_all_and_rejects_choked_requests_explicitly() {
    let dir = tempfile::tempdir().unwrap();
    let t = payload(dir.path());
    let seed = swarm_seed_all(&[&t.meta]);
    std::thread::sleep(Duration::from_secs(1));
    let (mut peer, reserved) = TestPeer::connect(&seed.addr(), &t.info_hash);
    assert_eq!(reserved[5] & 0x10, 0x10, "extension protocol bit");
    assert_eq!(reserved[7] & 0x04, 0x04, "fast extension bit");

    let (id, payload) = peer.next();
    assert_eq!(id, EXTENDED, "extended handshake first");
    assert_eq!(
        payload.first(),
        Some(&0),
        "extended message 0 is the handshake"
    );
    let text = String::from_utf8_lossy(&payload);
    assert!(
        text.contains("ut_metadata") && text.contains("metadata_size"),
        "{text}"
    );
    assert_eq!(peer.next().0, HAVE_ALL, "a seeder opens with have all");

    let mut allowed = Vec::new();
    // Allowed-fast announcements follow; then nothing until we speak (we are choked).
    peer.0
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    while let Ok((id, payload)) = peer.try_next() {
        assert_eq!(id, ALLOWED_FAST, "only allowed-fast messages while choked");
        allowed.push(u32::from_be_bytes(payload[..4].try_into().unwrap()));
    }
    peer.0
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();

    // Every piece asked for while choked gets an answer: the block (allowed fast) or a reject.
    let mut rejected = 0;
    for index in 0..t.piece_count() {
        peer.request(index, 0, 16 * 1024);
        let (id, payload) = peer.next();
        let answered = u32::from_be_bytes(payload[..4].try_into().unwrap());
        assert_eq!(answered, index, "answers come in order");
        match id {
            REJECT => rejected += 1,
            PIECE => assert!(allowed.contains(&index), "piece {index} sent while choked"),
            other => panic!("unexpected message {other} for request {index}"),
        }
    }
    assert!(rejected > 0 && rejected + allowed.len() as u32 == t.piece_count());
    drop(seed);
}
