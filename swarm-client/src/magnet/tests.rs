//! Resolution against fake peers on loopback: a peer that serves a dictionary whose hash is
//! wrong is dropped and not handed to the torrent, while an honest peer's metadata wins; a
//! peer that announces an oversized dictionary is never asked.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use metainfo::{InfoHash, Magnet};
use tokio::net::TcpListener;
use tokio_util::codec::FramedRead;

use super::*;
use crate::extension::{
    ExtendedHandshake, ExtendedMessage, ExtensionIds, MetadataMessage, OUR_IDS,
};
use crate::wire::{Message, MessageCodec};

const INFO: &[u8] =
    b"d6:lengthi5e4:name4:test12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaae";

/// A peer that, asked for metadata, serves `served` after waiting `greet_after`, advertising
/// `size` as the metadata size.
async fn fake_peer(
    info_hash: InfoHash,
    served: Bytes,
    size: u64,
    greet_after: Duration,
) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let served = served.clone();
            tokio::spawn(async move {
                let ours = Handshake::with_extensions(
                    info_hash,
                    PeerId::from([9; 20]),
                    Extensions {
                        extension_protocol: true,
                        fast: false,
                    },
                );
                let Ok(_) =
                    crate::wire::handshake::respond(&mut stream, &ours, Duration::from_secs(5))
                        .await
                else {
                    return;
                };
                tokio::time::sleep(greet_after).await;
                let (rd, mut wr) = stream.into_split();
                let hello = ExtendedHandshake {
                    extensions: ExtensionIds {
                        ut_metadata: Some(3),
                        ut_pex: None,
                    },
                    metadata_size: Some(size),
                    ..ExtendedHandshake::default()
                };
                let theirs = OUR_IDS;
                let msg = ExtendedMessage::Handshake(hello).to_wire(&theirs).unwrap();
                if crate::wire::codec::write_message(&mut wr, &msg)
                    .await
                    .is_err()
                {
                    return;
                }
                let mut reader = FramedRead::new(rd, MessageCodec::new());
                while let Some(Ok(message)) = reader.next().await {
                    let Message::Extended { id, payload } = message else {
                        continue;
                    };
                    if id != 3 {
                        continue;
                    }
                    if let Ok(Some(MetadataMessage::Request { piece })) =
                        MetadataMessage::decode(&payload)
                    {
                        let data = ExtendedMessage::Metadata(MetadataMessage::Data {
                            piece,
                            total_size: Some(served.len() as u64),
                            data: served.clone(),
                        });
                        let wire = data.to_wire(&theirs).unwrap();
                        let _ = crate::wire::codec::write_message(&mut wr, &wire).await;
                    }
                }
            });
        }
    });
    addr
}

fn config(peers: Vec<SocketAddr>, timeout: Duration) -> ResolveConfig {
    ResolveConfig {
        peer_id: PeerId::from([1; 20]),
        listen_port: 6881,
        peers,
        use_trackers: false,
        timeout: Some(timeout),
        max_connections: 4,
    }
}

#[tokio::test]
async fn a_peer_that_sends_a_dictionary_with_the_wrong_hash_is_dropped_and_an_honest_one_wins() {
    let info_hash = InfoHash::of_info_bytes(INFO);
    let mut forged = INFO.to_vec();
    forged[25] = b'X'; // the name: same size, other hash
    let liar = fake_peer(
        info_hash,
        Bytes::from(forged),
        INFO.len() as u64,
        Duration::ZERO,
    )
    .await;
    let honest = fake_peer(
        info_hash,
        Bytes::from_static(INFO),
        INFO.len() as u64,
        Duration::from_millis(500),
    )
    .await;
    let magnet = Magnet::new(info_hash);
    let resolved = resolve(&magnet, config(vec![liar, honest], Duration::from_secs(60)))
        .await
        .expect("the honest peer's metadata");
    assert_eq!(resolved.meta.info.name, "test");
    assert!(!resolved.peers.contains(&liar), "{:?}", resolved.peers);
    assert!(resolved.peers.contains(&honest));
}

#[tokio::test]
async fn an_oversized_metadata_size_is_never_fetched() {
    let info_hash = InfoHash::of_info_bytes(INFO);
    let huge = fake_peer(info_hash, Bytes::from_static(INFO), 1 << 40, Duration::ZERO).await;
    let error = resolve(
        &Magnet::new(info_hash),
        config(vec![huge], Duration::from_secs(3)),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, ResolveError::Timeout { .. }), "{error}");
}

#[tokio::test]
async fn a_link_with_no_tracker_and_no_peer_is_refused_at_once() {
    let error = resolve(
        &Magnet::new(InfoHash::from([3; 20])),
        config(Vec::new(), Duration::from_secs(3)),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, ResolveError::NoSources));
}
