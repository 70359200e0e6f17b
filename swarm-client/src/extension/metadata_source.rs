//! Serving a torrent's info dictionary to peers that ask (BEP 9): slice it into 16 KiB
//! pieces and answer each `request` with `data`, or with `reject` when we have no such
//! piece or no metadata at all.

use bytes::Bytes;

use super::metadata::{METADATA_PIECE_LEN, MetadataMessage};

/// The raw info dictionary we serve; pieces are slices of it (no copies).
#[derive(Debug, Clone)]
pub struct MetadataSource {
    info: Bytes,
}

impl MetadataSource {
    /// Serves `info_bytes`, the info dictionary exactly as hashed (see
    /// `metainfo::Metainfo::info_bytes`).
    pub fn new(info_bytes: Bytes) -> Self {
        Self { info: info_bytes }
    }

    /// The size to advertise as `metadata_size` in our extended handshake.
    pub fn size(&self) -> u64 {
        self.info.len() as u64
    }

    /// How many 16 KiB pieces the dictionary spans.
    pub fn piece_count(&self) -> u32 {
        self.info.len().div_ceil(METADATA_PIECE_LEN) as u32
    }

    /// Piece `piece`, if it exists.
    pub fn piece(&self, piece: u32) -> Option<Bytes> {
        let start = (piece as usize).checked_mul(METADATA_PIECE_LEN)?;
        if start >= self.info.len() {
            return None;
        }
        let end = self.info.len().min(start + METADATA_PIECE_LEN);
        Some(self.info.slice(start..end))
    }
}

/// The answer to a peer's request for metadata piece `piece`: the piece from `source`, or a
/// reject when the piece does not exist or we have no metadata (`source` is `None`).
pub fn answer_request(source: Option<&MetadataSource>, piece: u32) -> MetadataMessage {
    match source.and_then(|source| Some((source.piece(piece)?, source.size()))) {
        Some((data, total_size)) => MetadataMessage::Data {
            piece,
            total_size: Some(total_size),
            data,
        },
        None => MetadataMessage::Reject { piece },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_into_16_kib_pieces() {
        let info = Bytes::from(vec![9u8; 2 * METADATA_PIECE_LEN + 5]);
        let source = MetadataSource::new(info.clone());
        assert_eq!(source.size(), info.len() as u64);
        assert_eq!(source.piece_count(), 3);
        assert_eq!(source.piece(0).unwrap().len(), METADATA_PIECE_LEN);
        assert_eq!(source.piece(2).unwrap().len(), 5);
        assert_eq!(source.piece(3), None);
        assert_eq!(source.piece(u32::MAX), None);
        let exact = MetadataSource::new(Bytes::from(vec![1u8; METADATA_PIECE_LEN]));
        assert_eq!(exact.piece_count(), 1);
        assert_eq!(exact.piece(1), None);
    }

    #[test]
    fn answers_with_data_or_reject() {
        let source = MetadataSource::new(Bytes::from_static(b"d4:name1:xe"));
        assert_eq!(
            answer_request(Some(&source), 0),
            MetadataMessage::Data {
                piece: 0,
                total_size: Some(11),
                data: Bytes::from_static(b"d4:name1:xe")
            }
        );
        assert_eq!(
            answer_request(Some(&source), 1),
            MetadataMessage::Reject { piece: 1 }
        );
        assert_eq!(
            answer_request(None, 0),
            MetadataMessage::Reject { piece: 0 }
        );
    }

    #[test]
    fn what_we_serve_a_fetch_assembles() {
        use super::super::metadata_fetch::{DataOutcome, MetadataFetch};
        use metainfo::InfoHash;
        use std::time::Instant;

        let info: Vec<u8> = (0..50_000u32).map(|i| (i % 253) as u8).collect();
        let hash = InfoHash::of_info_bytes(&info);
        let source = MetadataSource::new(Bytes::from(info.clone()));
        let mut fetch = MetadataFetch::new(hash);
        fetch.add_peer(1u8, source.size()).unwrap();
        let now = Instant::now();
        let mut outcome = DataOutcome::Stored;
        while let Some(piece) = fetch.next_request(1, now) {
            // Through the wire form both ways.
            let request = MetadataMessage::Request { piece }.encode();
            let Some(MetadataMessage::Request { piece }) =
                MetadataMessage::decode(&request).unwrap()
            else {
                panic!("request");
            };
            let reply = answer_request(Some(&source), piece).encode();
            let Some(MetadataMessage::Data {
                piece,
                total_size,
                data,
            }) = MetadataMessage::decode(&reply).unwrap()
            else {
                panic!("data");
            };
            outcome = fetch.on_data(1, piece, total_size, &data).unwrap();
        }
        assert_eq!(outcome, DataOutcome::Complete(Bytes::from(info)));
    }
}
