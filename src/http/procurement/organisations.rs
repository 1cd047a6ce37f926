//! `/v1/procurement/organizations/{id}/standing`: how many of a vendor's confirmed staff hold
//! a scheme (or a level of the ladder) in good standing, and who of them consented to be named.

use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{LevelQuery, LevelView};
use crate::app::AppState;
use crate::domain::standing::StandingState;
use crate::http::callers::ClientCaller;
use crate::http::extract::{Json, Path, Query};
use crate::http::problem::Problem;
use crate::services::organisations::{self, StaffQuery};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(staff_standing))
}

/// Which holdings count: of `scheme`, at `min_level` or above, or both (at least one).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StaffStandingQuery {
    /// Scheme id, e.g. `riss` (any case).
    scheme: Option<String>,
    /// A level of the ladder, e.g. `practitioner`: holdings at it or above count.
    min_level: Option<String>,
}

/// A member of staff in good standing who consented to be named to buyers.
#[derive(Serialize, ToSchema)]
pub struct NamedStaffView {
    pub name: String,
    pub scheme: String,
    pub registration_number: String,
    #[schema(value_type = Option<String>, example = "on_track")]
    pub standing: Option<StandingState>,
    pub valid_until: Option<NaiveDate>,
    pub level: Option<LevelView>,
}

#[derive(Serialize, ToSchema)]
pub struct StaffStandingView {
    pub organization_id: Uuid,
    pub organization_name: String,
    /// The scheme asked for, if any.
    pub scheme: Option<String>,
    /// The minimum level asked for, if any.
    pub min_level: Option<String>,
    /// Members whose membership both they and the organisation confirmed.
    pub confirmed_staff: usize,
    /// Confirmed members with at least one qualifying holding in good standing.
    pub in_good_standing: usize,
    /// Those of them who consented to be named, with each qualifying holding.
    pub named: Vec<NamedStaffView>,
    pub answered_at: DateTime<Utc>,
}

/// How an organisation's confirmed staff stand (scope `procurement:read`).
#[utoipa::path(get, path = "/v1/procurement/organizations/{id}/standing", tag = "procurement",
    params(("id" = Uuid, Path, description = "The organisation's id"), StaffStandingQuery),
    security(("bearer" = ["procurement:read"])),
    responses(
        (status = 200, description = "Counts, and the staff who consented to be named", body = StaffStandingView),
        (status = 403, description = "The token lacks `procurement:read`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Neither `scheme` nor `min_level`, an unknown scheme, or a level not on the ladder", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn staff_standing(
    State(state): State<AppState>,
    caller: ClientCaller,
    path: Result<Path<Uuid>, Problem>,
    query: Result<Query<StaffStandingQuery>, Problem>,
) -> Result<Json<StaffStandingView>, Problem> {
    caller.require("procurement:read")?;
    let Path(id) = path?;
    let Query(query) = query?;
    let min_level = LevelQuery::of(query.min_level.clone()).level(&state)?;
    let scheme = query
        .scheme
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(scheme) = scheme
        && !state.schemes.contains(scheme)
    {
        return Err(Problem::invalid_field(
            "scheme",
            state.schemes.unknown(scheme),
        ));
    }
    if scheme.is_none() && min_level.is_none() {
        return Err(Problem::invalid_field(
            "scheme",
            "name a scheme, a min_level, or both",
        ));
    }
    let asked = StaffQuery {
        scheme: scheme.map(str::to_owned),
        min_level,
    };
    let found = organisations::staff_standing(
        &state.read_db,
        &state.db,
        &state.schemes,
        &caller.client.client_id,
        id,
        &asked,
    )
    .await?
    .ok_or_else(|| Problem::not_found("organization"))?;
    Ok(Json(StaffStandingView {
        organization_id: found.organisation.id,
        organization_name: found.organisation.name,
        scheme: asked.scheme.map(|s| s.to_ascii_lowercase()),
        min_level: asked.min_level.map(|l| l.id),
        confirmed_staff: found.confirmed_staff,
        in_good_standing: found.in_good_standing,
        named: found
            .named
            .into_iter()
            .map(|n| NamedStaffView {
                name: n.name,
                scheme: n.scheme,
                registration_number: n.registration_number,
                standing: n.state,
                valid_until: n.valid_until,
                level: n.level.map(LevelView::from),
            })
            .collect(),
        answered_at: found.answered_at,
    }))
}
