//! The peer id type. Generating ours and naming other clients lives in
//! [`crate::peer_id`]; it is re-exported here so wire users find it in one place.

/// The 20-byte id a peer picks for itself.
pub type PeerId = [u8; 20];

pub use crate::peer_id::{OUR_PREFIX, client_name, generate, is_swarm};
