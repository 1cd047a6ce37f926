//! The professional's own activities: `/credits` lists their credits with their state, and
//! `/credits/new` reports one, in two steps. The form (multipart, with the evidence file) is
//! first answered with the allocation the activity would get, computed by the same service as
//! the API's preview; the file is checked and stored at that step, so the second step (save)
//! names it by id in a hidden field. Saving records exactly what the preview showed.
//! And `/admin/review`: staff approve or reject pending credits, with links to the evidence.

use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use entity::credit_reviews::ReviewDecision;
use minijinja::context;
use serde::Deserialize;

use super::{
    Page, PageQuery, PageResult, PageSession, constant_time_eq, csrf_refused, page_locale,
    render_page_word, session_csrf,
};
use crate::app::AppState;
use crate::domain::points::Points;
use crate::http::extract::{Form, Query};
use crate::http::problem::Problem;
use crate::services::audit::Actor;
use crate::services::credit_review;
use crate::services::evidence::{self, Declared};
use crate::services::self_report::{self, Draft, SelfReportError};
use crate::services::users::UserRole;

/// Credits shown on the list page.
const SHOWN: u64 = 100;

fn refuse_staff(state: &AppState, locale: &str) -> PageResult {
    Ok(Page::render(
        &state.templates,
        StatusCode::FORBIDDEN,
        "notice",
        locale,
        context! { notice => "not_professional" },
    )?
    .into_response())
}

pub(super) async fn list_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
    session: PageSession,
) -> PageResult {
    let (locale, lang_cookie) = page_locale(&state, &headers, &query);
    let Some(professional_id) = session.caller.user.professional_id else {
        return refuse_staff(&state, locale);
    };
    let rows: Vec<minijinja::Value> =
        self_report::list_own(&state.db, professional_id, None, SHOWN)
            .await?
            .into_iter()
            .map(|c| {
                context! {
                    id => c.id.to_string(),
                    title => c.title,
                    provider_name => c.provider_name,
                    completed_on => c.completed_on.to_string(),
                    hours => c.hours.to_string(),
                    source => c.source,
                    state => c.state,
                    claims => c.claims.iter().map(|l| format!("{} {}/{} {}", l.scheme, l.activity_type, l.category, l.points)).collect::<Vec<_>>(),
                    evidence => c.evidence.map(|e| e.id.to_string()),
                    reason => c.review.and_then(|r| r.reason),
                }
            })
            .collect();
    Ok(Page::render(
        &state.templates,
        StatusCode::OK,
        "credits",
        locale,
        context! { credits => rows },
    )?
    .cookie(lang_cookie)
    .into_response())
}

/// What the report form sent.
#[derive(Default)]
struct ReportForm {
    csrf: String,
    step: String,
    title: String,
    provider_name: String,
    completed_on: String,
    hours: String,
    evidence_id: String,
    file: Vec<u8>,
    file_name: Option<String>,
    file_type: Option<String>,
}

async fn read_report(mut multipart: Multipart) -> Result<ReportForm, String> {
    let mut form = ReportForm::default();
    while let Some(field) = multipart.next_field().await.map_err(|e| e.to_string())? {
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            form.file_name = field.file_name().map(str::to_owned);
            form.file_type = field.content_type().map(str::to_owned);
            form.file = field.bytes().await.map_err(|e| e.to_string())?.to_vec();
            continue;
        }
        let text = field.text().await.map_err(|e| e.to_string())?;
        match name.as_str() {
            "csrf" => form.csrf = text,
            "step" => form.step = text,
            "title" => form.title = text,
            "provider_name" => form.provider_name = text,
            "completed_on" => form.completed_on = text,
            "hours" => form.hours = text,
            "evidence_id" => form.evidence_id = text,
            _ => {}
        }
    }
    Ok(form)
}

fn form_context(form: &ReportForm) -> minijinja::Value {
    context! {
        title => form.title,
        provider_name => form.provider_name,
        completed_on => form.completed_on,
        hours => form.hours,
        evidence_id => form.evidence_id,
    }
}

pub(super) async fn new_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
    session: PageSession,
) -> PageResult {
    let (locale, lang_cookie) = page_locale(&state, &headers, &query);
    if session.caller.user.professional_id.is_none() {
        return refuse_staff(&state, locale);
    }
    Ok(Page::render(
        &state.templates,
        StatusCode::OK,
        "credit_new",
        locale,
        context! {
            csrf => session_csrf(&session.caller.claims.jti),
            form => form_context(&ReportForm::default()),
        },
    )?
    .cookie(lang_cookie)
    .into_response())
}

/// The form again with what went wrong. Answered 200: it is the page, to be filled in again.
fn again(
    state: &AppState,
    locale: &str,
    csrf: &str,
    form: &ReportForm,
    error: String,
) -> PageResult {
    Ok(Page::render(
        &state.templates,
        StatusCode::OK,
        "credit_new",
        locale,
        context! { csrf => csrf, form => form_context(form), error => error },
    )?
    .into_response())
}

pub(super) async fn new_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
    session: PageSession,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let (locale, _) = page_locale(&state, &headers, &query);
    let Some(professional_id) = session.caller.user.professional_id else {
        return refuse_staff(&state, locale);
    };
    let csrf = session_csrf(&session.caller.claims.jti);
    let unreadable = render_page_word(&state.templates, locale, "credit_form_unreadable");
    let mut form = match multipart {
        Ok(m) => match read_report(m).await {
            Ok(form) => form,
            Err(e) => {
                return again(
                    &state,
                    locale,
                    &csrf,
                    &ReportForm::default(),
                    format!("{unreadable} {e}"),
                );
            }
        },
        // Nothing was read, so nothing is done: the form is shown to be sent again.
        Err(_) => return again(&state, locale, &csrf, &ReportForm::default(), unreadable),
    };
    if !constant_time_eq(&csrf, &form.csrf) {
        return Ok(csrf_refused(&state.templates, locale)?.into_response());
    }
    let actor = Actor::user(session.caller.user.id);
    if !form.file.is_empty() {
        let bytes = std::mem::take(&mut form.file);
        match evidence::store(
            &state.db,
            &actor,
            professional_id,
            bytes,
            Declared {
                file_name: form.file_name.as_deref(),
                content_type: form.file_type.as_deref(),
            },
        )
        .await
        {
            Ok(meta) => form.evidence_id = meta.id.to_string(),
            Err(evidence::EvidenceError::Db(e)) => return Err(e.into()),
            Err(e) => return again(&state, locale, &csrf, &form, e.to_string()),
        }
    }
    let completed_on = match form.completed_on.trim().parse() {
        Ok(date) => date,
        Err(_) => {
            let words = render_page_word(&state.templates, locale, "credit_date_invalid");
            return again(&state, locale, &csrf, &form, words);
        }
    };
    let hours: Points = match form.hours.trim().parse() {
        Ok(hours) => hours,
        Err(_) => {
            let words = render_page_word(&state.templates, locale, "credit_hours_invalid");
            return again(&state, locale, &csrf, &form, words);
        }
    };
    let draft = Draft {
        title: form.title.clone(),
        provider_name: form.provider_name.clone(),
        completed_on,
        hours,
        claims: None,
        evidence_id: form.evidence_id.trim().parse().ok(),
    };
    let outcome = if form.step == "save" {
        self_report::record(&state.db, &state.schemes, &actor, professional_id, &draft)
            .await
            .map(|_| None)
    } else {
        self_report::preview(&state.db, &state.schemes, professional_id, &draft)
            .await
            .map(Some)
    };
    match outcome {
        Ok(None) => Ok(super::see_other("/credits", Vec::new())),
        Ok(Some(preview)) => {
            let claims: Vec<minijinja::Value> = preview
                .claims
                .iter()
                .map(|c| context! { scheme => c.scheme, activity_type => c.activity_type, category => c.category, points => c.points.map(|p| p.to_string()) })
                .collect();
            let holdings: Vec<minijinja::Value> = preview
                .placements
                .iter()
                .map(|p| context! {
                    scheme => p.scheme_id,
                    activity_type => p.activity_type,
                    counted => p.counted.to_string(),
                    categories => p.claims.iter().map(|c| format!("{} {}", c.category, c.counted)).collect::<Vec<_>>(),
                    slots => p.fills_slots,
                    nothing => p.nothing.map(|n| n.as_str()),
                })
                .collect();
            Ok(Page::render(
                &state.templates,
                StatusCode::OK,
                "credit_new",
                locale,
                context! {
                    csrf => csrf,
                    form => form_context(&form),
                    preview => context! {
                        state => preview.state,
                        claims => claims,
                        holdings => holdings,
                        evidence_required => preview.evidence_required,
                    },
                },
            )?
            .into_response())
        }
        Err(SelfReportError::Invalid { field, message }) => {
            again(&state, locale, &csrf, &form, format!("{field}: {message}"))
        }
        Err(e) => Err(Problem::from(e)),
    }
}

fn refuse_non_admin(state: &AppState, session: &PageSession, locale: &str) -> Option<PageResult> {
    (session.caller.user.role != UserRole::Admin).then(|| {
        Ok(Page::render(
            &state.templates,
            StatusCode::FORBIDDEN,
            "notice",
            locale,
            context! { notice => "forbidden" },
        )?
        .into_response())
    })
}

async fn review_page(
    state: &AppState,
    session: &PageSession,
    locale: &str,
    message: Option<String>,
) -> PageResult {
    let rows: Vec<minijinja::Value> = credit_review::pending(&state.db, None, SHOWN)
        .await?
        .into_iter()
        .map(|q| {
            context! {
                id => q.credit.id.to_string(),
                professional => q.professional_name,
                title => q.credit.title,
                provider_name => q.credit.provider_name,
                completed_on => q.credit.completed_on.to_string(),
                hours => q.credit.hours.to_string(),
                claims => q.credit.claims.iter().map(|l| format!("{} {}/{} {}", l.scheme, l.activity_type, l.category, l.points)).collect::<Vec<_>>(),
                evidence => q.credit.evidence.map(|e| e.id.to_string()),
            }
        })
        .collect();
    Ok(Page::render(
        &state.templates,
        StatusCode::OK,
        "review",
        locale,
        context! {
            credits => rows,
            csrf => session_csrf(&session.caller.claims.jti),
            message => message,
        },
    )?
    .into_response())
}

/// `?evidence=<id>` on the review page: the file itself, for staff.
#[derive(Deserialize, Default)]
pub struct EvidenceParam {
    evidence: Option<uuid::Uuid>,
}

pub(super) async fn review_list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
    Query(file): Query<EvidenceParam>,
    session: PageSession,
) -> PageResult {
    let (locale, lang_cookie) = page_locale(&state, &headers, &query);
    if let Some(refusal) = refuse_non_admin(&state, &session, locale) {
        return refusal;
    }
    if let Some(id) = file.evidence {
        let found = evidence::file(&state.db, None, id)
            .await?
            .ok_or_else(|| Problem::not_found("evidence"))?;
        return Ok(crate::http::me::credits::evidence_response(found));
    }
    let mut response = review_page(&state, &session, locale, None).await?;
    if let Some(cookie) = lang_cookie {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, cookie);
    }
    Ok(response)
}

#[derive(Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    credit_id: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

pub(super) async fn review_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
    session: PageSession,
    Form(form): Form<ReviewForm>,
) -> PageResult {
    let (locale, _) = page_locale(&state, &headers, &query);
    if let Some(refusal) = refuse_non_admin(&state, &session, locale) {
        return refusal;
    }
    if !constant_time_eq(&session_csrf(&session.caller.claims.jti), &form.csrf) {
        return Ok(csrf_refused(&state.templates, locale)?.into_response());
    }
    let decision = match form.decision.as_str() {
        "approve" => ReviewDecision::Approve,
        "reject" => ReviewDecision::Reject,
        _ => {
            let words = render_page_word(&state.templates, locale, "review_choose");
            return review_page(&state, &session, locale, Some(words)).await;
        }
    };
    let Ok(id) = form.credit_id.trim().parse() else {
        let words = render_page_word(&state.templates, locale, "review_choose");
        return review_page(&state, &session, locale, Some(words)).await;
    };
    let message = match credit_review::decide(
        &state.db,
        &state.schemes,
        &state.config,
        &session.caller.actor(),
        id,
        decision,
        Some(form.reason.as_str()),
    )
    .await
    {
        Ok(_) => render_page_word(&state.templates, locale, "review_done"),
        Err(credit_review::ReviewError::Db(e)) => return Err(e.into()),
        Err(e) => e.to_string(),
    };
    review_page(&state, &session, locale, Some(message)).await
}
