//! `/unsubscribe`: the link in every reminder email (RFC 8058), no login.
//!
//! - `POST` is the one-click unsubscribe a mail client sends (`List-Unsubscribe=One-Click` in the
//!   body, which is not needed): it records the preference and answers 200, in JSON, or with
//!   the confirmation page when a browser asks for HTML (the page's own button).
//! - `GET` is what a reader who opens the link sees: what the link stops, and a button that
//!   posts. Opening the link changes nothing, so a mail scanner that follows links cannot
//!   unsubscribe anyone. Once its reasons are stopped, the page says so and offers to take it
//!   back.
//! - `POST /resubscribe` with the same token takes it back: those reasons are sent again.
//!
//! A token that does not verify (altered, of another kind, for someone who is gone) is a 404:
//! there is no such link. A missing token is a 400 naming `token`.

use axum::extract::State;
use axum::http::header::ACCEPT;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::reminders::Reason;
use crate::http::extract::{Json, Query};
use crate::http::pages;
use crate::http::problem::Problem;
use crate::services::reminder_preferences::{self, ALWAYS_SENT, UnsubscribeError};
use crate::templates::supported_locale;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show, unsubscribe))
        .routes(routes!(resubscribe))
}

/// The link's parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnsubscribeQuery {
    /// The signed token from the email's link.
    token: String,
    /// The page's language (`ja` or `en`; the email's own language in its links).
    lang: Option<String>,
}

/// What a one-click unsubscribe stopped.
#[derive(Serialize, ToSchema)]
pub struct Unsubscribed {
    /// The reminder reasons no longer sent to this person.
    #[schema(example = json!(["approaching"]))]
    pub stopped: Vec<String>,
    /// Reasons that are always sent, whatever the preferences.
    #[schema(example = json!(["lapsed"]))]
    pub always_sent: Vec<String>,
}

/// What taking an unsubscribe back resumed.
#[derive(Serialize, ToSchema)]
pub struct Resubscribed {
    /// The reminder reasons sent to this person again.
    #[schema(example = json!(["approaching"]))]
    pub resumed: Vec<String>,
}

fn names(reasons: &[Reason]) -> Vec<&'static str> {
    reasons.iter().map(|r| r.as_str()).collect()
}

/// A link that cannot be used: the page, 404.
fn invalid_page(state: &AppState, headers: &HeaderMap, lang: Option<&str>) -> Response {
    match pages::standalone_page(
        state,
        headers,
        lang,
        StatusCode::NOT_FOUND,
        "unsubscribe",
        context! { state => "invalid" },
    ) {
        Ok(page) => page,
        Err(problem) => problem.into_response(),
    }
}

/// The confirmation page of an unsubscribe link.
#[utoipa::path(get, path = "/unsubscribe", tag = "reminders", params(UnsubscribeQuery),
    responses(
        (status = 200, description = "What the link stops, with a button that posts to this same URL; once they are stopped, a button that takes it back (`POST /resubscribe`)", content_type = "text/html", body = String),
        (status = 404, description = "The link is not valid (altered, or for someone who is gone)", content_type = "text/html", body = String),
    ))]
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<UnsubscribeQuery>,
) -> Result<Response, Problem> {
    let lang = query.lang.as_deref();
    let link = match reminder_preferences::check(&state.db, state.keys.issuer(), &query.token).await
    {
        Ok(link) => link,
        Err(UnsubscribeError::Invalid(why)) => {
            tracing::info!(why, "an unsubscribe link was refused");
            return Ok(invalid_page(&state, &headers, lang));
        }
        Err(e) => return Err(e.into()),
    };
    // A link whose reasons are all stopped already offers to take that back.
    let preferences = reminder_preferences::of(&state.db, link.professional_id).await?;
    let stopped = link
        .reasons
        .iter()
        .all(|r| preferences.get(r) == Some(&false));
    link_page(
        &state,
        &headers,
        &query,
        if stopped { "done" } else { "confirm" },
        &link.reasons,
    )
}

/// The page of a valid link in one of its states: `confirm` (a button that stops), `done`
/// (stopped, with a button that takes it back) or `resubscribed` (sent again, with the button
/// that stops).
fn link_page(
    state: &AppState,
    headers: &HeaderMap,
    query: &UnsubscribeQuery,
    page_state: &str,
    reasons: &[Reason],
) -> Result<Response, Problem> {
    let lang = query.lang.as_deref();
    pages::standalone_page(
        state,
        headers,
        lang,
        StatusCode::OK,
        "unsubscribe",
        context! {
            state => page_state,
            reasons => names(reasons),
            // The language switch links back to the page of the same token.
            keep_query => format!(
                "&token={}",
                url::form_urlencoded::byte_serialize(query.token.as_bytes()).collect::<String>()
            ),
            token => query.token.clone(),
            lang_param => lang.map(supported_locale).unwrap_or(""),
        },
    )
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// One-click unsubscribe (RFC 8058): stops the reminder reasons the link names for its
/// recipient. No login; the signed token is the authority. The body a mail client sends
/// (`List-Unsubscribe=One-Click`) is accepted and not needed. Repeating it changes nothing.
/// The lapse notice is always sent.
#[utoipa::path(post, path = "/unsubscribe", tag = "reminders", params(UnsubscribeQuery),
    responses(
        (status = 200, description = "Unsubscribed; a browser asking for HTML gets the confirmation page", content(
            (Unsubscribed = "application/json"),
            (String = "text/html"),
        )),
        (status = 404, description = "The link is not valid (altered, or for someone who is gone)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn unsubscribe(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<UnsubscribeQuery>,
) -> Result<Response, Problem> {
    let link =
        reminder_preferences::unsubscribe(&state.db, state.keys.issuer(), &query.token).await?;
    if wants_html(&headers) {
        return link_page(&state, &headers, &query, "done", &link.reasons);
    }
    Ok(Json(Unsubscribed {
        stopped: names(&link.reasons)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        always_sent: vec![ALWAYS_SENT.as_str().to_owned()],
    })
    .into_response())
}

/// Takes an unsubscribe back: the reminder reasons the same signed link stopped are sent to
/// its recipient again. No login; the token is the authority, as for unsubscribing. Repeating
/// it changes nothing. The confirmation page of an unsubscribe offers it as a button.
#[utoipa::path(post, path = "/resubscribe", tag = "reminders", params(UnsubscribeQuery),
    responses(
        (status = 200, description = "Subscribed again; a browser asking for HTML gets the page, with the button that stops them", content(
            (Resubscribed = "application/json"),
            (String = "text/html"),
        )),
        (status = 404, description = "The link is not valid (altered, or for someone who is gone)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn resubscribe(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<UnsubscribeQuery>,
) -> Result<Response, Problem> {
    let link =
        reminder_preferences::resubscribe(&state.db, state.keys.issuer(), &query.token).await?;
    if wants_html(&headers) {
        return link_page(&state, &headers, &query, "resubscribed", &link.reasons);
    }
    Ok(Json(Resubscribed {
        resumed: names(&link.reasons)
            .into_iter()
            .map(str::to_owned)
            .collect(),
    })
    .into_response())
}
