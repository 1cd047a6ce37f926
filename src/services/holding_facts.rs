//! The always-public facts of a holding, as credentials, the public registry and status
//! webhooks state them: scheme, number, status, the standing state and the last valid day.
//! Computed by the standing engine, the one source of the verdict.

use chrono::NaiveDate;
use sea_orm::ConnectionTrait;
use serde::Serialize;

use crate::domain::standing::StandingState;
use crate::services::holdings::{Holding, HoldingStatus};
use crate::services::schemes::SchemeCatalog;
use crate::services::standing::{self, StandingError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HoldingFacts {
    pub scheme: String,
    pub registration_number: String,
    pub status: HoldingStatus,
    /// `None` when the holding has no cycle on record.
    pub state: Option<StandingState>,
    /// The last valid day of the cycle judged today.
    pub valid_until: Option<NaiveDate>,
    /// Active, and its standing has not lapsed.
    pub in_good_standing: bool,
}

/// The status as the API spells it.
pub fn status_str(status: HoldingStatus) -> &'static str {
    match status {
        HoldingStatus::Active => "active",
        HoldingStatus::Suspended => "suspended",
        HoldingStatus::Lapsed => "lapsed",
        HoldingStatus::Revoked => "revoked",
    }
}

pub async fn of(
    db: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    holding: &Holding,
) -> Result<HoldingFacts, StandingError> {
    let (state, valid_until) = match standing::for_holding(db, catalog, holding, None).await {
        Ok(found) => (Some(found.standing.state), Some(found.standing.expires_on)),
        Err(StandingError::NoCycle(_)) => (None, None),
        Err(e) => return Err(e),
    };
    Ok(HoldingFacts {
        scheme: holding.scheme_id.clone(),
        registration_number: holding.registration_number.clone(),
        status: holding.status,
        in_good_standing: holding.status == HoldingStatus::Active
            && state.is_some_and(|s| s != StandingState::Lapsed),
        state,
        valid_until,
    })
}
