//! Fuzzes the peer wire codec: any byte stream, fed in two arbitrary chunks, must never panic
//! the decoder, must decode the same as when fed whole, and every decoded message must encode
//! back to bytes that decode to the same message (BEP 3, the BEP 6 fast extension, BEP 10
//! extended messages, whose payloads also go through the extension parsers). Bitfield,
//! handshake and reserved-bit parsers ride along.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use swarm_client::extension::ExtendedMessage;
use swarm_client::wire::{Bitfield, BlockRequest, Extensions, Handshake, Message, MessageCodec};
use tokio_util::codec::{Decoder, Encoder};

/// Decodes messages until the codec wants more bytes or fails.
fn decode_all(codec: &mut MessageCodec, buf: &mut BytesMut, out: &mut Vec<Message>) -> bool {
    loop {
        match codec.decode(buf) {
            Ok(Some(message)) => out.push(message),
            Ok(None) => return true,
            Err(_) => return false,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    // Small limits exercise the "too long" path; 0xff means the default limit.
    let max_len = if control == 0xff {
        None
    } else {
        Some(u32::from(control) * 4)
    };
    // The extended-message limit follows the control byte too, so both limits get crossed.
    let codec = || {
        max_len
            .map_or_else(MessageCodec::new, MessageCodec::with_max_len)
            .with_max_extended_len(u32::from(control) * 16)
    };

    let mut whole = Vec::new();
    let whole_ok = decode_all(&mut codec(), &mut BytesMut::from(stream), &mut whole);

    let cut = usize::from(control) % (stream.len() + 1);
    let mut split = Vec::new();
    let mut streaming = codec();
    let mut buf = BytesMut::from(&stream[..cut]);
    let mut split_ok = decode_all(&mut streaming, &mut buf, &mut split);
    if split_ok {
        buf.extend_from_slice(&stream[cut..]);
        split_ok = decode_all(&mut streaming, &mut buf, &mut split);
    }
    assert_eq!(whole, split);
    assert_eq!(whole_ok, split_ok);

    for message in whole {
        check_payload(&message);
        let mut encoded = BytesMut::new();
        codec().encode(&message, &mut encoded).unwrap();
        let again = MessageCodec::with_max_len(u32::MAX)
            .decode(&mut encoded)
            .unwrap();
        assert_eq!(again, Some(message));
        assert!(encoded.is_empty());
    }

    if let Ok(field) = Bitfield::from_wire(stream, u32::from(control) * 3) {
        assert_eq!(field.as_bytes(), stream);
        assert_eq!(field.iter_ones().count() as u32, field.count());
    }
    if let Ok(handshake) = Handshake::decode(stream) {
        assert_eq!(&handshake.encode()[..], stream);
        // The bits we read are the bits we would write, and we never write others.
        let ours = handshake.extensions();
        assert_eq!(Extensions::from_reserved(&ours.to_reserved()), ours);
        let reserved = ours.to_reserved();
        for (mine, theirs) in reserved.iter().zip(handshake.reserved) {
            assert_eq!(mine & !theirs, 0);
        }
    }
});

/// Payloads of fast-extension and extended messages must never panic their checks, and an
/// extended message that decodes must re-encode to one that decodes the same.
fn check_payload(message: &Message) {
    match message {
        Message::Reject(request) => {
            let _ = request.validate(7, |_| 16384);
            let _ = BlockRequest::blocks_of_piece(request.index, request.length % 100_000).count();
        }
        Message::Extended { id, payload } => {
            if let Ok(Some(decoded)) = ExtendedMessage::decode(*id, payload) {
                let theirs = swarm_client::extension::OUR_IDS;
                let Some(Message::Extended { id, payload }) = decoded.to_wire(&theirs) else {
                    panic!("our own ids support every extension");
                };
                assert_eq!(ExtendedMessage::decode(id, &payload), Ok(Some(decoded)));
            }
        }
        _ => {}
    }
}
