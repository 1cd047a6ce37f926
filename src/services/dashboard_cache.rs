//! The professional's dashboard of a holding, kept in memory for as long as the standing
//! projection says nothing it depends on has changed.
//!
//! Every write that can change a holding's standing, or what its dashboard lists, rewrites
//! the holding's projection row (or marks it out of date, and the next read rewrites it), and
//! a row goes out of date at the holder's next midnight too; each rewrite gives the row a new
//! `revision`. So the current verdict's revision and `judged_on` identify one state of the
//! ledger on one day: a dashboard computed after they were read is served again while they
//! stay the same, on this instance, whichever instance made the write. A dashboard read costs
//! one indexed read of the projection then ([`standing_projection::current`], which judges a
//! row out of date first), instead of the holding's whole ledger; the engine still computes
//! every dashboard served.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use entity::holdings;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::services::schemes::SchemeCatalog;
use crate::services::standing::{self, HoldingDashboard, StandingError};
use crate::services::standing_projection;

/// Which state of the ledger, on which day: a verdict's revision and `judged_on`.
type Version = (Uuid, chrono::NaiveDate);

/// Dashboards kept at most; past it the cache starts again empty.
const CAPACITY: usize = 10_000;

#[derive(Default)]
pub struct DashboardCache {
    entries: Mutex<HashMap<Uuid, (Version, Arc<HoldingDashboard>)>>,
}

impl DashboardCache {
    /// The dashboard of `holding` today, as [`standing::dashboard_for_holding`] computes it.
    pub async fn dashboard(
        &self,
        db: &impl ConnectionTrait,
        catalog: &SchemeCatalog,
        holding: &holdings::Model,
    ) -> Result<Arc<HoldingDashboard>, StandingError> {
        // Read before computing: a write that lands in between leaves a newer dashboard under
        // an older version, which the next read replaces.
        let key = (
            holding.scheme_id.clone(),
            holding.registration_number.clone(),
        );
        let version: Option<Version> = standing_projection::current(db, catalog, &[key])
            .await?
            .into_values()
            .next()
            .and_then(|v| Some((v.revision?, v.judged_on)));
        if let Some(kept) = self.kept(holding.id, version.as_ref()) {
            return Ok(kept);
        }
        let fresh = Arc::new(standing::dashboard_for_holding(db, catalog, holding).await?);
        if let Some(version) = version {
            let mut entries = self.lock();
            if entries.len() >= CAPACITY {
                entries.clear();
            }
            entries.insert(holding.id, (version, Arc::clone(&fresh)));
        }
        Ok(fresh)
    }

    fn kept(&self, holding: Uuid, version: Option<&Version>) -> Option<Arc<HoldingDashboard>> {
        let entries = self.lock();
        let (kept_version, dashboard) = entries.get(&holding)?;
        (Some(kept_version) == version).then(|| Arc::clone(dashboard))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (Version, Arc<HoldingDashboard>)>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
