//! Why an announce to one tracker failed.

use metainfo::tracker::ReplyError;

/// Why an announce to one tracker failed. `Display` is one line meant for the user.
#[derive(Debug, thiserror::Error)]
pub enum TrackerError {
    /// The announce URL's scheme is not http, https or udp.
    #[error("unsupported tracker URL scheme `{scheme}` in {url} (use http, https or udp)")]
    UnsupportedScheme { url: String, scheme: String },
    /// The announce URL could not be parsed.
    #[error("invalid tracker URL {url}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The tracker refused the announce (`failure reason`, or a BEP 15 error).
    #[error("tracker refused: {0}")]
    Failure(String),
    /// The HTTP request failed (connection refused, TLS, timeout, ...).
    #[error("HTTP request failed: {0}")]
    Http(#[source] reqwest::Error),
    /// The tracker answered with an HTTP error status and no usable body.
    #[error("tracker answered HTTP {0}")]
    HttpStatus(u16),
    /// The reply body is larger than we accept.
    #[error("tracker reply exceeds {max} bytes")]
    TooLarge { max: usize },
    /// The reply is not a valid announce reply.
    #[error("bad tracker reply: {0}")]
    BadReply(ReplyError),
    /// A UDP tracker reply that does not follow BEP 15.
    #[error("bad UDP tracker reply: {0}")]
    BadUdpReply(&'static str),
    /// The tracker's host name did not resolve to any address.
    #[error("cannot resolve tracker host {0}")]
    Resolve(String),
    /// No answer after every retry.
    #[error("tracker did not answer")]
    Timeout,
    /// A socket error.
    #[error("network error: {0}")]
    Io(#[from] std::io::Error),
}

impl From<ReplyError> for TrackerError {
    fn from(error: ReplyError) -> Self {
        match error {
            ReplyError::Failure(reason) => TrackerError::Failure(reason),
            ReplyError::TooLarge { max, .. } => TrackerError::TooLarge { max },
            other => TrackerError::BadReply(other),
        }
    }
}
