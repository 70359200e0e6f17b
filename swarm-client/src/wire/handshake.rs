//! The 68-byte BEP 3 handshake: `<19>"BitTorrent protocol"<reserved:8><info_hash:20><peer_id:20>`.
//!
//! [`initiate`] and [`respond`] run the whole exchange on a connection within a deadline and
//! reject a wrong info-hash or a connection to ourselves.

use std::io;
use std::time::Duration;

use metainfo::InfoHash;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::peer_id::PeerId;

/// The protocol string every BEP 3 handshake starts with (after its length byte).
pub const PROTOCOL: &[u8; 19] = b"BitTorrent protocol";

/// Total length of a handshake on the wire.
pub const HANDSHAKE_LEN: usize = 68;

/// Length of the part before the peer id (length byte, protocol, reserved, info-hash).
const PREFIX_LEN: usize = 48;

/// Why a handshake failed; the connection should be closed.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("handshake I/O: {0}")]
    Io(#[from] io::Error),
    #[error("handshake timed out")]
    Timeout,
    #[error("not a BitTorrent handshake")]
    WrongProtocol,
    #[error("handshake is {0} bytes, expected {HANDSHAKE_LEN}")]
    WrongLength(usize),
    #[error("peer is on another torrent ({actual}, expected {expected})")]
    InfoHashMismatch {
        expected: InfoHash,
        actual: InfoHash,
    },
    #[error("connected to ourselves")]
    SelfConnection,
    #[error("peer asked for a torrent we do not serve ({0})")]
    UnknownTorrent(InfoHash),
}

/// A peer's handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handshake {
    /// Extension bits; we set none and ignore the peer's.
    pub reserved: [u8; 8],
    pub info_hash: InfoHash,
    pub peer_id: PeerId,
}

impl Handshake {
    /// Our handshake for a torrent, with no extension bits set.
    pub fn new(info_hash: InfoHash, peer_id: PeerId) -> Self {
        Self {
            reserved: [0; 8],
            info_hash,
            peer_id,
        }
    }

    /// The wire form.
    pub fn encode(&self) -> [u8; HANDSHAKE_LEN] {
        let mut out = [0u8; HANDSHAKE_LEN];
        out[0] = PROTOCOL.len() as u8;
        out[1..20].copy_from_slice(PROTOCOL);
        out[20..28].copy_from_slice(&self.reserved);
        out[28..48].copy_from_slice(self.info_hash.as_bytes());
        out[48..68].copy_from_slice(&self.peer_id);
        out
    }

    /// Parses exactly [`HANDSHAKE_LEN`] bytes; rejects any other protocol string.
    pub fn decode(bytes: &[u8]) -> Result<Self, HandshakeError> {
        if bytes.len() != HANDSHAKE_LEN {
            return Err(HandshakeError::WrongLength(bytes.len()));
        }
        let (prefix, peer_id) = bytes.split_at(PREFIX_LEN);
        let (reserved, info_hash) = decode_prefix(prefix)?;
        Ok(Self {
            reserved,
            info_hash,
            peer_id: to_array(peer_id),
        })
    }

    /// Reads a handshake, failing fast (after one byte) on a wrong protocol length.
    pub async fn read_from<R: AsyncRead + Unpin + ?Sized>(
        reader: &mut R,
    ) -> Result<Self, HandshakeError> {
        let (reserved, info_hash) = read_prefix(reader).await?;
        let peer_id = read_peer_id(reader).await?;
        Ok(Self {
            reserved,
            info_hash,
            peer_id,
        })
    }

    /// Writes the handshake and flushes.
    pub async fn write_to<W: AsyncWrite + Unpin + ?Sized>(&self, writer: &mut W) -> io::Result<()> {
        writer.write_all(&self.encode()).await?;
        writer.flush().await
    }
}

/// Outgoing connection: sends `ours`, reads the peer's handshake and checks it (same
/// info-hash, not ourselves), all within `deadline`.
pub async fn initiate<S>(
    stream: &mut S,
    ours: &Handshake,
    deadline: Duration,
) -> Result<Handshake, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    with_deadline(deadline, async {
        ours.write_to(stream).await?;
        let theirs = Handshake::read_from(stream).await?;
        check_info_hash(ours, &theirs.info_hash)?;
        check_not_self(ours, &theirs.peer_id)?;
        Ok(theirs)
    })
    .await
}

/// Incoming connection: reads the peer's handshake up to the info-hash, checks it, replies
/// with `ours` before reading the peer id (some clients wait for that), then checks the
/// peer id is not ours. All within `deadline`.
pub async fn respond<S>(
    stream: &mut S,
    ours: &Handshake,
    deadline: Duration,
) -> Result<Handshake, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    let (theirs, ()) = respond_for(stream, |_| Some((*ours, ())), deadline).await?;
    Ok(theirs)
}

/// Incoming connection for any of several torrents: reads the peer's handshake up to the
/// info-hash, asks `route` for our handshake for that torrent (and what else the caller
/// wants to know of it), replies with it before reading the peer id, then checks the peer
/// id is not ours. An info-hash `route` does not know fails with
/// [`HandshakeError::UnknownTorrent`] before we send anything. All within `deadline`.
pub async fn respond_for<S, T>(
    stream: &mut S,
    route: impl FnOnce(&InfoHash) -> Option<(Handshake, T)>,
    deadline: Duration,
) -> Result<(Handshake, T), HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    with_deadline(deadline, async {
        let (reserved, info_hash) = read_prefix(stream).await?;
        let (ours, routed) = route(&info_hash).ok_or(HandshakeError::UnknownTorrent(info_hash))?;
        check_info_hash(&ours, &info_hash)?;
        ours.write_to(stream).await?;
        let peer_id = read_peer_id(stream).await?;
        check_not_self(&ours, &peer_id)?;
        let theirs = Handshake {
            reserved,
            info_hash,
            peer_id,
        };
        Ok((theirs, routed))
    })
    .await
}

async fn with_deadline<T>(
    deadline: Duration,
    exchange: impl Future<Output = Result<T, HandshakeError>>,
) -> Result<T, HandshakeError> {
    tokio::time::timeout(deadline, exchange)
        .await
        .unwrap_or(Err(HandshakeError::Timeout))
}

fn check_info_hash(ours: &Handshake, theirs: &InfoHash) -> Result<(), HandshakeError> {
    if *theirs == ours.info_hash {
        Ok(())
    } else {
        Err(HandshakeError::InfoHashMismatch {
            expected: ours.info_hash,
            actual: *theirs,
        })
    }
}

fn check_not_self(ours: &Handshake, theirs: &PeerId) -> Result<(), HandshakeError> {
    if *theirs == ours.peer_id {
        Err(HandshakeError::SelfConnection)
    } else {
        Ok(())
    }
}

async fn read_prefix<R: AsyncRead + Unpin + ?Sized>(
    reader: &mut R,
) -> Result<([u8; 8], InfoHash), HandshakeError> {
    let mut prefix = [0u8; PREFIX_LEN];
    reader.read_exact(&mut prefix[..1]).await?;
    if usize::from(prefix[0]) != PROTOCOL.len() {
        return Err(HandshakeError::WrongProtocol);
    }
    reader.read_exact(&mut prefix[1..]).await?;
    decode_prefix(&prefix)
}

async fn read_peer_id<R: AsyncRead + Unpin + ?Sized>(
    reader: &mut R,
) -> Result<PeerId, HandshakeError> {
    let mut peer_id = [0u8; 20];
    reader.read_exact(&mut peer_id).await?;
    Ok(peer_id)
}

/// Parses the 48 bytes before the peer id.
fn decode_prefix(prefix: &[u8]) -> Result<([u8; 8], InfoHash), HandshakeError> {
    if prefix.len() != PREFIX_LEN {
        return Err(HandshakeError::WrongLength(prefix.len()));
    }
    if usize::from(prefix[0]) != PROTOCOL.len() || &prefix[1..20] != PROTOCOL {
        return Err(HandshakeError::WrongProtocol);
    }
    Ok((
        to_array(&prefix[20..28]),
        InfoHash(to_array(&prefix[28..48])),
    ))
}

/// Copies a slice whose length the caller has already checked.
fn to_array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;

    fn sample(peer: u8) -> Handshake {
        Handshake {
            reserved: [0, 0, 0, 0, 0, 0x10, 0, 1],
            info_hash: InfoHash([7; 20]),
            peer_id: [peer; 20],
        }
    }

    #[test]
    fn encode_decode_round_trip() {
        let ours = sample(1);
        let bytes = ours.encode();
        assert_eq!(bytes[0], 19);
        assert_eq!(&bytes[1..20], PROTOCOL);
        assert_eq!(Handshake::decode(&bytes).unwrap(), ours);
    }

    #[test]
    fn decode_rejects_wrong_protocol_and_length() {
        let mut bytes = sample(1).encode();
        bytes[5] = b'X';
        assert!(matches!(
            Handshake::decode(&bytes),
            Err(HandshakeError::WrongProtocol)
        ));
        bytes = sample(1).encode();
        bytes[0] = 18;
        assert!(matches!(
            Handshake::decode(&bytes),
            Err(HandshakeError::WrongProtocol)
        ));
        assert!(matches!(
            Handshake::decode(&bytes[..67]),
            Err(HandshakeError::WrongLength(67))
        ));
        let long = [&sample(1).encode()[..], &[0]].concat();
        assert!(matches!(
            Handshake::decode(&long),
            Err(HandshakeError::WrongLength(69))
        ));
    }

    #[tokio::test]
    async fn initiate_and_respond_agree() {
        let (mut a, mut b) = duplex(256);
        let deadline = Duration::from_secs(5);
        let (one, two) = (sample(1), sample(2));
        let (left, right) = tokio::join!(
            initiate(&mut a, &one, deadline),
            respond(&mut b, &two, deadline)
        );
        assert_eq!(left.unwrap(), sample(2));
        assert_eq!(right.unwrap(), sample(1));
    }

    #[tokio::test]
    async fn respond_rejects_other_torrent_without_replying() {
        let (mut a, mut b) = duplex(256);
        let mut other = sample(1);
        other.info_hash = InfoHash([9; 20]);
        other.write_to(&mut a).await.unwrap();
        let result = respond(&mut b, &sample(2), Duration::from_secs(5)).await;
        assert!(matches!(
            result,
            Err(HandshakeError::InfoHashMismatch { .. })
        ));
        drop(b);
        let mut rest = Vec::new();
        a.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    }

    #[tokio::test]
    async fn detects_self_connection() {
        let (mut a, mut b) = duplex(256);
        let deadline = Duration::from_secs(5);
        let ours = sample(1);
        let (left, right) = tokio::join!(
            initiate(&mut a, &ours, deadline),
            respond(&mut b, &ours, deadline)
        );
        assert!(matches!(right, Err(HandshakeError::SelfConnection)));
        assert!(left.is_err());
    }

    #[tokio::test]
    async fn fails_fast_on_http_and_times_out_on_silence() {
        let (mut a, mut b) = duplex(256);
        a.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        let result = respond(&mut b, &sample(2), Duration::from_secs(5)).await;
        assert!(matches!(result, Err(HandshakeError::WrongProtocol)));

        let (_a, mut b) = duplex(256);
        let result = respond(&mut b, &sample(2), Duration::from_millis(50)).await;
        assert!(matches!(result, Err(HandshakeError::Timeout)));
    }
}
