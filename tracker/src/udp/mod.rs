//! The UDP front end (BEP 15): connect, announce (IPv4 and IPv6), scrape, error replies.

pub mod connection_id;
pub mod protocol;
pub mod server;
