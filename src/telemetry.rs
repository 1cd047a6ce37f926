//! What an instance counts about itself, for `/metrics` (Prometheus text format 0.0.4).
//!
//! Each [`crate::app::App`] owns its own registry, so two apps in one process (as in the tests)
//! never mix their figures. Counters and histograms are updated where things happen (the
//! request layer, the scheduled jobs); the gauges that describe state (the database pool, the
//! outbox by state) are read when a scraper asks.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobRunLabels {
    job: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    job: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Request latencies: 1 ms to about 33 s.
fn request_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Job durations: 10 ms to about 11 minutes.
fn job_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 17))
}

/// The instance's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Histograms<RouteLabels>,
    shed: Counter,
    job_runs: Family<JobRunLabels, Counter>,
    job_seconds: Histograms<JobLabels>,
    pool: Family<StateLabels, Gauge>,
    notifications: Family<StateLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("cpe_ledger");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, matched route and status",
            requests.clone(),
        );
        let request_seconds: Histograms<RouteLabels> =
            Family::new_with_constructor(request_buckets as fn() -> Histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's head to its response, by method and matched route",
            request_seconds.clone(),
        );
        let shed = Counter::default();
        registry.register(
            "http_requests_shed",
            "Requests answered 503 because the instance served its limit at once",
            shed.clone(),
        );
        let job_runs = Family::<JobRunLabels, Counter>::default();
        registry.register(
            "job_runs",
            "Scheduled job runs on this instance, by job and outcome (done, skipped: another instance had the period, failed)",
            job_runs.clone(),
        );
        let job_seconds: Histograms<JobLabels> =
            Family::new_with_constructor(job_buckets as fn() -> Histogram);
        registry.register(
            "job_duration_seconds",
            "Time a scheduled job run took, by job",
            job_seconds.clone(),
        );
        let pool = Family::<StateLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database pool connections, in use and idle",
            pool.clone(),
        );
        let notifications = Family::<StateLabels, Gauge>::default();
        registry.register(
            "notifications",
            "Emails in the outbox, by state as remind status reports them (queued, retrying, sent, failed, dropped)",
            notifications.clone(),
        );
        Self {
            registry,
            requests,
            request_seconds,
            shed,
            job_runs,
            job_seconds,
            pool,
            notifications,
        }
    }

    /// One answered request. `route` is the matched route template, never the URI.
    pub fn record_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let method = bounded_method(method).to_owned();
        let route = route.to_owned();
        self.requests
            .get_or_create(&RequestLabels {
                method: method.clone(),
                route: route.clone(),
                status,
            })
            .inc();
        self.request_seconds
            .get_or_create(&RouteLabels { method, route })
            .observe(took.as_secs_f64());
    }

    pub fn record_shed(&self) {
        self.shed.inc();
    }

    /// One run of a scheduled job.
    pub fn record_job(&self, job: &str, outcome: &str, took: Duration) {
        self.job_runs
            .get_or_create(&JobRunLabels {
                job: job.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
        self.job_seconds
            .get_or_create(&JobLabels {
                job: job.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// The pool as it is now.
    pub fn set_pool(&self, in_use: i64, idle: i64) {
        for (state, value) in [("in_use", in_use), ("idle", idle)] {
            self.pool
                .get_or_create(&StateLabels {
                    state: state.to_owned(),
                })
                .set(value);
        }
    }

    /// The outbox as it is now; a state with no row reads 0.
    pub fn set_notifications(&self, counts: &[(&str, i64)]) {
        for (state, count) in counts {
            self.notifications
                .get_or_create(&StateLabels {
                    state: (*state).to_owned(),
                })
                .set(*count);
        }
    }

    /// The registry in Prometheus text format.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// A label value from a closed set, so that invented methods cannot grow the series without
/// bound (routes are bounded by the router: a request that matched none is `<unmatched>`).
fn bounded_method(method: &str) -> &str {
    match method {
        "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_and_status_and_timed_by_route() {
        let metrics = Metrics::new();
        for status in [200, 200, 404] {
            metrics.record_request("GET", "/v1/me", status, Duration::from_millis(3));
        }
        metrics.record_request("BREW", "<unmatched>", 405, Duration::from_millis(1));
        let text = metrics.encode().expect("encodes");
        assert!(
            text.contains(
                r#"cpe_ledger_http_requests_total{method="GET",route="/v1/me",status="200"} 2"#
            ),
            "{text}"
        );
        assert!(text.contains(
            r#"cpe_ledger_http_requests_total{method="GET",route="/v1/me",status="404"} 1"#
        ));
        assert!(text.contains(
            r#"cpe_ledger_http_requests_total{method="OTHER",route="<unmatched>",status="405"} 1"#
        ));
        assert!(text.contains(
            r#"cpe_ledger_http_request_duration_seconds_count{method="GET",route="/v1/me"} 3"#
        ));
        assert!(text.contains("# TYPE cpe_ledger_http_request_duration_seconds histogram"));
    }

    #[test]
    fn job_runs_pool_and_outbox_gauges_are_exported() {
        let metrics = Metrics::new();
        metrics.record_job("sweep", "done", Duration::from_secs(2));
        metrics.record_job("sweep", "skipped", Duration::from_millis(5));
        metrics.set_pool(1, 4);
        metrics.set_notifications(&[("queued", 3), ("sent", 10)]);
        let text = metrics.encode().expect("encodes");
        for line in [
            r#"cpe_ledger_job_runs_total{job="sweep",outcome="done"} 1"#,
            r#"cpe_ledger_job_runs_total{job="sweep",outcome="skipped"} 1"#,
            r#"cpe_ledger_job_duration_seconds_count{job="sweep"} 2"#,
            r#"cpe_ledger_db_pool_connections{state="in_use"} 1"#,
            r#"cpe_ledger_db_pool_connections{state="idle"} 4"#,
            r#"cpe_ledger_notifications{state="queued"} 3"#,
            r#"cpe_ledger_notifications{state="sent"} 10"#,
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
    }
}
