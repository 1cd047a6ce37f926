//! Sample audits of self-reported credits: the certification body draws a share of the
//! self-reported credits of one scheme's current cycles at random, asks each holder for the
//! evidence by email, and tracks the answers. A credit whose evidence does not come in time
//! loses its effect through the ledger: it is voided, with the reason, like any correction.
//!
//! A draw is reproducible: the same scheme, percentage and seed draw the same credits (see
//! [`crate::domain::audit_sample`]); credits drawn before keep their request and are not asked
//! about twice, so drawing again with the same seed asks nobody new.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use entity::audit_requests::{self, AuditOutcome};
use entity::credits::{CreditSource, CreditState};
use entity::{credit_claims, credits, cycles, holdings, professionals};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use crate::config::Config;
use crate::domain::audit_sample;
use crate::mail::email::{AUDIT_REQUESTED, AuditRequestedEmail};
use crate::services::audit::{self, Actor, Event};
use crate::services::ledger::{self, LedgerError};
use crate::services::notifications::{self, NewNotification};
use crate::services::schemes::SchemeCatalog;
use crate::services::{begin_write, evidence, standing, standing_projection};
use crate::templates::supported_locale;

/// Days a holder has to answer unless staff say otherwise.
pub const DEFAULT_DAYS_TO_ANSWER: u32 = 30;

#[derive(Debug, thiserror::Error)]
pub enum SampleAuditError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("audit request not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Ledger(LedgerError),
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl From<LedgerError> for SampleAuditError {
    fn from(err: LedgerError) -> Self {
        match err {
            LedgerError::Db(e) => Self::Db(e),
            other => Self::Ledger(other),
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> SampleAuditError {
    SampleAuditError::Invalid {
        field,
        message: message.into(),
    }
}

/// What staff ask for.
#[derive(Debug, Clone)]
pub struct Draw {
    pub scheme: String,
    /// Share of the candidates to draw, 1 to 100.
    pub percent: u8,
    pub seed: u64,
    /// Days from today (Asia/Tokyo) to the last day evidence is accepted.
    pub days_to_answer: u32,
}

/// What a draw did.
#[derive(Debug, Clone)]
pub struct Drawn {
    pub seed: u64,
    /// Self-reported credits of the scheme's current cycles the draw chose from.
    pub candidates: usize,
    /// The credits drawn, in the order drawn.
    pub credits: Vec<Uuid>,
    /// Of those, the ones asked for evidence now (the rest were asked before).
    pub requested: usize,
    pub due_on: NaiveDate,
}

/// The certification body's calendar day: requests fall due by it.
pub fn office_today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .date_naive()
}

/// Draws a sample and asks each newly drawn credit's holder for evidence, all in one
/// transaction: either every request and email of the draw is written, or none.
pub async fn draw(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    config: &Config,
    actor: &Actor,
    request: &Draw,
) -> Result<Drawn, SampleAuditError> {
    if !catalog.contains(&request.scheme) {
        return Err(invalid("scheme", catalog.unknown(&request.scheme)));
    }
    if !(1..=100).contains(&request.percent) {
        return Err(invalid("percent", "must be from 1 to 100"));
    }
    let due_on = office_today() + chrono::TimeDelta::days(i64::from(request.days_to_answer));
    let txn = begin_write(db).await?;
    let candidates = candidates(&txn, &request.scheme).await?;
    let ids: Vec<Uuid> = candidates.keys().copied().collect();
    let chosen = audit_sample::choose(&ids, request.percent, request.seed);
    let asked_before: Vec<Uuid> = audit_requests::Entity::find()
        .filter(audit_requests::Column::CreditId.is_in(chosen.iter().copied()))
        .all(&txn)
        .await?
        .into_iter()
        .map(|r| r.credit_id)
        .collect();
    let mut requested = 0;
    let now = Utc::now();
    for credit_id in chosen.iter().filter(|id| !asked_before.contains(id)) {
        let Some((credit, person)) = candidates.get(credit_id) else {
            continue;
        };
        let row = audit_requests::ActiveModel {
            id: Set(Uuid::now_v7()),
            credit_id: Set(*credit_id),
            professional_id: Set(person.id),
            scheme_id: Set(request.scheme.clone()),
            seed: Set(request.seed.to_string()),
            requested_at: Set(now),
            due_on: Set(due_on),
            evidence_id: Set(None),
            answered_at: Set(None),
            outcome: Set(AuditOutcome::Open),
            closed_at: Set(None),
        }
        .insert(&txn)
        .await?;
        if let Some(email) = person.email.clone() {
            let locale = supported_locale(&person.locale);
            let payload = request_email(config, catalog, credit, person, &row, locale);
            notifications::enqueue(
                &txn,
                NewNotification {
                    dedupe_key: format!("audit_requested:{}", row.id),
                    template: AUDIT_REQUESTED,
                    locale: locale.to_owned(),
                    recipient: email,
                    payload: serde_json::to_value(&payload)
                        .map_err(|e| DbErr::Custom(e.to_string()))?,
                },
            )
            .await?;
        }
        audit::record(
            &txn,
            actor,
            Event {
                action: "audit_request.created",
                subject_kind: "audit_request",
                subject_id: Some(row.id.to_string()),
                before: None,
                after: Some(serde_json::json!({
                    "credit_id": credit_id,
                    "scheme": request.scheme,
                    "seed": request.seed.to_string(),
                    "due_on": due_on,
                })),
            },
        )
        .await?;
        requested += 1;
    }
    txn.commit().await?;
    Ok(Drawn {
        seed: request.seed,
        candidates: ids.len(),
        credits: chosen,
        requested,
        due_on,
    })
}

/// A day as a reader of `locale` writes it.
fn written_day(day: NaiveDate, locale: &str) -> String {
    if locale == "en" {
        day.format("%-d %B %Y").to_string()
    } else {
        day.format("%Y年%-m月%-d日").to_string()
    }
}

fn request_email(
    config: &Config,
    catalog: &SchemeCatalog,
    credit: &credits::Model,
    person: &professionals::Model,
    row: &audit_requests::Model,
    locale: &str,
) -> AuditRequestedEmail {
    let mut link = config.public_url.clone();
    link.set_path("audit-requests");
    let scheme_name = catalog
        .all()
        .find(|l| l.definition.id == row.scheme_id)
        .map_or_else(
            || row.scheme_id.clone(),
            |l| {
                if locale == "en" {
                    l.definition.name.en.clone()
                } else {
                    l.definition.name.ja.clone()
                }
            },
        );
    AuditRequestedEmail {
        name: Some(
            person
                .display_name
                .clone()
                .unwrap_or_else(|| person.legal_name.clone()),
        ),
        title: credit.title.clone(),
        completed_on: written_day(credit.completed_on, locale),
        hours: crate::domain::points::Points::from_hundredths(credit.hours).to_string(),
        scheme_name,
        due_on: written_day(row.due_on, locale),
        link: link.to_string(),
    }
}

/// Self-reported credits with a claim toward `scheme` completed in the current cycle of their
/// holder's holding in it, each with its holder. A credit that was voided or rejected is no
/// candidate, unless an earlier draw asked about it (so the same seed draws the same credits
/// after some of them expired).
async fn candidates(
    db: &impl ConnectionTrait,
    scheme: &str,
) -> Result<HashMap<Uuid, (credits::Model, professionals::Model)>, DbErr> {
    let held = holdings::Entity::find()
        .filter(holdings::Column::SchemeId.eq(scheme))
        .all(db)
        .await?;
    let cycles_of: Vec<cycles::Model> = cycles::Entity::find()
        .filter(cycles::Column::HoldingId.is_in(held.iter().map(|h| h.id)))
        .order_by_asc(cycles::Column::StartsOn)
        .all(db)
        .await?;
    let people: HashMap<Uuid, professionals::Model> = professionals::Entity::find()
        .filter(professionals::Column::Id.is_in(held.iter().map(|h| h.professional_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    // The current cycle of each holder: the latest begun by their today.
    let mut current: HashMap<Uuid, (NaiveDate, NaiveDate)> = HashMap::new();
    for holding in &held {
        let Some(person) = people.get(&holding.professional_id) else {
            continue;
        };
        let today = standing::today_for(person);
        if let Some(cycle) = cycles_of
            .iter()
            .rfind(|c| c.holding_id == holding.id && c.starts_on <= today)
        {
            current.insert(person.id, (cycle.starts_on, cycle.ends_on));
        }
    }
    let claimed: Vec<Uuid> = credit_claims::Entity::find()
        .filter(credit_claims::Column::SchemeId.eq(scheme))
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.credit_id)
        .collect();
    let asked: Vec<Uuid> = audit_requests::Entity::find()
        .filter(audit_requests::Column::SchemeId.eq(scheme))
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.credit_id)
        .collect();
    let found = credits::Entity::find()
        .filter(credits::Column::Source.eq(CreditSource::SelfReported))
        .filter(credits::Column::ProfessionalId.is_in(current.keys().copied()))
        .filter(credits::Column::Id.is_in(claimed))
        .all(db)
        .await?;
    Ok(found
        .into_iter()
        .filter(|c| c.state == CreditState::Approved || asked.contains(&c.id))
        .filter(|c| {
            current
                .get(&c.professional_id)
                .is_some_and(|(starts, ends)| *starts <= c.completed_on && c.completed_on < *ends)
        })
        .filter_map(|c| {
            let person = people.get(&c.professional_id)?.clone();
            Some((c.id, (c, person)))
        })
        .collect())
}

/// An audit request as its professional (or staff) reads it.
#[derive(Debug, Clone)]
pub struct RequestView {
    pub request: audit_requests::Model,
    pub title: String,
    pub completed_on: NaiveDate,
}

async fn views(
    db: &impl ConnectionTrait,
    rows: Vec<audit_requests::Model>,
) -> Result<Vec<RequestView>, DbErr> {
    let credits: HashMap<Uuid, credits::Model> = credits::Entity::find()
        .filter(credits::Column::Id.is_in(rows.iter().map(|r| r.credit_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    Ok(rows
        .into_iter()
        .filter_map(|request| {
            let credit = credits.get(&request.credit_id)?;
            Some(RequestView {
                title: credit.title.clone(),
                completed_on: credit.completed_on,
                request,
            })
        })
        .collect())
}

/// The professional's own audit requests, newest first.
pub async fn own(
    db: &impl ConnectionTrait,
    professional_id: Uuid,
) -> Result<Vec<RequestView>, DbErr> {
    let rows = audit_requests::Entity::find()
        .filter(audit_requests::Column::ProfessionalId.eq(professional_id))
        .order_by_desc(audit_requests::Column::Id)
        .all(db)
        .await?;
    views(db, rows).await
}

/// Whether `id` is an audit request of `professional_id`'s.
pub async fn is_own(
    db: &impl ConnectionTrait,
    professional_id: Uuid,
    id: Uuid,
) -> Result<bool, DbErr> {
    Ok(audit_requests::Entity::find_by_id(id)
        .filter(audit_requests::Column::ProfessionalId.eq(professional_id))
        .one(db)
        .await?
        .is_some())
}

/// Every audit request of a scheme (all schemes when `None`), oldest first, for staff.
pub async fn list(
    db: &impl ConnectionTrait,
    scheme: Option<&str>,
) -> Result<Vec<RequestView>, DbErr> {
    let mut query = audit_requests::Entity::find().order_by_asc(audit_requests::Column::Id);
    if let Some(scheme) = scheme {
        query = query.filter(audit_requests::Column::SchemeId.eq(scheme));
    }
    views(db, query.all(db).await?).await
}

/// The professional answers their open request `id` with one of their own evidence files,
/// on or before its due day.
pub async fn answer(
    db: &DatabaseConnection,
    actor: &Actor,
    professional_id: Uuid,
    id: Uuid,
    evidence_id: Uuid,
) -> Result<RequestView, SampleAuditError> {
    let txn = begin_write(db).await?;
    let row = audit_requests::Entity::find_by_id(id)
        .filter(audit_requests::Column::ProfessionalId.eq(professional_id))
        .one(&txn)
        .await?
        .ok_or(SampleAuditError::NotFound)?;
    match row.outcome {
        AuditOutcome::Open => {}
        AuditOutcome::Answered => {
            return Err(SampleAuditError::Conflict(
                "the request was answered already".to_owned(),
            ));
        }
        AuditOutcome::Expired => {
            return Err(SampleAuditError::Conflict(format!(
                "the request expired: evidence was due by {}",
                row.due_on
            )));
        }
    }
    if office_today() > row.due_on {
        return Err(SampleAuditError::Conflict(format!(
            "evidence was due by {}",
            row.due_on
        )));
    }
    if evidence::owned_by(&txn, professional_id, evidence_id)
        .await?
        .is_none()
    {
        return Err(invalid(
            "evidence_id",
            "no evidence file of yours has this id (upload it at /v1/me/evidence first)",
        ));
    }
    let now = Utc::now();
    // Guarded by the outcome, so an expiry running at the same moment cannot be overwritten.
    let updated = audit_requests::Entity::update_many()
        .col_expr(
            audit_requests::Column::EvidenceId,
            Expr::value(Some(evidence_id)),
        )
        .col_expr(audit_requests::Column::AnsweredAt, Expr::value(Some(now)))
        .col_expr(audit_requests::Column::ClosedAt, Expr::value(Some(now)))
        .col_expr(
            audit_requests::Column::Outcome,
            Expr::value(AuditOutcome::Answered),
        )
        .filter(audit_requests::Column::Id.eq(id))
        .filter(audit_requests::Column::Outcome.eq(AuditOutcome::Open))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(SampleAuditError::Conflict(
            "the request is no longer open".to_owned(),
        ));
    }
    audit::record(
        &txn,
        actor,
        Event {
            action: "audit_request.answered",
            subject_kind: "audit_request",
            subject_id: Some(id.to_string()),
            before: Some(serde_json::json!({ "outcome": "open" })),
            after: Some(serde_json::json!({ "outcome": "answered", "evidence_id": evidence_id })),
        },
    )
    .await?;
    let answered = audit_requests::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(SampleAuditError::NotFound)?;
    let view = views(&txn, vec![answered])
        .await?
        .into_iter()
        .next()
        .ok_or(SampleAuditError::NotFound)?;
    txn.commit().await?;
    Ok(view)
}

/// What an expiry run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expired {
    /// Requests that expired now.
    pub requests: usize,
    /// Credits voided because of them (a credit already voided stays as it was).
    pub voided: usize,
}

/// Expires every open request whose due day is before `today` and voids its credit through
/// the ledger, one request per transaction.
pub async fn expire(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    actor: &Actor,
    today: NaiveDate,
) -> Result<Expired, SampleAuditError> {
    let due: Vec<audit_requests::Model> = audit_requests::Entity::find()
        .filter(audit_requests::Column::Outcome.eq(AuditOutcome::Open))
        .filter(audit_requests::Column::DueOn.lt(today))
        .order_by_asc(audit_requests::Column::Id)
        .all(db)
        .await?;
    let mut done = Expired::default();
    for request in due {
        let txn = begin_write(db).await?;
        let now: DateTime<Utc> = Utc::now();
        let updated = audit_requests::Entity::update_many()
            .col_expr(
                audit_requests::Column::Outcome,
                Expr::value(AuditOutcome::Expired),
            )
            .col_expr(audit_requests::Column::ClosedAt, Expr::value(Some(now)))
            .filter(audit_requests::Column::Id.eq(request.id))
            .filter(audit_requests::Column::Outcome.eq(AuditOutcome::Open))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            // Answered (or expired by another run) since it was read.
            txn.rollback().await?;
            continue;
        }
        let credit = credits::Entity::find_by_id(request.credit_id)
            .one(&txn)
            .await?;
        let voidable = credit
            .as_ref()
            .is_some_and(|c| matches!(c.state, CreditState::Approved | CreditState::Pending));
        if voidable {
            let reason = format!(
                "sample audit: no evidence supplied by {}, the day it was due",
                request.due_on
            );
            ledger::void_in(&txn, request.credit_id, &reason, actor).await?;
            standing_projection::refresh(&txn, catalog, &[request.professional_id]).await?;
            done.voided += 1;
        }
        audit::record(
            &txn,
            actor,
            Event {
                action: "audit_request.expired",
                subject_kind: "audit_request",
                subject_id: Some(request.id.to_string()),
                before: Some(serde_json::json!({ "outcome": "open" })),
                after: Some(serde_json::json!({ "outcome": "expired", "credit_voided": voidable })),
            },
        )
        .await?;
        txn.commit().await?;
        done.requests += 1;
    }
    Ok(done)
}
