//! Peer ids: ours (`-SW0100-` + 12 random characters) and naming other clients from theirs.
//!
//! Most clients use the Azureus style `-XXVVVV-...` (two letters for the client, four
//! version characters); aria2 uses `A2-1-36-0-...`; old mainline uses `M4-3-6--...`.

use rand::RngExt;
use rand::distr::Alphanumeric;

/// The first 8 bytes of every peer id we send: client `SW`, version 0.1.0.0.
pub const OUR_PREFIX: &[u8; 8] = b"-SW0100-";

/// A fresh peer id: [`OUR_PREFIX`] followed by 12 random alphanumeric bytes (printable, so
/// trackers and logs that mishandle binary ids still cope).
pub fn generate() -> [u8; 20] {
    let mut id = [0u8; 20];
    id[..8].copy_from_slice(OUR_PREFIX);
    let mut rng = rand::rng();
    for byte in &mut id[8..] {
        *byte = rng.sample(Alphanumeric);
    }
    id
}

/// True if `peer_id` is one of ours (any version), e.g. to spot connections to ourselves
/// when combined with a comparison of the whole id.
pub fn is_swarm(peer_id: &[u8]) -> bool {
    peer_id.starts_with(b"-SW")
}

/// A short human name for the client that made `peer_id`, with its version when known:
/// `"Transmission 3.00"`, `"libtorrent 2.0.8"`, `"aria2 1.36.0"`, `"swarm 0.1.0"`.
/// Unknown ids give `"unknown"` or, for an unknown Azureus-style code, the code and version.
pub fn client_name(peer_id: &[u8]) -> String {
    azureus_style(peer_id)
        .or_else(|| aria2_style(peer_id))
        .or_else(|| mainline_style(peer_id))
        .unwrap_or_else(|| "unknown".to_string())
}

/// `-XXVVVV-`: client code `XX`, version characters `VVVV`.
fn azureus_style(id: &[u8]) -> Option<String> {
    let head = id.get(..8)?;
    if head[0] != b'-' || head[7] != b'-' || !head[1..7].iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    let code = std::str::from_utf8(&head[1..3]).ok()?;
    let v = &head[3..7];
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        b'a'..=b'z' => Some(u32::from(c - b'a') + 36),
        _ => None,
    };
    let digits: Vec<u32> = v.iter().map(|&c| digit(c)).collect::<Option<_>>()?;
    let dotted = dotted_version(&digits);
    let named = |name: &str, version: String| Some(format!("{name} {version}"));
    match code {
        // Transmission before 4.0: `-TR2940-` is 2.94, `-TR3000-` 3.00; from 4.0 on
        // `-TR4050-` is 4.0.5 (last character: `0` release, `Z`/`X` dev builds).
        "TR" if digits[0] >= 4 => named(
            "Transmission",
            format!("{}.{}.{}", digits[0], digits[1], digits[2]),
        ),
        "TR" => named(
            "Transmission",
            format!("{}.{}{}", digits[0], digits[1], digits[2]),
        ),
        "LT" => named("libtorrent", dotted),
        "lt" => named("libtorrent (rakshasa)", dotted),
        "SW" => named("swarm", dotted),
        "RQ" | "rQ" => named("rqbit", dotted),
        "qB" => named("qBittorrent", dotted),
        "DE" => named("Deluge", dotted),
        "UT" => named("µTorrent", dotted),
        "UM" => named("µTorrent Mac", dotted),
        "BT" => named("BitTorrent", dotted),
        "AZ" => named("Vuze", dotted),
        "BI" => named("BiglyBT", dotted),
        "KT" => named("KTorrent", dotted),
        "WW" => named("WebTorrent", dotted),
        "AG" | "A~" => named("Ares", dotted),
        "BC" => named("BitComet", dotted),
        "FD" => named("Free Download Manager", dotted),
        _ => named(code, dotted),
    }
}

/// aria2: `A2-1-36-0-`, i.e. `A2-MAJOR-MINOR-PATCH-`.
fn aria2_style(id: &[u8]) -> Option<String> {
    let rest = id.strip_prefix(b"A2-")?;
    let text: String = rest
        .iter()
        .take_while(|c| c.is_ascii_digit() || **c == b'-')
        .map(|&c| c as char)
        .collect();
    let parts: Vec<&str> = text.split('-').filter(|p| !p.is_empty()).take(3).collect();
    if parts.len() < 3 {
        return Some("aria2".to_string());
    }
    Some(format!("aria2 {}", parts.join(".")))
}

/// Old mainline BitTorrent: `M4-3-6--` (Shad0w style with dashes).
fn mainline_style(id: &[u8]) -> Option<String> {
    let head = id.get(..8)?;
    if head[0] != b'M' || !head[1].is_ascii_digit() {
        return None;
    }
    let text: String = head[1..].iter().map(|&c| c as char).collect();
    let version: Vec<&str> = text.split('-').filter(|p| !p.is_empty()).collect();
    if version.is_empty()
        || !version
            .iter()
            .all(|p| p.bytes().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    Some(format!("BitTorrent {}", version.join(".")))
}

/// `[2, 0, 8, 0]` → `"2.0.8"`: trailing zero components dropped, at least three kept.
fn dotted_version(digits: &[u32]) -> String {
    let mut keep = digits.len();
    while keep > 3 && digits[keep - 1] == 0 {
        keep -= 1;
    }
    digits[..keep]
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(prefix: &str) -> Vec<u8> {
        let mut id = prefix.as_bytes().to_vec();
        id.resize(20, b'x');
        id
    }

    #[test]
    fn names_known_clients() {
        assert_eq!(client_name(&id("-TR3000-")), "Transmission 3.00");
        assert_eq!(client_name(&id("-TR2940-")), "Transmission 2.94");
        assert_eq!(client_name(&id("-TR4050-")), "Transmission 4.0.5");
        assert_eq!(client_name(&id("-LT2080-")), "libtorrent 2.0.8");
        assert_eq!(client_name(&id("-lt0D80-")), "libtorrent (rakshasa) 0.13.8");
        assert_eq!(client_name(&id("A2-1-36-0-")), "aria2 1.36.0");
        assert_eq!(client_name(&id("-SW0100-")), "swarm 0.1.0");
        assert_eq!(client_name(&id("-qB4500-")), "qBittorrent 4.5.0");
        assert_eq!(client_name(&id("M4-3-6--")), "BitTorrent 4.3.6");
        assert_eq!(client_name(&id("-ZZ1230-")), "ZZ 1.2.3");
    }

    #[test]
    fn odd_ids_do_not_panic() {
        for raw in [
            &b""[..],
            b"-",
            b"-TR",
            b"-TR30",
            b"A2-",
            b"M",
            b"\xff\xff\xff\xff\xff\xff\xff\xff",
            &[0u8; 20],
        ] {
            let _ = client_name(raw);
        }
        assert_eq!(client_name(&[0u8; 20]), "unknown");
        assert_eq!(client_name(b"-T\xffR300-xxxxxxxxxxxx"), "unknown");
    }

    #[test]
    fn generated_ids_are_ours_and_differ() {
        let a = generate();
        let b = generate();
        assert!(a.starts_with(OUR_PREFIX) && is_swarm(&a));
        assert!(a[8..].iter().all(u8::is_ascii_alphanumeric));
        assert_ne!(a, b);
        assert_eq!(client_name(&a), "swarm 0.1.0");
    }
}
