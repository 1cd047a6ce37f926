//! `/settings`: the signed-in person's language and password, as forms (CSRF-checked with the
//! session's token), through the same service as `PUT /v1/me/locale` and
//! `POST /v1/me/password`.
//!
//! A form that cannot be accepted is shown again with its message (200, like any page a
//! person reads); a form without its CSRF token is refused with 403.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use minijinja::context;
use serde::Deserialize;

use super::{
    Page, PageQuery, PageResult, PageSession, constant_time_eq, csrf_refused, lang_cookie,
    page_locale_for, render_page_word, session_cookie, session_csrf,
};
use crate::app::AppState;
use crate::auth::tokens::TokenUse;
use crate::http::auth::issue_user_token;
use crate::http::client_ip::ClientIp;
use crate::http::extract::{Form, Query};
use crate::http::problem::Problem;
use crate::services::account_settings::{self, SettingsError};
use crate::templates::LOCALES;

/// What the page says above its forms after a submission.
#[derive(Default)]
struct Outcome {
    notice: Option<&'static str>,
    language_error: Option<String>,
    password_error: Option<String>,
}

fn render(
    state: &AppState,
    csrf: &str,
    locale: &str,
    chosen: &str,
    outcome: Outcome,
) -> Result<Page, Problem> {
    let words =
        |key: Option<&'static str>| key.map(|k| render_page_word(&state.templates, locale, k));
    Page::render(
        &state.templates,
        StatusCode::OK,
        "settings",
        locale,
        context! {
            csrf => csrf,
            locales => LOCALES,
            chosen => chosen,
            notice => words(outcome.notice),
            language_error => outcome.language_error,
            password_error => outcome.password_error,
        },
    )
}

async fn chosen_locale(state: &AppState, session: &PageSession) -> Result<Option<String>, Problem> {
    Ok(account_settings::account_locale(&state.db, &session.caller.user).await?)
}

pub(super) async fn settings_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
    session: PageSession,
) -> PageResult {
    let account = chosen_locale(&state, &session).await?;
    let (locale, cookie) = page_locale_for(&state, &headers, &query, account.as_deref());
    let csrf = session_csrf(&session.caller.claims.jti);
    let chosen = account.as_deref().unwrap_or(locale);
    Ok(render(&state, &csrf, locale, chosen, Outcome::default())?
        .cookie(cookie)
        .into_response())
}

#[derive(Deserialize)]
pub struct LanguageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    locale: String,
}

pub(super) async fn language_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
    session: PageSession,
    Form(form): Form<LanguageForm>,
) -> PageResult {
    let account = chosen_locale(&state, &session).await?;
    let (locale, _) = page_locale_for(&state, &headers, &query, account.as_deref());
    let csrf = session_csrf(&session.caller.claims.jti);
    if !constant_time_eq(&csrf, &form.csrf) {
        return Ok(csrf_refused(&state.templates, locale)?.into_response());
    }
    let user = &session.caller.user;
    match account_settings::set_locale(&state.db, user, &session.caller.actor(), &form.locale).await
    {
        // The page answers in the language just chosen, and the cookie follows it.
        Ok(new) => Ok(render(
            &state,
            &csrf,
            new,
            new,
            Outcome {
                notice: Some("settings_language_saved"),
                ..Outcome::default()
            },
        )?
        .cookie(Some(lang_cookie(&state, new)))
        .into_response()),
        Err(SettingsError::Invalid { .. }) => {
            let chosen = account.as_deref().unwrap_or(locale);
            Ok(render(
                &state,
                &csrf,
                locale,
                chosen,
                Outcome {
                    language_error: Some(render_page_word(
                        &state.templates,
                        locale,
                        "settings_language_unknown",
                    )),
                    ..Outcome::default()
                },
            )?
            .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm: String,
}

pub(super) async fn password_submit(
    State(state): State<AppState>,
    ClientIp(remote): ClientIp,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
    session: PageSession,
    Form(form): Form<PasswordForm>,
) -> PageResult {
    let account = chosen_locale(&state, &session).await?;
    let (locale, _) = page_locale_for(&state, &headers, &query, account.as_deref());
    let chosen = account.as_deref().unwrap_or(locale).to_owned();
    let csrf = session_csrf(&session.caller.claims.jti);
    if !constant_time_eq(&csrf, &form.csrf) {
        return Ok(csrf_refused(&state.templates, locale)?.into_response());
    }
    let refuse = |message: String| -> PageResult {
        Ok(render(
            &state,
            &csrf,
            locale,
            &chosen,
            Outcome {
                password_error: Some(message),
                ..Outcome::default()
            },
        )?
        .into_response())
    };
    if form.new_password != form.confirm {
        return refuse(render_page_word(
            &state.templates,
            locale,
            "passwords_differ",
        ));
    }
    let changed = account_settings::change_password(
        &state.db,
        &session.caller.user,
        remote,
        &form.current_password,
        &form.new_password,
    )
    .await;
    match changed {
        Ok(user) => {
            // Every session ended, this one too: this browser signs in again at once.
            let (token, _) = issue_user_token(&state, &user).await?;
            let fresh = session_csrf_of(&state, &token).await?;
            Ok(render(
                &state,
                &fresh,
                locale,
                &chosen,
                Outcome {
                    notice: Some("settings_password_saved"),
                    ..Outcome::default()
                },
            )?
            .cookie(Some(session_cookie(&state, &token)))
            .into_response())
        }
        Err(SettingsError::Invalid {
            field: "current_password",
            ..
        }) => refuse(render_page_word(
            &state.templates,
            locale,
            "settings_current_wrong",
        )),
        Err(SettingsError::Invalid { .. }) => {
            refuse(render_page_word(&state.templates, locale, "password_rule"))
        }
        Err(SettingsError::Throttled { .. }) => refuse(render_page_word(
            &state.templates,
            locale,
            "login_throttled",
        )),
        Err(e) => Err(e.into()),
    }
}

/// The CSRF token of the session a fresh token starts (keyed by its `jti`).
async fn session_csrf_of(state: &AppState, token: &str) -> Result<String, Problem> {
    let claims = state
        .keys
        .verify(&state.db, token, TokenUse::User)
        .await
        .map_err(|e| Problem::internal(&e))?;
    Ok(session_csrf(&claims.jti))
}
