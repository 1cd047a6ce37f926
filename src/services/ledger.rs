//! The credit ledger. Entries are never edited or deleted: a correction voids an entry (with a
//! reason) and records a new one that names the entry it replaces.

use chrono::{NaiveDate, Utc};
use entity::credits::{CreditSource, CreditState};
use entity::{credit_claims, credits};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, Set};
use uuid::Uuid;

use crate::domain::points::Points;
use crate::services::audit::{self, Actor, Event};
use crate::services::schemes::SchemeCatalog;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("no {scheme} holding with registration number {registration_number}")]
    UnknownHolding {
        scheme: String,
        registration_number: String,
    },
    #[error("credit {0} not found")]
    UnknownCredit(Uuid),
    #[error("credit {id} is {state} and cannot be voided")]
    NotVoidable { id: Uuid, state: String },
    #[error(transparent)]
    Db(#[from] DbErr),
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> LedgerError {
    LedgerError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// Points claimed toward one scheme's category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimSpec {
    pub scheme: String,
    pub category: String,
    pub points: Points,
}

impl ClaimSpec {
    /// `scheme:category=points`, or `category=points` for `default_scheme`.
    pub fn parse(text: &str, default_scheme: &str) -> Result<Self, LedgerError> {
        let (target, points) = text
            .split_once('=')
            .ok_or_else(|| invalid("points", format!("'{text}' is not scheme:category=points")))?;
        let (scheme, category) = match target.split_once(':') {
            Some((scheme, category)) => (scheme.trim(), category.trim()),
            None => (default_scheme, target.trim()),
        };
        let points: Points = points
            .trim()
            .parse()
            .map_err(|e| invalid("points", format!("'{}': {e}", points.trim())))?;
        Ok(Self {
            scheme: scheme.to_ascii_lowercase(),
            category: category.to_owned(),
            points,
        })
    }
}

/// A credit recorded by the certification body's staff; it is approved on entry.
#[derive(Debug, Clone)]
pub struct StaffCredit {
    pub scheme: String,
    pub registration_number: String,
    pub activity_type: String,
    pub title: String,
    pub completed_on: NaiveDate,
    pub hours: Points,
    pub claims: Vec<ClaimSpec>,
    pub recorded_by: String,
}

/// Longest single activity we accept, in hours: a guard against typos, not a scheme rule.
const MAX_HOURS: i64 = 1_000;

pub async fn record_staff_credit(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    input: StaffCredit,
) -> Result<credits::Model, LedgerError> {
    record(db, catalog, input, None).await
}

/// The ledger's correction: voids `id` (with `reason`) and records `input` in its place,
/// naming the entry it replaces, in one transaction. Both must be the same professional's.
pub async fn correct_staff_credit(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    id: Uuid,
    reason: &str,
    input: StaffCredit,
) -> Result<credits::Model, LedgerError> {
    record(db, catalog, input, Some((id, reason))).await
}

async fn record(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    input: StaffCredit,
    corrects: Option<(Uuid, &str)>,
) -> Result<credits::Model, LedgerError> {
    let holding =
        crate::services::holdings::by_registration(db, &input.scheme, &input.registration_number)
            .await?
            .ok_or_else(|| LedgerError::UnknownHolding {
                scheme: input.scheme.clone(),
                registration_number: input.registration_number.clone(),
            })?;

    validate(catalog, &input)?;
    let actor = Actor::cli(&input.recorded_by);

    let txn = super::begin_write(db).await?;
    let replaces = match corrects {
        Some((id, reason)) => {
            let voided = void_in(&txn, id, reason, &actor).await?;
            if voided.professional_id != holding.professional_id {
                // Dropping the transaction rolls the void back.
                return Err(invalid(
                    "registration_number",
                    "the corrected credit belongs to another professional",
                ));
            }
            Some(id)
        }
        None => None,
    };
    let credit = insert_credit(
        &txn,
        holding.professional_id,
        &input,
        CreditSource::Admin,
        replaces,
    )
    .await?;
    audit::record(
        &txn,
        &actor,
        Event {
            action: "credit.recorded",
            subject_kind: "credit",
            subject_id: Some(credit.id.to_string()),
            before: None,
            after: Some(serde_json::json!({
                "professional_id": credit.professional_id,
                "activity_type": credit.activity_type,
                "completed_on": credit.completed_on,
                "replaces": replaces,
                "claims": input.claims.iter().map(|c| serde_json::json!({
                    "scheme": c.scheme, "category": c.category, "points": c.points,
                })).collect::<Vec<_>>(),
            })),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(credit)
}

fn validate(catalog: &SchemeCatalog, input: &StaffCredit) -> Result<(), LedgerError> {
    if input.title.trim().is_empty() {
        return Err(invalid("title", "must not be empty"));
    }
    if input.hours <= Points::ZERO || input.hours > Points::whole(MAX_HOURS) {
        return Err(invalid(
            "hours",
            format!("must be more than 0 and at most {MAX_HOURS}"),
        ));
    }
    let today = Utc::now().date_naive();
    if input.completed_on > today + chrono::Days::new(1) {
        return Err(invalid("date", "is in the future"));
    }
    let holding_scheme = catalog
        .in_force_on(&input.scheme, input.completed_on)
        .ok_or_else(|| invalid("scheme", format!("unknown scheme '{}'", input.scheme)))?;
    let mut known_type = holding_scheme
        .definition
        .activity_type(&input.activity_type)
        .is_some();
    let mut seen = std::collections::HashSet::new();
    for (i, claim) in input.claims.iter().enumerate() {
        let field = format!("claims[{i}]");
        let scheme = catalog
            .in_force_on(&claim.scheme, input.completed_on)
            .ok_or_else(|| invalid(&field, format!("unknown scheme '{}'", claim.scheme)))?;
        if scheme.definition.category(&claim.category).is_none() {
            return Err(invalid(
                &field,
                format!(
                    "scheme {} has no category '{}'",
                    claim.scheme, claim.category
                ),
            ));
        }
        if claim.points <= Points::ZERO {
            return Err(invalid(&field, "points must be more than 0"));
        }
        if !seen.insert((claim.scheme.clone(), claim.category.clone())) {
            return Err(invalid(&field, "the same scheme and category appear twice"));
        }
        known_type |= scheme
            .definition
            .activity_type(&input.activity_type)
            .is_some();
    }
    if !known_type {
        return Err(invalid(
            "activity_type",
            format!(
                "'{}' is not an activity type of {}",
                input.activity_type, input.scheme
            ),
        ));
    }
    Ok(())
}

async fn insert_credit(
    db: &impl ConnectionTrait,
    professional_id: Uuid,
    input: &StaffCredit,
    source: CreditSource,
    replaces: Option<Uuid>,
) -> Result<credits::Model, DbErr> {
    let id = Uuid::now_v7();
    let credit = credits::ActiveModel {
        id: Set(id),
        professional_id: Set(professional_id),
        course_id: Set(None),
        provider_id: Set(None),
        provider_reference: Set(None),
        activity_type: Set(input.activity_type.clone()),
        title: Set(input.title.trim().to_owned()),
        completed_on: Set(input.completed_on),
        hours: Set(input.hours.hundredths()),
        source: Set(source),
        state: Set(CreditState::Approved),
        evidence: Set(None),
        replaces_credit_id: Set(replaces),
        voided_at: Set(None),
        void_reason: Set(None),
        recorded_by: Set(Some(input.recorded_by.clone())),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    let claims: Vec<credit_claims::ActiveModel> = input
        .claims
        .iter()
        .map(|c| credit_claims::ActiveModel {
            id: Set(Uuid::now_v7()),
            credit_id: Set(id),
            scheme_id: Set(c.scheme.clone()),
            category: Set(c.category.clone()),
            points: Set(c.points.hundredths()),
        })
        .collect();
    if !claims.is_empty() {
        credit_claims::Entity::insert_many(claims).exec(db).await?;
    }
    Ok(credit)
}

/// Voids an approved or pending credit. The row keeps its content; only its state moves to
/// `voided`, with when and why, and the audit log records the change.
pub async fn void_credit(
    db: &DatabaseConnection,
    id: Uuid,
    reason: &str,
    actor: &Actor,
) -> Result<credits::Model, LedgerError> {
    let txn = super::begin_write(db).await?;
    let voided = void_in(&txn, id, reason, actor).await?;
    txn.commit().await?;
    Ok(voided)
}

async fn void_in(
    txn: &impl ConnectionTrait,
    id: Uuid,
    reason: &str,
    actor: &Actor,
) -> Result<credits::Model, LedgerError> {
    if reason.trim().is_empty() {
        return Err(invalid("reason", "must not be empty"));
    }
    let credit = credits::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or(LedgerError::UnknownCredit(id))?;
    if !matches!(credit.state, CreditState::Approved | CreditState::Pending) {
        return Err(LedgerError::NotVoidable {
            id,
            state: format!("{:?}", credit.state).to_lowercase(),
        });
    }
    let before = credit.state;
    let mut active: credits::ActiveModel = credit.into();
    active.state = Set(CreditState::Voided);
    active.voided_at = Set(Some(Utc::now()));
    active.void_reason = Set(Some(reason.trim().to_owned()));
    let voided = active.update(txn).await?;
    audit::record(
        txn,
        actor,
        Event {
            action: "credit.voided",
            subject_kind: "credit",
            subject_id: Some(id.to_string()),
            before: Some(serde_json::json!({ "state": before })),
            after: Some(serde_json::json!({ "state": "voided", "reason": reason.trim() })),
        },
    )
    .await?;
    Ok(voided)
}
