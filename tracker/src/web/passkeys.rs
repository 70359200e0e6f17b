//! `POST /passkeys` (a new passkey, or the one in the JSON body `{"passkey": …}`) and
//! `DELETE /passkeys/<key>`, both with a publish token. The key is in the reply body only.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;

use super::catalog::{authorize, denied};
use super::respond::{self, error};
use crate::access::passkeys::PasskeyError;
use crate::core::Tracker;

/// Largest request body read.
const MAX_BODY: usize = 4096;

pub async fn add(State(tracker): State<Arc<Tracker>>, request: Request) -> Response {
    if let Err(d) = authorize(&tracker, request.headers()) {
        return denied(d, true);
    }
    let Some(passkeys) = &tracker.passkeys else {
        return error(
            StatusCode::CONFLICT,
            "this tracker is not private (--private)",
            true,
        );
    };
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let Ok(body) = axum::body::to_bytes(request.into_body(), MAX_BODY).await else {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large",
            true,
        );
    };
    let wanted = if is_json && !body.is_empty() {
        match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(v) => v
                .get("passkey")
                .and_then(|k| k.as_str())
                .map(str::to_string),
            Err(_) => return error(StatusCode::BAD_REQUEST, "body is not JSON", true),
        }
    } else {
        None
    };
    match passkeys.add(wanted).await {
        Ok(key) => {
            tracing::info!("passkey added");
            respond::json(StatusCode::CREATED, &serde_json::json!({ "passkey": key }))
        }
        Err(e @ PasskeyError::BadKey) => error(StatusCode::BAD_REQUEST, &e.to_string(), true),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string(), true),
    }
}

pub async fn remove(
    State(tracker): State<Arc<Tracker>>,
    Path(key): Path<String>,
    request: Request,
) -> Response {
    if let Err(d) = authorize(&tracker, request.headers()) {
        return denied(d, true);
    }
    let Some(passkeys) = &tracker.passkeys else {
        return error(
            StatusCode::CONFLICT,
            "this tracker is not private (--private)",
            true,
        );
    };
    match passkeys.remove(&key).await {
        Ok(true) => {
            tracing::info!("passkey removed");
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
        }
        Ok(false) => error(StatusCode::NOT_FOUND, "no such passkey", true),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string(), true),
    }
}
