//! `/v1/me/holdings/{id}/plan`: the catalogue courses that would close a holding's gaps.

use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::http::callers::ProfessionalCaller;
use crate::http::extract::{Json, Path, Query};
use crate::http::problem::Problem;
use crate::services::holdings;
use crate::services::planner::{self, PlanBy, RenewalPlan};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(holding_plan))
}

#[derive(Deserialize, IntoParams, Debug, Default)]
#[into_params(parameter_in = Query)]
pub struct PlanQuery {
    /// `hours` (default): the fewest hours; `fee`: the lowest fee, among courses with a fee in
    /// `currency`.
    pub by: Option<PlanBy>,
    /// ISO 4217 code of the fees a plan by fee compares; `JPY` when absent.
    #[param(pattern = "^[A-Za-z]{3}$")]
    pub currency: Option<String>,
}

/// A renewal plan for one holding: the set of catalogue courses, held after today and by the
/// deadline by accredited providers, that closes every gap it can (the total, the category
/// minimums, the required yearly minimum, the required courses) with the fewest hours or the
/// lowest fee. Each course says every holding of the caller it would count toward, so one
/// course may close gaps in several. Credits pending review are assumed approved. A holding
/// with nothing missing gets an empty plan.
#[utoipa::path(get, path = "/v1/me/holdings/{id}/plan", tag = "me", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The holding's id"), PlanQuery),
    responses(
        (status = 200, description = "The plan, computed now from the ledger and the catalogue", body = RenewalPlan),
        (status = 404, description = "No such holding among the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The holding has no renewal cycle on record", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter is malformed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn holding_plan(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
    Path(id): Path<Uuid>,
    Query(query): Query<PlanQuery>,
) -> Result<Json<RenewalPlan>, Problem> {
    let currency = match query.currency.as_deref() {
        Some(code) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Some(code)
        }
        Some(code) => {
            return Err(Problem::invalid_field(
                "currency",
                format!("'{code}' is not an ISO 4217 code such as JPY"),
            ));
        }
        None => None,
    };
    // Someone else's holding is simply not found.
    let holding = holdings::owned_by(&state.db, caller.professional_id, id)
        .await?
        .ok_or_else(|| Problem::not_found("holding"))?;
    let plan = planner::for_holding(
        &state.db,
        &state.schemes,
        &holding,
        query.by.unwrap_or_default(),
        currency,
    )
    .await?;
    Ok(Json(plan))
}
