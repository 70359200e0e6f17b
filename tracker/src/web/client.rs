//! Facts about the client of a web request: its address (through a proxy with
//! `--behind-proxy`), whether it wants JSON, and the public base URL to link to.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, header};

use crate::config::Config;

/// The client's address: the last `X-Forwarded-For` entry with `--behind-proxy` (the one
/// the proxy added), else the connection's source. `None` when neither can be read.
pub fn ip(
    config: &Config,
    remote: SocketAddr,
    headers: &HeaderMap,
) -> Result<IpAddr, &'static str> {
    if !config.behind_proxy {
        return Ok(remote.ip().to_canonical());
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()
        .ok_or("no X-Forwarded-For header from the proxy")?;
    let last = forwarded
        .to_str()
        .ok()
        .and_then(|v| v.rsplit(',').next())
        .ok_or("unreadable X-Forwarded-For header")?;
    last.trim()
        .parse::<IpAddr>()
        .map(|ip| ip.to_canonical())
        .map_err(|_| "X-Forwarded-For is not an IP address")
}

/// The connection's address, from the request's extensions (set by the server).
pub fn remote<B>(request: &Request<B>) -> SocketAddr {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0)
}

/// Does the client ask for JSON (`?format=json` or an `Accept` naming `application/json`
/// before any HTML)?
pub fn wants_json(headers: &HeaderMap, format: Option<&str>) -> bool {
    match format {
        Some("json") => return true,
        Some("html") => return false,
        _ => {}
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let json = accept.find("application/json");
    let html = accept.find("text/html");
    match (json, html) {
        (Some(j), Some(h)) => j < h,
        (Some(_), None) => true,
        _ => false,
    }
}

/// Where this tracker is reached: `--public-url`, else from the request (`Host`, and with
/// `--behind-proxy` the proxy's `X-Forwarded-Proto` / `X-Forwarded-Host`).
pub fn base_url(config: &Config, headers: &HeaderMap) -> String {
    if let Some(url) = &config.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').next().unwrap_or("").trim().to_string())
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic()))
    };
    let (proto, host) = if config.behind_proxy {
        (
            text("x-forwarded-proto").unwrap_or_else(|| "http".into()),
            text("x-forwarded-host").or_else(|| text("host")),
        )
    } else {
        ("http".into(), text("host"))
    };
    let proto = if proto == "https" { "https" } else { "http" };
    format!("{proto}://{}", host.unwrap_or_else(|| "localhost".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_chosen_by_format_then_accept() {
        let mut h = HeaderMap::new();
        assert!(!wants_json(&h, None));
        assert!(wants_json(&h, Some("json")));
        h.insert(header::ACCEPT, "application/json".parse().unwrap());
        assert!(wants_json(&h, None));
        assert!(!wants_json(&h, Some("html")));
        h.insert(
            header::ACCEPT,
            "text/html,application/json;q=0.9".parse().unwrap(),
        );
        assert!(!wants_json(&h, None));
    }
}
