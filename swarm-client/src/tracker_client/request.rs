//! What a client tells a tracker in an announce, whatever the transport.

use metainfo::InfoHash;

use crate::wire::PeerId;

/// The `event` of an announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AnnounceEvent {
    /// A regular re-announce.
    #[default]
    None,
    /// First announce of this download to this tracker.
    Started,
    /// The download just finished (sent once).
    Completed,
    /// The client is shutting down.
    Stopped,
}

impl AnnounceEvent {
    /// The HTTP `event` query value, if one is sent.
    pub fn http_name(self) -> Option<&'static str> {
        match self {
            AnnounceEvent::None => None,
            AnnounceEvent::Started => Some("started"),
            AnnounceEvent::Completed => Some("completed"),
            AnnounceEvent::Stopped => Some("stopped"),
        }
    }

    /// The BEP 15 event code.
    pub fn udp_code(self) -> u32 {
        match self {
            AnnounceEvent::None => 0,
            AnnounceEvent::Completed => 1,
            AnnounceEvent::Started => 2,
            AnnounceEvent::Stopped => 3,
        }
    }
}

/// One announce's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceRequest {
    pub info_hash: InfoHash,
    pub peer_id: PeerId,
    /// The port we accept peer connections on.
    pub port: u16,
    pub uploaded: u64,
    pub downloaded: u64,
    /// Bytes still missing (0 when seeding).
    pub left: u64,
    pub event: AnnounceEvent,
    /// How many peers we would like.
    pub numwant: u32,
    /// A random per-session number letting the tracker recognise us across IP changes.
    pub key: u32,
}
