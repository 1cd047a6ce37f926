//! The answers many routes share, declared once in `components.responses` and attached to every
//! operation they apply to, so a route's document cannot forget a status the extractors give.
//!
//! Which operation gets which (unless the route declares that status itself, more precisely):
//! - a bearer-protected operation: 401 (no or bad token), 403 (wrong kind of caller or missing
//!   scope) and 429 (a machine client's request budget is spent);
//! - an operation with a JSON body: 400 (not JSON), 415 (not `application/json`) and 422 (a field
//!   is refused; `errors` names it);
//! - an operation with any body: 413 (the body is over the route's size limit);
//! - an operation with path or query parameters: 400 (a parameter does not parse), and with
//!   query parameters 422 (a parameter parses but is out of range).

use utoipa::Modify;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{Ref, Type};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, RefOr, Response, ResponseBuilder};

use crate::http::problem::PROBLEM_JSON;

/// The shared responses, by component name.
const BAD_REQUEST: &str = "BadRequest";
const UNAUTHORIZED: &str = "Unauthorized";
const FORBIDDEN: &str = "Forbidden";
const UNSUPPORTED_MEDIA_TYPE: &str = "UnsupportedMediaType";
const UNPROCESSABLE: &str = "Unprocessable";
const TOO_MANY_REQUESTS: &str = "TooManyRequests";
const CONTENT_TOO_LARGE: &str = "ContentTooLarge";

fn problem(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        PROBLEM_JSON,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build(),
    )
}

fn header(description: &str, kind: Type) -> Header {
    let mut header = Header::new(ObjectBuilder::new().schema_type(kind));
    header.description = Some(description.to_owned());
    header
}

fn shared_responses() -> [(&'static str, Response); 7] {
    let challenge = || {
        header(
            "`Bearer error=…, error_description=…` (RFC 6750)",
            Type::String,
        )
    };
    [
        (
            BAD_REQUEST,
            problem("The body, a path segment or a query parameter does not parse").build(),
        ),
        (
            UNAUTHORIZED,
            problem("No token, or one that is invalid, expired or revoked")
                .header("WWW-Authenticate", challenge())
                .build(),
        ),
        (
            FORBIDDEN,
            problem("The token is valid but not for this route (wrong kind of caller or scope)")
                .header("WWW-Authenticate", challenge())
                .build(),
        ),
        (
            UNSUPPORTED_MEDIA_TYPE,
            problem("The body is not sent as `Content-Type: application/json`").build(),
        ),
        (
            UNPROCESSABLE,
            problem("A field is refused; `errors` names it and says why").build(),
        ),
        (
            CONTENT_TOO_LARGE,
            problem("The body is over the size limit of this route").build(),
        ),
        (
            TOO_MANY_REQUESTS,
            problem("The request budget is spent; retry after `Retry-After` seconds")
                .header(
                    "Retry-After",
                    header("Seconds to wait before retrying", Type::Integer),
                )
                .build(),
        ),
    ]
}

/// Adds the shared responses to `components` and refers every operation to those it can give.
pub struct SharedResponses;

impl Modify for SharedResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, response) in shared_responses() {
            components
                .responses
                .insert(name.to_owned(), RefOr::T(response));
        }
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                attach(operation);
            }
        }
    }
}

fn attach(operation: &mut Operation) {
    let mut shared = Vec::new();
    if requires_bearer(operation) {
        shared.extend([
            ("401", UNAUTHORIZED),
            ("403", FORBIDDEN),
            ("429", TOO_MANY_REQUESTS),
        ]);
    }
    if takes_json(operation) {
        shared.extend([
            ("400", BAD_REQUEST),
            ("415", UNSUPPORTED_MEDIA_TYPE),
            ("422", UNPROCESSABLE),
        ]);
    }
    if operation.request_body.is_some() {
        shared.push(("413", CONTENT_TOO_LARGE));
    }
    let parameters: Vec<ParameterIn> = operation
        .parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p.parameter_in.clone()),
            RefOr::Ref(_) => None,
        })
        .collect();
    if parameters
        .iter()
        .any(|p| matches!(p, ParameterIn::Path | ParameterIn::Query))
    {
        shared.push(("400", BAD_REQUEST));
    }
    if parameters.iter().any(|p| matches!(p, ParameterIn::Query)) {
        shared.push(("422", UNPROCESSABLE));
    }
    for (status, name) in shared {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
    }
}

/// Protected by a bearer token, with no anonymous alternative.
fn requires_bearer(operation: &Operation) -> bool {
    let Some(requirements) = &operation.security else {
        return false;
    };
    let Ok(requirements) = serde_json::to_value(requirements) else {
        return false;
    };
    let requirements = requirements.as_array().cloned().unwrap_or_default();
    let names_bearer = requirements.iter().any(|r| r.get("bearer").is_some());
    let allows_anonymous = requirements
        .iter()
        .any(|r| r.as_object().is_some_and(|o| o.is_empty()));
    names_bearer && !allows_anonymous
}

fn takes_json(operation: &Operation) -> bool {
    match &operation.request_body {
        Some(RefOr::T(body)) => body.content.contains_key("application/json"),
        Some(RefOr::Ref(_)) => true,
        None => false,
    }
}
