//! The professional's own activities: `/credits` lists their credits with their state, and
//! `/credits/new` reports one, in two steps. The form (multipart, with the evidence file) is
//! first answered with the allocation the activity would get, computed by the same service as
//! the API's preview; the file is checked and stored at that step, so the second step (save)
//! names it by id in a hidden field. Saving records exactly what the preview showed.
//! And `/admin/review`: staff approve or reject pending credits, with links to the evidence.

use std::collections::{BTreeMap, BTreeSet};

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
use crate::domain::scheme::LocalizedName;
use crate::domain::self_report::ClaimRequest;
use crate::http::extract::{Form, Query};
use crate::http::problem::Problem;
use crate::services::audit::Actor;
use crate::services::credit_review;
use crate::services::evidence::{self, Declared};
use crate::services::self_report::{self, Draft, Preview, SelfReportError};
use crate::services::users::UserRole;

/// Credits shown on the list page.
const SHOWN: u64 = 100;

/// The page a staff account gets where only a professional has something to see.
pub(super) fn refuse_staff(state: &AppState, locale: &str) -> PageResult {
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
    /// The allocation as the professional adjusted it on the preview, when they did.
    adjusted: bool,
    claims: BTreeMap<String, ClaimFields>,
}

/// One scheme's row of the adjustable allocation: `claim.{scheme}.{field}` in the form.
#[derive(Default, Clone)]
struct ClaimFields {
    include: bool,
    activity_type: String,
    category: String,
    points: String,
}

impl ReportForm {
    /// The claims as adjusted, or `None` for the engine's proposal. A points field that is
    /// not a number is refused naming it.
    fn claim_requests(&self) -> Result<Option<Vec<ClaimRequest>>, String> {
        if !self.adjusted {
            return Ok(None);
        }
        let mut out = Vec::new();
        for (scheme, fields) in self.claims.iter().filter(|(_, f)| f.include) {
            let text = |t: &str| Some(t.trim().to_owned()).filter(|t| !t.is_empty());
            let points = match text(&fields.points) {
                None => None,
                Some(p) => Some(
                    p.parse::<Points>()
                        .map_err(|_| format!("claim.{scheme}.points: '{p}' is not a number"))?,
                ),
            };
            out.push(ClaimRequest {
                scheme: scheme.clone(),
                activity_type: text(&fields.activity_type),
                category: text(&fields.category),
                points,
            });
        }
        Ok(Some(out))
    }
}

/// The file of a multipart form, as the browser sent it.
#[derive(Default)]
pub(super) struct Upload {
    pub(super) bytes: Vec<u8>,
    pub(super) file_name: Option<String>,
    pub(super) content_type: Option<String>,
}

/// Reads a multipart form: its `file` field whole, and every other field handed as text to
/// `text(name, value)`.
pub(super) async fn read_multipart(
    mut multipart: Multipart,
    mut text: impl FnMut(&str, String),
) -> Result<Upload, String> {
    let mut upload = Upload::default();
    while let Some(field) = multipart.next_field().await.map_err(|e| e.to_string())? {
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            upload.file_name = field.file_name().map(str::to_owned);
            upload.content_type = field.content_type().map(str::to_owned);
            upload.bytes = field.bytes().await.map_err(|e| e.to_string())?.to_vec();
            continue;
        }
        text(&name, field.text().await.map_err(|e| e.to_string())?);
    }
    Ok(upload)
}

async fn read_report(multipart: Multipart) -> Result<ReportForm, String> {
    let mut form = ReportForm::default();
    let upload = read_multipart(multipart, |name, text| match name {
        "csrf" => form.csrf = text,
        "step" => form.step = text,
        "title" => form.title = text,
        "provider_name" => form.provider_name = text,
        "completed_on" => form.completed_on = text,
        "hours" => form.hours = text,
        "evidence_id" => form.evidence_id = text,
        "adjusted" => form.adjusted = text == "1",
        other => {
            if let Some((scheme, field)) = other
                .strip_prefix("claim.")
                .and_then(|rest| rest.split_once('.'))
            {
                let row = form.claims.entry(scheme.to_owned()).or_default();
                match field {
                    "include" => row.include = true,
                    "activity_type" => row.activity_type = text,
                    "category" => row.category = text,
                    "points" => row.points = text,
                    _ => {}
                }
            }
        }
    })
    .await?;
    form.file = upload.bytes;
    form.file_name = upload.file_name;
    form.file_type = upload.content_type;
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
    let adjusted = match form.claim_requests() {
        Ok(claims) => claims,
        Err(message) => return again(&state, locale, &csrf, &form, message),
    };
    let draft = Draft {
        title: form.title.clone(),
        provider_name: form.provider_name.clone(),
        completed_on,
        hours,
        claims: adjusted,
        evidence_id: form.evidence_id.trim().parse().ok(),
    };
    let outcome = if form.step == "save" {
        self_report::record(&state.db, &state.schemes, &actor, professional_id, &draft)
            .await
            .map(|_| None)
    } else {
        // The engine's own proposal lists every scheme the activity may count in, so that a
        // scheme left out can be put back; the preview shows the allocation as adjusted.
        let proposed = Draft {
            claims: None,
            ..draft.clone()
        };
        match self_report::preview(&state.db, &state.schemes, professional_id, &proposed).await {
            Ok(proposal) if draft.claims.is_none() => Ok(Some((proposal.clone(), proposal))),
            Ok(proposal) => {
                self_report::preview(&state.db, &state.schemes, professional_id, &draft)
                    .await
                    .map(|preview| Some((proposal, preview)))
            }
            Err(e) => Err(e),
        }
    };
    match outcome {
        Ok(None) => Ok(super::see_other("/credits", Vec::new())),
        Ok(Some((proposal, preview))) => {
            let claims = adjustable_rows(&state, locale, &form, &proposal, &preview);
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

/// The rows of the adjustable allocation: each scheme the engine proposes the activity for,
/// with what the professional chose there (or the proposal), and the scheme's activity types
/// and categories to choose from, named in the reader's language.
fn adjustable_rows(
    state: &AppState,
    locale: &str,
    form: &ReportForm,
    proposal: &Preview,
    preview: &Preview,
) -> Vec<minijinja::Value> {
    let today = chrono::Utc::now().date_naive();
    let name = |n: &LocalizedName| {
        if locale == "en" {
            n.en.clone()
        } else {
            n.ja.clone()
        }
    };
    let mut seen = BTreeSet::new();
    proposal
        .claims
        .iter()
        .filter(|c| seen.insert(c.scheme.clone()))
        .map(|c| {
            let chosen = preview.claims.iter().find(|p| p.scheme == c.scheme);
            let shown = chosen.unwrap_or(c);
            let definition = state
                .schemes
                .in_force_on(&c.scheme, today)
                .map(|l| &l.definition);
            let activity_types: Vec<minijinja::Value> = definition
                .map(|d| {
                    d.activity_types
                        .iter()
                        .map(|t| context! { id => t.id, name => name(&t.name) })
                        .collect()
                })
                .unwrap_or_default();
            let categories: Vec<minijinja::Value> = definition
                .map(|d| {
                    d.categories
                        .iter()
                        .map(|k| context! { id => k.id, name => name(&k.name) })
                        .collect()
                })
                .unwrap_or_default();
            context! {
                scheme => c.scheme,
                scheme_name => definition.map_or_else(|| c.scheme.clone(), |d| name(&d.name)),
                include => !form.adjusted || chosen.is_some(),
                activity_type => shown.activity_type,
                category => shown.category,
                points => shown.points.map(|p| p.to_string()),
                activity_types => activity_types,
                categories => categories,
            }
        })
        .collect()
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
