//! HTTP: one router per audience, merged here with the layers every route gets.

pub mod accounts;
pub mod auth;
pub mod health;
pub mod me;
pub mod pages;
pub mod problem;
pub mod server;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::app::AppState;

/// Largest body an ordinary route accepts; bulk routes set their own, larger limit.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Longest a request may take from first byte to response.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(OpenApi)]
#[openapi(
    info(
        title = "cpe-ledger",
        description = "Continuing-education ledger: credits, standing toward renewal, and verifiable status for procurement.",
    ),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "auth", description = "Professionals sign up, sign in and out, and reset passwords"),
        (name = "me", description = "A professional's own profile, holdings and standing"),
    ),
    modifiers(&BearerScheme)
)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme (a JWT access token) that protected routes name.
pub struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The whole application: API routes, `/openapi.json`, `/docs`, and the shared layers.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = api().split_for_parts();

    api.merge(pages::router())
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
        .fallback(problem::not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The OpenAPI document as the running server publishes it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().into_openapi()
}

/// Every documented route, each audience's router merged once.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(accounts::router())
        .merge(me::router())
}
