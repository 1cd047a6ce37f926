//! `/v1/me/*`: a professional reads their own profile, holdings and standing.
//!
//! A holding id that is not the caller's answers 404, exactly like one that does not exist, so
//! ids cannot be probed.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use chrono::NaiveDate;
use entity::{cycles, holdings, professionals};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::http::auth::ProfessionalCaller;
use crate::http::problem::Problem;
use crate::services::standing::{self, HoldingStanding, StandingError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(profile))
        .routes(routes!(list_holdings))
        .routes(routes!(holding_standing))
}

#[derive(Serialize, ToSchema)]
pub struct Profile {
    pub email: String,
    pub legal_name: String,
    pub legal_name_kana: Option<String>,
    pub display_name: Option<String>,
    /// BCP 47 language tag.
    pub locale: String,
    /// IANA time zone; dates that decide standing are computed in it.
    pub time_zone: String,
}

#[derive(Serialize, ToSchema)]
pub struct CycleSummary {
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
}

#[derive(Serialize, ToSchema)]
pub struct HoldingSummary {
    pub id: Uuid,
    /// Scheme id, e.g. `riss` or `cissp`.
    pub scheme: String,
    pub registration_number: String,
    pub certified_on: NaiveDate,
    /// `active`, `suspended`, `lapsed` or `revoked`.
    pub status: String,
    /// The cycle being judged today (the latest that has started), if any.
    pub current_cycle: Option<CycleSummary>,
}

async fn own_professional(
    state: &AppState,
    caller: &ProfessionalCaller,
) -> Result<professionals::Model, Problem> {
    professionals::Entity::find_by_id(caller.professional_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| Problem::not_found("professional"))
}

/// The caller's profile.
#[utoipa::path(get, path = "/v1/me", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's profile", body = Profile),
        (status = 403, description = "The account is not linked to a professional", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn profile(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
) -> Result<Json<Profile>, Problem> {
    let person = own_professional(&state, &caller).await?;
    Ok(Json(Profile {
        email: caller.user.email.clone(),
        legal_name: person.legal_name,
        legal_name_kana: person.legal_name_kana,
        display_name: person.display_name,
        locale: person.locale,
        time_zone: person.time_zone,
    }))
}

/// The caller's certifications.
#[utoipa::path(get, path = "/v1/me/holdings", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, description = "Every holding of the caller", body = [HoldingSummary]),
    ))]
pub async fn list_holdings(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
) -> Result<Json<Vec<HoldingSummary>>, Problem> {
    let person = own_professional(&state, &caller).await?;
    let today = standing::today_for(&person);
    let own = holdings::Entity::find()
        .filter(holdings::Column::ProfessionalId.eq(caller.professional_id))
        .order_by_asc(holdings::Column::SchemeId)
        .order_by_asc(holdings::Column::RegistrationNumber)
        .all(&state.db)
        .await?;
    let all_cycles = cycles::Entity::find()
        .filter(cycles::Column::HoldingId.is_in(own.iter().map(|h| h.id)))
        .order_by_asc(cycles::Column::StartsOn)
        .all(&state.db)
        .await?;
    let summaries = own
        .into_iter()
        .map(|h| {
            let mine = all_cycles.iter().filter(|c| c.holding_id == h.id);
            let current = mine
                .clone()
                .rfind(|c| c.starts_on <= today)
                .or_else(|| mine.clone().next())
                .map(|c| CycleSummary {
                    starts_on: c.starts_on,
                    ends_on: c.ends_on,
                });
            HoldingSummary {
                id: h.id,
                scheme: h.scheme_id,
                registration_number: h.registration_number,
                certified_on: h.certified_on,
                status: serde_json::to_value(h.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                current_cycle: current,
            }
        })
        .collect();
    Ok(Json(summaries))
}

/// Where one of the caller's holdings stands toward renewal today.
#[utoipa::path(get, path = "/v1/me/holdings/{id}/standing", tag = "me", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The holding's id")),
    responses(
        (status = 200, description = "The standing, computed now from the ledger", body = serde_json::Value),
        (status = 404, description = "No such holding among the caller's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn holding_standing(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
    id: Result<Path<Uuid>, PathRejection>,
) -> Result<Json<HoldingStanding>, Problem> {
    let Path(id) = id?;
    // Filtering by owner in the query itself: someone else's holding is simply not found.
    let holding = holdings::Entity::find_by_id(id)
        .filter(holdings::Column::ProfessionalId.eq(caller.professional_id))
        .one(&state.db)
        .await?
        .ok_or_else(|| Problem::not_found("holding"))?;
    match standing::for_holding(&state.db, &state.schemes, &holding, None).await {
        Ok(s) => Ok(Json(s)),
        Err(StandingError::NoCycle(_)) => Err(Problem::new(
            axum::http::StatusCode::CONFLICT,
            "this holding has no renewal cycle on record yet",
        )),
        Err(StandingError::Db(e)) => Err(e.into()),
        Err(e) => Err(Problem::internal(&e)),
    }
}
