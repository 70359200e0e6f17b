//! Fuzzes the peer wire codec: any byte stream, fed in two arbitrary chunks, must never panic
//! the decoder, must decode the same as when fed whole, and every decoded message must encode
//! back to bytes that decode to the same message. Bitfield and handshake parsers ride along.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use swarm_client::wire::{Bitfield, Handshake, Message, MessageCodec};
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
    let codec = || max_len.map_or_else(MessageCodec::new, MessageCodec::with_max_len);

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
    }
});
