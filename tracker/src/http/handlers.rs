//! The axum router and its handlers. Every refusal is HTTP 200 with a bencoded
//! `failure reason`, the way BitTorrent clients read errors.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use metainfo::tracker::{
    AnnounceReply, Peer, PeerFormat, ReplyHead, decode_compact_v4, decode_compact_v6,
    encode_failure, write_compact_announce, write_scrape,
};

use super::query::{AnnounceQuery, parse_announce, parse_scrape};
use crate::access::passkeys;
use crate::core::Tracker;
use crate::domain::{AnnounceInput, InfoHash, SwarmView};
use crate::observe::access_log;
use crate::observe::metrics::Protocol;
use crate::store::Store;
use crate::web::client;

/// Most torrents listed by a full scrape (when `--full-scrape` enables it).
const FULL_SCRAPE_LIMIT: usize = 10_000;

/// The BitTorrent routes (private ones carry a passkey). The server answers `GET /announce`
/// itself through [`announce`] (no routing, no extractors); this router's `/announce` serves
/// what is left (`HEAD`, and 405 for other methods).
pub fn router() -> Router<Arc<Tracker>> {
    Router::new()
        .route("/announce", get(routed_announce))
        .route("/announce/{passkey}", get(routed_announce))
        .route("/scrape", get(scrape))
        .route("/scrape/{passkey}", get(scrape))
        .route("/health", get(health))
}

async fn health() -> &'static str {
    "ok\n"
}

/// `/announce` through the router: the connection's address comes from its extensions.
async fn routed_announce(State(tracker): State<Arc<Tracker>>, request: Request) -> Response {
    match request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .copied()
    {
        Some(ConnectInfo(remote)) => {
            let uri = request.uri();
            announce(&tracker, remote, uri.path(), uri.query(), request.headers()).await
        }
        None => failure("internal error: unknown client address"),
    }
}

/// `GET /announce[/<passkey>]`, the hot path: called by the server for every such request
/// with the connection's address, the path, the query string and the headers, without a
/// router or extractors in between.
pub async fn announce(
    tracker: &Tracker,
    remote: SocketAddr,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Response {
    let source = match client::ip(&tracker.config, remote, headers) {
        Ok(ip) => ip,
        Err(reason) => return failure(reason),
    };
    let query = match parse_announce(query.unwrap_or("").as_bytes()) {
        Ok(q) => q,
        Err(e) => {
            tracker.count_bad_request(Protocol::Http, false);
            access_log::tracker_request("announce", path, "bad request", source);
            return failure(&e.to_string());
        }
    };
    let input = AnnounceInput {
        info_hash: query.info_hash,
        peer_id: query.peer_id,
        port: query.port,
        left: query.left,
        event: query.event,
        numwant: query.numwant,
        claimed_ip: query.ip,
        source,
        want_peer_ids: !query.compact && !query.no_peer_id,
    };
    let passkey = passkeys::from_path(path, "announce");
    match tracker.announce(Protocol::Http, &input, passkey).await {
        Ok(view) => {
            access_log::tracker_request("announce", path, "ok", source);
            bencoded(announce_body(tracker, &query, &view))
        }
        Err(e) => {
            access_log::tracker_request("announce", path, "refused", source);
            failure(&e.to_string())
        }
    }
}

fn announce_body(tracker: &Tracker, query: &AnnounceQuery, view: &SwarmView) -> Vec<u8> {
    let head = ReplyHead {
        interval: tracker.config.interval,
        min_interval: Some(tracker.config.min_interval()),
        complete: Some(view.complete.into()),
        incomplete: Some(view.incomplete.into()),
        tracker_id: None,
        warning_message: None,
    };
    if query.compact {
        let mut body = Vec::with_capacity(96 + view.peers_v4.len() + view.peers_v6.len());
        write_compact_announce(&mut body, &head, &view.peers_v4, &view.peers_v6);
        return body;
    }
    // Dictionary list (compact=0): with `peer id` when the store keeps ids (`--peer-ids`)
    // and the client did not send `no_peer_id`, else `ip` and `port` only.
    let mut peers: Vec<Peer> = decode_compact_v4(&view.peers_v4)
        .unwrap_or_default()
        .into_iter()
        .chain(decode_compact_v6(&view.peers_v6).unwrap_or_default())
        .map(Peer::from)
        .collect();
    let with_ids = !query.no_peer_id && !peers.is_empty() && view.peer_ids.len() == peers.len();
    if with_ids {
        for (peer, id) in peers.iter_mut().zip(&view.peer_ids) {
            peer.peer_id = Some(*id);
        }
    }
    let reply = AnnounceReply {
        interval: head.interval,
        min_interval: head.min_interval,
        complete: head.complete,
        incomplete: head.incomplete,
        tracker_id: None,
        warning_message: None,
        peers,
    };
    reply.encode(if with_ids {
        PeerFormat::Dict
    } else {
        PeerFormat::DictNoPeerId
    })
}

async fn scrape(State(tracker): State<Arc<Tracker>>, request: Request) -> Response {
    let remote = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
    let source = match client::ip(&tracker.config, remote, request.headers()) {
        Ok(ip) => ip,
        Err(reason) => return failure(reason),
    };
    let path = request.uri().path();
    let passkey = passkeys::from_path(path, "scrape");
    let query = request.uri().query().unwrap_or("").as_bytes();
    let hashes = match parse_scrape(query, tracker.config.max_scrape) {
        Ok(h) => h,
        Err(e) => {
            tracker.count_bad_request(Protocol::Http, true);
            return failure(&e.to_string());
        }
    };
    access_log::tracker_request("scrape", path, "ok", source);
    let mut files: Vec<([u8; 20], _)> = if hashes.is_empty() {
        if !tracker.config.full_scrape {
            return failure("full scrape is disabled: pass one or more info_hash parameters");
        }
        // Rate limit, passkey and metrics as for any scrape.
        if let Err(e) = tracker.scrape(Protocol::Http, source, &[], passkey).await {
            return failure(&e.to_string());
        }
        match tracker.store.full_scrape(FULL_SCRAPE_LIMIT).await {
            Ok(all) => all.into_iter().map(|(h, s)| (h.0, s)).collect(),
            Err(e) => return failure(&e.to_string()),
        }
    } else {
        match tracker
            .scrape(Protocol::Http, source, &hashes, passkey)
            .await
        {
            Ok(stats) => hashes
                .iter()
                .map(InfoHash::as_bytes)
                .copied()
                .zip(stats)
                .collect(),
            Err(e) => return failure(&e.to_string()),
        }
    };
    let mut body = Vec::with_capacity(16 + files.len() * 90);
    write_scrape(&mut body, &mut files);
    bencoded(body)
}

/// HTTP 200 with a bencoded `failure reason`.
fn failure(reason: &str) -> Response {
    bencoded(encode_failure(reason))
}

fn bencoded(body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}
