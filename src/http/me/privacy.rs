//! `/v1/me/consents` and `/v1/me/disclosures`: what a professional lets buyers and the public
//! registry see, and who has looked them up.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::http::callers::ProfessionalCaller;
use crate::http::extract::{Json, Query};
use crate::http::problem::Problem;
use crate::services::audit::Actor;
use crate::services::consents::{self, Audience, Consents};
use crate::services::disclosures;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_consents, put_consents))
        .routes(routes!(list_disclosures))
}

/// What one audience may see beyond the always-public fields (scheme, registration number,
/// status, valid-until).
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct ConsentChoice {
    /// Legal and display name.
    pub name: bool,
    /// The organisations whose membership the professional confirmed.
    pub employer: bool,
    /// The courses on the professional's ledger.
    pub course_history: bool,
}

impl From<Consents> for ConsentChoice {
    fn from(c: Consents) -> Self {
        Self {
            name: c.name,
            employer: c.employer,
            course_history: c.course_history,
        }
    }
}

impl From<ConsentChoice> for Consents {
    fn from(c: ConsentChoice) -> Self {
        Self {
            name: c.name,
            employer: c.employer,
            course_history: c.course_history,
        }
    }
}

/// The caller's choices, per audience.
#[derive(Serialize, ToSchema)]
pub struct ConsentsView {
    /// What procurement systems may see.
    pub procurement: ConsentChoice,
    /// What the public registry page may show.
    pub public_registry: ConsentChoice,
}

/// New choices; an audience left out keeps its current choice.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentsUpdate {
    pub procurement: Option<ConsentChoice>,
    pub public_registry: Option<ConsentChoice>,
}

async fn current(state: &AppState, professional_id: Uuid) -> Result<ConsentsView, Problem> {
    let all = consents::all_of(&state.db, professional_id).await?;
    let of = |a: Audience| ConsentChoice::from(all.get(&a).copied().unwrap_or_default());
    Ok(ConsentsView {
        procurement: of(Audience::Procurement),
        public_registry: of(Audience::PublicRegistry),
    })
}

/// What the caller lets procurement systems and the public registry see.
#[utoipa::path(get, path = "/v1/me/consents", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's choices; all false until they choose", body = ConsentsView),
    ))]
pub async fn get_consents(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
) -> Result<Json<ConsentsView>, Problem> {
    Ok(Json(current(&state, caller.professional_id).await?))
}

/// Change what the caller lets procurement systems and the public registry see. Every change
/// is audit-logged.
#[utoipa::path(put, path = "/v1/me/consents", tag = "me", security(("bearer" = [])),
    request_body = ConsentsUpdate,
    responses(
        (status = 200, description = "The choices now in force", body = ConsentsView),
        (status = 422, description = "The body is not a set of choices", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_consents(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
    body: Result<Json<serde_json::Value>, Problem>,
) -> Result<Json<ConsentsView>, Problem> {
    let Json(body) = body?;
    // serde reads a struct from an array too; the document promises an object.
    if !body.is_object() {
        return Err(Problem::invalid_field("body", "must be a JSON object"));
    }
    let update: ConsentsUpdate =
        serde_json::from_value(body).map_err(|e| Problem::invalid_field("body", e.to_string()))?;
    let actor = Actor::user(caller.user.id);
    for (audience, choice) in [
        (Audience::Procurement, update.procurement),
        (Audience::PublicRegistry, update.public_registry),
    ] {
        if let Some(choice) = choice {
            consents::set(
                &state.db,
                &actor,
                caller.professional_id,
                audience,
                choice.into(),
            )
            .await?;
        }
    }
    Ok(Json(current(&state, caller.professional_id).await?))
}

/// Largest page of the disclosure log.
const MAX_PAGE: u64 = 200;

/// Newest first; pass the previous page's `next_before` as `before`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DisclosurePageQuery {
    /// Return reads older than the one with this id.
    before: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u64>,
}

/// One procurement read of one of the caller's holdings.
#[derive(Serialize, ToSchema)]
pub struct DisclosureView {
    pub id: Uuid,
    /// When the answer was given.
    pub disclosed_at: DateTime<Utc>,
    /// The asking client's id.
    pub client_id: String,
    /// The asking client's name, as the certification body registered it.
    pub client_name: Option<String>,
    pub scheme: String,
    pub registration_number: String,
    /// The fields the answer carried, e.g. `status`, `valid_until`, `name`.
    pub fields: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DisclosurePage {
    pub items: Vec<DisclosureView>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<Uuid>,
}

/// Who looked the caller up: every procurement read of their holdings, newest first.
#[utoipa::path(get, path = "/v1/me/disclosures", tag = "me", security(("bearer" = [])),
    params(DisclosurePageQuery),
    responses(
        (status = 200, description = "One page of the disclosure log", body = DisclosurePage),
        (status = 400, description = "A bad `before` or `limit`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_disclosures(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
    query: Result<Query<DisclosurePageQuery>, Problem>,
) -> Result<Json<DisclosurePage>, Problem> {
    let Query(page) = query?;
    let limit = match page.limit {
        None => 50,
        Some(n) if (1..=MAX_PAGE).contains(&n) => n,
        Some(_) => {
            return Err(Problem::invalid_field(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            ));
        }
    };
    let items: Vec<DisclosureView> =
        disclosures::of_professional(&state.db, caller.professional_id, page.before, limit)
            .await?
            .into_iter()
            .map(|d| DisclosureView {
                id: d.id,
                disclosed_at: d.disclosed_at,
                client_id: d.client_id,
                client_name: d.client_name,
                scheme: d.scheme,
                registration_number: d.registration_number,
                fields: d.fields,
            })
            .collect();
    let next_before = (items.len() as u64 == limit)
        .then(|| items.last().map(|d| d.id))
        .flatten();
    Ok(Json(DisclosurePage { items, next_before }))
}
