//! What a signed-in professional takes away from the pages: a holding's transcript
//! (`/transcript/{holding_id}?format=csv|pdf`) and their calendar feed (`/calendar-feed`:
//! make a new secret address, shown once, or stop the feed). Another professional's holding
//! is not found, exactly like one that does not exist.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use minijinja::context;
use serde::Deserialize;

use super::privacy::professional_of;
use super::{
    Page, PageQuery, PageResult, PageSession, constant_time_eq, csrf_refused, page_locale,
    session_csrf,
};
use crate::app::AppState;
use crate::http::extract::{Form, Path, Query};
use crate::http::me::records::{TranscriptQuery, feed_url, transcript_download};
use crate::http::problem::Problem;
use crate::services::{calendar_feed, holdings};

pub(super) async fn transcript(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: PageSession,
    Path(holding_id): Path<uuid::Uuid>,
    Query(query): Query<TranscriptQuery>,
) -> PageResult {
    let (locale, _) = page_locale(&state, &headers, &PageQuery::default());
    let professional_id = match professional_of(&state, &session, locale) {
        Ok(id) => id,
        Err(refusal) => return refusal,
    };
    let Some(holding) = holdings::owned_by(&state.db, professional_id, holding_id).await? else {
        return Err(Problem::not_found("holding"));
    };
    transcript_download(&state, &holding, &query, locale).await
}

async fn feed_page(
    state: &AppState,
    session: &PageSession,
    locale: &str,
    professional_id: uuid::Uuid,
    new_url: Option<String>,
    revoked: bool,
) -> Result<Page, Problem> {
    let created_at = calendar_feed::created_at(&state.db, professional_id).await?;
    Page::render(
        &state.templates,
        StatusCode::OK,
        "calendar_feed",
        locale,
        context! {
            created_at => created_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
            new_url => new_url,
            revoked => revoked,
            csrf => session_csrf(&session.caller.claims.jti),
        },
    )
}

pub(super) async fn calendar_feed_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
    session: PageSession,
) -> PageResult {
    let (locale, lang_cookie) = page_locale(&state, &headers, &query);
    let professional_id = match professional_of(&state, &session, locale) {
        Ok(id) => id,
        Err(refusal) => return refusal,
    };
    Ok(
        feed_page(&state, &session, locale, professional_id, None, false)
            .await?
            .cookie(lang_cookie)
            .into_response(),
    )
}

#[derive(Deserialize)]
pub struct CalendarFeedForm {
    #[serde(default)]
    csrf: String,
    /// `create` (a new address; also what a form sent without a button means) or `revoke`.
    #[serde(default)]
    action: String,
}

pub(super) async fn calendar_feed_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
    session: PageSession,
    Form(form): Form<CalendarFeedForm>,
) -> PageResult {
    let (locale, _) = page_locale(&state, &headers, &query);
    if !constant_time_eq(&session_csrf(&session.caller.claims.jti), &form.csrf) {
        return Ok(csrf_refused(&state.templates, locale)?.into_response());
    }
    let professional_id = match professional_of(&state, &session, locale) {
        Ok(id) => id,
        Err(refusal) => return refusal,
    };
    let actor = session.caller.actor();
    let (new_url, revoked) = match form.action.as_str() {
        "create" | "" => {
            let secret = calendar_feed::create(&state.db, &actor, professional_id).await?;
            (Some(feed_url(&state, &secret)), false)
        }
        "revoke" => (
            None,
            calendar_feed::revoke(&state.db, &actor, professional_id).await?,
        ),
        _ => {
            return Err(Problem::invalid_field(
                "action",
                "expected `create` or `revoke`",
            ));
        }
    };
    Ok(
        feed_page(&state, &session, locale, professional_id, new_url, revoked)
            .await?
            .into_response(),
    )
}
