//! Headers every response carries, so browsers neither frame, sniff nor cache what they should not.
//!
//! - `X-Frame-Options: DENY` and CSP `frame-ancestors 'none'`: no page (sign-in, sign-out) can be
//!   framed by another site (clickjacking).
//! - `X-Content-Type-Options: nosniff`: a response is only ever what its `Content-Type` says.
//! - `Referrer-Policy: no-referrer`: link tokens in page URLs (`/reset?token=…`) never leave in a
//!   `Referer` header.
//! - `Cache-Control: no-store` unless the handler chose otherwise: `/v1/me…`, sign-in answers,
//!   procurement and admin answers carry personal data, which no shared or browser cache may keep.
//!   Public, cacheable documents (the JWKS) set their own `Cache-Control`.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::middleware::Next;
use axum::response::Response;

const FRAME_ANCESTORS: &str = "frame-ancestors 'none'";

/// Middleware: adds the headers above to every response that does not set them itself.
pub async fn apply(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers
        .entry(REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    let policy = match headers
        .get(CONTENT_SECURITY_POLICY)
        .map(HeaderValue::to_str)
    {
        None => Some(HeaderValue::from_static(FRAME_ANCESTORS)),
        Some(Ok(existing)) if !existing.contains("frame-ancestors") => {
            HeaderValue::from_str(&format!("{existing}; {FRAME_ANCESTORS}")).ok()
        }
        Some(_) => None,
    };
    if let Some(policy) = policy {
        headers.insert(CONTENT_SECURITY_POLICY, policy);
    }
    response
}
