//! `/v1/me/reminder-preferences`: which reminder reasons the signed-in professional receives.
//! The same choices the unsubscribe links change; the lapse notice is always sent.

use std::collections::BTreeMap;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::reminders::Reason;
use crate::http::callers::ProfessionalCaller;
use crate::http::extract::Json;
use crate::http::problem::Problem;
use crate::services::audit::Actor;
use crate::services::reminder_preferences;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_preferences, put_preferences))
}

/// Whether each reminder reason is sent to the caller.
#[derive(Serialize, ToSchema)]
pub struct ReminderPreferences {
    /// The renewal deadline is near (180, 90, 30 and 7 days before it, or the scheme's own
    /// thresholds) and the certification is still short.
    pub approaching: bool,
    /// The deadline has passed; the certification is in its grace period.
    pub due: bool,
    /// A cycle year is about to end short of its minimum.
    pub year_minimum: bool,
    /// A required course (RISS: the year's online course, the cycle's practical course) is not
    /// taken yet.
    pub slot: bool,
    /// A congratulation when a renewal is complete.
    pub complete: bool,
    /// The notice that a certification has lapsed: always `true`, it cannot be turned off.
    pub lapsed: bool,
}

impl From<&BTreeMap<Reason, bool>> for ReminderPreferences {
    fn from(p: &BTreeMap<Reason, bool>) -> Self {
        let of = |r: Reason| p.get(&r).copied().unwrap_or(true);
        Self {
            approaching: of(Reason::Approaching),
            due: of(Reason::Due),
            year_minimum: of(Reason::YearMinimum),
            slot: of(Reason::Slot),
            complete: of(Reason::Complete),
            lapsed: true,
        }
    }
}

/// New choices; a reason left out keeps its current choice. `lapsed: false` is refused.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReminderPreferencesUpdate {
    pub approaching: Option<bool>,
    pub due: Option<bool>,
    pub year_minimum: Option<bool>,
    pub slot: Option<bool>,
    pub complete: Option<bool>,
    /// Only `true` is accepted: the lapse notice is always sent.
    #[schema(schema_with = always_true)]
    pub lapsed: Option<bool>,
}

/// `lapsed` in an update: `true`, `null` or left out (both keep it on), as the document states it.
fn always_true() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Boolean, Type::Null]))
        .enum_values(Some([
            serde_json::Value::Bool(true),
            serde_json::Value::Null,
        ]))
        .description(Some(
            "Only `true`: the notice that a certification has lapsed cannot be turned off",
        ))
        .build()
}

impl ReminderPreferencesUpdate {
    fn changes(&self) -> Vec<(Reason, bool)> {
        [
            (Reason::Approaching, self.approaching),
            (Reason::Due, self.due),
            (Reason::YearMinimum, self.year_minimum),
            (Reason::Slot, self.slot),
            (Reason::Complete, self.complete),
            (Reason::Lapsed, self.lapsed),
        ]
        .into_iter()
        .filter_map(|(reason, choice)| choice.map(|c| (reason, c)))
        .collect()
    }
}

/// Which reminder reasons the caller receives; every one until they choose otherwise.
#[utoipa::path(get, path = "/v1/me/reminder-preferences", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's choices", body = ReminderPreferences),
    ))]
pub async fn get_preferences(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
) -> Result<Json<ReminderPreferences>, Problem> {
    let preferences = reminder_preferences::of(&state.db, caller.professional_id).await?;
    Ok(Json((&preferences).into()))
}

/// Turn reminder reasons on or off for the caller, including those stopped by an unsubscribe
/// link. The lapse notice cannot be turned off. Every change is audit-logged.
#[utoipa::path(put, path = "/v1/me/reminder-preferences", tag = "me", security(("bearer" = [])),
    request_body = ReminderPreferencesUpdate,
    responses(
        (status = 200, description = "The choices now in force", body = ReminderPreferences),
        (status = 422, description = "The body is not a set of choices, or turns the lapse notice off (the error names `lapsed`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_preferences(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
    body: Result<Json<serde_json::Value>, Problem>,
) -> Result<Json<ReminderPreferences>, Problem> {
    let Json(body) = body?;
    // serde reads a struct from an array too; the document promises an object.
    if !body.is_object() {
        return Err(Problem::invalid_field("body", "must be a JSON object"));
    }
    let update: ReminderPreferencesUpdate =
        serde_json::from_value(body).map_err(|e| Problem::invalid_field("body", e.to_string()))?;
    let preferences = reminder_preferences::set(
        &state.db,
        &Actor::user(caller.user.id),
        caller.professional_id,
        &update.changes(),
    )
    .await?;
    Ok(Json((&preferences).into()))
}
