//! Peer ids: generating ours (Azureus style, `-SW0100-` + 12 random characters) and naming
//! the client behind someone else's.

/// The 20-byte id a peer picks for itself.
pub type PeerId = [u8; 20];

/// Our client code and version in Azureus-style ids.
pub const CLIENT_PREFIX: &[u8; 8] = b"-SW0100-";

/// A fresh peer id for this process: the client prefix plus 12 random alphanumerics.
pub fn generate() -> PeerId {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut id = [0u8; 20];
    id[..8].copy_from_slice(CLIENT_PREFIX);
    let random: [u8; 12] = rand::random();
    for (slot, byte) in id[8..].iter_mut().zip(random) {
        *slot = ALPHABET[usize::from(byte) % ALPHABET.len()];
    }
    id
}

/// A short human name for the client that chose `id`, e.g. `"LT 2.0.8.0"` for
/// `-LT2080-...`, `"aria2 1.37.0"`, or the printable prefix when the style is unknown.
pub fn client_name(id: &PeerId) -> String {
    if let Some(name) = azureus_style(id) {
        return name;
    }
    if let Some(rest) = id.strip_prefix(b"A2-") {
        let version: String = printable(rest)
            .split('-')
            .filter(|part| !part.is_empty())
            .take(3)
            .collect::<Vec<_>>()
            .join(".");
        return format!("aria2 {version}");
    }
    let prefix = printable(&id[..8]);
    if prefix.is_empty() {
        "unknown".to_owned()
    } else {
        prefix
    }
}

/// `-XXvvvv-`: two-letter client code and four version characters.
fn azureus_style(id: &PeerId) -> Option<String> {
    let (code, version) = (&id[1..3], &id[3..7]);
    let well_formed = id[0] == b'-'
        && id[7] == b'-'
        && code.iter().all(u8::is_ascii_alphanumeric)
        && version.iter().all(u8::is_ascii_alphanumeric);
    if !well_formed {
        return None;
    }
    let client = match code {
        b"SW" => "swarm",
        b"TR" => "Transmission",
        b"qB" => "qBittorrent",
        b"DE" => "Deluge",
        b"lt" => "rTorrent",
        b"UT" => "uTorrent",
        b"rQ" => "rqbit",
        _ => "",
    };
    let code = if client.is_empty() {
        printable(code)
    } else {
        client.to_owned()
    };
    let version: Vec<String> = version.iter().map(|c| (*c as char).to_string()).collect();
    Some(format!("{code} {}", version.join(".")))
}

fn printable(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take_while(|b| b.is_ascii_graphic())
        .map(|&b| b as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_ours_and_distinct() {
        let (a, b) = (generate(), generate());
        assert!(a.starts_with(CLIENT_PREFIX));
        assert!(a.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-'));
        assert_ne!(a, b);
    }

    #[test]
    fn names_known_clients() {
        assert_eq!(client_name(b"-LT2080-abcdefghijkl"), "LT 2.0.8.0");
        assert_eq!(client_name(b"-TR4050-abcdefghijkl"), "Transmission 4.0.5.0");
        assert_eq!(client_name(b"A2-1-37-0-abcdefghij"), "aria2 1.37.0");
        assert_eq!(client_name(&[0; 20]), "unknown");
        assert_eq!(client_name(b"M7-2-3--abcdefghijkl"), "M7-2-3--");
    }
}
