//! The client's announcer (`swarm_client::tracker_client`) against our real `tracker`
//! binary on loopback, over HTTP and UDP: two announcers for one torrent are handed each
//! other's address, a dead first tier falls back to the working one, and shutdown sends
//! `stopped` (after which the tracker no longer hands the peer out).

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use metainfo::InfoHash;
use swarm_client::tracker_client::{
    AnnounceEvent, AnnounceRequest, Announcer, AnnouncerConfig, Event, Tracker, TransferStats,
    UdpConfig,
};
use swarm_tests::output::Proc;
use swarm_tests::{bin, free_port, wait_for_port};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

const LIMIT: Duration = Duration::from_secs(30);

/// Our tracker with HTTP and UDP on one free loopback port and a 1 s interval.
fn start_tracker() -> (Proc, tempfile::TempDir) {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let data = swarm_tests::ours::data_dir();
    let mut cmd = Command::new(bin("tracker"));
    cmd.args(["--listen", &addr, "--udp", &addr])
        .args(["--interval", "1", "--min-interval", "1"])
        .arg("--data-dir")
        .arg(data.path());
    let proc = Proc::spawn("tracker", &mut cmd, port);
    wait_for_port(port, LIMIT);
    (proc, data)
}

fn config() -> AnnouncerConfig {
    AnnouncerConfig {
        udp: UdpConfig {
            initial_timeout: Duration::from_millis(500),
            attempts: 3,
        },
        retry_initial: Duration::from_millis(500),
        ..AnnouncerConfig::default()
    }
}

struct Running {
    events: mpsc::Sender<Event>,
    peers: mpsc::Receiver<Vec<SocketAddr>>,
    task: JoinHandle<()>,
    _stats: watch::Sender<TransferStats>,
    _status: mpsc::Receiver<swarm_client::tracker_client::TrackerStatus>,
}

fn spawn_announcer(tiers: Vec<Vec<String>>, info_hash: InfoHash, id: u8, port: u16) -> Running {
    let mut peer_id = *b"-SW0100-000000000000";
    peer_id[19] = id;
    let announcer = Announcer::with_config(tiers, info_hash, peer_id, port, config());
    let (stats, stats_rx) = watch::channel(TransferStats {
        left: 1000,
        ..TransferStats::default()
    });
    let (events, events_rx) = mpsc::channel(4);
    let (peers_tx, peers) = mpsc::channel(16);
    let (status_tx, status) = mpsc::channel(64);
    let task = tokio::spawn(announcer.run(stats_rx, events_rx, peers_tx, status_tx));
    Running {
        events,
        peers,
        task,
        _stats: stats,
        _status: status,
    }
}

/// Waits until `running` is handed `wanted` by the tracker.
async fn wait_for_peer(running: &mut Running, wanted: SocketAddr) {
    let found = tokio::time::timeout(LIMIT, async {
        while let Some(peers) = running.peers.recv().await {
            if peers.contains(&wanted) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "tracker never handed out {wanted}");
}

async fn stop(running: Running) {
    running.events.send(Event::Stopped).await.unwrap();
    tokio::time::timeout(LIMIT, running.task)
        .await
        .expect("announcer stops in bounded time")
        .unwrap();
}

#[tokio::test]
async fn http_and_udp_announcers_find_each_other_and_stop() {
    let (tracker, _data) = start_tracker();
    let http_url = format!("http://{}/announce", tracker.addr());
    let udp_url = format!("udp://{}/announce", tracker.addr());
    let info_hash = InfoHash([0x5a; 20]);

    let mut over_http = spawn_announcer(vec![vec![http_url.clone()]], info_hash, 1, 7001);
    let mut over_udp = spawn_announcer(vec![vec![udp_url]], info_hash, 2, 7002);
    wait_for_peer(&mut over_udp, "127.0.0.1:7001".parse().unwrap()).await;
    wait_for_peer(&mut over_http, "127.0.0.1:7002".parse().unwrap()).await;
    stop(over_udp).await;
    stop(over_http).await;

    // Both sent `stopped`: a third peer is handed neither of them.
    let client = swarm_client::tracker_client::http::client(Duration::from_secs(10)).unwrap();
    let mut probe = Tracker::open(&http_url, &client, UdpConfig::default()).unwrap();
    let reply = probe
        .announce(&AnnounceRequest {
            info_hash,
            peer_id: *b"-SW0100-999999999999",
            port: 7003,
            uploaded: 0,
            downloaded: 0,
            left: 1000,
            event: AnnounceEvent::Started,
            numwant: 50,
            key: 3,
        })
        .await
        .unwrap();
    assert!(
        reply.peers.is_empty(),
        "stopped peers still listed: {:?}",
        reply.peers
    );
}

#[tokio::test]
async fn dead_first_tier_falls_back_to_the_tracker() {
    let (tracker, _data) = start_tracker();
    let dead_udp = format!("udp://127.0.0.1:{}/announce", free_port());
    let dead_http = format!("http://127.0.0.1:{}/announce", free_port());
    let live = format!("http://{}/announce", tracker.addr());
    let info_hash = InfoHash([0x6b; 20]);

    let mut first = spawn_announcer(
        vec![vec![dead_udp, dead_http], vec![live.clone()]],
        info_hash,
        1,
        7101,
    );
    let mut second = spawn_announcer(vec![vec![live]], info_hash, 2, 7102);
    wait_for_peer(&mut first, "127.0.0.1:7102".parse().unwrap()).await;
    wait_for_peer(&mut second, "127.0.0.1:7101".parse().unwrap()).await;
    stop(first).await;
    stop(second).await;
}
