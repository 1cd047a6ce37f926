//! `GET /metrics`: the instance's figures in Prometheus text format, and the layer that counts
//! every request into them.
//!
//! Who may read them: with `CPE_LEDGER_METRICS_TOKEN` set, a caller presenting it as a bearer
//! token; without it, only a caller on this machine whose request came through no proxy (a
//! reverse proxy on the same host forwards public requests from loopback, so any forwarding
//! header disqualifies it). The figures hold no personal data, but route counts and pool use
//! are an attacker's map, so they are not public by default.

use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use subtle::ConstantTimeEq;

use crate::app::{App, AppState};
use crate::config::DatabaseKind;
use crate::http::problem::Problem;
use crate::telemetry::CONTENT_TYPE as METRICS_CONTENT_TYPE;

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(app): State<AppState>, request: Request) -> Result<Response, Problem> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    allowed(&app, peer, request.headers())?;
    refresh_gauges(&app).await?;
    let text = app
        .metrics
        .encode()
        .map_err(|e| Problem::internal(&std::io::Error::other(e)))?;
    Ok((
        [(CONTENT_TYPE, HeaderValue::from_static(METRICS_CONTENT_TYPE))],
        text,
    )
        .into_response())
}

fn allowed(
    app: &App,
    peer: Option<std::net::SocketAddr>,
    headers: &HeaderMap,
) -> Result<(), Problem> {
    match &app.config.metrics_token {
        Some(token) => {
            let presented = headers
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            if bool::from(presented.as_bytes().ct_eq(token.as_bytes())) {
                Ok(())
            } else {
                Err(Problem::unauthorized(
                    "invalid_token",
                    "metrics need the bearer token set in CPE_LEDGER_METRICS_TOKEN",
                ))
            }
        }
        None => {
            let local =
                peer.is_some_and(|addr| crate::http::client_ip::canonical(addr.ip()).is_loopback());
            let forwarded = ["forwarded", "x-forwarded-for", "x-real-ip"]
                .iter()
                .any(|name| headers.contains_key(*name));
            if local && !forwarded {
                Ok(())
            } else {
                Err(Problem::new(
                    StatusCode::FORBIDDEN,
                    "metrics are served only to this machine unless CPE_LEDGER_METRICS_TOKEN is set",
                ))
            }
        }
    }
}

/// Reads the state gauges: the pool, and the outbox as `remind status` reports it.
async fn refresh_gauges(app: &App) -> Result<(), Problem> {
    let (size, idle) = match app.config.database_kind {
        DatabaseKind::Sqlite => {
            let pool = app.db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DatabaseKind::Postgres => {
            let pool = app.db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DatabaseKind::MySql => {
            let pool = app.db.get_mysql_connection_pool();
            (pool.size(), pool.num_idle())
        }
    };
    let idle = i64::try_from(idle).unwrap_or(i64::MAX);
    app.metrics.set_pool((i64::from(size) - idle).max(0), idle);
    let outbox = crate::services::outbox_status::status(&app.db).await?;
    let n = |count: u64| i64::try_from(count).unwrap_or(i64::MAX);
    app.metrics.set_notifications(&[
        ("queued", n(outbox.queued)),
        ("retrying", n(outbox.retrying)),
        ("sent", n(outbox.sent)),
        ("failed", n(outbox.failed)),
        ("dropped", n(outbox.dropped)),
    ]);
    Ok(())
}

/// Middleware: counts and times every answered request by its matched route.
pub async fn record(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "<unmatched>".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    app.metrics.record_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
