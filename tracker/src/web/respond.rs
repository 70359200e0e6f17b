//! Building web responses: JSON, HTML, plain errors, and 429 with `Retry-After`.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Serialize;

/// `value` as JSON with `status`.
pub fn json(status: StatusCode, value: &impl Serialize) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    with_type(status, body, "application/json")
}

/// An HTML page.
pub fn html(status: StatusCode, page: String) -> Response {
    with_type(status, page.into_bytes(), "text/html; charset=utf-8")
}

/// A one-line error: JSON `{"error": …}` when the client asked for JSON, else plain text.
pub fn error(status: StatusCode, message: &str, as_json: bool) -> Response {
    if as_json {
        json(status, &serde_json::json!({ "error": message }))
    } else {
        with_type(
            status,
            format!("{message}\n").into_bytes(),
            "text/plain; charset=utf-8",
        )
    }
}

/// 429 Too Many Requests with `Retry-After` in whole seconds.
pub fn too_many(wait: Duration, as_json: bool) -> Response {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut response = error(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("rate limit: retry in {secs} s"),
        as_json,
    );
    if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// A body with its content type.
pub fn with_type(status: StatusCode, body: Vec<u8>, content_type: &'static str) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
