//! The swarm tracker: HTTP (BEP 3/23/7/48) and UDP (BEP 15) front ends over a swarm store
//! kept in memory or in Redis.

pub mod store;
