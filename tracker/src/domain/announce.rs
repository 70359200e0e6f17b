//! An announce: what a front end read from the client ([`AnnounceInput`]), the tracker's
//! rules ([`AnnouncePolicy`]) and the result the store records ([`AnnounceParams`]).
//!
//! Both front ends build an [`AnnounceInput`] and go through [`AnnouncePolicy::params`], so
//! the rule for trusting the client's `ip` and the `numwant` caps are written once.

use std::net::{IpAddr, SocketAddr};

use metainfo::InfoHash;
use metainfo::tracker::Event;

/// A peer's 20-byte id.
pub type PeerId = [u8; 20];

/// One announce as a front end read it, before the tracker's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnounceInput {
    pub info_hash: InfoHash,
    pub peer_id: PeerId,
    /// The port the peer accepts connections on.
    pub port: u16,
    /// Bytes the client still needs; `None` when it did not say (counted as a leecher).
    pub left: Option<u64>,
    pub event: Event,
    /// Peers asked for; `None` for the default.
    pub numwant: Option<u32>,
    /// The address the client claims (HTTP `ip`, BEP 15 `ip` field), if any.
    pub claimed_ip: Option<IpAddr>,
    /// Where the announce came from: the connection's or datagram's source address (or, with
    /// `--behind-proxy`, the proxy's `X-Forwarded-For`).
    pub source: IpAddr,
    /// The reply lists peers with their ids (`compact=0` without `no_peer_id`).
    pub want_peer_ids: bool,
}

/// Why an announce cannot be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadAnnounce {
    #[error("`port` must be 1 to 65535")]
    PortZero,
}

/// The tracker's announce rules (from its configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnouncePolicy {
    /// Honour the client's claimed address (`--trust-ip-param`).
    pub trust_claimed_ip: bool,
    /// Peers returned when the client asks for none in particular.
    pub default_numwant: u32,
    /// Most peers returned, whatever the client asks.
    pub max_numwant: u32,
}

impl AnnouncePolicy {
    /// The announce the store records, as of `now` (Unix seconds).
    ///
    /// The peer's address is its source address, unless the policy trusts claimed addresses
    /// and the client claimed one of the same family (a peer is listed to peers of its own
    /// family, and a UDP reply's entry size follows the source's family). `numwant` is
    /// defaulted and capped.
    pub fn params(&self, input: &AnnounceInput, now: u64) -> Result<AnnounceParams, BadAnnounce> {
        if input.port == 0 {
            return Err(BadAnnounce::PortZero);
        }
        let source = input.source.to_canonical();
        let ip = match input.claimed_ip.map(|ip| ip.to_canonical()) {
            Some(claimed)
                if self.trust_claimed_ip
                    && !claimed.is_unspecified()
                    && claimed.is_ipv4() == source.is_ipv4() =>
            {
                claimed
            }
            _ => source,
        };
        Ok(AnnounceParams {
            info_hash: input.info_hash,
            peer: SocketAddr::new(ip, input.port),
            peer_id: input.peer_id,
            seeder: input.left == Some(0),
            event: input.event,
            numwant: self.numwant(input.numwant),
            want_peer_ids: input.want_peer_ids,
            now,
        })
    }

    /// `numwant` as asked by a client, defaulted and capped.
    pub fn numwant(&self, asked: Option<u32>) -> usize {
        asked.unwrap_or(self.default_numwant).min(self.max_numwant) as usize
    }
}

/// One announce as the store sees it (validated and capped by [`AnnouncePolicy::params`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnounceParams {
    pub info_hash: InfoHash,
    /// The peer's address and announced port: its identity and what others connect to.
    pub peer: SocketAddr,
    /// The peer's 20-byte id (kept only by a store configured with `peer_ids`).
    pub peer_id: PeerId,
    /// `left == 0`: the peer has everything.
    pub seeder: bool,
    pub event: Event,
    /// How many peers to return at most (already capped).
    pub numwant: usize,
    /// Return the sampled peers' ids too (a `compact=0` reply without `no_peer_id`), if
    /// the store keeps them.
    pub want_peer_ids: bool,
    /// Now, in seconds since the Unix epoch. A store with its own shared clock (Redis)
    /// may use that instead.
    pub now: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: AnnouncePolicy = AnnouncePolicy {
        trust_claimed_ip: false,
        default_numwant: 50,
        max_numwant: 200,
    };

    fn input(source: &str, claimed: Option<&str>) -> AnnounceInput {
        AnnounceInput {
            info_hash: InfoHash([1; 20]),
            peer_id: [2; 20],
            port: 6881,
            left: Some(0),
            event: Event::Started,
            numwant: None,
            claimed_ip: claimed.map(|c| c.parse().unwrap()),
            source: source.parse().unwrap(),
            want_peer_ids: false,
        }
    }

    fn ip(policy: &AnnouncePolicy, source: &str, claimed: Option<&str>) -> String {
        let params = policy.params(&input(source, claimed), 0).unwrap();
        params.peer.ip().to_string()
    }

    #[test]
    fn claimed_ip_only_when_trusted_and_of_the_source_family() {
        let trusting = AnnouncePolicy {
            trust_claimed_ip: true,
            ..POLICY
        };
        assert_eq!(ip(&POLICY, "10.0.0.1", Some("10.9.9.9")), "10.0.0.1");
        assert_eq!(ip(&trusting, "10.0.0.1", Some("10.9.9.9")), "10.9.9.9");
        assert_eq!(ip(&trusting, "10.0.0.1", Some("2001:db8::1")), "10.0.0.1");
        assert_eq!(
            ip(&trusting, "2001:db8::2", Some("10.9.9.9")),
            "2001:db8::2"
        );
        assert_eq!(ip(&trusting, "10.0.0.1", Some("0.0.0.0")), "10.0.0.1");
        // An IPv4-mapped source is IPv4.
        assert_eq!(
            ip(&trusting, "::ffff:10.0.0.1", Some("10.9.9.9")),
            "10.9.9.9"
        );
        assert_eq!(ip(&POLICY, "::ffff:10.0.0.1", None), "10.0.0.1");
    }

    #[test]
    fn numwant_is_defaulted_and_capped_and_port_zero_refused() {
        assert_eq!(POLICY.numwant(None), 50);
        assert_eq!(POLICY.numwant(Some(10_000)), 200);
        assert_eq!(POLICY.numwant(Some(3)), 3);
        let mut zero = input("10.0.0.1", None);
        zero.port = 0;
        assert_eq!(POLICY.params(&zero, 0), Err(BadAnnounce::PortZero));
        let leecher = AnnounceInput {
            left: None,
            ..input("10.0.0.1", None)
        };
        assert!(!POLICY.params(&leecher, 0).unwrap().seeder);
    }
}
