//! `/v1/procurement`: what buyers' systems may check about certified professionals, one or a
//! thousand at a time.
//!
//! An active holding answers its status, standing state, last valid day and level, plus the
//! holder's name, employers and course history only where the holder consented (course
//! history in a batch only on request: `?include=course_history`). A holding that is not active
//! answers its status and nothing more; an unknown number answers "not found" and nothing
//! more. Every answer about a holding is in the holder's disclosure log.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::levels::Level;
use crate::domain::points::Points;
use crate::domain::standing::StandingState;
use crate::http::callers::ClientCaller;
use crate::http::extract::{Json, Path, Query};
use crate::http::problem::Problem;
use crate::services::course_history::CourseEntry;
use crate::services::holdings::HoldingStatus;
use crate::services::procurement::{self, Answer, Ask, Lookup, MAX_BATCH};

mod organisations;

/// Largest batch verify body: 1,000 pairs of long ids fit with room to spare.
const VERIFY_BODY_LIMIT: usize = 512 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(holding))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(verify))
                .layer(DefaultBodyLimit::max(VERIFY_BODY_LIMIT)),
        )
        .merge(organisations::router())
}

/// A level of the common ladder.
#[derive(Serialize, ToSchema, Clone)]
pub struct LevelView {
    /// `associate`, `practitioner`, `principal` or `chartered` with the default ladder.
    pub id: String,
    /// Higher is more senior.
    pub rank: u32,
    pub en: String,
    pub ja: String,
}

impl From<Level> for LevelView {
    fn from(l: Level) -> Self {
        Self {
            id: l.id,
            rank: l.rank,
            en: l.en,
            ja: l.ja,
        }
    }
}

/// One course of the holder's current cycle.
#[derive(Serialize, ToSchema)]
pub struct CourseView {
    /// The course or activity as it was recorded.
    pub title: String,
    /// The provider that reported it; absent for a self-reported or staff-recorded activity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The day it was completed.
    pub completed_on: NaiveDate,
    /// The points it claims in the holding's scheme.
    #[schema(value_type = f64, multiple_of = 0.01, example = 8)]
    pub points: Points,
}

impl From<CourseEntry> for CourseView {
    fn from(e: CourseEntry) -> Self {
        Self {
            title: e.title,
            provider: e.provider,
            completed_on: e.completed_on,
            points: e.points,
        }
    }
}

/// What a buyer is told about one holding it asked for.
#[derive(Serialize, ToSchema)]
pub struct HoldingAnswer {
    /// Scheme id, e.g. `cissp`.
    pub scheme: String,
    pub registration_number: String,
    /// `false`: no such holding, and nothing else is said.
    pub found: bool,
    /// When this answer was given.
    pub answered_at: DateTime<Utc>,
    /// `active`, `suspended`, `lapsed` or `revoked`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "active")]
    pub status: Option<HoldingStatus>,
    /// The holding is active and its continuing-education standing has not lapsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_good_standing: Option<bool>,
    /// `complete`, `on_track`, `at_risk`, `due` or `lapsed`; only for an active holding with a
    /// cycle on record.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "on_track")]
    pub standing: Option<StandingState>,
    /// The last valid day of the cycle being judged; only for an active holding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<NaiveDate>,
    /// Where the scheme sits on the common ladder; only for an active holding of a scheme
    /// the ladder places.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<LevelView>,
    /// Whether the holding is at `min_level` or above; only when `min_level` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meets_min_level: Option<bool>,
    /// The holder's legal name; only with the holder's consent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The organisations whose membership the holder confirmed; only with consent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employers: Option<Vec<String>>,
    /// The approved credits of the cycle being judged that count in this scheme, most recent
    /// first (at most 100); only with the holder's consent, and in a batch only when asked
    /// for with `include=course_history`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 100)]
    pub course_history: Option<Vec<CourseView>>,
}

impl From<Answer> for HoldingAnswer {
    fn from(a: Answer) -> Self {
        let found = a.found;
        Self {
            scheme: a.scheme,
            registration_number: a.registration_number,
            found: found.is_some(),
            answered_at: a.answered_at,
            status: found.as_ref().map(|d| d.status),
            in_good_standing: found.as_ref().map(|d| d.in_good_standing),
            standing: found.as_ref().and_then(|d| d.state),
            valid_until: found.as_ref().and_then(|d| d.valid_until),
            level: found
                .as_ref()
                .and_then(|d| d.level.clone())
                .map(LevelView::from),
            meets_min_level: found.as_ref().and_then(|d| d.meets_min_level),
            name: found.as_ref().and_then(|d| d.name.clone()),
            employers: found.as_ref().and_then(|d| d.employers.clone()),
            course_history: found
                .and_then(|d| d.course_history)
                .map(|h| h.into_iter().map(CourseView::from).collect()),
        }
    }
}

/// `?min_level=`: a level id of the ladder (`practitioner`, …).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LevelQuery {
    /// Answer, per holding, whether it is at this level of the ladder or above.
    min_level: Option<String>,
}

impl LevelQuery {
    pub(crate) fn of(min_level: Option<String>) -> Self {
        Self { min_level }
    }

    #[allow(
        clippy::result_large_err,
        reason = "Problem is what every handler answers with; boxing it here alone gains nothing"
    )]
    pub(crate) fn level(&self, state: &AppState) -> Result<Option<Level>, Problem> {
        // An empty `min_level=` asks for no minimum.
        let Some(asked) = self.min_level.as_deref().filter(|l| !l.trim().is_empty()) else {
            return Ok(None);
        };
        let ladder = state.schemes.ladder();
        ladder.find(asked).cloned().map(Some).ok_or_else(|| {
            Problem::invalid_field(
                "min_level",
                format!(
                    "not a level of the ladder; levels are: {}",
                    ladder.ids().join(", ")
                ),
            )
        })
    }
}

/// `?include=`: what a batch answer carries beyond its usual fields.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncludeQuery {
    /// `course_history`: the course history of each holder who consented to show it. Left out
    /// unless asked for: it is read from the ledger, not the standing projection.
    #[param(example = "course_history")]
    include: Option<String>,
}

impl IncludeQuery {
    #[allow(
        clippy::result_large_err,
        reason = "Problem is what every handler answers with; boxing it here alone gains nothing"
    )]
    fn course_history(&self) -> Result<bool, Problem> {
        let mut wanted = false;
        for part in self.include.as_deref().unwrap_or("").split(',') {
            match part.trim() {
                "" => {}
                "course_history" => wanted = true,
                _ => {
                    return Err(Problem::invalid_field(
                        "include",
                        "the one thing a batch may include is course_history",
                    ));
                }
            }
        }
        Ok(wanted)
    }
}

/// Check one holding by scheme and registration number (scope `procurement:read`). The
/// holder's course history is included when they consented to show it.
#[utoipa::path(get, path = "/v1/procurement/holdings/{scheme}/{registration_number}",
    tag = "procurement",
    params(
        ("scheme" = String, Path, description = "Scheme id, e.g. `cissp`"),
        ("registration_number" = String, Path, description = "The holder's number in that scheme"),
        LevelQuery,
    ),
    security(("bearer" = ["procurement:read"])),
    responses(
        (status = 200, description = "What the holder lets buyers see of the holding", body = HoldingAnswer),
        (status = 403, description = "The token lacks `procurement:read`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such holding", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`min_level` is not a level of the ladder", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn holding(
    State(state): State<AppState>,
    caller: ClientCaller,
    path: Result<Path<(String, String)>, Problem>,
    query: Result<Query<LevelQuery>, Problem>,
) -> Result<Json<HoldingAnswer>, Problem> {
    // The scope is checked before the path is read: a caller without it learns nothing more.
    caller.require("procurement:read")?;
    let Path((scheme, registration_number)) = path?;
    let Query(query) = query?;
    let min_level = query.level(&state)?;
    let lookup = Lookup {
        scheme,
        registration_number,
    };
    let answer = procurement::verify(
        &state.read_db,
        &state.db,
        &state.schemes,
        &state.disclosure_log,
        &caller.client.client_id,
        std::slice::from_ref(&lookup),
        Ask {
            min_level: min_level.as_ref(),
            course_history: true,
        },
    )
    .await?
    .into_iter()
    .next()
    .filter(|a| a.found.is_some())
    .ok_or_else(|| Problem::not_found("holding"))?;
    Ok(Json(answer.into()))
}

/// One holding to check.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyPair {
    /// Scheme id, e.g. `cissp` (any case).
    pub scheme: String,
    pub registration_number: String,
}

/// Up to 1,000 holdings to check at once.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// 1 to 1,000 pairs; each is answered, in order.
    #[schema(min_items = 1, max_items = 1000)]
    pub holdings: Vec<VerifyPair>,
}

#[derive(Serialize, ToSchema)]
pub struct VerifyResponse {
    /// One answer per pair asked, in the order asked.
    pub results: Vec<HoldingAnswer>,
}

/// Check up to 1,000 holdings in one request (scope `procurement:read`).
#[utoipa::path(post, path = "/v1/procurement/verify", tag = "procurement",
    params(LevelQuery, IncludeQuery),
    request_body = VerifyRequest,
    security(("bearer" = ["procurement:read"])),
    responses(
        (status = 200, description = "One answer per pair, in order", body = VerifyResponse),
        (status = 400, description = "No pairs, or more than 1,000", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `procurement:read`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body is not a list of pairs, `min_level` is not a level, or `include` names something a batch cannot include", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify(
    State(state): State<AppState>,
    caller: ClientCaller,
    query: Result<Query<LevelQuery>, Problem>,
    include: Result<Query<IncludeQuery>, Problem>,
    body: Result<Json<VerifyRequest>, Problem>,
) -> Result<Json<VerifyResponse>, Problem> {
    caller.require("procurement:read")?;
    let Query(query) = query?;
    let min_level = query.level(&state)?;
    let Query(include) = include?;
    let course_history = include.course_history()?;
    let Json(request) = body?;
    let count = request.holdings.len();
    if count == 0 || count > MAX_BATCH {
        let mut refused = Problem::invalid_field(
            "holdings",
            format!("must list 1 to {MAX_BATCH} pairs; this request lists {count}"),
        );
        refused.status = StatusCode::BAD_REQUEST.as_u16();
        refused.title = "Bad Request".to_owned();
        return Err(refused);
    }
    let lookups: Vec<Lookup> = request
        .holdings
        .into_iter()
        .map(|p| Lookup {
            scheme: p.scheme,
            registration_number: p.registration_number,
        })
        .collect();
    let answers = procurement::verify(
        &state.read_db,
        &state.db,
        &state.schemes,
        &state.disclosure_log,
        &caller.client.client_id,
        &lookups,
        Ask {
            min_level: min_level.as_ref(),
            course_history,
        },
    )
    .await?;
    Ok(Json(VerifyResponse {
        results: answers.into_iter().map(HoldingAnswer::from).collect(),
    }))
}
