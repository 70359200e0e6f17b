//! Swarm client library.
