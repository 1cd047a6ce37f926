//! `GET /v1/me/holdings/{id}/history`: a holding's renewal history (every cycle with its dates
//! and outcome, and the audit events about each). Someone else's holding answers 404, like
//! one that does not exist.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::http::callers::ProfessionalCaller;
use crate::http::extract::{Json, Path};
use crate::http::problem::Problem;
use crate::services::holdings;
use crate::services::renewal_history::{self, HoldingHistory};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(holding_history))
}

/// One of the caller's holdings with its cycles, newest first: each cycle's first and last
/// valid day, the rules that judge it, its outcome (`renewed`, `lapsed`, or none while open)
/// and the audited changes that closed it, recorded by the ledger's renewal or by the
/// certification body's registry.
#[utoipa::path(get, path = "/v1/me/holdings/{id}/history", tag = "me", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The holding's id")),
    responses(
        (status = 200, description = "The holding's renewal history", body = HoldingHistory),
        (status = 404, description = "No such holding among the caller's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn holding_history(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
    Path(id): Path<Uuid>,
) -> Result<Json<HoldingHistory>, Problem> {
    let holding = holdings::owned_by(&state.db, caller.professional_id, id)
        .await?
        .ok_or_else(|| Problem::not_found("holding"))?;
    Ok(Json(
        renewal_history::of_holding(&state.db, &holding).await?,
    ))
}
