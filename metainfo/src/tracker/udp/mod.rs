//! BEP 15, the UDP tracker protocol: every datagram of a connect, announce, scrape and error
//! exchange, encoded and decoded here once for the tracker and the client.
//!
//! Pure and bounded: no I/O, every length checked before it is read, every problem a typed
//! [`UdpError`]. All integers are big-endian.
//!
//! - Client side: build a [`ConnectRequest`], [`AnnounceRequest`] or [`ScrapeRequest`] and
//!   [`encode`](AnnounceRequest::encode) it; read the tracker's datagram with
//!   [`Response::decode`].
//! - Tracker side: read a datagram with [`Request::decode`] (a [`RequestError`] carries the
//!   transaction id when there was one, so an error reply can be sent); answer with
//!   [`write_connect_reply`], [`write_announce_reply`], [`write_scrape_reply`] or
//!   [`write_error_reply`], which write straight into a reused buffer.
//!
//! Announce requests may carry BEP 41 options after the 98 fixed bytes; the URL-data option
//! (the announce URL's path and query, where private trackers put a passkey) is encoded and
//! decoded, other options are skipped.

mod error;
mod request;
mod response;

pub use error::{RequestError, UdpError};
pub use request::{AnnounceRequest, ConnectRequest, Request, ScrapeRequest};
pub use response::{
    AnnounceResponse, Response, write_announce_reply, write_connect_reply, write_error_reply,
    write_scrape_reply,
};

/// The magic `protocol_id` that opens a connect request.
pub const PROTOCOL_ID: u64 = 0x0417_2710_1980;
/// Bytes of a connect request.
pub const CONNECT_REQUEST_LEN: usize = 16;
/// Bytes of a connect reply.
pub const CONNECT_REPLY_LEN: usize = 16;
/// Bytes of an announce request before any BEP 41 options.
pub const ANNOUNCE_REQUEST_LEN: usize = 98;
/// Bytes of an announce reply before its peers.
pub const ANNOUNCE_REPLY_HEADER_LEN: usize = 20;
/// Bytes of a request header (connection id, action, transaction id).
pub const REQUEST_HEADER_LEN: usize = 16;
/// Bytes of a reply header (action, transaction id).
pub const REPLY_HEADER_LEN: usize = 8;
/// Most info-hashes in one scrape request (BEP 15: about 74 fit in a datagram).
pub const MAX_SCRAPE_HASHES: usize = 74;
/// Longest BEP 41 URL data accepted or sent (path and query of the announce URL).
pub const MAX_URL_DATA: usize = 1024;
/// Longest error message kept from an error reply.
pub const MAX_ERROR_MESSAGE: usize = crate::tracker::text::MAX_TEXT_LEN;

/// The action code of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Connect,
    Announce,
    Scrape,
    Error,
}

impl Action {
    /// The 32-bit code on the wire.
    pub fn code(self) -> u32 {
        match self {
            Action::Connect => 0,
            Action::Announce => 1,
            Action::Scrape => 2,
            Action::Error => 3,
        }
    }

    /// The action of a code, if it is one.
    pub fn from_code(code: u32) -> Option<Action> {
        match code {
            0 => Some(Action::Connect),
            1 => Some(Action::Announce),
            2 => Some(Action::Scrape),
            3 => Some(Action::Error),
            _ => None,
        }
    }
}

/// BEP 41 option types.
mod option {
    /// No more options.
    pub const END: u8 = 0;
    /// Padding: one byte, no length.
    pub const NOP: u8 = 1;
    /// A piece of the announce URL's path and query.
    pub const URL_DATA: u8 = 2;
}

/// A big-endian u32 at `at`, if the slice is long enough.
fn be_u32(p: &[u8], at: usize) -> Option<u32> {
    let bytes = p.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(bytes.try_into().ok()?))
}

/// A big-endian u64 at `at`, if the slice is long enough.
fn be_u64(p: &[u8], at: usize) -> Option<u64> {
    let bytes = p.get(at..at.checked_add(8)?)?;
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}
