//! The shared application value every handler, job and command works with.

use std::ops::Deref;
use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::client_limits::ClientLimits;
use crate::auth::credential_keys::CredentialKeys;
use crate::auth::tokens::KeyRing;
use crate::config::Config;
use crate::mail::Mailer;
use crate::services::schemes::SchemeCatalog;
use crate::templates::Templates;

/// Everything a request or job needs, built once by [`crate::startup`].
pub struct App {
    pub config: Config,
    pub db: DatabaseConnection,
    /// Where procurement reads go: the read replica of `CPE_LEDGER_DATABASE_READ_URL`, or `db`
    /// itself (a clone of the same pool) when there is none. Nothing is written through it.
    pub read_db: DatabaseConnection,
    pub schemes: SchemeCatalog,
    pub keys: KeyRing,
    /// The RS256 key that signs status credentials.
    pub credential_keys: CredentialKeys,
    /// The writer procurement reads record their disclosures through.
    pub disclosure_log: crate::services::disclosures::DisclosureLog,
    /// Each machine client's request budget.
    pub client_limits: ClientLimits,
    pub mailer: Mailer,
    /// The email and page templates, with this app's overrides.
    pub templates: Templates,
    /// When this instance was built: a scheduler is judged only on periods since.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// What `/metrics` reports about this instance.
    pub metrics: crate::telemetry::Metrics,
    /// The scheduled jobs running now, which shutdown lets finish.
    pub jobs: crate::jobs::running::Running,
    /// The requests this instance serves at once (`CPE_LEDGER_MAX_CONCURRENT_REQUESTS`).
    pub capacity: crate::http::overload::Capacity,
    /// Professionals' dashboards, kept while their ledgers do not change.
    pub dashboards: crate::services::dashboard_cache::DashboardCache,
}

/// Cheap to clone; handed to axum as router state.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}
