//! What a professional takes away: a holding's transcript (`/v1/me/holdings/{id}/transcript`,
//! CSV or PDF) and a personal calendar feed (`/v1/me/calendar-feed` to create, inspect and
//! stop it; `/v1/calendar/{secret}` is the feed itself, read by calendar programs that cannot
//! sign in, so the secret in its URL is the only authority).

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use entity::holdings;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::app::AppState;
use crate::http::callers::ProfessionalCaller;
use crate::http::extract::{Json, Path, Query};
use crate::http::problem::Problem;
use crate::services::{calendar_feed, holdings as holding_service, transcript};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(holding_transcript))
        .routes(routes!(
            calendar_feed_status,
            create_calendar_feed,
            revoke_calendar_feed
        ))
}

/// The feed itself, for calendar programs: no caller, the secret is the authority.
pub fn feed_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(calendar))
}

#[derive(Deserialize, ToSchema, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TranscriptFormat {
    /// UTF-8 with a byte-order mark, CRLF, formula-like cells neutralised.
    #[default]
    Csv,
    /// A4, Japanese text in an embedded font.
    Pdf,
}

#[derive(Deserialize, ToSchema, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    #[serde(rename = "ja")]
    Japanese,
    #[serde(rename = "en")]
    English,
}

impl Language {
    fn as_str(self) -> &'static str {
        match self {
            Self::Japanese => "ja",
            Self::English => "en",
        }
    }
}

#[derive(Deserialize, IntoParams, Debug, Default)]
#[into_params(parameter_in = Query)]
pub struct TranscriptQuery {
    /// `csv` (default) or `pdf`.
    pub format: Option<TranscriptFormat>,
    /// The first day of the cycle to show; the cycle being judged today when absent.
    pub cycle: Option<NaiveDate>,
    /// `ja` or `en`; the account's language when absent.
    pub lang: Option<Language>,
}

/// The transcript of `holding` as a downloadable file.
pub(crate) async fn transcript_download(
    state: &AppState,
    holding: &holdings::Model,
    query: &TranscriptQuery,
    account_locale: &str,
) -> Result<Response, Problem> {
    let found = transcript::for_holding(&state.db, &state.schemes, holding, query.cycle).await?;
    let locale: &str = match query.lang {
        Some(lang) => lang.as_str(),
        None => account_locale,
    };
    let words =
        transcript::Words::of(&state.templates, locale).map_err(|e| Problem::internal(&e))?;
    let format = query.format.unwrap_or_default();
    let (content_type, extension, body) = match format {
        TranscriptFormat::Csv => (
            "text/csv; charset=utf-8",
            "csv",
            transcript::to_csv(&found, &words, &state.schemes),
        ),
        TranscriptFormat::Pdf => (
            "application/pdf",
            "pdf",
            transcript::to_pdf(&found, &words, &state.schemes)
                .map_err(|e| Problem::internal(&e))?,
        ),
    };
    // Scheme ids and registration numbers are ASCII letters, digits and dashes.
    let file_name: String = format!(
        "transcript-{}-{}-{}.{extension}",
        found.scheme_id, found.registration_number, found.starts_on
    )
    .chars()
    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    .collect();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (CONTENT_DISPOSITION, disposition),
            (CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
        ],
        body,
    )
        .into_response())
}

/// One holding's transcript for a cycle: every credit claimed in the scheme, what it claimed
/// and what counted, with the cycle's totals.
#[utoipa::path(get, path = "/v1/me/holdings/{id}/transcript", tag = "me", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The holding's id"), TranscriptQuery),
    responses(
        (status = 200, description = "The transcript as a file", content(
            (String = "text/csv"),
            (Vec<u8> = "application/pdf"),
        )),
        (status = 404, description = "No such holding among the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The holding has no renewal cycle on record", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The holding has no cycle starting on that day, or a parameter is malformed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn holding_transcript(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
    Path(id): Path<Uuid>,
    Query(query): Query<TranscriptQuery>,
) -> Result<Response, Problem> {
    let holding = holding_service::owned_by(&state.db, caller.professional_id, id)
        .await?
        .ok_or_else(|| Problem::not_found("holding"))?;
    let person = holding_service::professional(&state.db, caller.professional_id)
        .await?
        .ok_or_else(|| Problem::not_found("professional"))?;
    transcript_download(&state, &holding, &query, &person.locale).await
}

#[derive(Serialize, ToSchema)]
pub struct CalendarFeedStatus {
    /// Whether a feed exists.
    pub active: bool,
    /// When its address was made.
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedCalendarFeed {
    /// The feed's address, with its secret. Shown only now.
    pub url: String,
    pub created_at: DateTime<Utc>,
}

/// The address of the feed whose secret is `secret`.
pub(crate) fn feed_url(state: &AppState, secret: &str) -> String {
    let base = state.config.public_url.as_str().trim_end_matches('/');
    format!("{base}/v1/calendar/{secret}")
}

/// Whether the caller has a calendar feed (its address is shown only when made).
#[utoipa::path(get, path = "/v1/me/calendar-feed", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, description = "Whether a feed exists", body = CalendarFeedStatus),
    ))]
pub async fn calendar_feed_status(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
) -> Result<Json<CalendarFeedStatus>, Problem> {
    let created_at = calendar_feed::created_at(&state.db, caller.professional_id).await?;
    Ok(Json(CalendarFeedStatus {
        active: created_at.is_some(),
        created_at,
    }))
}

/// A new secret address for the caller's calendar feed; any earlier address stops working.
#[utoipa::path(post, path = "/v1/me/calendar-feed", tag = "me", security(("bearer" = [])),
    responses(
        (status = 201, description = "The feed's new address, shown once", body = CreatedCalendarFeed),
    ))]
pub async fn create_calendar_feed(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
) -> Result<(StatusCode, Json<CreatedCalendarFeed>), Problem> {
    let actor = crate::services::audit::Actor::user(caller.user.id);
    let secret = calendar_feed::create(&state.db, &actor, caller.professional_id).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedCalendarFeed {
            url: feed_url(&state, &secret),
            created_at: Utc::now(),
        }),
    ))
}

/// Stops the caller's calendar feed: its address no longer answers.
#[utoipa::path(delete, path = "/v1/me/calendar-feed", tag = "me", security(("bearer" = [])),
    responses(
        (status = 204, description = "The feed is stopped"),
        (status = 404, description = "The caller has no feed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_calendar_feed(
    State(state): State<AppState>,
    caller: ProfessionalCaller,
) -> Result<StatusCode, Problem> {
    let actor = crate::services::audit::Actor::user(caller.user.id);
    if calendar_feed::revoke(&state.db, &actor, caller.professional_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Problem::not_found("calendar feed"))
    }
}

/// A personal calendar feed (iCalendar): each certification's renewal deadline, last valid
/// day, end of grace and the due dates of required activities still open. The secret in the
/// path is the authority.
#[utoipa::path(get, path = "/v1/calendar/{secret}", tag = "calendar",
    params(("secret" = String, Path, description = "The feed's secret, from its address", max_length = 64)),
    responses(
        (status = 200, description = "The feed", content_type = "text/calendar", body = String),
        (status = 404, description = "No feed has this address (never made, replaced or stopped)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn calendar(
    State(state): State<AppState>,
    Path(secret): Path<String>,
) -> Result<Response, Problem> {
    if secret.len() > 64 {
        return Err(Problem::not_found("calendar feed"));
    }
    let ics = calendar_feed::feed(&state.db, &state.schemes, &secret)
        .await?
        .ok_or_else(|| Problem::not_found("calendar feed"))?;
    Ok((
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/calendar; charset=utf-8"),
            ),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=900"),
            ),
        ],
        ics,
    )
        .into_response())
}
