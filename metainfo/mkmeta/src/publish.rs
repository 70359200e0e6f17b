//! `mkmeta PATH --publish URL`: send the metainfo just made to a tracker's catalog
//! (`POST URL/torrents`, the bearer token from `$SWARM_PUBLISH_TOKEN`) and return the
//! catalog page's URL the tracker answers with.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use reqwest::StatusCode;
use reqwest::blocking::Client;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};

/// Environment variable holding the publish token (one of the tracker's
/// `--publish-token-file` lines).
pub const TOKEN_ENV: &str = "SWARM_PUBLISH_TOKEN";

/// How long the whole upload may take: a metainfo file is at most a few MiB.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The `POST` endpoint for a tracker given as `http(s)://host[:port][/prefix]` or as its
/// `…/torrents` URL itself (the form `--publish` accepts; checked by clap).
pub fn endpoint(text: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("{text} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "{text}: give the tracker's web address, e.g. http://tracker.example:6969"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{text}: the tracker's address takes no ?query or #fragment"
        ));
    }
    let base = url.as_str().trim_end_matches('/');
    Ok(if base.ends_with("/torrents") {
        base.to_string()
    } else {
        format!("{base}/torrents")
    })
}

/// Publish `bytes` at `endpoint`; the catalog URL of the entry. An error names the endpoint
/// and, when the tracker answered, the HTTP status and its reason.
pub fn publish(endpoint: &str, bytes: Vec<u8>) -> Result<String> {
    let token = std::env::var(TOKEN_ENV)
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    // reqwest is built without a TLS provider of its own (see the workspace Cargo.toml).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client::builder()
        .timeout(TIMEOUT)
        .build()
        .context("cannot start an HTTP client")?;
    let mut request = client
        .post(endpoint)
        .header(CONTENT_TYPE, "application/x-bittorrent")
        .body(bytes);
    if let Some(token) = &token {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    let context = || format!("cannot publish to {endpoint}");
    // `without_url`: the endpoint is already in the context; reqwest would repeat it.
    let response = request
        .send()
        .map_err(reqwest::Error::without_url)
        .with_context(context)?;
    let status = response.status();
    let body = response
        .text()
        .map_err(reqwest::Error::without_url)
        .with_context(context)?;
    if !status.is_success() {
        bail!(
            "cannot publish to {endpoint}: HTTP {status}{}",
            refusal_detail(status, &body, token.is_some())
        );
    }
    // The tracker answers `{"info_hash": …, "url": …}` (201 new, 200 already there).
    serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("url").and_then(|u| u.as_str()).map(str::to_string))
        .with_context(|| {
            format!("cannot publish to {endpoint}: HTTP {status}, but the reply has no catalog URL")
        })
}

/// `: <the tracker's reason>` from a refusal's body (`{"error": …}` or a line of text),
/// plus a hint when a token is what is missing.
fn refusal_detail(status: StatusCode, body: &str, had_token: bool) -> String {
    let reason = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_else(|| body.lines().next().unwrap_or("").to_string());
    // One line, and bounded: the body comes from the network.
    let reason: String = reason
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let mut detail = if reason.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", reason.trim())
    };
    if status == StatusCode::UNAUTHORIZED && !had_token {
        detail.push_str(&format!(" (set ${TOKEN_ENV} to a publish token)"));
    }
    detail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_takes_the_tracker_or_its_catalog_url() {
        for (given, want) in [
            ("http://127.0.0.1:6969", "http://127.0.0.1:6969/torrents"),
            ("http://127.0.0.1:6969/", "http://127.0.0.1:6969/torrents"),
            ("https://t.example/torrents", "https://t.example/torrents"),
            ("https://t.example/bt/", "https://t.example/bt/torrents"),
        ] {
            assert_eq!(endpoint(given).as_deref(), Ok(want), "{given}");
        }
        for bad in ["t.example:6969", "udp://t.example:6969", "http://t/?x=1"] {
            assert!(endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_refusal_is_one_bounded_line_with_the_trackers_reason() {
        let detail = refusal_detail(StatusCode::FORBIDDEN, r#"{"error":"wrong token"}"#, true);
        assert_eq!(detail, ": wrong token");
        let hint = refusal_detail(StatusCode::UNAUTHORIZED, "", false);
        assert!(hint.contains(TOKEN_ENV));
        let long = refusal_detail(StatusCode::BAD_GATEWAY, &"x\u{1b}".repeat(500), true);
        assert!(long.len() < 210 && !long.contains('\u{1b}'));
    }
}
