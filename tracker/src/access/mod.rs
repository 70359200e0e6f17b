//! Who may do what: publish tokens for the web API, passkeys for private announces, and
//! rate limits per source address.

pub mod passkeys;
pub mod rate_limit;
pub mod tokens;
