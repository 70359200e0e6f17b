//! Command-line flags (each also settable by a `TRACKER_*` environment variable, and by a
//! TOML file given with `--config`, see [`file`]).

pub mod file;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::access::rate_limit::Limits;
use crate::domain::AnnouncePolicy;
use crate::logging::LogFormat;

/// HTTP and UDP BitTorrent tracker with a catalog, a status page and metrics.
///
/// Serves BEP 3/23/7 announces and BEP 48 scrapes over HTTP (`/announce`, `/scrape`) and
/// BEP 15 over UDP, from swarm state kept in memory or in Redis; a catalog of published
/// metainfo files (`/torrents`), a status page (`/`), `/stats`, `/metrics` and `/health`.
#[derive(Debug, Clone, Parser)]
#[command(name = "tracker", version)]
pub struct Config {
    /// HTTP listen address(es), comma-separated (e.g. `0.0.0.0:6969,[::]:6969`).
    #[arg(
        long,
        visible_alias = "http",
        env = "TRACKER_LISTEN",
        value_delimiter = ',',
        default_value = "0.0.0.0:6969"
    )]
    pub listen: Vec<SocketAddr>,

    /// UDP (BEP 15) listen address(es), comma-separated, or `off`. Default: the HTTP addresses.
    #[arg(long, env = "TRACKER_UDP", value_delimiter = ',')]
    pub udp: Vec<String>,

    /// Seconds clients should wait between announces (`interval`).
    #[arg(long, env = "TRACKER_INTERVAL", default_value_t = 1800,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub interval: u32,

    /// Minimum seconds between announces (`min interval`); never more than --interval.
    #[arg(long, env = "TRACKER_MIN_INTERVAL", default_value_t = 60)]
    pub min_interval: u32,

    /// A peer that does not re-announce within interval × this factor is expired.
    #[arg(long, env = "TRACKER_EXPIRY_FACTOR", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub expiry_factor: u32,

    /// Peers returned when the client sends no `numwant`.
    #[arg(long, env = "TRACKER_DEFAULT_NUMWANT", default_value_t = 50)]
    pub default_numwant: u32,

    /// Upper bound on `numwant` (HTTP and UDP).
    #[arg(long, env = "TRACKER_MAX_NUMWANT", default_value_t = 200)]
    pub max_numwant: u32,

    /// Swarm store: `memory`, or `redis://HOST:PORT[/DB]` to share swarms between instances.
    #[arg(long, env = "TRACKER_STORE", default_value = "memory")]
    pub store: String,

    /// File of allowed info-hashes (40 hex digits per line, `#` comments); reloaded on
    /// SIGHUP. Other torrents get a failure reason. Without it every torrent is served.
    #[arg(long, env = "TRACKER_ALLOWLIST")]
    pub allowlist: Option<PathBuf>,

    /// Keep every peer's 20-byte peer id, so that `compact=0` replies list `peer id` (unless
    /// the client sends `no_peer_id=1`). Off by default: it costs about 20 bytes per peer,
    /// more than the rest of the peer's record.
    #[arg(long, env = "TRACKER_PEER_IDS")]
    pub peer_ids: bool,

    /// Honour the address a client claims (HTTP `ip` parameter, UDP `ip` field) when it is
    /// of the same family as the request's source; otherwise the source address is used.
    #[arg(long, env = "TRACKER_TRUST_IP_PARAM")]
    pub trust_ip_param: bool,

    /// Take the peer address from the last `X-Forwarded-For` entry (only behind a proxy you run).
    #[arg(long, env = "TRACKER_BEHIND_PROXY")]
    pub behind_proxy: bool,

    /// Allow `/scrape` without `info_hash` (a scrape of every torrent, up to 10,000).
    #[arg(long, env = "TRACKER_FULL_SCRAPE")]
    pub full_scrape: bool,

    /// Most `info_hash` values accepted in one HTTP scrape.
    #[arg(long, env = "TRACKER_MAX_SCRAPE", default_value_t = 100)]
    pub max_scrape: usize,

    /// Seconds a connection may take to send a request's headers, or stay idle between
    /// keep-alive requests, before it is closed.
    #[arg(long, env = "TRACKER_REQUEST_TIMEOUT", default_value_t = 10)]
    pub request_timeout: u64,

    /// Seconds after which a connection is closed (gracefully) however busy it is.
    #[arg(long, env = "TRACKER_MAX_CONNECTION_AGE", default_value_t = 600)]
    pub max_connection_age: u64,

    /// Most simultaneous HTTP connections; more are closed at once.
    #[arg(long, env = "TRACKER_MAX_CONNECTIONS", default_value_t = 20_000)]
    pub max_connections: usize,

    /// Key for UDP connection ids, 32 hex digits. Give every instance behind one load
    /// balancer the same secret so any of them accepts ids issued by another; random when absent.
    #[arg(long, env = "TRACKER_UDP_SECRET", value_parser = parse_udp_secret, hide_env_values = true)]
    pub udp_secret: Option<[u8; 16]>,

    /// Worker threads (default: one per CPU).
    #[arg(long, env = "TRACKER_THREADS")]
    pub threads: Option<usize>,

    /// Read settings from this TOML file (keys are the long flag names, e.g.
    /// `listen = ["0.0.0.0:6969"]`); flags and environment variables win over it.
    #[arg(long, env = "TRACKER_CONFIG")]
    pub config: Option<PathBuf>,

    /// Directory of the catalog and API-managed passkeys (`catalog.redb`). Default: the
    /// platform's data directory, `~/.local/share/swarm-tracker`. Not used with
    /// `--store redis://…`, which keeps them in Redis.
    #[arg(long, env = "TRACKER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Serve only torrents published to the catalog (the catalog is the allowlist).
    #[arg(long, env = "TRACKER_CATALOG_ONLY")]
    pub catalog_only: bool,

    /// Largest metainfo file `POST /torrents` accepts, in bytes (larger: 413).
    #[arg(long, env = "TRACKER_MAX_UPLOAD", default_value_t = 10 * 1024 * 1024)]
    pub max_upload: usize,

    /// File of publish tokens, one per line (reloaded on SIGHUP): `POST`/`DELETE /torrents`
    /// and `/passkeys` need `Authorization: Bearer <token>`. Without it they are off.
    #[arg(long, env = "TRACKER_PUBLISH_TOKEN_FILE")]
    pub publish_token_file: Option<PathBuf>,

    /// Let anyone publish to the catalog without a token (deleting still needs one).
    #[arg(long, env = "TRACKER_OPEN_PUBLISH")]
    pub open_publish: bool,

    /// The URL people reach this tracker at (e.g. `https://tracker.example.org`), for the
    /// links in replies. Default: from the request's `Host` header.
    #[arg(long, env = "TRACKER_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Private mode: announces and scrapes only at `/announce/<passkey>` and
    /// `/scrape/<passkey>` (UDP: the same path as BEP 41 URL data), with passkeys from
    /// `--passkeys` or `POST /passkeys`. Other announces get a failure reason.
    #[arg(long, env = "TRACKER_PRIVATE")]
    pub private: bool,

    /// File of passkeys, one per line, 8 to 64 letters, digits, `-` or `_` (reloaded on
    /// SIGHUP). Implies `--private`.
    #[arg(long, env = "TRACKER_PASSKEYS")]
    pub passkeys: Option<PathBuf>,

    /// Announces per minute from one address (IPv6: one /64), with bursts up to the same
    /// number; 0 = no limit. A client announces each torrent once per interval, so 3000
    /// leaves room for a NAT with hundreds of busy clients. Over it: a failure reason.
    #[arg(long, env = "TRACKER_RATE_ANNOUNCE", default_value_t = 3000)]
    pub rate_announce: u32,

    /// Scrapes per minute from one address; 0 = no limit.
    #[arg(long, env = "TRACKER_RATE_SCRAPE", default_value_t = 600)]
    pub rate_scrape: u32,

    /// Web requests (pages, API, `/metrics`) per minute from one address; 0 = no limit.
    /// Over it: HTTP 429 with `Retry-After`.
    #[arg(long, env = "TRACKER_RATE_WEB", default_value_t = 600)]
    pub rate_web: u32,

    /// Publishes per minute from one address; 0 = no limit.
    #[arg(long, env = "TRACKER_RATE_PUBLISH", default_value_t = 30)]
    pub rate_publish: u32,

    /// Log lines as `text` or `json`, on stderr (colour only on a terminal). `RUST_LOG`
    /// picks what is logged (default `info`: includes one line per web request).
    #[arg(long, env = "TRACKER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl Config {
    /// The `min interval` replies carry: the configured one, but never above `interval`. A
    /// longer one would hold every client past the interval it was given (with `--interval 2`
    /// and the default 60, clients re-announced every minute).
    pub fn min_interval(&self) -> u32 {
        self.min_interval.min(self.interval)
    }

    /// How long a peer lives without re-announcing.
    pub fn peer_ttl(&self) -> Duration {
        Duration::from_secs(u64::from(self.interval) * u64::from(self.expiry_factor))
    }

    /// How often the sweeper runs: a quarter of the peer lifetime, 1 s to 5 min.
    pub fn sweep_every(&self) -> Duration {
        (self.peer_ttl() / 4).clamp(Duration::from_secs(1), Duration::from_secs(300))
    }

    /// The UDP addresses to bind: none for `off`, the HTTP addresses when unset.
    pub fn udp_addrs(&self) -> Result<Vec<SocketAddr>, String> {
        match self.udp.as_slice() {
            [] => Ok(self.listen.clone()),
            [off] if off == "off" => Ok(Vec::new()),
            list => list
                .iter()
                .map(|a| {
                    a.parse()
                        .map_err(|_| format!("--udp: `{a}` is not ADDR:PORT or `off`"))
                })
                .collect(),
        }
    }

    /// Is this a private tracker (passkeys)?
    pub fn is_private(&self) -> bool {
        self.private || self.passkeys.is_some()
    }

    /// Where the embedded catalog lives.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| {
            dirs::data_dir()
                .unwrap_or_else(|| PathBuf::from("."))
                .join("swarm-tracker")
        })
    }

    /// The per-address rate limits.
    pub fn rate_limits(&self) -> Limits {
        Limits {
            announce: self.rate_announce,
            scrape: self.rate_scrape,
            web: self.rate_web,
            publish: self.rate_publish,
        }
    }

    /// The announce rules these flags set.
    pub fn announce_policy(&self) -> AnnouncePolicy {
        AnnouncePolicy {
            trust_claimed_ip: self.trust_ip_param,
            default_numwant: self.default_numwant,
            max_numwant: self.max_numwant,
        }
    }
}

/// 32 hex digits → 16-byte key.
fn parse_udp_secret(text: &str) -> Result<[u8; 16], String> {
    let mut key = [0u8; 16];
    hex::decode_to_slice(text.trim(), &mut key)
        .map_err(|_| "expected 32 hex digits".to_string())?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_udp_off() {
        let c = Config::parse_from(["tracker"]);
        assert_eq!(c.listen, vec!["0.0.0.0:6969".parse().unwrap()]);
        assert_eq!(c.udp_addrs().unwrap(), c.listen);
        assert_eq!((c.interval, c.min_interval()), (1800, 60));
        let short = Config::parse_from(["tracker", "--interval", "2"]);
        assert_eq!(
            short.min_interval(),
            2,
            "min interval never above the interval"
        );
        assert_eq!(c.peer_ttl(), Duration::from_secs(3600));
        let off = Config::parse_from(["tracker", "--udp", "off", "--http", "127.0.0.1:1"]);
        assert!(off.udp_addrs().unwrap().is_empty());
        assert_eq!(off.announce_policy().numwant(Some(10_000)), 200);
    }
}
