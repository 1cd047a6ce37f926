//! HTTP: one router per audience, merged here with the layers every route gets.

pub mod admin;
pub mod auth;
pub mod callers;
pub mod client_ip;
pub mod credentials;
pub mod extract;
pub mod health;
pub mod jwks;
pub mod me;
pub mod metrics;
pub mod oauth;
pub mod overload;
pub mod pages;
pub mod problem;
pub mod procurement;
pub mod provider;
pub mod public_pages;
pub mod request_id;
pub mod responses;
pub mod security_headers;
pub mod server;
pub mod unsubscribe;
pub mod webhooks;
pub mod xapi;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
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
    modifiers(&SecurityAddon),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "auth", description = "Sign-in for professionals; tokens for machine clients and the keys that verify them"),
        (name = "me", description = "A professional's own profile, holdings and standing"),
        (name = "admin", description = "The certification body's staff: providers and clients"),
        (name = "provider", description = "Accredited course providers: their catalogue and the attendance they report"),
        (name = "procurement", description = "Buyers' systems checking a professional's status"),
        (name = "reminders", description = "Reminder emails: the one-click unsubscribe link they carry"),
        (name = "credentials", description = "Signed status credentials: checking one"),
        (name = "webhooks", description = "Status webhooks: procurement systems told when a holding's status or standing changes"),
    )
)]
pub struct ApiDoc;

/// Declares how protected operations authenticate: `bearer` (an access token from
/// `/oauth/token` or a login, a JWT) and `client_basic` (client credentials at `/oauth/token`).
pub struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An EdDSA-signed access token (`at+jwt`); keys at /.well-known/jwks.json",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "client_basic",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("`client_id:client_secret`, for /oauth/token only"))
                    .build(),
            ),
        );
    }
}

/// The whole application: API routes, `/openapi.json`, `/docs`, and the shared layers.
pub fn router(state: AppState) -> Router {
    let (api, mut openapi) = api().split_for_parts();
    responses::SharedResponses.modify(&mut openapi);

    // Layers run outermost last: the request id first, so every log line and problem body
    // of the request carries it; the overload cap innermost, so a shed request is still
    // logged, counted and given the security headers.
    api.merge(pages::router())
        .merge(metrics::router())
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
        .fallback(problem::not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            overload::limit,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn(security_headers::apply))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::record,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(log_response),
        )
        .layer(axum::middleware::from_fn(request_id::assign))
        .with_state(state)
}

/// What a request's log lines name it by: the method and the route it matched, as written in
/// the router (`/v1/calendar/{secret}`). Never the URI itself: emailed links carry one-time
/// tokens in their query (`/activate?token=…`) and the calendar feed's secret is in its path,
/// and neither may reach a log line at any level. A request that matched no route is
/// `<unmatched>`.
pub fn loggable_route<B>(request: &axum::http::Request<B>) -> String {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("<unmatched>", axum::extract::MatchedPath::as_str);
    format!("{} {route}", request.method())
}

fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let id = request
        .extensions()
        .get::<request_id::RequestId>()
        .map_or("", request_id::RequestId::as_str);
    tracing::info_span!("request", route = %loggable_route(request), request_id = %id)
}

/// One line per answered request, inside the request's span (route and request id).
fn log_response<B>(response: &axum::http::Response<B>, latency: Duration, _span: &tracing::Span) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_ms = latency.as_secs_f64() * 1000.0,
        "answered"
    );
}

/// The OpenAPI document as the running server publishes it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut openapi = api().into_openapi();
    responses::SharedResponses.modify(&mut openapi);
    openapi
}

/// Every documented route, each audience's router merged once. The shared responses are
/// attached after the merge (see [`responses`]), when every operation is known.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(oauth::router())
        .merge(jwks::router())
        .merge(admin::router())
        .merge(procurement::router())
        .merge(provider::router())
        .merge(auth::router())
        .merge(me::router())
        .merge(me::records::feed_router())
        .merge(unsubscribe::router())
        .merge(xapi::router())
        .merge(credentials::router())
        .merge(webhooks::router())
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests fail loudly")]

    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_requests_log_lines_name_its_route_and_never_a_token_or_secret_in_its_uri() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let app: Router = Router::new()
            .route("/activate", get(|| async { "ok" }))
            .route("/v1/calendar/{secret}", get(|| async { "ok" }))
            .layer(TraceLayer::new_for_http().make_span_with(request_span));
        for uri in [
            "/activate?token=one-time-token-abc",
            "/v1/calendar/feed-secret-xyz",
            "/nowhere/else-secret-123?token=stray",
        ] {
            let request = axum::http::Request::get(uri).body(Body::empty()).unwrap();
            app.clone().oneshot(request).await.unwrap();
        }
        let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(logs.contains("GET /activate"), "{logs}");
        assert!(logs.contains("GET /v1/calendar/{secret}"), "{logs}");
        assert!(logs.contains("<unmatched>"), "{logs}");
        for secret in [
            "one-time-token-abc",
            "feed-secret-xyz",
            "else-secret-123",
            "stray",
        ] {
            assert!(!logs.contains(secret), "{secret} reached the log: {logs}");
        }
    }
}
