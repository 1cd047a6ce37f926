//! Professionals report their own activities: a course outside the catalogue, logged once and
//! claimed toward every holding it may count for.
//!
//! A self-report becomes a ledger entry with source `self`. It is `pending` when a scheme it
//! claims toward reviews self-reported credits first (`[self_report] review = "required"`),
//! else `approved`. While pending, its owner may edit it (the ledger voids it and records the
//! edited one in its place, naming it) or withdraw it (voided); an approved credit is
//! corrected only by staff through the ledger's void-and-replace. Every change is audit-logged.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use entity::credits::{CreditSource, CreditState};
use entity::{credit_claims, credit_reviews, credits, professionals, self_reports};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use crate::domain::points::Points;
use crate::domain::scheme::SchemeDefinition;
use crate::domain::self_report::{
    self as rules, ClaimRequest, MAX_HOURS, Placement, Proposal, ProposedClaim, Refusal,
};
use crate::services::audit::{self, Actor, Event};
use crate::services::evidence::{self, EvidenceMeta};
use crate::services::ledger::{self, LedgerError, ListedClaim};
use crate::services::schemes::SchemeCatalog;
use crate::services::standing::{LedgerSlice, StandingError, today_for};
use crate::services::standing_projection;

/// Longest title and provider name.
pub const MAX_TEXT: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum SelfReportError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("credit not found")]
    NotFound,
    /// The credit exists and is the caller's, but cannot be changed by them.
    #[error("{0}")]
    NotChangeable(String),
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Standing(#[from] StandingError),
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> SelfReportError {
    SelfReportError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

impl From<Refusal> for SelfReportError {
    fn from(r: Refusal) -> Self {
        invalid(r.field, r.message)
    }
}

impl From<LedgerError> for SelfReportError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Invalid { field, message } => invalid(field, message),
            LedgerError::Db(e) => e.into(),
            LedgerError::UnknownCredit(_) => SelfReportError::NotFound,
            other => SelfReportError::NotChangeable(other.to_string()),
        }
    }
}

/// What the professional reports.
#[derive(Debug, Clone)]
pub struct Draft {
    pub title: String,
    pub provider_name: String,
    /// The day of completion, read as the professional's calendar day.
    pub completed_on: NaiveDate,
    pub hours: Points,
    /// Explicit per-scheme claims; `None`: the proposal for every scheme held.
    pub claims: Option<Vec<ClaimRequest>>,
    pub evidence_id: Option<Uuid>,
}

/// How an activity would be recorded and where it would count; nothing is written.
#[derive(Debug, Clone)]
pub struct Preview {
    pub activity_type: String,
    pub claims: Vec<ProposedClaim>,
    /// `pending` when a scheme claimed toward reviews self-reported credits, else `approved`.
    pub state: CreditState,
    /// Schemes whose activity type needs an evidence file.
    pub evidence_required: Vec<String>,
    pub placements: Vec<Placement>,
}

/// A credit as its professional reads it.
#[derive(Debug, Clone)]
pub struct OwnCredit {
    pub id: Uuid,
    pub title: String,
    pub provider_name: Option<String>,
    pub completed_on: NaiveDate,
    pub hours: Points,
    pub activity_type: String,
    pub source: CreditSource,
    pub state: CreditState,
    pub claims: Vec<ListedClaim>,
    pub evidence: Option<EvidenceMeta>,
    pub replaces_credit_id: Option<Uuid>,
    pub void_reason: Option<String>,
    pub review: Option<ReviewNote>,
    pub created_at: chrono::DateTime<Utc>,
}

/// The latest staff decision on a credit.
#[derive(Debug, Clone)]
pub struct ReviewNote {
    pub decision: credit_reviews::ReviewDecision,
    pub reason: Option<String>,
    pub reviewed_at: chrono::DateTime<Utc>,
}

/// Checks the draft's own fields; the claims are [`rules::propose`]'s part.
fn check_fields(draft: &Draft, today: NaiveDate) -> Result<(), SelfReportError> {
    for (field, value) in [
        ("title", &draft.title),
        ("provider_name", &draft.provider_name),
    ] {
        if value.trim().is_empty() {
            return Err(invalid(field, "must not be empty"));
        }
        if value.chars().count() > MAX_TEXT {
            return Err(invalid(
                field,
                format!("must be at most {MAX_TEXT} characters"),
            ));
        }
    }
    if !draft.hours.is_positive() || draft.hours > Points::whole(MAX_HOURS) {
        return Err(invalid(
            "hours",
            format!("must be more than 0 and at most {MAX_HOURS}"),
        ));
    }
    if draft.completed_on > today {
        return Err(invalid(
            "completed_on",
            format!(
                "{} is after today ({today}): report an activity once it is done",
                draft.completed_on
            ),
        ));
    }
    Ok(())
}

/// Everything a preview and a save compute alike, for `professional_id`.
struct Worked {
    proposal: Proposal,
    placements: Vec<Placement>,
}

async fn work_out(
    db: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    professional: &professionals::Model,
    draft: &Draft,
    leave_out: Option<Uuid>,
) -> Result<Worked, SelfReportError> {
    let today = today_for(professional);
    check_fields(draft, today)?;
    let slice = LedgerSlice::load(db, &[professional.id]).await?;
    let mut inputs = slice.placement_inputs(catalog, professional.id, today)?;
    if let Some(id) = leave_out {
        // An edit replaces this credit: it must not compete with its own replacement.
        let id = id.to_string();
        inputs.credits.retain(|c| c.id != id);
    }
    // The rule versions in force on the activity's date, one per scheme held.
    let mut held: Vec<&SchemeDefinition> = Vec::new();
    for holding in slice.holdings_of(professional.id) {
        if held.iter().any(|s| s.id == holding.scheme_id) {
            continue;
        }
        let in_force = catalog
            .in_force_on(&holding.scheme_id, draft.completed_on)
            .or_else(|| catalog.in_force_on(&holding.scheme_id, today));
        if let Some(loaded) = in_force {
            held.push(&loaded.definition);
        }
    }
    let proposal = rules::propose(&held, draft.hours, draft.claims.as_deref())?;
    let placements = rules::place(
        &inputs.holdings,
        &inputs.without_cycle,
        &inputs.credits,
        draft.completed_on,
        &proposal.claims,
        &inputs.schemes,
        today,
    );
    Ok(Worked {
        proposal,
        placements,
    })
}

async fn professional(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<professionals::Model, SelfReportError> {
    professionals::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(SelfReportError::NotFound)
}

/// How `draft` would be recorded and where it would count. Writes nothing.
pub async fn preview(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    professional_id: Uuid,
    draft: &Draft,
) -> Result<Preview, SelfReportError> {
    let person = professional(db, professional_id).await?;
    let worked = work_out(db, catalog, &person, draft, None).await?;
    Ok(preview_of(worked))
}

fn preview_of(worked: Worked) -> Preview {
    let Worked {
        proposal,
        placements,
    } = worked;
    Preview {
        state: if proposal.review_required {
            CreditState::Pending
        } else {
            CreditState::Approved
        },
        evidence_required: proposal
            .evidence_required
            .iter()
            .map(|(_, scheme)| scheme.clone())
            .collect(),
        activity_type: proposal.activity_type,
        claims: proposal.claims,
        placements,
    }
}

/// What saving checks beyond the preview: the evidence is the caller's and is there where a
/// scheme needs it, and each scheme claimed has a holding whose cycle holds the date.
async fn check_for_save(
    db: &impl ConnectionTrait,
    professional_id: Uuid,
    draft: &Draft,
    worked: &Worked,
) -> Result<Option<EvidenceMeta>, SelfReportError> {
    let evidence = match draft.evidence_id {
        Some(id) => Some(
            evidence::owned_by(db, professional_id, id)
                .await?
                .ok_or_else(|| invalid("evidence_id", "no evidence file of yours has this id"))?,
        ),
        None => None,
    };
    if evidence.is_none()
        && let Some((i, scheme)) = worked.proposal.evidence_required.first()
    {
        let kind = &worked.proposal.claims[*i].activity_type;
        return Err(invalid(
            "evidence_id",
            format!(
                "is required: scheme {scheme} asks for an evidence file for '{kind}' (claims[{i}]); upload it to /v1/me/evidence first"
            ),
        ));
    }
    for (i, claim) in worked.proposal.claims.iter().enumerate() {
        let in_a_cycle = worked.placements.iter().any(|p| {
            p.scheme_id == claim.scheme
                && !matches!(
                    p.nothing,
                    Some(rules::NothingReason::OutsideCycle | rules::NothingReason::NoCycle)
                )
        });
        if !in_a_cycle {
            return Err(invalid(
                "completed_on",
                format!(
                    "{} is outside the current cycle of every {} holding of yours, so claims[{i}] would count for nothing",
                    draft.completed_on, claim.scheme
                ),
            ));
        }
    }
    Ok(evidence)
}

/// Records `draft` as a self-reported credit of `professional_id`.
pub async fn record(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    actor: &Actor,
    professional_id: Uuid,
    draft: &Draft,
) -> Result<OwnCredit, SelfReportError> {
    save(db, catalog, actor, professional_id, draft, None).await
}

/// Edits the caller's own pending credit `id`: it is voided and `draft` recorded in its place.
pub async fn edit(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    actor: &Actor,
    professional_id: Uuid,
    id: Uuid,
    draft: &Draft,
) -> Result<OwnCredit, SelfReportError> {
    changeable(db, professional_id, id).await?;
    save(db, catalog, actor, professional_id, draft, Some(id)).await
}

/// The caller's credit `id` when they may still change it: their own, self-reported, pending.
async fn changeable(
    db: &impl ConnectionTrait,
    professional_id: Uuid,
    id: Uuid,
) -> Result<credits::Model, SelfReportError> {
    let credit = credits::Entity::find_by_id(id)
        .filter(credits::Column::ProfessionalId.eq(professional_id))
        .one(db)
        .await?
        .ok_or(SelfReportError::NotFound)?;
    if credit.source != CreditSource::SelfReported {
        return Err(SelfReportError::NotChangeable(
            "this credit was not reported by you; it is corrected only through the ledger's void-and-replace, by the certification body's staff".to_owned(),
        ));
    }
    match credit.state {
        CreditState::Pending => Ok(credit),
        CreditState::Approved => Err(SelfReportError::NotChangeable(
            "this credit is approved; an approved credit is corrected only through the ledger's void-and-replace, by the certification body's staff".to_owned(),
        )),
        CreditState::Rejected => Err(SelfReportError::NotChangeable(
            "this credit was rejected; report the activity again instead".to_owned(),
        )),
        CreditState::Voided => Err(SelfReportError::NotChangeable(
            "this credit was voided (withdrawn or replaced) and cannot change".to_owned(),
        )),
    }
}

/// Withdraws the caller's own pending credit `id` (voided, with the reason).
pub async fn withdraw(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    actor: &Actor,
    professional_id: Uuid,
    id: Uuid,
) -> Result<OwnCredit, SelfReportError> {
    changeable(db, professional_id, id).await?;
    let txn = super::begin_write(db).await?;
    ledger::void_in(&txn, id, "withdrawn by the professional", actor).await?;
    standing_projection::refresh(&txn, catalog, &[professional_id]).await?;
    txn.commit().await?;
    own(db, professional_id, id)
        .await?
        .ok_or(SelfReportError::NotFound)
}

async fn save(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    actor: &Actor,
    professional_id: Uuid,
    draft: &Draft,
    replaces: Option<Uuid>,
) -> Result<OwnCredit, SelfReportError> {
    let person = professional(db, professional_id).await?;
    let worked = work_out(db, catalog, &person, draft, replaces).await?;
    let evidence = check_for_save(db, professional_id, draft, &worked).await?;
    let state = if worked.proposal.review_required {
        CreditState::Pending
    } else {
        CreditState::Approved
    };

    let txn = super::begin_write(db).await?;
    if let Some(old) = replaces {
        ledger::void_in(&txn, old, "edited by the professional", actor).await?;
    }
    let id = Uuid::now_v7();
    credits::ActiveModel {
        id: Set(id),
        professional_id: Set(professional_id),
        course_id: Set(None),
        provider_id: Set(None),
        provider_reference: Set(None),
        activity_type: Set(worked.proposal.activity_type.clone()),
        title: Set(draft.title.trim().to_owned()),
        completed_on: Set(draft.completed_on),
        completed_at: Set(None),
        hours: Set(draft.hours.hundredths()),
        source: Set(CreditSource::SelfReported),
        reported_points: Set(None),
        state: Set(state),
        evidence: Set(evidence
            .as_ref()
            .map(|e| serde_json::json!({ "evidence_id": e.id }))),
        replaces_credit_id: Set(replaces),
        voided_at: Set(None),
        void_reason: Set(None),
        recorded_by: Set(actor.id.clone()),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    let claims: Vec<credit_claims::ActiveModel> = worked
        .proposal
        .claims
        .iter()
        .filter_map(|c| {
            Some(credit_claims::ActiveModel {
                id: Set(Uuid::now_v7()),
                credit_id: Set(id),
                scheme_id: Set(c.scheme.clone()),
                activity_type: Set(c.activity_type.clone()),
                category: Set(c.category.clone()?),
                points: Set(c.points?.hundredths()),
            })
        })
        .collect();
    if !claims.is_empty() {
        credit_claims::Entity::insert_many(claims)
            .exec(&txn)
            .await?;
    }
    self_reports::ActiveModel {
        credit_id: Set(id),
        provider_name: Set(draft.provider_name.trim().to_owned()),
        evidence_id: Set(evidence.as_ref().map(|e| e.id)),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        Event {
            action: "credit.self_reported",
            subject_kind: "credit",
            subject_id: Some(id.to_string()),
            before: None,
            after: Some(serde_json::json!({
                "professional_id": professional_id,
                "title": draft.title.trim(),
                "provider_name": draft.provider_name.trim(),
                "completed_on": draft.completed_on,
                "hours": draft.hours,
                "state": state,
                "replaces": replaces,
                "evidence_id": evidence.as_ref().map(|e| e.id),
                "claims": worked.proposal.claims,
            })),
        },
    )
    .await?;
    standing_projection::refresh(&txn, catalog, &[professional_id]).await?;
    txn.commit().await?;
    own(db, professional_id, id)
        .await?
        .ok_or(SelfReportError::NotFound)
}

/// The caller's credit `id`, of any source; another's is not found.
pub async fn own(
    db: &impl ConnectionTrait,
    professional_id: Uuid,
    id: Uuid,
) -> Result<Option<OwnCredit>, DbErr> {
    let Some(credit) = credits::Entity::find_by_id(id)
        .filter(credits::Column::ProfessionalId.eq(professional_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(describe(db, vec![credit]).await?.into_iter().next())
}

/// The caller's credits of every source, newest first: those recorded before `before` (an id
/// of the previous page), at most `limit`.
pub async fn list_own(
    db: &impl ConnectionTrait,
    professional_id: Uuid,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<OwnCredit>, DbErr> {
    let mut query = credits::Entity::find()
        .filter(credits::Column::ProfessionalId.eq(professional_id))
        .order_by_desc(credits::Column::CreatedAt)
        .order_by_desc(credits::Column::Id)
        .limit(limit);
    if let Some(before) = before {
        let Some(anchor) = credits::Entity::find_by_id(before)
            .filter(credits::Column::ProfessionalId.eq(professional_id))
            .one(db)
            .await?
        else {
            return Ok(Vec::new());
        };
        query = query.filter(
            sea_orm::Condition::any()
                .add(credits::Column::CreatedAt.lt(anchor.created_at))
                .add(
                    sea_orm::Condition::all()
                        .add(credits::Column::CreatedAt.eq(anchor.created_at))
                        .add(credits::Column::Id.lt(anchor.id)),
                ),
        );
    }
    let rows = query.all(db).await?;
    describe(db, rows).await
}

/// Credits with their claims, self-report details, evidence and latest review.
pub async fn describe(
    db: &impl ConnectionTrait,
    rows: Vec<credits::Model>,
) -> Result<Vec<OwnCredit>, DbErr> {
    let ids: Vec<Uuid> = rows.iter().map(|c| c.id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut claims: HashMap<Uuid, Vec<ListedClaim>> = HashMap::new();
    let mut reports: HashMap<Uuid, self_reports::Model> = HashMap::new();
    let mut reviews: HashMap<Uuid, ReviewNote> = HashMap::new();
    for chunk in ids.chunks(500) {
        for claim in credit_claims::Entity::find()
            .filter(credit_claims::Column::CreditId.is_in(chunk.iter().copied()))
            .order_by_asc(credit_claims::Column::SchemeId)
            .order_by_asc(credit_claims::Column::Category)
            .all(db)
            .await?
        {
            claims
                .entry(claim.credit_id)
                .or_default()
                .push(ListedClaim {
                    scheme: claim.scheme_id,
                    activity_type: claim.activity_type,
                    category: claim.category,
                    points: Points::from_hundredths(claim.points),
                });
        }
        for report in self_reports::Entity::find()
            .filter(self_reports::Column::CreditId.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            reports.insert(report.credit_id, report);
        }
        for review in credit_reviews::Entity::find()
            .filter(credit_reviews::Column::CreditId.is_in(chunk.iter().copied()))
            .order_by_asc(credit_reviews::Column::ReviewedAt)
            .all(db)
            .await?
        {
            reviews.insert(
                review.credit_id,
                ReviewNote {
                    decision: review.decision,
                    reason: review.reason,
                    reviewed_at: review.reviewed_at,
                },
            );
        }
    }
    let evidence_ids: Vec<Uuid> = reports.values().filter_map(|r| r.evidence_id).collect();
    let files: HashMap<Uuid, EvidenceMeta> = evidence::metas(db, &evidence_ids)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    Ok(rows
        .into_iter()
        .map(|c| {
            let report = reports.remove(&c.id);
            OwnCredit {
                claims: claims.remove(&c.id).unwrap_or_default(),
                provider_name: report.as_ref().map(|r| r.provider_name.clone()),
                evidence: report
                    .as_ref()
                    .and_then(|r| r.evidence_id)
                    .and_then(|e| files.get(&e).cloned()),
                review: reviews.remove(&c.id),
                id: c.id,
                title: c.title,
                completed_on: c.completed_on,
                hours: Points::from_hundredths(c.hours),
                activity_type: c.activity_type,
                source: c.source,
                state: c.state,
                replaces_credit_id: c.replaces_credit_id,
                void_reason: c.void_reason,
                created_at: c.created_at,
            }
        })
        .collect())
}
