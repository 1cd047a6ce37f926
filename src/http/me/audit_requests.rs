//! `/v1/me/audit-requests`: the sample audits' requests for evidence addressed to the caller,
//! and the answer to one: an evidence file of the caller's (uploaded first at
//! `POST /v1/me/evidence`), named before the request's due day.
//!
//! A request id that is not the caller's answers 404, exactly like one that does not exist.

use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use entity::audit_requests::AuditOutcome;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::http::callers::ProfessionalCaller;
use crate::http::extract::{Json, Path};
use crate::http::problem::Problem;
use crate::services::audit::Actor;
use crate::services::sample_audit::{self, RequestView, SampleAuditError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit_requests))
        .routes(routes!(answer_audit_request))
}

/// A sample audit's request for the evidence behind one of the caller's credits.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditRequestView {
    pub id: Uuid,
    pub credit_id: Uuid,
    /// The credit's title.
    pub title: String,
    pub completed_on: NaiveDate,
    /// The scheme whose sample drew the credit.
    pub scheme: String,
    pub requested_at: DateTime<Utc>,
    /// The last day on which evidence answers the request.
    pub due_on: NaiveDate,
    /// `open`, `answered` or `expired` (no evidence in time: the credit was voided).
    #[schema(value_type = String)]
    pub outcome: AuditOutcome,
    pub evidence_id: Option<Uuid>,
    pub answered_at: Option<DateTime<Utc>>,
}

impl From<RequestView> for AuditRequestView {
    fn from(v: RequestView) -> Self {
        let r = v.request;
        Self {
            id: r.id,
            credit_id: r.credit_id,
            title: v.title,
            completed_on: v.completed_on,
            scheme: r.scheme_id,
            requested_at: r.requested_at,
            due_on: r.due_on,
            outcome: r.outcome,
            evidence_id: r.evidence_id,
            answered_at: r.answered_at,
        }
    }
}

/// The answer: one of the caller's evidence files.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditAnswer {
    /// The id `POST /v1/me/evidence` gave the file.
    pub evidence_id: Uuid,
}

impl From<SampleAuditError> for Problem {
    fn from(err: SampleAuditError) -> Self {
        match err {
            SampleAuditError::Invalid { field, message } => Problem::invalid_field(field, message),
            SampleAuditError::NotFound => Problem::not_found("audit request"),
            SampleAuditError::Conflict(detail) => Problem::conflict(detail),
            SampleAuditError::Ledger(e) => Problem::conflict(e.to_string()),
            SampleAuditError::Db(e) => e.into(),
        }
    }
}

/// The caller's audit requests, newest first, answered and expired ones too.
#[utoipa::path(get, path = "/v1/me/audit-requests", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's audit requests", body = [AuditRequestView]),
    ))]
pub async fn list_audit_requests(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
) -> Result<Json<Vec<AuditRequestView>>, Problem> {
    let listed = sample_audit::own(&state.db, caller.professional_id).await?;
    Ok(Json(listed.into_iter().map(Into::into).collect()))
}

/// Answer one of the caller's open audit requests with one of their evidence files, on or
/// before its due day.
#[utoipa::path(post, path = "/v1/me/audit-requests/{id}", tag = "me", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The audit request's id")),
    request_body = AuditAnswer,
    responses(
        (status = 200, description = "The request, answered", body = AuditRequestView),
        (status = 404, description = "No such request among the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The request was answered already, or its due day has passed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`evidence_id` names no evidence file of the caller's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn answer_audit_request(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
    Path(id): Path<Uuid>,
    body: Result<Json<AuditAnswer>, Problem>,
) -> Result<Json<AuditRequestView>, Problem> {
    // Someone else's request is not found, whatever the body says.
    if !sample_audit::is_own(&state.db, caller.professional_id, id).await? {
        return Err(Problem::not_found("audit request"));
    }
    let Json(answer) = body?;
    let answered = sample_audit::answer(
        &state.db,
        &Actor::user(caller.user.id),
        caller.professional_id,
        id,
        answer.evidence_id,
    )
    .await?;
    Ok(Json(answered.into()))
}
