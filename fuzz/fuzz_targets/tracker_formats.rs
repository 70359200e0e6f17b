//! Fuzzes the tracker formats that arrive from the network: HTTP announce and scrape replies
//! (bencoded, read by the client) and BEP 15 datagrams (requests read by the tracker, replies
//! read by the client). None may panic, and whatever one accepts must come back unchanged
//! from an encode/decode round trip, so what the tracker writes is what a client reads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use metainfo::tracker::udp::{Request, Response};
use metainfo::tracker::{AnnounceReply, PeerFormat, ScrapeReply};

fuzz_target!(|data: &[u8]| {
    if let Ok(reply) = AnnounceReply::decode(data) {
        let again = AnnounceReply::decode(&reply.encode(PeerFormat::Dict))
            .expect("a re-encoded announce reply decodes");
        assert_eq!(again, reply);
    }
    if let Ok(reply) = ScrapeReply::decode(data) {
        let mut again = ScrapeReply::decode(&reply.encode())
            .expect("a re-encoded scrape reply decodes")
            .files;
        let mut files = reply.files;
        files.sort_by_key(|(hash, _)| *hash);
        again.sort_by_key(|(hash, _)| *hash);
        assert_eq!(again, files);
    }
    if let Ok(request) = Request::decode(data) {
        round_trip_request(request);
    }
    for ipv6 in [false, true] {
        if let Ok(response) = Response::decode(data, ipv6) {
            let mut out = Vec::new();
            response.encode(&mut out);
            let again = Response::decode(&out, ipv6).expect("a re-encoded reply decodes");
            assert_eq!(again, response);
        }
    }
});

fn round_trip_request(request: Request) {
    let mut out = Vec::new();
    let mut expected = request.clone();
    match &request {
        Request::Connect(r) => r.encode(&mut out),
        Request::Announce(r) => {
            r.encode(&mut out).expect("an accepted announce re-encodes");
            // URL data "/" is the default path: it is not sent again.
            if let Request::Announce(e) = &mut expected
                && e.url_data == b"/"
            {
                e.url_data.clear();
            }
        }
        Request::Scrape(r) => r.encode(&mut out).expect("an accepted scrape re-encodes"),
    }
    let again = Request::decode(&out).expect("a re-encoded request decodes");
    assert_eq!(again, expected);
}
