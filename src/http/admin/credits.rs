//! `/v1/admin/credits` and `/v1/admin/evidence`: the review queue of self-reported credits,
//! and the evidence files attached to them.

use axum::extract::State;
use axum::response::Response;
use entity::credit_reviews::ReviewDecision;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{PageQuery, next_after};
use crate::app::AppState;
use crate::http::callers::AdminCaller;
use crate::http::extract::{Json, Path, Query};
use crate::http::me::credits::{CreditView, DecisionView, evidence_response};
use crate::http::problem::Problem;
use crate::services::credit_review::{self, MAX_REASON};
use crate::services::evidence;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_pending))
        .routes(routes!(review_credit))
        .routes(routes!(get_evidence))
}

/// A pending credit with whose it is.
#[derive(Serialize, ToSchema)]
pub struct PendingCredit {
    pub professional_id: Uuid,
    /// The professional's legal name.
    pub professional_name: String,
    pub credit: CreditView,
}

#[derive(Serialize, ToSchema)]
pub struct PendingPage {
    pub items: Vec<PendingCredit>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<Uuid>,
}

/// Self-reported credits waiting for review, oldest first.
#[utoipa::path(get, path = "/v1/admin/credits/pending", tag = "admin",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of the queue", body = PendingPage),
    ))]
pub async fn list_pending(
    State(state): State<AppState>,
    _caller: AdminCaller,
    query: Result<Query<PageQuery>, Problem>,
) -> Result<Json<PendingPage>, Problem> {
    let Query(page) = query?;
    let limit = page.limit()?;
    let items: Vec<PendingCredit> = credit_review::pending(&state.db, page.after, limit)
        .await?
        .into_iter()
        .map(|q| PendingCredit {
            professional_id: q.professional_id,
            professional_name: q.professional_name,
            credit: q.credit.into(),
        })
        .collect();
    let next_after = next_after(&items, limit, |p| p.credit.id);
    Ok(Json(PendingPage { items, next_after }))
}

/// A decision on a pending credit.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    pub decision: DecisionView,
    /// Why; required to reject (the professional is told it by email).
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

/// Approve or reject a pending self-reported credit. The decision is audit-logged and the
/// professional is told by email; an approved credit counts from now on.
#[utoipa::path(post, path = "/v1/admin/credits/{id}/review", tag = "admin",
    params(("id" = Uuid, Path, description = "The credit's id")),
    request_body = ReviewBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The credit, decided", body = CreditView),
        (status = 404, description = "No such credit", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The credit is not pending", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn review_credit(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(id): Path<Uuid>,
    Json(body): Json<ReviewBody>,
) -> Result<Json<CreditView>, Problem> {
    if body
        .reason
        .as_deref()
        .is_some_and(|r| r.chars().count() > MAX_REASON)
    {
        return Err(Problem::invalid_field(
            "reason",
            format!("must be at most {MAX_REASON} characters"),
        ));
    }
    let decision = match body.decision {
        DecisionView::Approve => ReviewDecision::Approve,
        DecisionView::Reject => ReviewDecision::Reject,
    };
    let credit = credit_review::decide(
        &state.db,
        &state.schemes,
        &state.config,
        &caller.actor,
        id,
        decision,
        body.reason.as_deref(),
    )
    .await?;
    Ok(Json(credit.into()))
}

/// An evidence file, as its owner uploaded it.
#[utoipa::path(get, path = "/v1/admin/evidence/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "The file's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The file", content(
            (crate::http::me::credits::EvidenceFile = "application/pdf"),
            (crate::http::me::credits::EvidenceFile = "image/png"),
            (crate::http::me::credits::EvidenceFile = "image/jpeg"),
        )),
        (status = 404, description = "No such file", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_evidence(
    State(state): State<AppState>,
    _caller: AdminCaller,
    Path(id): Path<Uuid>,
) -> Result<Response, Problem> {
    let file = evidence::file(&state.db, None, id)
        .await?
        .ok_or_else(|| Problem::not_found("evidence"))?;
    Ok(evidence_response(file))
}
