//! Fetching a metainfo file from an `http://` or `https://` URL (a tracker catalog's
//! download link, say), bounded in time, size and redirects, with a typed error that says
//! what came back when it is not a metainfo file.
//!
//! Proxies from the environment are not used, as for tracker announces: only the given URL
//! (and the redirects it answers with) is contacted. Errors name the URL without its query
//! or user info, which often hold a passkey.

use std::time::Duration;

use metainfo::{MAX_METAINFO_SIZE, Metainfo, MetainfoError};

/// Limits of one fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchOptions {
    /// For the whole exchange: connecting, the request, and reading the reply.
    pub timeout: Duration,
    /// Largest reply accepted, in bytes.
    pub max_size: usize,
    /// Redirects followed at most.
    pub max_redirects: usize,
}

impl Default for FetchOptions {
    /// 30 s, [`MAX_METAINFO_SIZE`], 5 redirects.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            max_size: MAX_METAINFO_SIZE,
            max_redirects: 5,
        }
    }
}

/// Why a metainfo file could not be fetched. `url` is the URL given, without its query.
#[derive(Debug, thiserror::Error)]
pub enum UrlFetchError {
    #[error("{url}: not an http:// or https:// URL")]
    UnsupportedUrl { url: String },
    #[error("{url}: no reply within {secs} s")]
    Timeout { url: String, secs: u64 },
    #[error("{url}: more than {max} redirects")]
    TooManyRedirects { url: String, max: usize },
    /// The request failed (connection, TLS, a broken reply): the cause is the `source`.
    #[error("{url}: cannot fetch")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url}: the server answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: the reply is more than {max} bytes, too large for a metainfo file")]
    TooLarge { url: String, max: usize },
    #[error("{url}: the reply is a web page, not a metainfo file")]
    WebPage { url: String },
    #[error("{url}: the reply is not a metainfo file: {source}")]
    NotMetainfo {
        url: String,
        #[source]
        source: MetainfoError,
    },
}

/// Fetches and parses the metainfo file at `url`.
pub async fn fetch_metainfo(url: &str, options: &FetchOptions) -> Result<Metainfo, UrlFetchError> {
    let shown = redacted(url);
    let parsed = reqwest::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    let Some(parsed) = parsed else {
        return Err(UrlFetchError::UnsupportedUrl { url: shown });
    };
    let classify = |error: reqwest::Error| {
        if error.is_timeout() {
            UrlFetchError::Timeout {
                url: shown.clone(),
                secs: options.timeout.as_secs(),
            }
        } else if error.is_redirect() {
            UrlFetchError::TooManyRedirects {
                url: shown.clone(),
                max: options.max_redirects,
            }
        } else {
            UrlFetchError::Http {
                url: shown.clone(),
                source: error.without_url(),
            }
        }
    };
    crate::https::install_crypto_provider();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(options.max_redirects))
        .no_proxy()
        .timeout(options.timeout)
        .user_agent(concat!("swarm/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(classify)?;
    let mut response = client.get(parsed).send().await.map_err(classify)?;
    let status = response.status();
    if !status.is_success() {
        return Err(UrlFetchError::Status {
            url: shown,
            status: status.as_u16(),
        });
    }
    let html_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("text/html")
        });
    let too_large = || UrlFetchError::TooLarge {
        url: shown.clone(),
        max: options.max_size,
    };
    if response
        .content_length()
        .is_some_and(|len| len > options.max_size as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        if body.len() + chunk.len() > options.max_size {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    if html_type || looks_like_markup(&body) {
        return Err(UrlFetchError::WebPage { url: shown });
    }
    Metainfo::from_bytes(&body).map_err(|source| UrlFetchError::NotMetainfo { url: shown, source })
}

/// Whether a body starts like HTML or XML (a login page, an error page) once leading
/// white space is skipped: a metainfo file starts with `d`.
fn looks_like_markup(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

/// `url` without user info, query or fragment, for messages.
fn redacted(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            parsed.set_query(None);
            parsed.set_fragment(None);
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Err(_) => url
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    use metainfo::{FileEntry, Info};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn sample() -> Metainfo {
        let mut meta = Metainfo::new(Info {
            name: "hello.txt".into(),
            piece_length: 16384,
            pieces: vec![[7; 20]],
            private: false,
            files: vec![FileEntry {
                path: vec!["hello.txt".into()],
                length: 5,
                offset: 0,
            }],
            single_file: true,
        });
        meta.announce = Some("http://127.0.0.1:1/announce".into());
        meta
    }

    /// One canned reply per path: (status line, content type, body, chunked).
    fn reply(path: &str, port: u16) -> Option<(String, &'static str, Vec<u8>, bool)> {
        let ok = "200 OK".to_owned();
        Some(match path {
            "/x.meta" => (ok, "application/x-bittorrent", sample().to_bytes(), false),
            "/chunked.meta" => (ok, "application/octet-stream", sample().to_bytes(), true),
            "/page" => (
                ok,
                "text/html; charset=utf-8",
                b"<html>login</html>".to_vec(),
                false,
            ),
            "/untyped-page" => (
                ok,
                "application/octet-stream",
                b"\n  <!DOCTYPE html>".to_vec(),
                false,
            ),
            "/text" => (ok, "text/plain", b"hello".to_vec(), false),
            "/big" => (ok, "application/x-bittorrent", vec![b'd'; 5000], false),
            "/big-chunked" => (ok, "application/x-bittorrent", vec![b'd'; 5000], true),
            "/silent" => return None,
            redirect if redirect.starts_with("/hop/") => {
                let n: u32 = redirect["/hop/".len()..].parse().unwrap_or(0);
                if n == 0 {
                    (ok, "application/x-bittorrent", sample().to_bytes(), false)
                } else {
                    let location = format!("http://127.0.0.1:{port}/hop/{}", n - 1);
                    (
                        format!("302 Found\r\nLocation: {location}"),
                        "text/plain",
                        Vec::new(),
                        false,
                    )
                }
            }
            _ => (
                "404 Not Found".to_owned(),
                "text/plain",
                b"no".to_vec(),
                false,
            ),
        })
    }

    /// A loopback HTTP/1.1 server answering each request with [`reply`], one per connection.
    async fn server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
                        if stream.read(&mut byte).await.unwrap_or(0) == 0 {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    let text = String::from_utf8_lossy(&head);
                    let path = text.split(' ').nth(1).unwrap_or("/").to_owned();
                    let Some((status, kind, body, chunked)) = reply(&path, addr.port()) else {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                        return;
                    };
                    let framing = if chunked {
                        "Transfer-Encoding: chunked".to_owned()
                    } else {
                        format!("Content-Length: {}", body.len())
                    };
                    let head = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\n{framing}\r\nConnection: close\r\n\r\n"
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    if chunked {
                        for part in body.chunks(1000) {
                            let _ = stream
                                .write_all(format!("{:x}\r\n", part.len()).as_bytes())
                                .await;
                            let _ = stream.write_all(part).await;
                            let _ = stream.write_all(b"\r\n").await;
                        }
                        let _ = stream.write_all(b"0\r\n\r\n").await;
                    } else {
                        let _ = stream.write_all(&body).await;
                    }
                    let _ = stream.shutdown().await;
                });
            }
        });
        addr
    }

    async fn fetch(
        addr: SocketAddr,
        path: &str,
        options: FetchOptions,
    ) -> Result<Metainfo, UrlFetchError> {
        fetch_metainfo(&format!("http://{addr}{path}"), &options).await
    }

    #[tokio::test]
    async fn fetches_a_metainfo_file() {
        let addr = server().await;
        let meta = fetch(addr, "/x.meta", FetchOptions::default())
            .await
            .unwrap();
        assert_eq!(meta.info_hash, sample().info_hash);
        let meta = fetch(addr, "/chunked.meta", FetchOptions::default())
            .await
            .unwrap();
        assert_eq!(meta.info_hash, sample().info_hash);
    }

    #[tokio::test]
    async fn a_missing_file_is_a_status_error() {
        let addr = server().await;
        let error = fetch(
            addr,
            "/nothing-here.meta?passkey=SECRET",
            FetchOptions::default(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(error, UrlFetchError::Status { status: 404, .. }),
            "{error}"
        );
        let message = error.to_string();
        assert!(
            message.contains("/nothing-here.meta") && !message.contains("SECRET"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_web_page_is_named_as_such() {
        let addr = server().await;
        for path in ["/page", "/untyped-page"] {
            let error = fetch(addr, path, FetchOptions::default())
                .await
                .unwrap_err();
            assert!(
                matches!(error, UrlFetchError::WebPage { .. }),
                "{path}: {error}"
            );
        }
    }

    #[tokio::test]
    async fn other_content_is_not_metainfo() {
        let addr = server().await;
        let error = fetch(addr, "/text", FetchOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(error, UrlFetchError::NotMetainfo { .. }),
            "{error}"
        );
    }

    #[tokio::test]
    async fn replies_over_the_size_limit_are_refused() {
        let addr = server().await;
        let options = FetchOptions {
            max_size: 4000,
            ..FetchOptions::default()
        };
        for path in ["/big", "/big-chunked"] {
            let error = fetch(addr, path, options).await.unwrap_err();
            assert!(
                matches!(error, UrlFetchError::TooLarge { max: 4000, .. }),
                "{path}: {error}"
            );
        }
    }

    #[tokio::test]
    async fn follows_a_few_redirects_and_no_more() {
        let addr = server().await;
        let options = FetchOptions {
            max_redirects: 3,
            ..FetchOptions::default()
        };
        assert!(fetch(addr, "/hop/3", options).await.is_ok());
        let error = fetch(addr, "/hop/4", options).await.unwrap_err();
        assert!(
            matches!(error, UrlFetchError::TooManyRedirects { max: 3, .. }),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let addr = server().await;
        let options = FetchOptions {
            timeout: Duration::from_millis(300),
            ..FetchOptions::default()
        };
        let error = fetch(addr, "/silent", options).await.unwrap_err();
        assert!(matches!(error, UrlFetchError::Timeout { .. }), "{error}");
    }

    #[tokio::test]
    async fn other_schemes_are_refused_without_a_request() {
        for url in [
            "ftp://127.0.0.1/x.meta",
            "file:///etc/passwd",
            "x.meta",
            "magnet:?xt=urn:btih:00",
        ] {
            let error = fetch_metainfo(url, &FetchOptions::default())
                .await
                .unwrap_err();
            assert!(
                matches!(error, UrlFetchError::UnsupportedUrl { .. }),
                "{url}: {error}"
            );
        }
    }

    #[tokio::test]
    async fn a_closed_port_is_an_http_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let error = fetch(addr, "/x.meta", FetchOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(error, UrlFetchError::Http { .. }), "{error}");
    }

    #[test]
    fn redaction_drops_query_and_credentials() {
        assert_eq!(
            redacted("https://user:pw@t.example/dl/1.meta?passkey=abc#x"),
            "https://t.example/dl/1.meta"
        );
        assert_eq!(redacted("not a url?secret"), "not a url");
    }
}
