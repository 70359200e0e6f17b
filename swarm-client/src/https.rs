//! HTTPS for the client's HTTP requests (tracker announces, metainfo fetches): rustls with the
//! `ring` crypto provider. reqwest is built without a provider of its own (the workspace
//! `Cargo.toml` says why), so one is installed for the process before any client is built.

use std::sync::Once;

/// Makes `ring` the process's rustls provider, unless one was installed already. Call it
/// before building a `reqwest::Client`; calls after the first cost nothing.
pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // An error means another provider was installed first; that one serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
