//! `/v1/admin/organizations`: the certification body registers employers and vendors and
//! records their claims on staff, which each professional then confirms or declines.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::http::callers::AdminCaller;
use crate::http::extract::{Json, Path};
use crate::http::problem::Problem;
use crate::services::organisations;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_organisation))
        .routes(routes!(claim_member))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisationBody {
    /// At most 254 characters, not only spaces, no control characters.
    #[schema(
        min_length = 1,
        max_length = 254,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    /// Japanese corporate number (法人番号); unique when given.
    #[schema(max_length = 32, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub corporate_number: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OrganisationView {
    pub id: Uuid,
    pub name: String,
    pub corporate_number: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Register an organisation.
#[utoipa::path(post, path = "/v1/admin/organizations", tag = "admin",
    request_body = NewOrganisationBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = OrganisationView),
        (status = 409, description = "An organisation with that corporate number exists", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_organisation(
    State(state): State<AppState>,
    caller: AdminCaller,
    Json(body): Json<NewOrganisationBody>,
) -> Result<(StatusCode, Json<OrganisationView>), Problem> {
    let created = organisations::create(
        &state.db,
        &caller.actor,
        &body.name,
        body.corporate_number.as_deref(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(OrganisationView {
            id: created.id,
            name: created.name,
            corporate_number: created.corporate_number,
            created_at: created.created_at,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimBody {
    /// The professional's email address, as the registry holds it.
    #[schema(min_length = 1, max_length = 254)]
    pub email: String,
}

#[derive(Serialize, ToSchema)]
pub struct ClaimView {
    /// The membership's id; it counts once the professional confirms it.
    pub id: Uuid,
    pub organization_id: Uuid,
    pub professional_id: Uuid,
    pub created_at: DateTime<Utc>,
}

/// Record the organisation's claim that a professional works there (pending their
/// confirmation).
#[utoipa::path(post, path = "/v1/admin/organizations/{id}/memberships", tag = "admin",
    params(("id" = Uuid, Path, description = "The organisation's id")),
    request_body = ClaimBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The pending membership", body = ClaimView),
        (status = 404, description = "No such organisation or professional", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The organisation already claims that professional", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn claim_member(
    State(state): State<AppState>,
    caller: AdminCaller,
    path: Result<Path<Uuid>, Problem>,
    Json(body): Json<ClaimBody>,
) -> Result<(StatusCode, Json<ClaimView>), Problem> {
    let Path(id) = path?;
    let claimed = organisations::claim_member(&state.db, &caller.actor, id, &body.email).await?;
    Ok((
        StatusCode::CREATED,
        Json(ClaimView {
            id: claimed.id,
            organization_id: claimed.organisation_id,
            professional_id: claimed.professional_id,
            created_at: claimed.created_at,
        }),
    ))
}
