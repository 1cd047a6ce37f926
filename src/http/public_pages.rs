//! Pages anyone may open, and the page a professional shares a credential from:
//!
//! - `GET /verify/{token}`: a status credential's verdict (valid, expired, revoked, tampered,
//!   malformed) in ja or en, with what it states once its signature verifies;
//! - `GET /registry`: the public registry, in the manner of IPA's RISS search: a form, and with
//!   `?scheme=…&number=…` the answer: the always-public fields (scheme, number, status, valid
//!   until) and only what the holder consented to show the public (name, employer, the
//!   courses of the current cycle);
//! - `POST /credentials` (signed in, CSRF-checked): issues a credential for one of the caller's
//!   holdings and shows it with a QR code that points at its `/verify/…` page.
//!
//! Lookups on the verify and registry pages count against the same per-address budget as the
//! API's anonymous lookups (`throttle::admit_lookup`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};
use minijinja::{Value, context};
use serde::Deserialize;
use uuid::Uuid;

use crate::app::AppState;
use crate::http::client_ip::ClientIp;
use crate::http::extract::{Form, Path, Query};
use crate::http::pages::{self, PageSession};
use crate::http::problem::Problem;
use crate::services::credentials::{self, Requester, Verdict};
use crate::services::holding_facts::{self, status_str};
use crate::services::{credential_disclosure, holdings, throttle};

pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/verify/{token}", get(verify_page)),
        ("/registry", get(registry_page)),
        ("/credentials", post(issue_page)),
        ("/assets/pages.css", get(stylesheet)),
    ]
}

/// The pages' one stylesheet. Public and cacheable: it is the same for everyone.
async fn stylesheet(State(state): State<AppState>) -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        state.templates.stylesheet().to_owned(),
    )
        .into_response()
}

type PageResult = Result<Response, Problem>;

#[derive(Deserialize, Default)]
pub struct LangQuery {
    lang: Option<String>,
}

/// The page a throttled lookup gets: 429, with `Retry-After`.
fn throttled_page(
    state: &AppState,
    headers: &HeaderMap,
    lang: Option<&str>,
    retry_after_seconds: u64,
) -> PageResult {
    let mut response = pages::standalone_page(
        state,
        headers,
        lang,
        StatusCode::TOO_MANY_REQUESTS,
        "notice",
        context! { notice => "lookup_throttled" },
    )?;
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(retry_after_seconds),
    );
    Ok(response)
}

/// The facts a verified credential states, for the page.
fn stated(claims: &serde_json::Value) -> Value {
    let subject = &claims["credentialSubject"];
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    context! {
        scheme => text(&subject["achievement"]["name"]).or_else(|| text(&subject["scheme"])),
        registration_number => text(&subject["registrationNumber"]),
        status => text(&subject["status"]),
        standing => text(&subject["standing"]),
        valid_until => text(&subject["certificationValidUntil"]),
        name => text(&subject["name"]),
        level => text(&subject["level"]),
        issued_at => text(&claims["validFrom"]),
        expires_at => text(&claims["validUntil"]),
    }
}

async fn verify_page(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Query(query): Query<LangQuery>,
    Path(token): Path<String>,
) -> PageResult {
    let lang = query.lang.as_deref();
    if let Err(throttled) = throttle::admit_lookup(&state.db, "verify", ip).await? {
        return throttled_page(&state, &headers, lang, throttled.retry_after_seconds);
    }
    let found = credentials::verify(
        &state.db,
        &state.credential_keys,
        &state.config.issuer(),
        &token,
    )
    .await?;
    let facts = match found.verdict {
        // The signature verified: what it states is authentic, whatever became of it since.
        Verdict::Valid | Verdict::Expired | Verdict::Revoked => found.claims.as_ref().map(stated),
        Verdict::Tampered | Verdict::Malformed => None,
    };
    pages::standalone_page(
        &state,
        &headers,
        lang,
        StatusCode::OK,
        "verify",
        context! {
            verdict => found.verdict.as_str(),
            facts => facts,
            checked_at => chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            // The language switch links back to this same credential.
            keep_query => "",
        },
    )
}

#[derive(Deserialize, Default)]
pub struct RegistryQuery {
    lang: Option<String>,
    scheme: Option<String>,
    number: Option<String>,
}

async fn registry_page(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Query(query): Query<RegistryQuery>,
) -> PageResult {
    let lang = query.lang.as_deref();
    let locale = crate::templates::supported_locale(lang.unwrap_or("ja"));
    let schemes: Vec<Value> = {
        let mut seen = Vec::new();
        for loaded in state.schemes.all() {
            let d = &loaded.definition;
            if !seen.iter().any(|(id, _): &(String, String)| id == &d.id) {
                let name = if locale == "en" {
                    &d.name.en
                } else {
                    &d.name.ja
                };
                seen.push((d.id.clone(), name.clone()));
            }
        }
        seen.into_iter()
            .map(|(id, name)| context! { id => id, name => name })
            .collect()
    };
    let scheme = query.scheme.as_deref().map(str::trim).unwrap_or("");
    let number = query.number.as_deref().map(str::trim).unwrap_or("");
    let keep_query = format!(
        "&scheme={}&number={}",
        url::form_urlencoded::byte_serialize(scheme.as_bytes()).collect::<String>(),
        url::form_urlencoded::byte_serialize(number.as_bytes()).collect::<String>()
    );
    let form = context! {
        schemes => schemes,
        scheme => scheme,
        number => number,
        keep_query => if scheme.is_empty() && number.is_empty() { String::new() } else { keep_query },
    };
    if scheme.is_empty() || number.is_empty() || number.len() > 64 || scheme.len() > 64 {
        let asked = !(scheme.is_empty() && number.is_empty());
        let status = if asked {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        return pages::standalone_page(
            &state,
            &headers,
            lang,
            status,
            "registry",
            context! { result => if asked { "incomplete" } else { "" }, ..form },
        );
    }
    if let Err(throttled) = throttle::admit_lookup(&state.db, "registry", ip).await? {
        return throttled_page(&state, &headers, lang, throttled.retry_after_seconds);
    }
    let Some(holding) = holdings::by_registration(&state.db, scheme, number).await? else {
        return pages::standalone_page(
            &state,
            &headers,
            lang,
            StatusCode::NOT_FOUND,
            "registry",
            context! { result => "not_found", ..form },
        );
    };
    let facts = holding_facts::of(&state.db, &state.schemes, &holding).await?;
    let disclosed =
        credential_disclosure::for_public_registry(&state.db, &state.schemes, &holding).await?;
    pages::standalone_page(
        &state,
        &headers,
        lang,
        StatusCode::OK,
        "registry",
        context! {
            result => "found",
            found => context! {
                scheme => facts.scheme,
                registration_number => facts.registration_number,
                status => status_str(facts.status),
                valid_until => facts.valid_until.map(|d| d.to_string()),
                name => disclosed.name,
                employer => disclosed.employer,
                course_history => disclosed.course_history.map(|entries| {
                    entries
                        .into_iter()
                        .map(|e| context! {
                            title => e.title,
                            provider => e.provider,
                            completed_on => e.completed_on.to_string(),
                            points => e.points.to_string(),
                        })
                        .collect::<Vec<_>>()
                }),
            },
            ..form
        },
    )
}

#[derive(Deserialize)]
pub struct IssueForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    holding_id: String,
}

/// An SVG QR code of `text`, ready to inline.
fn qr_svg(text: &str) -> Option<String> {
    let code =
        qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::L).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    // The renderer writes an XML declaration first; inline SVG starts at its element.
    svg.find("<svg").map(|at| svg[at..].to_owned())
}

async fn issue_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<LangQuery>,
    session: PageSession,
    Form(form): Form<IssueForm>,
) -> PageResult {
    let lang = query.lang.as_deref();
    if !pages::constant_time_eq(&pages::session_csrf(&session.caller.claims.jti), &form.csrf) {
        return pages::standalone_page(
            &state,
            &headers,
            lang,
            StatusCode::FORBIDDEN,
            "notice",
            context! { notice => "forbidden" },
        );
    }
    let Some(professional_id) = session.caller.user.professional_id else {
        return pages::standalone_page(
            &state,
            &headers,
            lang,
            StatusCode::FORBIDDEN,
            "notice",
            context! { notice => "not_a_holder" },
        );
    };
    // Nothing chosen: back to the list to choose from.
    let Ok(holding_id) = Uuid::parse_str(form.holding_id.trim()) else {
        return Ok(Redirect::to("/").into_response());
    };
    let Some(holding) = holdings::owned_by(&state.db, professional_id, holding_id).await? else {
        return Ok(Redirect::to("/").into_response());
    };
    let disclosed =
        credential_disclosure::for_credential(&state.db, &state.schemes, &holding).await?;
    let issued = credentials::issue(
        &state.db,
        &state.schemes,
        &state.credential_keys,
        &state.config.public_url,
        &holding,
        Requester::Professional {
            user_id: session.caller.user.id,
        },
        disclosed.name,
        disclosed.level,
    )
    .await?;
    let link = credentials::verify_page_url(&state.config.public_url, &issued.token);
    let qr = qr_svg(&link).map(Value::from_safe_string);
    pages::standalone_page(
        &state,
        &headers,
        lang,
        StatusCode::OK,
        "credential",
        context! {
            scheme => issued.facts.scheme,
            registration_number => issued.facts.registration_number,
            status => status_str(issued.facts.status),
            valid_until => issued.facts.valid_until.map(|d| d.to_string()),
            expires_at => issued.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            link => link,
            token => issued.token,
            qr => qr,
            credential_id => issued.id.to_string(),
        },
    )
}
