//! Every request has an id: taken from a well-formed `X-Request-Id` the caller (or the proxy in
//! front) sent, or made here. It is returned in the `X-Request-Id` response header, named on
//! every log line of the request and carried in problem+json bodies as `request_id`, so that a
//! caller quoting an error leads an operator straight to its log lines.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");
/// The longest id taken from a caller; longer ones are replaced, not cut.
const MAX_LEN: usize = 128;

tokio::task_local! {
    static CURRENT: RequestId;
}

/// The id of one request, in its extensions and in the task that serves it.
#[derive(Clone, Debug)]
pub struct RequestId(Arc<str>);

impl RequestId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The caller's id when it is one a log line can carry as is (letters, digits, `-_.:`), or
    /// a new one.
    fn of(headers: &HeaderMap) -> Self {
        let given = headers
            .get(&HEADER)
            .and_then(|value| value.to_str().ok())
            .filter(|id| !id.is_empty() && id.len() <= MAX_LEN && id.chars().all(allowed));
        Self(match given {
            Some(id) => Arc::from(id),
            None => Arc::from(uuid::Uuid::now_v7().to_string()),
        })
    }
}

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')
}

/// The id of the request being served by this task, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(|id| id.as_str().to_owned()).ok()
}

/// Middleware: assigns the id, serves the request inside its scope and returns the header.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let id = RequestId::of(request.headers());
    request.extensions_mut().insert(id.clone());
    let header = HeaderValue::from_str(id.as_str()).ok();
    let mut response = CURRENT.scope(id, next.run(request)).await;
    if let Some(header) = header {
        response.headers_mut().insert(HEADER, header);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_for(value: &str) -> String {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, HeaderValue::from_str(value).expect("header value"));
        RequestId::of(&headers).as_str().to_owned()
    }

    #[test]
    fn a_well_formed_id_from_the_caller_is_kept() {
        assert_eq!(id_for("lb-7f3a:42"), "lb-7f3a:42");
    }

    #[test]
    fn an_id_with_spaces_quotes_or_too_many_characters_is_replaced_by_a_new_one() {
        for bad in ["two words", "say\"hi\"", &"a".repeat(MAX_LEN + 1)] {
            let id = id_for(bad);
            assert_ne!(id, bad);
            assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id} is a new uuid");
        }
    }

    #[test]
    fn a_request_without_an_id_gets_a_new_one_each_time() {
        let a = RequestId::of(&HeaderMap::new());
        let b = RequestId::of(&HeaderMap::new());
        assert_ne!(a.as_str(), b.as_str());
    }
}
