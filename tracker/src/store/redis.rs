//! Swarm state in Redis, so that several tracker instances behind a load balancer serve
//! one consistent swarm.
//!
//! Layout, per torrent (all keys share the hash tag `{<hex info-hash>}`, so they live in one
//! Redis Cluster slot): `swarm:{H}:s4` / `l4` / `s6` / `l6` — sorted sets of the IPv4 / IPv6
//! seeders / leechers, member = the compact address (6 or 18 bytes), score = the last
//! announce in ms on Redis' own clock (so instances with skewed clocks agree); `swarm:{H}:d`
//! — the completed-download counter; with `--peer-ids`, `swarm:{H}:i4` / `i6` — hashes from
//! compact address to peer id. About 60–80 bytes of Redis memory per peer (more with ids).
//! Every instance sharing one Redis should be started with the same `--peer-ids` setting.
//!
//! Each announce is ONE round trip: a Lua script (`redis_announce.lua`, called by EVALSHA)
//! drops stale peers, records the announcer, counts, and draws the random peer sample.
//! A scrape of many torrents is one round trip too (`redis_scrape.lua`). Peers expire by
//! score (removed on the torrent's next announce, never counted once stale), and whole
//! torrents by key TTL, so the periodic sweep has nothing to do.
//!
//! Needs Redis ≥ 6.2 (`ZRANDMEMBER` with a count).

use std::net::SocketAddr;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Script, Value};

use super::{Store, StoreConfig, StoreError};
use crate::domain::{
    AnnounceParams, Event, InfoHash, ScrapeStats, StoreSummary, SwarmView, SweepStats,
};

/// Prefix of every key this store writes.
const KEY_PREFIX: &str = "swarm";

/// Most torrents a summary (status page, metrics) walks.
const SUMMARY_MAX_TORRENTS: usize = 100_000;

/// How long one Redis request may take before the announce fails (and the connection is
/// re-established in the background).
const RESPONSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
const CONNECTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The swarm store kept in Redis; cheap to share (one multiplexed, auto-reconnecting
/// connection).
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    announce_script: Script,
    scrape_script: Script,
    peer_ttl_ms: u64,
    keep_ids: bool,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("peer_ttl_ms", &self.peer_ttl_ms)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connect to `url` (`redis://[:PASSWORD@]HOST:PORT[/DB]`, or `rediss://` for TLS if the
    /// crate is built with it) and load the scripts. Fails if Redis cannot be reached now.
    pub async fn connect(url: &str, config: StoreConfig) -> Result<RedisStore, StoreError> {
        let client = redis::Client::open(url).map_err(backend)?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(3);
        let mut connection = ConnectionManager::new_with_config(client, manager_config)
            .await
            .map_err(backend)?;
        let announce_script = Script::new(include_str!("redis_announce.lua"));
        let scrape_script = Script::new(include_str!("redis_scrape.lua"));
        // Loaded now so that the first announce is already a single EVALSHA.
        announce_script
            .prepare_invoke()
            .load_async(&mut connection)
            .await
            .map_err(backend)?;
        scrape_script
            .prepare_invoke()
            .load_async(&mut connection)
            .await
            .map_err(backend)?;
        Ok(RedisStore {
            connection,
            announce_script,
            scrape_script,
            peer_ttl_ms: config.peer_ttl.as_millis().clamp(1, u64::MAX as u128) as u64,
            keep_ids: config.peer_ids,
        })
    }
}

impl Store for RedisStore {
    async fn announce(&self, params: &AnnounceParams) -> Result<SwarmView, StoreError> {
        let keys = TorrentKeys::new(&params.info_hash);
        let (member, own, other, ids) = match params.peer {
            SocketAddr::V4(a) => {
                let mut m = a.ip().octets().to_vec();
                m.extend_from_slice(&a.port().to_be_bytes());
                (
                    m,
                    [&keys.seeders_v4, &keys.leechers_v4],
                    [&keys.seeders_v6, &keys.leechers_v6],
                    &keys.ids_v4,
                )
            }
            SocketAddr::V6(a) => {
                let mut m = a.ip().octets().to_vec();
                m.extend_from_slice(&a.port().to_be_bytes());
                (
                    m,
                    [&keys.seeders_v6, &keys.leechers_v6],
                    [&keys.seeders_v4, &keys.leechers_v4],
                    &keys.ids_v6,
                )
            }
        };
        let peer_id: &[u8] = if self.keep_ids { &params.peer_id } else { b"" };
        let want_ids = self.keep_ids && params.want_peer_ids;
        let mut connection = self.connection.clone();
        let reply: Value = self
            .announce_script
            .key(own[0])
            .key(own[1])
            .key(other[0])
            .key(other[1])
            .key(&keys.downloaded)
            .key(ids)
            .arg(member)
            .arg(if params.seeder { "1" } else { "0" })
            .arg(event_name(params.event))
            .arg(params.numwant)
            .arg(self.peer_ttl_ms)
            .arg(peer_id)
            .arg(if want_ids { "1" } else { "0" })
            .invoke_async(&mut connection)
            .await
            .map_err(backend)?;
        let (complete, incomplete, peers, peer_ids) = parse_announce_reply(reply)?;
        let mut view = SwarmView {
            complete,
            incomplete,
            peer_ids,
            ..SwarmView::default()
        };
        match params.peer {
            SocketAddr::V4(_) => view.peers_v4 = peers,
            SocketAddr::V6(_) => view.peers_v6 = peers,
        }
        Ok(view)
    }

    async fn scrape(&self, hashes: &[InfoHash]) -> Result<Vec<ScrapeStats>, StoreError> {
        if hashes.is_empty() {
            return Ok(Vec::new());
        }
        let mut invocation = self.scrape_script.prepare_invoke();
        for hash in hashes {
            let keys = TorrentKeys::new(hash);
            invocation
                .key(keys.seeders_v4)
                .key(keys.leechers_v4)
                .key(keys.seeders_v6)
                .key(keys.leechers_v6)
                .key(keys.downloaded);
        }
        invocation.arg(self.peer_ttl_ms);
        let mut connection = self.connection.clone();
        let counts: Vec<u64> = invocation
            .invoke_async(&mut connection)
            .await
            .map_err(backend)?;
        if counts.len() != hashes.len() * 3 {
            return Err(StoreError::Backend(format!(
                "scrape script returned {} counts for {} torrents",
                counts.len(),
                hashes.len()
            )));
        }
        Ok(counts
            .chunks_exact(3)
            .map(|c| ScrapeStats {
                complete: c[0],
                incomplete: c[1],
                downloaded: c[2],
            })
            .collect())
    }

    /// Walks the swarm keys with SCAN (bounded: at most [`SUMMARY_MAX_TORRENTS`] torrents)
    /// and scrapes them in batches. Costs a few round trips per thousand torrents; the status
    /// page caches the result.
    async fn summary(&self, top: usize) -> Result<StoreSummary, StoreError> {
        let mut connection = self.connection.clone();
        let mut hashes = std::collections::BTreeSet::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{KEY_PREFIX}:{{*}}:[sl][46]"))
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut connection)
                .await
                .map_err(backend)?;
            for key in keys {
                let hex = key.split(['{', '}']).nth(1).unwrap_or("");
                if let Ok(hash) = InfoHash::from_hex(hex) {
                    hashes.insert(hash);
                }
            }
            cursor = next;
            if cursor == 0 || hashes.len() >= SUMMARY_MAX_TORRENTS {
                break;
            }
        }
        let hashes: Vec<InfoHash> = hashes.into_iter().collect();
        let mut all = Vec::with_capacity(hashes.len());
        for batch in hashes.chunks(100) {
            let stats = self.scrape(batch).await?;
            all.extend(batch.iter().copied().zip(stats));
        }
        all.retain(|(_, s)| s.complete + s.incomplete > 0);
        let mut summary = StoreSummary {
            torrents: all.len() as u64,
            seeders: all.iter().map(|(_, s)| s.complete).sum(),
            leechers: all.iter().map(|(_, s)| s.incomplete).sum(),
            busiest: Vec::new(),
        };
        summary.keep_busiest(all, top);
        Ok(summary)
    }

    /// Nothing to do: stale peers are dropped by score on each announce and never counted,
    /// abandoned torrents vanish by key TTL.
    async fn sweep(&self, _now: u64) -> Result<SweepStats, StoreError> {
        Ok(SweepStats::default())
    }
}

/// The keys of one torrent.
struct TorrentKeys {
    seeders_v4: String,
    leechers_v4: String,
    seeders_v6: String,
    leechers_v6: String,
    downloaded: String,
    ids_v4: String,
    ids_v6: String,
}

impl TorrentKeys {
    fn new(info_hash: &InfoHash) -> TorrentKeys {
        let base = format!("{KEY_PREFIX}:{{{info_hash}}}:");
        TorrentKeys {
            seeders_v4: format!("{base}s4"),
            leechers_v4: format!("{base}l4"),
            seeders_v6: format!("{base}s6"),
            leechers_v6: format!("{base}l6"),
            downloaded: format!("{base}d"),
            ids_v4: format!("{base}i4"),
            ids_v6: format!("{base}i6"),
        }
    }
}

fn event_name(event: Event) -> &'static str {
    match event {
        Event::None => "none",
        Event::Started => "started",
        Event::Completed => "completed",
        Event::Stopped => "stopped",
    }
}

/// The announce script's reply: counts, compact addresses, and peer ids if any.
type AnnounceReply = (u32, u32, Vec<u8>, Vec<[u8; 20]>);

/// `{ seeders, leechers, { compact address, ... } [, { peer id or nil, ... }] }` → counts,
/// the concatenated compact addresses (all of one family, so all the same length) and the
/// peer ids — all of them, or none if any is missing or malformed.
fn parse_announce_reply(reply: Value) -> Result<AnnounceReply, StoreError> {
    let bad = || StoreError::Backend("unexpected reply from the announce script".to_string());
    let Value::Array(items) = reply else {
        return Err(bad());
    };
    let (seeders, leechers, peers, ids) = match items.as_slice() {
        [Value::Int(s), Value::Int(l), peers] => (s, l, peers, None),
        [Value::Int(s), Value::Int(l), peers, ids] => (s, l, peers, Some(ids)),
        _ => return Err(bad()),
    };
    let mut compact = Vec::new();
    match peers {
        Value::Array(members) => {
            compact.reserve(members.len() * 6);
            for member in members {
                let Value::BulkString(address) = member else {
                    return Err(bad());
                };
                compact.extend_from_slice(address);
            }
        }
        Value::Nil => {}
        _ => return Err(bad()),
    }
    let count = |n: &i64| u32::try_from(*n).map_err(|_| bad());
    let peer_ids = match ids {
        Some(Value::Array(ids)) => ids
            .iter()
            .map(|id| match id {
                Value::BulkString(bytes) => <[u8; 20]>::try_from(bytes.as_slice()).ok(),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    Ok((count(seeders)?, count(leechers)?, compact, peer_ids))
}

fn backend(e: redis::RedisError) -> StoreError {
    StoreError::Backend(format!("redis: {e}"))
}

#[cfg(test)]
mod tests {
    //! Store semantics against a real `redis-server` that each test starts on a free
    //! loopback port (skipped when it is not installed, unless `CI` is set).

    use super::*;
    use std::net::TcpListener;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    struct RedisServer {
        child: Child,
        port: u16,
    }

    impl Drop for RedisServer {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn start_redis() -> Option<RedisServer> {
        let installed = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok();
        if !installed {
            assert!(
                std::env::var_os("CI").is_none(),
                "redis-server is not installed (the test script installs it)"
            );
            #[allow(clippy::print_stderr)] // a test saying why it skips
            {
                eprintln!("SKIP: redis-server is not installed");
            }
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let server = RedisServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(server)
    }

    async fn store(server: &RedisServer, ttl: Duration) -> RedisStore {
        store_keeping_ids(server, ttl, false).await
    }

    async fn store_keeping_ids(server: &RedisServer, ttl: Duration, peer_ids: bool) -> RedisStore {
        let url = format!("redis://127.0.0.1:{}/", server.port);
        RedisStore::connect(
            &url,
            StoreConfig {
                peer_ttl: ttl,
                peer_ids,
            },
        )
        .await
        .expect("connect")
    }

    fn hash(n: u8) -> InfoHash {
        InfoHash([n; 20])
    }

    fn params(n: u8, peer: &str, seeder: bool, event: Event) -> AnnounceParams {
        AnnounceParams {
            info_hash: hash(n),
            peer: peer.parse().expect("socket address"),
            peer_id: [n; 20],
            seeder,
            event,
            numwant: 50,
            want_peer_ids: false,
            now: 0,
        }
    }

    fn compact(peers: &[&str]) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = peers
            .iter()
            .map(|p| match p.parse::<SocketAddr>().expect("address") {
                SocketAddr::V4(a) => [&a.ip().octets()[..], &a.port().to_be_bytes()].concat(),
                SocketAddr::V6(a) => [&a.ip().octets()[..], &a.port().to_be_bytes()].concat(),
            })
            .collect();
        out.sort();
        out
    }

    fn split(list: &[u8], size: usize) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = list.chunks(size).map(<[u8]>::to_vec).collect();
        out.sort();
        out
    }

    #[tokio::test]
    async fn counts_exclude_self_and_seeders_get_leechers_first() {
        let Some(server) = start_redis() else { return };
        let s = store(&server, Duration::from_secs(60)).await;
        let a = s
            .announce(&params(1, "10.0.0.1:1000", false, Event::Started))
            .await
            .unwrap();
        assert_eq!((a.complete, a.incomplete), (0, 1));
        assert!(a.peers_v4.is_empty());
        s.announce(&params(1, "10.0.0.2:2000", true, Event::Started))
            .await
            .unwrap();
        s.announce(&params(1, "10.0.0.3:3000", true, Event::None))
            .await
            .unwrap();
        let leecher = s
            .announce(&params(1, "10.0.0.1:1000", false, Event::None))
            .await
            .unwrap();
        assert_eq!((leecher.complete, leecher.incomplete), (2, 1));
        assert_eq!(
            split(&leecher.peers_v4, 6),
            compact(&["10.0.0.2:2000", "10.0.0.3:3000"])
        );
        let seeder = s
            .announce(&params(1, "10.0.0.2:2000", true, Event::None))
            .await
            .unwrap();
        assert_eq!(
            split(&seeder.peers_v4, 6),
            compact(&["10.0.0.1:1000", "10.0.0.3:3000"])
        );
        // Without room for both, the leecher is the one handed out.
        let mut p = params(1, "10.0.0.2:2000", true, Event::None);
        p.numwant = 1;
        let seeder = s.announce(&p).await.unwrap();
        assert_eq!(split(&seeder.peers_v4, 6), compact(&["10.0.0.1:1000"]));
        // Other torrents are untouched.
        let other = s
            .announce(&params(2, "10.0.0.9:9", false, Event::None))
            .await
            .unwrap();
        assert_eq!((other.complete, other.incomplete), (0, 1));
        assert!(other.peers_v4.is_empty());
    }

    /// aria2c announces `left=0` while it fetches a magnet link's metadata.
    #[tokio::test]
    async fn a_left_0_announce_gets_seeders_when_there_is_room() {
        let Some(server) = start_redis() else { return };
        let s = store(&server, Duration::from_secs(60)).await;
        for port in [1, 2, 3] {
            s.announce(&params(5, &format!("10.0.0.1:{port}"), true, Event::None))
                .await
                .unwrap();
        }
        let view = s
            .announce(&params(5, "10.0.0.9:9", true, Event::None))
            .await
            .unwrap();
        assert_eq!(
            split(&view.peers_v4, 6),
            compact(&["10.0.0.1:1", "10.0.0.1:2", "10.0.0.1:3"])
        );
        s.announce(&params(5, "10.0.0.8:8", false, Event::None))
            .await
            .unwrap();
        let mut p = params(5, "10.0.0.9:9", true, Event::None);
        p.numwant = 2;
        let view = s.announce(&p).await.unwrap();
        let got = split(&view.peers_v4, 6);
        assert_eq!(got.len(), 2);
        assert!(got.contains(&compact(&["10.0.0.8:8"])[0]), "leechers first");
    }

    #[tokio::test]
    async fn address_families_are_sampled_apart_but_counted_together() {
        let Some(server) = start_redis() else { return };
        let s = store(&server, Duration::from_secs(60)).await;
        s.announce(&params(1, "10.0.0.1:1000", true, Event::None))
            .await
            .unwrap();
        s.announce(&params(1, "[2001:db8::1]:1000", true, Event::None))
            .await
            .unwrap();
        let v6 = s
            .announce(&params(1, "[2001:db8::2]:2000", false, Event::None))
            .await
            .unwrap();
        assert_eq!((v6.complete, v6.incomplete), (2, 1));
        assert!(v6.peers_v4.is_empty());
        assert_eq!(split(&v6.peers_v6, 18), compact(&["[2001:db8::1]:1000"]));
        let v4 = s
            .announce(&params(1, "10.0.0.2:2000", false, Event::None))
            .await
            .unwrap();
        assert_eq!(split(&v4.peers_v4, 6), compact(&["10.0.0.1:1000"]));
        assert!(v4.peers_v6.is_empty());
    }

    #[tokio::test]
    async fn completed_counts_once_stopped_removes_and_scrape_agrees() {
        let Some(server) = start_redis() else { return };
        let s = store(&server, Duration::from_secs(60)).await;
        s.announce(&params(1, "10.0.0.1:1000", false, Event::Started))
            .await
            .unwrap();
        s.announce(&params(1, "10.0.0.2:2000", false, Event::Started))
            .await
            .unwrap();
        s.announce(&params(1, "10.0.0.1:1000", true, Event::Completed))
            .await
            .unwrap();
        // A repeated `completed` from a peer that already seeds does not count again.
        s.announce(&params(1, "10.0.0.1:1000", true, Event::Completed))
            .await
            .unwrap();
        let stats = s.scrape(&[hash(1), hash(7)]).await.unwrap();
        let want = ScrapeStats {
            complete: 1,
            incomplete: 1,
            downloaded: 1,
        };
        assert_eq!(stats, vec![want, ScrapeStats::default()]);
        let stopped = s
            .announce(&params(1, "10.0.0.2:2000", false, Event::Stopped))
            .await
            .unwrap();
        assert_eq!((stopped.complete, stopped.incomplete), (1, 0));
        assert!(stopped.peers_v4.is_empty());
        let stats = s.scrape(&[hash(1)]).await.unwrap();
        assert_eq!(
            stats,
            vec![ScrapeStats {
                complete: 1,
                incomplete: 0,
                downloaded: 1
            }]
        );
    }

    #[tokio::test]
    async fn numwant_bounds_the_sample() {
        let Some(server) = start_redis() else { return };
        let s = store(&server, Duration::from_secs(60)).await;
        for i in 0..40u16 {
            let peer = format!("10.0.1.{}:{}", i, 1000 + i);
            s.announce(&params(1, &peer, i % 2 == 0, Event::None))
                .await
                .unwrap();
        }
        for numwant in [0, 1, 5, 25, 100] {
            let mut p = params(1, "10.0.0.1:1", false, Event::None);
            p.numwant = numwant;
            let view = s.announce(&p).await.unwrap();
            assert_eq!(view.peers_v4.len(), 6 * numwant.min(40));
            assert!(!split(&view.peers_v4, 6).contains(&compact(&["10.0.0.1:1"])[0]));
            let distinct: std::collections::HashSet<_> = view.peers_v4.chunks(6).collect();
            assert_eq!(distinct.len(), numwant.min(40));
        }
    }

    #[tokio::test]
    async fn stale_peers_expire_and_are_not_counted() {
        let Some(server) = start_redis() else { return };
        let s = store(&server, Duration::from_millis(600)).await;
        s.announce(&params(1, "10.0.0.1:1000", true, Event::None))
            .await
            .unwrap();
        s.announce(&params(1, "10.0.0.2:2000", false, Event::None))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert_eq!(
            s.scrape(&[hash(1)]).await.unwrap(),
            vec![ScrapeStats::default()]
        );
        let view = s
            .announce(&params(1, "10.0.0.3:3000", false, Event::None))
            .await
            .unwrap();
        assert_eq!((view.complete, view.incomplete), (0, 1));
        assert!(view.peers_v4.is_empty());
    }

    #[tokio::test]
    async fn peer_ids_are_kept_returned_and_removed_with_their_peers() {
        let Some(server) = start_redis() else { return };
        let s = store_keeping_ids(&server, Duration::from_millis(600), true).await;
        let announce = |peer: &'static str, id: u8, event: Event| {
            let mut p = params(7, peer, false, event);
            p.peer_id = [id; 20];
            p.peer_id[19] = 0xff;
            p.want_peer_ids = true;
            let s = s.clone();
            async move { s.announce(&p).await.unwrap() }
        };
        announce("10.0.0.1:1", 0x00, Event::Started).await;
        announce("10.0.0.2:2", 0x25, Event::Started).await;
        let view = announce("10.0.0.3:3", 0x80, Event::Started).await;
        let mut got: Vec<(Vec<u8>, [u8; 20])> = view
            .peers_v4
            .chunks(6)
            .map(<[u8]>::to_vec)
            .zip(view.peer_ids.iter().copied())
            .collect();
        got.sort();
        let id = |b: u8| {
            let mut id = [b; 20];
            id[19] = 0xff;
            id
        };
        let want = compact(&["10.0.0.1:1", "10.0.0.2:2"]);
        assert_eq!(
            got,
            vec![(want[0].clone(), id(0x00)), (want[1].clone(), id(0x25))]
        );

        // Stopped: the id goes with the peer.
        announce("10.0.0.2:2", 0x25, Event::Stopped).await;
        let mut raw = redis::Client::open(format!("redis://127.0.0.1:{}/", server.port))
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let ids_key = TorrentKeys::new(&hash(7)).ids_v4;
        let left: usize = redis::cmd("HLEN")
            .arg(&ids_key)
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(left, 2);
        // Expired: dropped with their ids on the torrent's next announce.
        tokio::time::sleep(Duration::from_millis(900)).await;
        let view = announce("10.0.0.4:4", 0x44, Event::Started).await;
        assert!(view.peers_v4.is_empty() && view.peer_ids.is_empty());
        let left: usize = redis::cmd("HLEN")
            .arg(&ids_key)
            .query_async(&mut raw)
            .await
            .unwrap();
        assert_eq!(left, 1);

        // Not asked for: none returned.
        let mut p = params(7, "10.0.0.5:5", false, Event::Started);
        p.want_peer_ids = false;
        let view = s.announce(&p).await.unwrap();
        assert_eq!((view.peers_v4.len(), view.peer_ids.len()), (6, 0));
    }

    #[tokio::test]
    async fn unreachable_redis_is_a_backend_error() {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let url = format!("redis://127.0.0.1:{port}/");
        let config = StoreConfig {
            peer_ttl: Duration::from_secs(1),
            peer_ids: false,
        };
        let err = RedisStore::connect(&url, config).await.unwrap_err();
        assert!(matches!(err, StoreError::Backend(_)), "{err}");
    }
}
