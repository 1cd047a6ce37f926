//! Organisations (employers, vendors) and their staff, so a buyer can ask how many of a
//! vendor's people hold a scheme in good standing.
//!
//! Membership is confirmed by both sides: the certification body records the organisation's
//! claim (a pending membership, confirmed for the organisation), and only the professional's
//! own confirmation makes it count. A professional may decline a claim, which removes it.
//! Every change is audit-logged.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use entity::{memberships, organisations, professionals};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    ModelTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use crate::domain::levels::Level;
use crate::domain::scheme::normalise_scheme_id;
use crate::domain::standing::StandingState;
use crate::services::audit::{self, Actor, Event};
use crate::services::disclosures;
use crate::services::holdings::HoldingStatus;
use crate::services::procurement::consents_and_names;
use crate::services::schemes::SchemeCatalog;
use crate::services::standing_projection;

pub use entity::organisations::Model as Organisation;

#[derive(Debug, thiserror::Error)]
pub enum OrganisationError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Db(#[from] DbErr),
}

fn invalid(field: &str, message: &str) -> OrganisationError {
    OrganisationError::Invalid {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

/// Registers an organisation. The corporate number (法人番号), when given, is unique.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Actor,
    name: &str,
    corporate_number: Option<&str>,
) -> Result<Organisation, OrganisationError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 254 || name.chars().any(char::is_control) {
        return Err(invalid(
            "name",
            "must be 1 to 254 characters, not only spaces",
        ));
    }
    let corporate_number = corporate_number.map(str::trim).filter(|c| !c.is_empty());
    if corporate_number.is_some_and(|c| c.chars().count() > 32 || c.chars().any(char::is_control)) {
        return Err(invalid(
            "corporate_number",
            "must be at most 32 characters, without control characters",
        ));
    }
    let txn = super::begin_write(db).await?;
    let created = organisations::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.to_owned()),
        corporate_number: Set(corporate_number.map(str::to_owned)),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        Event {
            action: "organisation.created",
            subject_kind: "organisation",
            subject_id: Some(created.id.to_string()),
            before: None,
            after: Some(serde_json::json!({ "name": created.name, "corporate_number": created.corporate_number })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(created)
}

/// Records the organisation's claim that the professional with `email` works there: a pending
/// membership that counts once the professional confirms it.
pub async fn claim_member(
    db: &DatabaseConnection,
    actor: &Actor,
    organisation_id: Uuid,
    email: &str,
) -> Result<memberships::Model, OrganisationError> {
    organisations::Entity::find_by_id(organisation_id)
        .one(db)
        .await?
        .ok_or(OrganisationError::NotFound("organisation"))?;
    let email = email.trim();
    if email.chars().any(char::is_control) {
        return Err(OrganisationError::NotFound("professional"));
    }
    let person = professionals::Entity::find()
        .filter(professionals::Column::Email.eq(email))
        .one(db)
        .await?
        .ok_or(OrganisationError::NotFound("professional"))?;
    let txn = super::begin_write(db).await?;
    let claimed = memberships::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(organisation_id),
        professional_id: Set(person.id),
        confirmed_by_professional_at: Set(None),
        confirmed_by_organisation_at: Set(Some(Utc::now())),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        Event {
            action: "membership.claimed",
            subject_kind: "membership",
            subject_id: Some(claimed.id.to_string()),
            before: None,
            after: Some(serde_json::json!({ "organisation_id": organisation_id, "professional_id": person.id })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(claimed)
}

/// One of a professional's memberships, as they see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub organisation_name: String,
    pub claimed_at: DateTime<Utc>,
    /// `None` while pending the professional's confirmation.
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// Every membership of `professional_id`, confirmed or pending, oldest first.
pub async fn of_professional(
    db: &impl ConnectionTrait,
    professional_id: Uuid,
) -> Result<Vec<Membership>, DbErr> {
    let rows = memberships::Entity::find()
        .filter(memberships::Column::ProfessionalId.eq(professional_id))
        .find_also_related(organisations::Entity)
        .order_by_asc(memberships::Column::CreatedAt)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(m, org)| {
            Some(Membership {
                id: m.id,
                organisation_id: m.organisation_id,
                organisation_name: org?.name,
                claimed_at: m.created_at,
                confirmed_at: m.confirmed_by_professional_at,
            })
        })
        .collect())
}

/// What the professional answers to a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    Confirm,
    Decline,
}

/// The professional's answer to one of their memberships: confirming stamps it (again is a
/// no-op), declining removes it. `None` when it is not theirs.
pub async fn reply(
    db: &DatabaseConnection,
    actor: &Actor,
    professional_id: Uuid,
    membership_id: Uuid,
    reply: Reply,
) -> Result<Option<Option<Membership>>, DbErr> {
    let txn = super::begin_write(db).await?;
    let Some(row) = memberships::Entity::find_by_id(membership_id)
        .filter(memberships::Column::ProfessionalId.eq(professional_id))
        .one(&txn)
        .await?
    else {
        return Ok(None);
    };
    let before =
        serde_json::json!({ "confirmed_by_professional_at": row.confirmed_by_professional_at });
    let (action, after) = match reply {
        Reply::Confirm if row.confirmed_by_professional_at.is_some() => {
            txn.rollback().await?;
            return Ok(Some(
                of_professional(db, professional_id)
                    .await?
                    .into_iter()
                    .find(|m| m.id == membership_id),
            ));
        }
        Reply::Confirm => {
            let mut active: memberships::ActiveModel = row.into();
            active.confirmed_by_professional_at = Set(Some(Utc::now()));
            let updated = active.update(&txn).await?;
            (
                "membership.confirmed",
                serde_json::json!({ "confirmed_by_professional_at": updated.confirmed_by_professional_at }),
            )
        }
        Reply::Decline => {
            row.delete(&txn).await?;
            ("membership.declined", serde_json::json!(null))
        }
    };
    audit::record(
        &txn,
        actor,
        Event {
            action,
            subject_kind: "membership",
            subject_id: Some(membership_id.to_string()),
            before: Some(before),
            after: Some(after),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(Some(
        of_professional(db, professional_id)
            .await?
            .into_iter()
            .find(|m| m.id == membership_id),
    ))
}

/// Which holdings a buyer asks about: of one scheme, at a level or above, or both.
#[derive(Debug, Clone)]
pub struct StaffQuery {
    pub scheme: Option<String>,
    pub min_level: Option<Level>,
}

/// One named member of staff in good standing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedStaff {
    pub name: String,
    pub scheme: String,
    pub registration_number: String,
    pub state: Option<StandingState>,
    pub valid_until: Option<chrono::NaiveDate>,
    pub level: Option<Level>,
}

/// How an organisation's confirmed staff stand.
#[derive(Debug, Clone)]
pub struct StaffStanding {
    pub organisation: Organisation,
    /// Members confirmed by both sides.
    pub confirmed_staff: usize,
    /// Confirmed members with at least one asked-for holding in good standing.
    pub in_good_standing: usize,
    /// Those of them who consented to be named to buyers, with their holdings that qualify.
    pub named: Vec<NamedStaff>,
    pub answered_at: DateTime<Utc>,
}

/// The standing of `organisation_id`'s confirmed staff for `query`, read from the projection;
/// the holdings of named staff are logged as disclosed to `client_id` (the count names no
/// one). `None` for an unknown organisation.
///
/// The organisation, its memberships, the projection, consents and names are read from
/// `replica` (a read replica, or the primary itself); the disclosure log and any projection
/// row judged again are written to `primary`.
pub async fn staff_standing(
    replica: &impl ConnectionTrait,
    primary: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    client_id: &str,
    organisation_id: Uuid,
    query: &StaffQuery,
) -> Result<Option<StaffStanding>, DbErr> {
    let Some(organisation) = organisations::Entity::find_by_id(organisation_id)
        .one(replica)
        .await?
    else {
        return Ok(None);
    };
    let staff: Vec<Uuid> = memberships::Entity::find()
        .filter(memberships::Column::OrganisationId.eq(organisation_id))
        .filter(memberships::Column::ConfirmedByProfessionalAt.is_not_null())
        .filter(memberships::Column::ConfirmedByOrganisationAt.is_not_null())
        .all(replica)
        .await?
        .into_iter()
        .map(|m| m.professional_id)
        .collect();
    let scheme = query.scheme.as_deref().map(normalise_scheme_id);
    let ladder = catalog.ladder();
    let qualifying: Vec<standing_projection::Verdict> =
        standing_projection::of_people_from(replica, primary, catalog, &staff)
            .await?
            .into_iter()
            .filter(|v| v.in_good_standing())
            .filter(|v| scheme.as_deref().is_none_or(|s| v.scheme == s))
            .filter(|v| {
                query
                    .min_level
                    .as_ref()
                    .is_none_or(|m| ladder.meets(&v.scheme, m))
            })
            .collect();
    let people: HashSet<Uuid> = qualifying.iter().map(|v| v.professional_id).collect();
    let people: Vec<Uuid> = people.into_iter().collect();
    let (_, names) = consents_and_names(replica, &people).await?;
    let mut named: Vec<(Uuid, NamedStaff)> = qualifying
        .iter()
        .filter(|v| v.status == HoldingStatus::Active)
        .filter_map(|v| {
            Some((
                v.holding_id,
                NamedStaff {
                    name: names.get(&v.professional_id)?.clone(),
                    scheme: v.scheme.clone(),
                    registration_number: v.registration_number.clone(),
                    state: v.state,
                    valid_until: v.valid_until,
                    level: ladder.level_of(&v.scheme).cloned(),
                },
            ))
        })
        .collect();
    named.sort_by(|a, b| {
        (&a.1.name, &a.1.scheme, &a.1.registration_number).cmp(&(
            &b.1.name,
            &b.1.scheme,
            &b.1.registration_number,
        ))
    });
    const FIELDS: &[&str] = &[
        "scheme",
        "registration_number",
        "status",
        "standing",
        "valid_until",
        "level",
        "name",
    ];
    let logged: Vec<(Uuid, &[&str])> = named.iter().map(|(h, _)| (*h, FIELDS)).collect();
    disclosures::record_many(primary, client_id, &logged).await?;
    Ok(Some(StaffStanding {
        organisation,
        confirmed_staff: staff.len(),
        in_good_standing: people.len(),
        named: named.into_iter().map(|(_, n)| n).collect(),
        answered_at: Utc::now(),
    }))
}
