//! Why a BEP 15 datagram could not be read.

/// What is wrong with a datagram.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UdpError {
    /// Shorter than the fixed part of its kind.
    #[error("{what} is {len} bytes, shorter than {need}")]
    TooShort {
        what: &'static str,
        len: usize,
        need: usize,
    },
    /// A connect request without the magic protocol id.
    #[error("connect request without the BEP 15 protocol id")]
    BadProtocolId,
    /// An action code that BEP 15 does not define, or one not expected here.
    #[error("unknown or unexpected action {0}")]
    BadAction(u32),
    /// An announce event code outside 0–3.
    #[error("unknown announce event code {0}")]
    BadEvent(u32),
    /// A scrape request whose hashes do not come in whole 20-byte pieces, or none at all.
    #[error("scrape request carries {0} bytes of info-hashes, not a positive multiple of 20")]
    BadScrapeLength(usize),
    /// More info-hashes in one scrape than accepted.
    #[error("scrape request for {0} torrents, more than the {max} accepted", max = super::MAX_SCRAPE_HASHES)]
    TooManyHashes(usize),
    /// A BEP 41 option that runs past the end of the datagram.
    #[error("announce option runs past the end of the datagram")]
    TruncatedOption,
    /// BEP 41 URL data longer than accepted.
    #[error("announce URL data is longer than {max} bytes", max = super::MAX_URL_DATA)]
    UrlDataTooLong,
    /// Peers whose length is not a multiple of the entry size (6 or 18 bytes).
    #[error("announce reply carries {len} bytes of peers, not a multiple of {entry}")]
    BadPeersLength { len: usize, entry: usize },
    /// A scrape reply whose counts do not come in whole 12-byte entries.
    #[error("scrape reply carries {0} bytes of counts, not a multiple of 12")]
    BadScrapeReplyLength(usize),
}

/// A request the tracker could not read, with its transaction id when the datagram was long
/// enough to carry one (then an error reply can be sent; otherwise it is dropped).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct RequestError {
    pub transaction_id: Option<u32>,
    pub error: UdpError,
}
