//! `/v1/me/memberships`: the organisations that say the caller works for them, and the
//! caller's answer. Only a membership the professional confirmed counts toward an
//! organisation's staff; declining removes the claim.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::http::callers::ProfessionalCaller;
use crate::http::extract::{Json, Path};
use crate::http::problem::Problem;
use crate::services::audit::Actor;
use crate::services::organisations::{self, Membership, Reply};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_memberships))
        .routes(routes!(confirm_membership))
        .routes(routes!(decline_membership))
}

#[derive(Serialize, ToSchema)]
pub struct MembershipView {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub organization_name: String,
    /// When the organisation's claim was recorded.
    pub claimed_at: DateTime<Utc>,
    /// `pending` until the caller confirms, then `confirmed`.
    pub state: String,
    pub confirmed_at: Option<DateTime<Utc>>,
}

impl From<Membership> for MembershipView {
    fn from(m: Membership) -> Self {
        Self {
            id: m.id,
            organization_id: m.organisation_id,
            organization_name: m.organisation_name,
            claimed_at: m.claimed_at,
            state: if m.confirmed_at.is_some() {
                "confirmed"
            } else {
                "pending"
            }
            .to_owned(),
            confirmed_at: m.confirmed_at,
        }
    }
}

/// The caller's memberships, pending and confirmed.
#[utoipa::path(get, path = "/v1/me/memberships", tag = "me", security(("bearer" = [])),
    responses((status = 200, description = "Oldest first", body = [MembershipView])))]
pub async fn list_memberships(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
) -> Result<Json<Vec<MembershipView>>, Problem> {
    Ok(Json(
        organisations::of_professional(&state.db, caller.professional_id)
            .await?
            .into_iter()
            .map(MembershipView::from)
            .collect(),
    ))
}

/// Confirm that the caller works for the organisation (again changes nothing).
#[utoipa::path(post, path = "/v1/me/memberships/{id}/confirm", tag = "me", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The membership's id")),
    responses(
        (status = 200, description = "Confirmed", body = MembershipView),
        (status = 404, description = "No such membership among the caller's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn confirm_membership(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
    path: Result<Path<Uuid>, Problem>,
) -> Result<Json<MembershipView>, Problem> {
    let Path(id) = path?;
    let confirmed = organisations::reply(
        &state.db,
        &Actor::user(caller.user.id),
        caller.professional_id,
        id,
        Reply::Confirm,
    )
    .await?
    .flatten()
    .ok_or_else(|| Problem::not_found("membership"))?;
    Ok(Json(confirmed.into()))
}

/// Decline the organisation's claim: it is removed.
#[utoipa::path(post, path = "/v1/me/memberships/{id}/decline", tag = "me", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The membership's id")),
    responses(
        (status = 204, description = "Declined and removed"),
        (status = 404, description = "No such membership among the caller's", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn decline_membership(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
    path: Result<Path<Uuid>, Problem>,
) -> Result<axum::http::StatusCode, Problem> {
    let Path(id) = path?;
    organisations::reply(
        &state.db,
        &Actor::user(caller.user.id),
        caller.professional_id,
        id,
        Reply::Decline,
    )
    .await?
    .ok_or_else(|| Problem::not_found("membership"))?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
