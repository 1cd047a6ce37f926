//! What a procurement system may learn about a holding: only the always-disclosed facts.

use chrono::NaiveDate;
use sea_orm::ConnectionTrait;

use crate::domain::standing::StandingState;
use crate::services::holdings::{self, HoldingStatus};
use crate::services::schemes::SchemeCatalog;
use crate::services::standing::{self, StandingError};

/// The public status of one holding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicHoldingStatus {
    pub scheme: String,
    pub registration_number: String,
    pub status: HoldingStatus,
    /// The last valid day of the cycle being judged today (its expiry date); `None` when the
    /// holding has no cycle on record.
    pub valid_until: Option<NaiveDate>,
    /// The holding is active and its standing has not lapsed.
    pub in_good_standing: bool,
}

/// `None` when no holding has that registration number in that scheme.
pub async fn holding_status(
    db: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    scheme: &str,
    registration_number: &str,
) -> Result<Option<PublicHoldingStatus>, StandingError> {
    let Some(holding) = holdings::by_registration(db, scheme, registration_number).await? else {
        return Ok(None);
    };
    let (valid_until, lapsed) = match standing::for_holding(db, catalog, &holding, None).await {
        Ok(found) => (
            Some(found.standing.expires_on),
            found.standing.state == StandingState::Lapsed,
        ),
        Err(StandingError::NoCycle(_)) => (None, true),
        Err(e) => return Err(e),
    };
    Ok(Some(PublicHoldingStatus {
        in_good_standing: holding.status == HoldingStatus::Active && !lapsed,
        scheme: holding.scheme_id,
        registration_number: holding.registration_number,
        status: holding.status,
        valid_until,
    }))
}
