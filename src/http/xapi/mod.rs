//! `/xapi`: a learning record store speaking xAPI 1.0.3 for the Statements resource.
//!
//! Every response carries `X-Experience-API-Version: 1.0.3`. Every request but `GET
//! /xapi/about` must say which version it speaks in the same header: `1.0` or `1.0.x`; none,
//! or another, is refused with 400 (Communication §3.3). Errors are problem+json like the rest
//! of the API (xAPI leaves error bodies free).
//!
//! A statement whose verb is attended, completed or passed, sent by a provider about a course
//! of its catalogue, is the same report of attendance as a row sent to
//! `/v1/provider/attendance`; see README ("xAPI") for how actor and activity are matched.

mod caller;
mod statements;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::extract::Json;
use crate::http::problem::{FieldError, Problem};

pub use caller::XapiCaller;

/// The version this LRS speaks, sent on every response.
pub const VERSION: &str = "1.0.3";
pub const VERSION_HEADER: &str = "X-Experience-API-Version";
pub const CONSISTENT_THROUGH_HEADER: &str = "X-Experience-API-Consistent-Through";
/// Largest statements body: a full batch of statements of a few kilobytes each.
pub const STATEMENTS_BODY_LIMIT: usize = 4 * 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    modifiers(&XapiSecurity),
    tags((name = "xapi", description = "xAPI 1.0.3 learning record store (Statements resource) for course providers")),
)]
struct XapiDoc;

/// `xapi_basic`: a provider client's `client_id` and secret, as LRS clients send them.
struct XapiSecurity;

impl Modify for XapiSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "xapi_basic",
                SecurityScheme::Http(
                    Http::builder()
                        .scheme(HttpAuthScheme::Basic)
                        .description(Some(
                            "A provider client's `client_id:client_secret`, for /xapi only",
                        ))
                        .build(),
                ),
            );
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(XapiDoc::openapi())
        .routes(routes!(
            statements::post_statements,
            statements::put_statement,
            statements::get_statements
        ))
        .routes(routes!(about))
        .layer(DefaultBodyLimit::max(STATEMENTS_BODY_LIMIT))
        .layer(axum::middleware::from_fn(version_header))
}

/// Whether a request's `X-Experience-API-Version` is one this LRS speaks: `1.0` or `1.0.x`.
fn speaks(version: &str) -> bool {
    version == "1.0"
        || version
            .strip_prefix("1.0.")
            .is_some_and(|patch| !patch.is_empty() && patch.bytes().all(|b| b.is_ascii_digit()))
}

/// Refuses a request without a version this LRS speaks (except `/about`, which says which it
/// speaks) and stamps the version on every response.
async fn version_header(request: Request, next: Next) -> Response {
    // `/about` says which versions are spoken; a method no route serves gets its 405.
    let exempt = request.uri().path() == "/xapi/about"
        || !matches!(
            *request.method(),
            Method::GET | Method::HEAD | Method::POST | Method::PUT
        );
    let sent = request
        .headers()
        .get(VERSION_HEADER)
        .map(|v| v.to_str().unwrap_or(""));
    let refusal = match sent {
        _ if exempt => None,
        None => Some("the X-Experience-API-Version header is required (1.0.3)".to_owned()),
        Some(v) if !speaks(v) => Some(format!(
            "X-Experience-API-Version {v:?} is not spoken here; send 1.0.3"
        )),
        Some(_) => None,
    };
    let mut response = match refusal {
        Some(detail) => {
            let mut p = Problem::new(StatusCode::BAD_REQUEST, detail.clone())
                .with_type("/problems/xapi-version");
            p.errors.push(FieldError {
                field: VERSION_HEADER.to_owned(),
                message: detail,
            });
            p.into_response()
        }
        None => next.run(request).await,
    };
    response
        .headers_mut()
        .insert(VERSION_HEADER, HeaderValue::from_static(VERSION));
    response
}

/// What the LRS speaks (Communication §2.2).
#[derive(Serialize, ToSchema)]
pub struct About {
    /// xAPI versions supported.
    #[schema(example = json!(["1.0.3"]))]
    pub version: Vec<String>,
}

/// The xAPI versions this LRS speaks. Needs no credentials and no version header.
#[utoipa::path(get, path = "/xapi/about", tag = "xapi",
    responses((status = 200, description = "Supported versions", body = About,
        headers(("X-Experience-API-Version" = String, description = "Always 1.0.3")))))]
pub async fn about() -> Json<About> {
    Json(About {
        version: vec![VERSION.to_owned()],
    })
}
