//! `/v1/me/*`: a professional reads their own profile, holdings and standing, and reports
//! their own activities with evidence ([`credits`]).
//!
//! A holding id that is not the caller's answers 404, exactly like one that does not exist, so
//! ids cannot be probed.

use std::sync::Arc;

use axum::extract::State;
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::standing::last_day_before;
use crate::http::callers::ProfessionalCaller;
use crate::http::extract::{Json, Path};
use crate::http::problem::Problem;
use crate::services::holdings::{self, HoldingStatus, Professional};
use crate::services::standing::{self, HoldingDashboard};

mod audit_requests;
pub(crate) mod credits;
mod history;
mod memberships;
mod plan;
mod privacy;
pub(crate) mod records;
mod reminder_preferences;
mod settings;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(plan::router())
        .merge(privacy::router())
        .merge(credits::router())
        .merge(history::router())
        .merge(audit_requests::router())
        .merge(memberships::router())
        .merge(reminder_preferences::router())
        .merge(records::router())
        .merge(settings::router())
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
    /// First day of the cycle.
    pub starts_on: NaiveDate,
    /// The expiry date: the cycle's last valid day.
    pub expires_on: NaiveDate,
}

#[derive(Serialize, ToSchema)]
pub struct HoldingSummary {
    pub id: Uuid,
    /// Scheme id, e.g. `riss` or `cissp`.
    pub scheme: String,
    pub registration_number: String,
    pub certified_on: NaiveDate,
    /// `active`, `suspended`, `lapsed` or `revoked`.
    #[schema(value_type = String)]
    pub status: HoldingStatus,
    /// The cycle being judged today (the latest that has started), if any.
    pub current_cycle: Option<CycleSummary>,
}

async fn own_professional(
    state: &AppState,
    caller: &ProfessionalCaller,
) -> Result<Professional, Problem> {
    holdings::professional(&state.db, caller.professional_id)
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
    let summaries = holdings::of_professional(&state.db, caller.professional_id, today)
        .await?
        .into_iter()
        .map(|found| HoldingSummary {
            id: found.holding.id,
            scheme: found.holding.scheme_id,
            registration_number: found.holding.registration_number,
            certified_on: found.holding.certified_on,
            status: found.holding.status,
            current_cycle: found.current_cycle.map(|c| CycleSummary {
                starts_on: c.starts_on,
                expires_on: last_day_before(c.ends_on),
            }),
        })
        .collect();
    Ok(Json(summaries))
}

/// Where one of the caller's holdings stands toward renewal today: everything the dashboard
/// shows. The standing (points counted against the requirement, by category with minimums
/// and caps, by cycle year with the per-year minimum; the slots, and the unmet ones named in
/// Japanese and English; pending points; the last valid day, the deadline, the days left to
/// it, the state and its reasons), the scheme's name, the counted points over the cycle as a
/// series for a chart, and the recent credits with what each counted here and its source
/// (`provider` report, `self` report, or `admin` for the certification body's staff).
#[utoipa::path(get, path = "/v1/me/holdings/{id}/standing", tag = "me", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The holding's id")),
    responses(
        (status = 200, description = "The standing, computed now from the ledger", body = HoldingDashboard),
        (status = 404, description = "No such holding among the caller's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn holding_standing(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
    Path(id): Path<Uuid>,
) -> Result<Json<Arc<HoldingDashboard>>, Problem> {
    // Someone else's holding is simply not found.
    let holding = holdings::owned_by(&state.db, caller.professional_id, id)
        .await?
        .ok_or_else(|| Problem::not_found("holding"))?;
    Ok(Json(
        state
            .dashboards
            .dashboard(&state.db, &state.schemes, &holding)
            .await?,
    ))
}
