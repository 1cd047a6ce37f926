//! `/v1/procurement`: what buyers' systems may check about a certified professional.
//!
//! Only always-disclosed facts leave here: the holding's status, the end of its current cycle,
//! and whether it is in good standing. Never names, points or credits.

use axum::extract::State;
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::callers::ClientCaller;
use crate::http::extract::{Json, Path};
use crate::http::problem::Problem;
use crate::services::holdings::HoldingStatus;
use crate::services::procurement;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(holding))
}

/// The public status of one holding.
#[derive(Serialize, ToSchema)]
pub struct HoldingStatusView {
    /// Scheme id, e.g. `cissp`.
    pub scheme: String,
    pub registration_number: String,
    /// `active`, `suspended`, `lapsed` or `revoked`.
    #[schema(value_type = String, example = "active")]
    pub status: HoldingStatus,
    /// Last day of the current renewal cycle; absent when no cycle is on record.
    pub valid_until: Option<NaiveDate>,
    /// The holding is active and its continuing-education standing has not lapsed.
    pub in_good_standing: bool,
}

/// Check one holding by scheme and registration number (scope `procurement:read`).
#[utoipa::path(get, path = "/v1/procurement/holdings/{scheme}/{registration_number}",
    tag = "procurement",
    params(
        ("scheme" = String, Path, description = "Scheme id, e.g. `cissp`"),
        ("registration_number" = String, Path, description = "The holder's number in that scheme"),
    ),
    security(("bearer" = ["procurement:read"])),
    responses(
        (status = 200, description = "The holding's public status", body = HoldingStatusView),
        (status = 403, description = "The token lacks `procurement:read`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such holding", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn holding(
    State(state): State<AppState>,
    caller: ClientCaller,
    path: Result<Path<(String, String)>, Problem>,
) -> Result<Json<HoldingStatusView>, Problem> {
    // The scope is checked before the path is read: a caller without it learns nothing more.
    caller.require("procurement:read")?;
    let Path((scheme, registration_number)) = path?;
    let found =
        procurement::holding_status(&state.db, &state.schemes, &scheme, &registration_number)
            .await?
            .ok_or_else(|| Problem::not_found("holding"))?;
    Ok(Json(HoldingStatusView {
        scheme: found.scheme,
        registration_number: found.registration_number,
        status: found.status,
        valid_until: found.valid_until,
        in_good_standing: found.in_good_standing,
    }))
}
