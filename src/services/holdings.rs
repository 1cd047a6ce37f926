//! Holdings: a professional's certifications, looked up by registration number or by owner,
//! with the cycle being judged today beside each.

use chrono::NaiveDate;
pub use entity::holdings::{HoldingStatus, Model as Holding};
use entity::{cycles, holdings, professionals};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::scheme::normalise_scheme_id;
use crate::domain::standing::last_day_before;
use crate::services::schemes::SchemeCatalog;
use crate::services::standing;

pub use entity::professionals::Model as Professional;

/// The holding with this registration number in this scheme, if any. The scheme id is
/// matched in any case (`RISS` finds the `riss` holding), as the registry import stores it.
pub async fn by_registration(
    db: &impl ConnectionTrait,
    scheme: &str,
    registration_number: &str,
) -> Result<Option<Holding>, DbErr> {
    holdings::Entity::find()
        .filter(holdings::Column::SchemeId.eq(normalise_scheme_id(scheme)))
        .filter(holdings::Column::RegistrationNumber.eq(registration_number))
        .one(db)
        .await
}

/// The holding with this id if `professional_id` holds it. Someone else's holding is simply
/// not found, so ids cannot be probed.
pub async fn owned_by(
    db: &impl ConnectionTrait,
    professional_id: Uuid,
    id: Uuid,
) -> Result<Option<Holding>, DbErr> {
    holdings::Entity::find_by_id(id)
        .filter(holdings::Column::ProfessionalId.eq(professional_id))
        .one(db)
        .await
}

/// The professional's own record (names, locale, time zone).
pub async fn professional(
    db: &impl ConnectionTrait,
    professional_id: Uuid,
) -> Result<Option<Professional>, DbErr> {
    professionals::Entity::find_by_id(professional_id)
        .one(db)
        .await
}

/// A cycle as stored: `ends_on` is the first day after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CycleDates {
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

/// One holding with the cycle being judged on a given day.
#[derive(Debug, Clone)]
pub struct HoldingWithCycle {
    pub holding: Holding,
    /// The latest cycle that has started; the first when none has; `None` without cycles.
    pub current_cycle: Option<CycleDates>,
}

/// Every holding of the professional, by scheme and registration number, each with the
/// cycle being judged `today`.
pub async fn of_professional(
    db: &impl ConnectionTrait,
    professional_id: Uuid,
    today: NaiveDate,
) -> Result<Vec<HoldingWithCycle>, DbErr> {
    let own = holdings::Entity::find()
        .filter(holdings::Column::ProfessionalId.eq(professional_id))
        .order_by_asc(holdings::Column::SchemeId)
        .order_by_asc(holdings::Column::RegistrationNumber)
        .all(db)
        .await?;
    let all_cycles = cycles::Entity::find()
        .filter(cycles::Column::HoldingId.is_in(own.iter().map(|h| h.id)))
        .order_by_asc(cycles::Column::StartsOn)
        .all(db)
        .await?;
    Ok(own
        .into_iter()
        .map(|holding| {
            let mine = all_cycles.iter().filter(|c| c.holding_id == holding.id);
            let current_cycle = mine
                .clone()
                .rfind(|c| c.starts_on <= today)
                .or_else(|| mine.clone().next())
                .map(|c| CycleDates {
                    starts_on: c.starts_on,
                    ends_on: c.ends_on,
                });
            HoldingWithCycle {
                holding,
                current_cycle,
            }
        })
        .collect())
}

/// What a list of holdings is narrowed to; `None` lets every value through.
#[derive(Debug, Clone, Default)]
pub struct HoldingFilter {
    /// A scheme id, compared in its normalised (lower-case) form.
    pub scheme: Option<String>,
    pub status: Option<HoldingStatus>,
    /// The holder's email address as [`EmailAddress`](crate::domain::EmailAddress) normalises it.
    pub email: Option<String>,
}

/// A holding as staff look it up: the holding, who holds it, and its current cycle's expiry.
#[derive(Debug, Clone, Serialize)]
pub struct ListedHolding {
    pub holding_id: Uuid,
    pub scheme: String,
    pub registration_number: String,
    pub status: HoldingStatus,
    pub certified_on: NaiveDate,
    pub professional_id: Uuid,
    pub email: Option<String>,
    pub legal_name: String,
    pub display_name: Option<String>,
    /// First day of the cycle being judged today in the holder's time zone.
    pub cycle_starts_on: Option<NaiveDate>,
    /// That cycle's last valid day.
    pub expires_on: Option<NaiveDate>,
}

/// Holdings matching `filter`, ordered by scheme and registration number, `limit` at a time
/// after the holding keyed `after` (its scheme and registration number).
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &HoldingFilter,
    after: Option<(&str, &str)>,
    limit: u64,
) -> Result<Vec<ListedHolding>, DbErr> {
    let mut query = holdings::Entity::find()
        .find_also_related(professionals::Entity)
        .order_by_asc(holdings::Column::SchemeId)
        .order_by_asc(holdings::Column::RegistrationNumber);
    if let Some(scheme) = &filter.scheme {
        query = query.filter(holdings::Column::SchemeId.eq(normalise_scheme_id(scheme)));
    }
    if let Some(status) = filter.status {
        query = query.filter(holdings::Column::Status.eq(status));
    }
    if let Some(email) = &filter.email {
        query = query.filter(professionals::Column::Email.eq(email.as_str()));
    }
    if let Some((scheme, number)) = after {
        query = query.filter(
            Condition::any()
                .add(holdings::Column::SchemeId.gt(scheme))
                .add(
                    Condition::all()
                        .add(holdings::Column::SchemeId.eq(scheme))
                        .add(holdings::Column::RegistrationNumber.gt(number)),
                ),
        );
    }
    let found = query.limit(limit).all(db).await?;
    let all_cycles = cycles::Entity::find()
        .filter(cycles::Column::HoldingId.is_in(found.iter().map(|(h, _)| h.id)))
        .order_by_asc(cycles::Column::StartsOn)
        .all(db)
        .await?;
    let mut listed = Vec::with_capacity(found.len());
    for (holding, person) in found {
        let person = person.ok_or_else(|| {
            DbErr::RecordNotFound(format!("professional {}", holding.professional_id))
        })?;
        let today = standing::today_for(&person);
        let mine = all_cycles.iter().filter(|c| c.holding_id == holding.id);
        let current = mine
            .clone()
            .rfind(|c| c.starts_on <= today)
            .or_else(|| mine.clone().next());
        listed.push(ListedHolding {
            holding_id: holding.id,
            scheme: holding.scheme_id,
            registration_number: holding.registration_number,
            status: holding.status,
            certified_on: holding.certified_on,
            professional_id: person.id,
            email: person.email,
            legal_name: person.legal_name,
            display_name: person.display_name,
            cycle_starts_on: current.map(|c| c.starts_on),
            expires_on: current.map(|c| last_day_before(c.ends_on)),
        });
    }
    Ok(listed)
}

/// Changes a holding's status (a suspension by the certification body, a reinstatement),
/// audit-logged as `holding.status_changed`, with the standing projection refreshed in the
/// same transaction. `None` when there is no such holding.
pub async fn set_status(
    db: &sea_orm::DatabaseConnection,
    catalog: &SchemeCatalog,
    actor: &crate::services::audit::Actor,
    holding_id: Uuid,
    status: HoldingStatus,
) -> Result<Option<Holding>, DbErr> {
    use sea_orm::{ActiveModelTrait, Set};

    let txn = crate::services::begin_write(db).await?;
    let Some(holding) = holdings::Entity::find_by_id(holding_id).one(&txn).await? else {
        return Ok(None);
    };
    let before = holding.status;
    let mut active: holdings::ActiveModel = holding.into();
    active.status = Set(status);
    active.updated_at = Set(chrono::Utc::now());
    let updated = active.update(&txn).await?;
    crate::services::audit::record(
        &txn,
        actor,
        crate::services::audit::Event {
            action: "holding.status_changed",
            subject_kind: "holding",
            subject_id: Some(holding_id.to_string()),
            before: Some(serde_json::json!({ "status": before })),
            after: Some(serde_json::json!({ "status": status })),
        },
    )
    .await?;
    crate::services::standing_projection::refresh(&txn, catalog, &[updated.professional_id])
        .await?;
    txn.commit().await?;
    Ok(Some(updated))
}
