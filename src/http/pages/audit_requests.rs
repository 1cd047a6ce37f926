//! `/audit-requests`: the sample audits' requests for evidence addressed to the signed-in
//! professional, each open one with a form that uploads the evidence file and answers it.

use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use minijinja::context;
use uuid::Uuid;

use super::{
    Page, PageQuery, PageResult, PageSession, constant_time_eq, csrf_refused, page_locale,
    render_page_word, session_csrf,
};
use crate::app::AppState;
use crate::http::extract::Query;
use crate::http::problem::Problem;
use crate::services::audit::Actor;
use crate::services::evidence::{self, Declared};
use crate::services::sample_audit::{self, SampleAuditError};

/// The page, with a message above the list (`None`: none).
async fn render(
    state: &AppState,
    locale: &str,
    csrf: &str,
    professional_id: Uuid,
    message: Option<(&str, String)>,
) -> Result<Page, Problem> {
    let requests: Vec<minijinja::Value> = sample_audit::own(&state.db, professional_id)
        .await?
        .into_iter()
        .map(|v| {
            context! {
                id => v.request.id.to_string(),
                title => v.title,
                completed_on => v.completed_on.to_string(),
                scheme => v.request.scheme_id,
                due_on => v.request.due_on.to_string(),
                outcome => format!("{:?}", v.request.outcome).to_lowercase(),
            }
        })
        .collect();
    let (kind, text) = message.map_or((None, None), |(k, t)| (Some(k), Some(t)));
    Page::render(
        &state.templates,
        StatusCode::OK,
        "audit_requests",
        locale,
        context! { csrf => csrf, requests => requests, message_kind => kind, message => text },
    )
}

use super::credits::{read_multipart, refuse_staff};

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
    let csrf = session_csrf(&session.caller.claims.jti);
    let page = render(&state, locale, &csrf, professional_id, None).await?;
    Ok(page.cookie(lang_cookie).into_response())
}

#[derive(Default)]
struct AnswerForm {
    csrf: String,
    request: String,
    file: Vec<u8>,
    file_name: Option<String>,
    file_type: Option<String>,
}

async fn read_answer(multipart: Multipart) -> Result<AnswerForm, String> {
    let mut form = AnswerForm::default();
    let upload = read_multipart(multipart, |name, text| match name {
        "csrf" => form.csrf = text,
        "request" => form.request = text,
        _ => {}
    })
    .await?;
    form.file = upload.bytes;
    form.file_name = upload.file_name;
    form.file_type = upload.content_type;
    Ok(form)
}

pub(super) async fn answer_submit(
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
    let error = |text: String| Some(("error", text));
    let unreadable = render_page_word(&state.templates, locale, "audit_form_unreadable");
    let form = match multipart {
        Ok(m) => match read_answer(m).await {
            Ok(form) => form,
            Err(e) => {
                let text = format!("{unreadable} {e}");
                return render(&state, locale, &csrf, professional_id, error(text))
                    .await
                    .map(IntoResponse::into_response);
            }
        },
        Err(_) => {
            return render(&state, locale, &csrf, professional_id, error(unreadable))
                .await
                .map(IntoResponse::into_response);
        }
    };
    if !constant_time_eq(&csrf, &form.csrf) {
        return Ok(csrf_refused(&state.templates, locale)?.into_response());
    }
    let Ok(request_id) = form.request.trim().parse::<Uuid>() else {
        return render(&state, locale, &csrf, professional_id, error(unreadable))
            .await
            .map(IntoResponse::into_response);
    };
    if form.file.is_empty() {
        let words = render_page_word(&state.templates, locale, "audit_file_missing");
        return render(&state, locale, &csrf, professional_id, error(words))
            .await
            .map(IntoResponse::into_response);
    }
    let actor = Actor::user(session.caller.user.id);
    let stored = match evidence::store(
        &state.db,
        &actor,
        professional_id,
        form.file,
        Declared {
            file_name: form.file_name.as_deref(),
            content_type: form.file_type.as_deref(),
        },
    )
    .await
    {
        Ok(meta) => meta,
        Err(evidence::EvidenceError::Db(e)) => return Err(e.into()),
        Err(e) => {
            return render(&state, locale, &csrf, professional_id, error(e.to_string()))
                .await
                .map(IntoResponse::into_response);
        }
    };
    let message =
        match sample_audit::answer(&state.db, &actor, professional_id, request_id, stored.id).await
        {
            Ok(_) => Some((
                "done",
                render_page_word(&state.templates, locale, "audit_answered"),
            )),
            Err(SampleAuditError::Db(e)) => return Err(e.into()),
            Err(SampleAuditError::NotFound) => error(render_page_word(
                &state.templates,
                locale,
                "audit_not_found",
            )),
            Err(e) => error(e.to_string()),
        };
    render(&state, locale, &csrf, professional_id, message)
        .await
        .map(IntoResponse::into_response)
}
