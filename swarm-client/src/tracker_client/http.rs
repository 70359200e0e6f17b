//! HTTP(S) tracker announces (BEP 3, compact BEP 23, IPv6 peers BEP 7).
//!
//! The query string is built by hand: the binary `info_hash` and `peer_id` are
//! percent-encoded byte by byte, and the query is joined with `&` when the announce URL
//! already has one (private-tracker passkeys). Redirects and proxies are not followed, so
//! only the given URL is contacted; the reply body is read up to a bound.

use std::fmt::Write as _;
use std::time::Duration;

use metainfo::tracker::{AnnounceReply, MAX_REPLY_LEN, ReplyError};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_encode};

use super::error::TrackerError;
use super::request::AnnounceRequest;

/// Bytes left as they are in query values: RFC 3986 "unreserved" characters.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// An HTTP client suited to tracker announces: no redirects, no proxies, bounded time.
pub fn client(timeout: Duration) -> Result<reqwest::Client, TrackerError> {
    crate::https::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(timeout)
        .timeout(timeout)
        .user_agent(concat!("swarm/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| TrackerError::Http(e.without_url()))
}

/// One HTTP(S) tracker and what it asked us to remember (its `tracker id`).
#[derive(Debug, Clone)]
pub struct HttpTracker {
    url: String,
    client: reqwest::Client,
    tracker_id: Option<Vec<u8>>,
}

impl HttpTracker {
    /// A tracker at announce URL `url` (already checked to be http or https).
    pub fn new(url: &str, client: reqwest::Client) -> Self {
        Self {
            url: url.to_owned(),
            client,
            tracker_id: None,
        }
    }

    /// Announces and decodes the reply; a `failure reason` is [`TrackerError::Failure`].
    pub async fn announce(
        &mut self,
        request: &AnnounceRequest,
    ) -> Result<AnnounceReply, TrackerError> {
        let url = announce_url(&self.url, request, self.tracker_id.as_deref());
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| TrackerError::Http(e.without_url()))?;
        let status = response.status();
        let body = read_bounded(response, MAX_REPLY_LEN).await?;
        let reply = match (status.is_success(), AnnounceReply::decode(&body)) {
            (_, Err(ReplyError::Failure(reason))) => return Err(TrackerError::Failure(reason)),
            (true, Ok(reply)) => reply,
            (false, _) => return Err(TrackerError::HttpStatus(status.as_u16())),
            (true, Err(error)) => return Err(error.into()),
        };
        if let Some(id) = &reply.tracker_id {
            self.tracker_id = Some(id.clone());
        }
        Ok(reply)
    }
}

/// Reads a response body, failing as soon as it exceeds `max` bytes.
async fn read_bounded(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, TrackerError> {
    if response
        .content_length()
        .is_some_and(|len| len > max as u64)
    {
        return Err(TrackerError::TooLarge { max });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| TrackerError::Http(e.without_url()))?
    {
        if body.len() + chunk.len() > max {
            return Err(TrackerError::TooLarge { max });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The full announce URL: `base` (without any fragment) plus the announce query, joined
/// with `?`, or with `&` when `base` already has a query.
pub fn announce_url(base: &str, request: &AnnounceRequest, tracker_id: Option<&[u8]>) -> String {
    let base = base.split('#').next().unwrap_or(base);
    let separator = match base.find('?') {
        None => "?",
        Some(_) if base.ends_with('?') || base.ends_with('&') => "",
        Some(_) => "&",
    };
    let mut url = String::with_capacity(base.len() + 256);
    url.push_str(base);
    url.push_str(separator);
    let _ = write!(
        url,
        "info_hash={}&peer_id={}&port={}&uploaded={}&downloaded={}&left={}&compact=1&numwant={}&key={:08x}",
        percent_encode(request.info_hash.as_bytes(), UNRESERVED),
        percent_encode(&request.peer_id, UNRESERVED),
        request.port,
        request.uploaded,
        request.downloaded,
        request.left,
        request.numwant,
        request.key,
    );
    if let Some(event) = request.event.http_name() {
        let _ = write!(url, "&event={event}");
    }
    if let Some(id) = tracker_id {
        let _ = write!(url, "&trackerid={}", percent_encode(id, UNRESERVED));
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracker_client::request::AnnounceEvent;
    use crate::tracker_client::test_support::{HttpStub, sample_request};
    use metainfo::InfoHash;

    #[test]
    fn query_percent_encodes_binary_bytes() {
        let mut request = sample_request();
        let mut hash = [0u8; 20];
        hash[..6].copy_from_slice(&[0x00, 0xff, b'a', b'~', b' ', b'%']);
        request.info_hash = InfoHash(hash);
        request.peer_id = *b"-SW0100-abc.def_ghi-";
        request.event = AnnounceEvent::Started;
        let url = announce_url("http://t.example/announce", &request, None);
        assert_eq!(
            url,
            "http://t.example/announce?info_hash=%00%FFa~%20%25%00%00%00%00%00%00%00%00%00%00%00%00%00%00\
             &peer_id=-SW0100-abc.def_ghi-&port=6881&uploaded=1&downloaded=2&left=3&compact=1\
             &numwant=50&key=0000beef&event=started"
        );
    }

    #[test]
    fn query_joins_an_existing_query_with_ampersand() {
        let request = sample_request();
        let url = announce_url("https://t.example/announce?passkey=s3cr3t", &request, None);
        assert!(
            url.starts_with("https://t.example/announce?passkey=s3cr3t&info_hash="),
            "{url}"
        );
        let url = announce_url("http://t.example/a?", &request, None);
        assert!(url.starts_with("http://t.example/a?info_hash="), "{url}");
        let url = announce_url("http://t.example/a#frag", &request, Some(b"id 1"));
        assert!(url.starts_with("http://t.example/a?info_hash="), "{url}");
        assert!(url.ends_with("&trackerid=id%201"), "{url}");
        assert!(!url.contains("event="));
    }

    async fn announce_to(body: &[u8]) -> Result<AnnounceReply, TrackerError> {
        let stub = HttpStub::start(vec![body.to_vec()]).await;
        let mut tracker = HttpTracker::new(
            &stub.url("/announce"),
            client(Duration::from_secs(5)).unwrap(),
        );
        tracker.announce(&sample_request()).await
    }

    #[tokio::test]
    async fn compact_reply() {
        let reply = announce_to(b"d8:intervali900e5:peers6:\x7f\x00\x00\x01\x1a\xe1e")
            .await
            .unwrap();
        assert_eq!(reply.interval, 900);
        assert_eq!(reply.peers[0].addr, "127.0.0.1:6881".parse().unwrap());
    }

    #[tokio::test]
    async fn dictionary_reply_and_peers6() {
        let body = b"d8:intervali60e5:peersld2:ip9:127.0.0.27:peer id20:ABCDEFGHIJKLMNOPQRST4:porti7000eee\
                     6:peers618:\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x1a\xe2e";
        let reply = announce_to(body).await.unwrap();
        let addrs: Vec<String> = reply.peers.iter().map(|p| p.addr.to_string()).collect();
        assert_eq!(addrs, ["127.0.0.2:7000", "[::1]:6882"]);
    }

    #[tokio::test]
    async fn failure_reason_and_warning() {
        let error = announce_to(b"d14:failure reason12:unregisterede")
            .await
            .unwrap_err();
        assert!(matches!(&error, TrackerError::Failure(reason) if reason == "unregistered"));
        assert_eq!(error.to_string(), "tracker refused: unregistered");

        let reply = announce_to(b"d8:intervali60e15:warning message4:slow5:peers0:e")
            .await
            .unwrap();
        assert_eq!(reply.warning_message.as_deref(), Some("slow"));
    }

    #[tokio::test]
    async fn garbage_reply_is_a_typed_error() {
        assert!(matches!(
            announce_to(b"<html>oops</html>").await,
            Err(TrackerError::BadReply(_))
        ));
        assert!(matches!(
            announce_to(b"d5:peers0:e").await,
            Err(TrackerError::BadReply(_))
        ));
    }

    #[tokio::test]
    async fn sends_the_query_and_remembers_tracker_id() {
        let stub = HttpStub::start(vec![
            b"d8:intervali60e10:tracker id3:xyz5:peers0:e".to_vec(),
            b"d8:intervali60e5:peers0:e".to_vec(),
        ])
        .await;
        let mut tracker = HttpTracker::new(
            &stub.url("/announce?passkey=k"),
            client(Duration::from_secs(5)).unwrap(),
        );
        tracker.announce(&sample_request()).await.unwrap();
        tracker.announce(&sample_request()).await.unwrap();
        let requests = stub.requests();
        assert!(
            requests[0].starts_with("/announce?passkey=k&info_hash="),
            "{}",
            requests[0]
        );
        assert!(!requests[0].contains("trackerid"));
        assert!(requests[1].ends_with("&trackerid=xyz"), "{}", requests[1]);
    }

    #[tokio::test]
    async fn refused_connection_is_an_http_error() {
        let port = crate::tracker_client::test_support::closed_port().await;
        let mut tracker = HttpTracker::new(
            &format!("http://127.0.0.1:{port}/announce"),
            client(Duration::from_secs(5)).unwrap(),
        );
        assert!(matches!(
            tracker.announce(&sample_request()).await,
            Err(TrackerError::Http(_))
        ));
    }
}
