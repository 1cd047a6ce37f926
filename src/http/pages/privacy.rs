//! The professional's privacy pages: what buyers and the public registry may see
//! (`/consents`), and who looked them up (`/disclosures`). Signed-in professionals only; a
//! staff account has no holdings to share and is answered 403.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Deserialize;

use super::{
    Page, PageQuery, PageResult, PageSession, constant_time_eq, csrf_refused, page_locale,
    session_csrf,
};
use crate::app::AppState;
use crate::http::extract::{Form, Query};
use crate::services::consents::{self, Audience, Consents};
use crate::services::disclosures;

/// Reads shown on the "who looked me up" page.
const DISCLOSURES_SHOWN: u64 = 100;

/// The professional behind the session, or the page that refuses a staff account.
pub(super) fn professional_of(
    state: &AppState,
    session: &PageSession,
    locale: &str,
) -> Result<uuid::Uuid, PageResult> {
    session.caller.user.professional_id.ok_or_else(|| {
        Page::render(
            &state.templates,
            StatusCode::FORBIDDEN,
            "notice",
            locale,
            context! { notice => "not_professional" },
        )
        .map(IntoResponse::into_response)
    })
}

async fn consents_page(
    state: &AppState,
    session: &PageSession,
    locale: &str,
    professional_id: uuid::Uuid,
    saved: bool,
) -> Result<Page, crate::http::problem::Problem> {
    let all = consents::all_of(&state.db, professional_id).await?;
    let audiences: Vec<minijinja::Value> = Audience::ALL
        .iter()
        .map(|audience| {
            let chosen = all.get(audience).copied().unwrap_or_default();
            context! {
                id => audience.as_str(),
                name => chosen.name,
                employer => chosen.employer,
                course_history => chosen.course_history,
            }
        })
        .collect();
    Page::render(
        &state.templates,
        StatusCode::OK,
        "consents",
        locale,
        context! {
            audiences => audiences,
            saved => saved,
            csrf => session_csrf(&session.caller.claims.jti),
        },
    )
}

pub(super) async fn consents_form(
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
        consents_page(&state, &session, locale, professional_id, false)
            .await?
            .cookie(lang_cookie)
            .into_response(),
    )
}

/// The consent form: a checkbox is sent only when ticked, so an absent field is a "no".
#[derive(Deserialize)]
pub struct ConsentsForm {
    #[serde(default)]
    csrf: String,
    procurement_name: Option<String>,
    procurement_employer: Option<String>,
    procurement_course_history: Option<String>,
    public_registry_name: Option<String>,
    public_registry_employer: Option<String>,
    public_registry_course_history: Option<String>,
}

pub(super) async fn consents_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
    session: PageSession,
    Form(form): Form<ConsentsForm>,
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
    for (audience, choice) in [
        (
            Audience::Procurement,
            Consents {
                name: form.procurement_name.is_some(),
                employer: form.procurement_employer.is_some(),
                course_history: form.procurement_course_history.is_some(),
            },
        ),
        (
            Audience::PublicRegistry,
            Consents {
                name: form.public_registry_name.is_some(),
                employer: form.public_registry_employer.is_some(),
                course_history: form.public_registry_course_history.is_some(),
            },
        ),
    ] {
        consents::set(&state.db, &actor, professional_id, audience, choice).await?;
    }
    Ok(
        consents_page(&state, &session, locale, professional_id, true)
            .await?
            .into_response(),
    )
}

pub(super) async fn disclosures_page(
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
    let rows: Vec<minijinja::Value> =
        disclosures::of_professional(&state.db, professional_id, None, DISCLOSURES_SHOWN)
            .await?
            .into_iter()
            .map(|d| {
                context! {
                    at => d.disclosed_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                    client => d.client_name.unwrap_or(d.client_id),
                    scheme => d.scheme,
                    registration_number => d.registration_number,
                    fields => d.fields,
                }
            })
            .collect();
    let page: Response = Page::render(
        &state.templates,
        StatusCode::OK,
        "disclosures",
        locale,
        context! { disclosures => rows, shown => DISCLOSURES_SHOWN },
    )?
    .cookie(lang_cookie)
    .into_response();
    Ok(page)
}
