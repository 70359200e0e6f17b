//! Tracker reply formats shared by the tracker (encode) and the client (decode):
//! announce replies (BEP 3, compact peers BEP 23, IPv6 `peers6` BEP 7), scrape replies
//! (BEP 48), compact peer strings, the announce [`Event`], and the whole BEP 15 UDP
//! protocol ([`udp`]).
//!
//! Client side: [`AnnounceReply::decode`] turns a tracker's HTTP body into a typed reply;
//! a tracker-reported `failure reason` comes back as [`ReplyError::Failure`].
//!
//! Tracker side: [`write_compact_announce`] writes a reply straight into a buffer from
//! compact peer bytes; [`AnnounceReply::encode`] builds the same format from typed peers.
//! Both go through one writer, so there is one definition of the format.

mod announce;
mod compact;
mod error;
mod event;
mod scrape;
mod text;
pub mod udp;

pub use announce::{
    AnnounceReply, MAX_REPLY_LEN, Peer, PeerFormat, ReplyHead, encode_failure,
    write_compact_announce, write_failure,
};
pub use compact::{
    COMPACT_V4_LEN, COMPACT_V6_LEN, compact_v4, compact_v6, decode_compact_v4, decode_compact_v6,
    decode_v4, decode_v6, push_compact,
};
pub use error::ReplyError;
pub use event::Event;
pub use scrape::{ScrapeReply, ScrapeStats, write_scrape};
