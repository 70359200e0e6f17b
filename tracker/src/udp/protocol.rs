//! BEP 15 requests in the tracker's terms. The datagram formats themselves are
//! `metainfo::tracker::udp`, shared with the client; this module only maps a decoded announce
//! onto the tracker's [`AnnounceInput`], the same input the HTTP front end builds.

use std::net::SocketAddr;

use metainfo::tracker::udp::AnnounceRequest;

use crate::domain::AnnounceInput;

/// The tracker's view of a BEP 15 announce from `from`. UDP replies are always compact and
/// never carry peer ids.
pub fn announce_input(request: &AnnounceRequest, from: SocketAddr) -> AnnounceInput {
    AnnounceInput {
        info_hash: request.info_hash,
        peer_id: request.peer_id,
        port: request.port,
        left: Some(request.left),
        event: request.event,
        numwant: request.num_want,
        claimed_ip: request.ip.map(Into::into),
        source: from.ip(),
        want_peer_ids: false,
    }
}

#[cfg(test)]
mod tests {
    use metainfo::InfoHash;
    use metainfo::tracker::Event;

    use super::*;

    #[test]
    fn maps_every_field() {
        let request = AnnounceRequest {
            connection_id: 1,
            transaction_id: 2,
            info_hash: InfoHash([3; 20]),
            peer_id: [4; 20],
            downloaded: 5,
            left: 0,
            uploaded: 7,
            event: Event::Completed,
            ip: Some("10.1.1.1".parse().unwrap()),
            key: 8,
            num_want: Some(9),
            port: 6881,
            url_data: Vec::new(),
        };
        let input = announce_input(&request, "10.0.0.2:5000".parse().unwrap());
        assert_eq!(input.info_hash, InfoHash([3; 20]));
        assert_eq!((input.left, input.event), (Some(0), Event::Completed));
        assert_eq!((input.numwant, input.port), (Some(9), 6881));
        assert_eq!(input.claimed_ip, Some("10.1.1.1".parse().unwrap()));
        assert_eq!(
            input.source,
            "10.0.0.2".parse::<std::net::IpAddr>().unwrap()
        );
    }
}
