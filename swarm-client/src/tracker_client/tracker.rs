//! One tracker, whatever its transport: picks HTTP(S) or UDP from the URL scheme.

use metainfo::tracker::AnnounceReply;

use super::error::TrackerError;
use super::http::HttpTracker;
use super::request::AnnounceRequest;
use super::udp::{UdpConfig, UdpTracker};

/// The transports we speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Udp,
}

/// Checks an announce URL: it must parse, have a host, and use http, https or udp.
pub fn check_url(url: &str) -> Result<Scheme, TrackerError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| TrackerError::InvalidUrl {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    let scheme = match parsed.scheme() {
        "http" | "https" => Scheme::Http,
        "udp" => Scheme::Udp,
        other => {
            return Err(TrackerError::UnsupportedScheme {
                url: url.to_owned(),
                scheme: other.to_owned(),
            });
        }
    };
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(TrackerError::InvalidUrl {
            url: url.to_owned(),
            reason: "no host".to_owned(),
        });
    }
    Ok(scheme)
}

#[derive(Debug)]
enum Transport {
    Http(HttpTracker),
    Udp(UdpTracker),
}

/// A tracker we can announce to.
#[derive(Debug)]
pub struct Tracker {
    url: String,
    transport: Transport,
}

impl Tracker {
    /// A tracker for announce URL `url`; `http` is shared by all HTTP trackers.
    pub fn open(
        url: &str,
        http: &reqwest::Client,
        udp: UdpConfig,
    ) -> Result<Tracker, TrackerError> {
        let transport = match check_url(url)? {
            Scheme::Http => Transport::Http(HttpTracker::new(url, http.clone())),
            Scheme::Udp => Transport::Udp(UdpTracker::new(url, udp)?),
        };
        Ok(Tracker {
            url: url.to_owned(),
            transport,
        })
    }

    /// The announce URL as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Announces to this tracker.
    pub async fn announce(
        &mut self,
        request: &AnnounceRequest,
    ) -> Result<AnnounceReply, TrackerError> {
        match &mut self.transport {
            Transport::Http(tracker) => tracker.announce(request).await,
            Transport::Udp(tracker) => tracker.announce(request).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_http_https_udp() {
        assert_eq!(
            check_url("http://t.example/announce").unwrap(),
            Scheme::Http
        );
        assert_eq!(
            check_url("HTTPS://t.example/a?passkey=1").unwrap(),
            Scheme::Http
        );
        assert_eq!(check_url("udp://t.example:6969").unwrap(), Scheme::Udp);
        let error = check_url("wss://t.example/announce").unwrap_err();
        assert_eq!(
            error.to_string(),
            "unsupported tracker URL scheme `wss` in wss://t.example/announce (use http, https or udp)"
        );
        assert!(matches!(
            check_url("not a url"),
            Err(TrackerError::InvalidUrl { .. })
        ));
        assert!(matches!(
            check_url("file:///etc/passwd"),
            Err(TrackerError::UnsupportedScheme { .. })
        ));
    }
}
