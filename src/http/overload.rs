//! The cap on requests served at once. Past it a request is answered at once with 503 and
//! `Retry-After`, instead of queueing: under overload the callers already served keep their
//! latency, and a load balancer can send the rest elsewhere. Liveness, readiness and metrics
//! are not counted, so an overloaded instance is not mistaken for a dead one.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::app::AppState;
use crate::http::problem::Problem;

/// Seconds a shed caller is told to wait.
const RETRY_AFTER_SECONDS: u16 = 1;

/// The permits of the requests in flight.
#[derive(Clone)]
pub struct Capacity(Arc<Semaphore>);

impl Capacity {
    pub fn new(max_concurrent_requests: usize) -> Self {
        Self(Arc::new(Semaphore::new(max_concurrent_requests)))
    }
}

fn exempt(path: &str) -> bool {
    path.starts_with("/health/") || path == "/metrics"
}

/// Middleware: serves the request while holding a permit, or sheds it.
pub async fn limit(State(app): State<AppState>, request: Request, next: Next) -> Response {
    if exempt(request.uri().path()) {
        return next.run(request).await;
    }
    let Ok(_permit) = Arc::clone(&app.capacity.0).try_acquire_owned() else {
        app.metrics.record_shed();
        let mut problem = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is at its limit of requests served at once; retry shortly",
        )
        .with_type("/problems/overloaded");
        problem.retry_after = Some(RETRY_AFTER_SECONDS);
        return problem.into_response();
    };
    next.run(request).await
}
