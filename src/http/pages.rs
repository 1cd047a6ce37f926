//! Server-rendered pages for professionals: sign in and out, a signed-in landing page,
//! activation and password-reset links, and "forgot my password"; and for providers' staff, the
//! attendance upload (see [`provider_upload`]).
//!
//! Session: the access token itself, in the `cpe_session` cookie (`__Host-cpe_session` when
//! Secure; HttpOnly, SameSite=Lax, Path=/, Max-Age = the token's lifetime). It is checked exactly as a bearer token is (the
//! `UserCaller` rules: signature, expiry, disabled account, `sessions_revoked_at`), so signing
//! out anywhere ends the page session too.
//!
//! CSRF: every form carries a `csrf` field, compared in constant time.
//! - Before sign-in (login, forgot, activate, reset) there is no session to bind to, so the
//!   token is a double-submit cookie: a random value in `cpe_csrf` (HttpOnly, SameSite=Strict;
//!   `__Host-` prefixed when Secure, so a sibling subdomain cannot plant one) echoed in the form.
//! - After sign-in (logout) it is a synchronizer token: HMAC-SHA256 keyed by the session's
//!   `jti`. The `jti` lives only inside the HttpOnly cookie, so another site can neither read
//!   nor compute it, and it changes with every sign-in.
//!
//! Language: `?lang=ja|en` (remembered in the `cpe_lang` cookie), else that cookie, else the
//! account's own setting (signed-in pages), else the first of `Accept-Language` we have words
//! for, else Japanese. Signing in, and saving the language on `/settings`, set the cookie to
//! the account's setting, so a `?lang=` choice lasts until the next sign-in and the setting
//! decides from then on.

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::header::{ACCEPT_LANGUAGE, AUTHORIZATION, LOCATION, RETRY_AFTER, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use minijinja::context;
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::app::AppState;
use crate::auth::tokens::ACCESS_TOKEN_TTL;
use crate::domain::standing::StandingState;
use crate::http::auth::issue_user_token;
use crate::http::callers::UserCaller;
use crate::http::client_ip::ClientIp;
use crate::http::extract::{Form, Query};
use crate::http::problem::Problem;
use crate::services::account_settings;
use crate::services::accounts;
use crate::services::holdings;
use crate::services::links::{self, LinkError, LinkProblem, TokenPurpose};
use crate::services::planner::{self, PlanBy};
use crate::services::sign_in::{self, LoginError};
use crate::services::standing;
use crate::templates::{LOCALES, Templates, supported_locale};

mod audit_requests;
mod credits;
pub mod dashboard;
mod privacy;
mod provider_upload;
mod records;
mod settings;

pub const SESSION_COOKIE: &str = "cpe_session";
pub const LANG_COOKIE: &str = "cpe_lang";

/// Every page route. The router is built from this list, and the authorization matrix test
/// reads it, so a page added here without a rule there fails that test.
pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    let mut routes = vec![
        ("/", get(home)),
        ("/login", get(login_form).post(login_submit)),
        ("/logout", post(logout)),
        ("/activate", get(activate_form).post(activate_submit)),
        ("/reset", get(reset_form).post(reset_submit)),
        ("/forgot", get(forgot_form).post(forgot_submit)),
        (
            "/provider/upload",
            get(provider_upload::upload_form)
                .post(provider_upload::upload_submit)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::http::provider::ATTENDANCE_BODY_LIMIT,
                )),
        ),
        (
            "/consents",
            get(privacy::consents_form).post(privacy::consents_submit),
        ),
        ("/disclosures", get(privacy::disclosures_page)),
        (
            "/calendar-feed",
            get(records::calendar_feed_form).post(records::calendar_feed_submit),
        ),
        ("/transcript/{holding_id}", get(records::transcript)),
        ("/settings", get(settings::settings_form)),
        ("/settings/language", post(settings::language_submit)),
        ("/settings/password", post(settings::password_submit)),
        ("/credits", get(credits::list_page)),
        (
            "/credits/new",
            get(credits::new_form).post(credits::new_submit).layer(
                axum::extract::DefaultBodyLimit::max(
                    crate::services::evidence::MAX_BYTES + 64 * 1024,
                ),
            ),
        ),
        (
            "/admin/review",
            get(credits::review_list).post(credits::review_submit),
        ),
        (
            "/audit-requests",
            get(audit_requests::list_page)
                .post(audit_requests::answer_submit)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::services::evidence::MAX_BYTES + 64 * 1024,
                )),
        ),
    ];
    routes.extend(crate::http::public_pages::routes());
    routes
}

pub fn router() -> Router<AppState> {
    routes()
        .into_iter()
        .fold(Router::new(), |router, (path, methods)| {
            router.route(path, methods)
        })
}

// --- cookies -----------------------------------------------------------------------------------

/// Cookies are `Secure` except when the public URL is plain http on the loopback host: a
/// developer's `cargo run` (and the tests) serve http://127.0.0.1:8080, where a browser would
/// drop a Secure cookie set over http and sign-in could never work. Anything else, including
/// plain http on a real host name, gets `Secure`, so a misconfigured deployment fails closed.
fn secure(state: &AppState) -> bool {
    let url = &state.config.public_url;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    !(url.scheme() == "http" && loopback)
}

fn csrf_cookie_name(state: &AppState) -> &'static str {
    if secure(state) {
        "__Host-cpe_csrf"
    } else {
        "cpe_csrf"
    }
}

/// `__Host-` prefixed when Secure, so a sibling subdomain cannot plant a session of its own.
fn session_cookie_name(state: &AppState) -> &'static str {
    if secure(state) {
        "__Host-cpe_session"
    } else {
        SESSION_COOKIE
    }
}

/// The value of the request's cookie called exactly `name`.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(name)
        .map(|c| c.value().to_owned())
}

/// A `Set-Cookie` value: always Path=/ and HttpOnly, Secure whenever [`secure`] says so.
fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    max_age: Option<i64>,
    same_site: SameSite,
) -> HeaderValue {
    let mut cookie = Cookie::build((name.to_owned(), value.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(same_site)
        .secure(secure(state));
    if let Some(age) = max_age {
        cookie = cookie.max_age(time::Duration::seconds(age));
    }
    HeaderValue::from_str(&cookie.build().encoded().to_string())
        .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn session_cookie(state: &AppState, token: &str) -> HeaderValue {
    set_cookie(
        state,
        session_cookie_name(state),
        token,
        Some(ACCESS_TOKEN_TTL.as_secs() as i64),
        SameSite::Lax,
    )
}

fn clear_session_cookie(state: &AppState) -> HeaderValue {
    set_cookie(
        state,
        session_cookie_name(state),
        "",
        Some(0),
        SameSite::Lax,
    )
}

// --- CSRF --------------------------------------------------------------------------------------

pub(crate) fn constant_time_eq(a: &str, b: &str) -> bool {
    !a.is_empty() && a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// The double-submit token of a pre-sign-in form: the cookie's value when the browser has one,
/// else a fresh one (and the cookie to set).
fn pre_login_csrf(state: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    if let Some(existing) = cookie(headers, csrf_cookie_name(state)).filter(|v| v.len() >= 32) {
        return (existing, None);
    }
    let bytes: [u8; 32] = rand::random();
    let fresh = URL_SAFE_NO_PAD.encode(bytes);
    let header = set_cookie(
        state,
        csrf_cookie_name(state),
        &fresh,
        None,
        SameSite::Strict,
    );
    (fresh, Some(header))
}

fn pre_login_csrf_ok(state: &AppState, headers: &HeaderMap, submitted: &str) -> bool {
    cookie(headers, csrf_cookie_name(state)).is_some_and(|c| constant_time_eq(&c, submitted))
}

/// The synchronizer token of a signed-in session.
pub(crate) fn session_csrf(jti: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(jti.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(b"cpe-ledger page form");
    hex::encode(mac.finalize().into_bytes())
}

// --- locale ------------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct PageQuery {
    lang: Option<String>,
    token: Option<String>,
}

/// The page language and, when `?lang=` chose it, the cookie that remembers the choice.
fn page_locale(
    state: &AppState,
    headers: &HeaderMap,
    query: &PageQuery,
) -> (&'static str, Option<HeaderValue>) {
    page_locale_for(state, headers, query, None)
}

/// The cookie that remembers a language.
fn lang_cookie(state: &AppState, locale: &str) -> HeaderValue {
    set_cookie(
        state,
        LANG_COOKIE,
        supported_locale(locale),
        Some(365 * 24 * 3600),
        SameSite::Lax,
    )
}

/// [`page_locale`] for a signed-in page: the account's setting comes before the browser's.
fn page_locale_for(
    state: &AppState,
    headers: &HeaderMap,
    query: &PageQuery,
    account: Option<&str>,
) -> (&'static str, Option<HeaderValue>) {
    if let Some(lang) = query.lang.as_deref() {
        let locale = supported_locale(lang);
        return (locale, Some(lang_cookie(state, locale)));
    }
    if let Some(lang) = cookie(headers, LANG_COOKIE) {
        return (supported_locale(&lang), None);
    }
    if let Some(chosen) = account {
        return (supported_locale(chosen), None);
    }
    let accepted = headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    for tag in accepted.split(',') {
        let tag = tag.split(';').next().unwrap_or("").trim();
        let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
        if LOCALES.contains(&primary.as_str()) {
            return (supported_locale(&primary), None);
        }
    }
    (supported_locale("ja"), None)
}

// --- responses ---------------------------------------------------------------------------------

/// A rendered page; never a raw error (a template failure is logged and answered opaquely).
struct Page {
    status: StatusCode,
    html: String,
    cookies: Vec<HeaderValue>,
    extra: Vec<(axum::http::HeaderName, HeaderValue)>,
}

impl Page {
    fn render(
        templates: &Templates,
        status: StatusCode,
        name: &str,
        locale: &str,
        ctx: minijinja::Value,
    ) -> Result<Self, Problem> {
        let html = templates
            .render_page(name, locale, ctx)
            .map_err(|e| Problem::internal(&e))?;
        Ok(Self {
            status,
            html,
            cookies: Vec::new(),
            extra: Vec::new(),
        })
    }

    fn cookie(mut self, value: Option<HeaderValue>) -> Self {
        self.cookies.extend(value);
        self
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::response::Html(self.html)).into_response();
        let headers = response.headers_mut();
        for value in self.cookies {
            headers.append(SET_COOKIE, value);
        }
        for (name, value) in self.extra {
            headers.insert(name, value);
        }
        headers.insert("cache-control", HeaderValue::from_static("no-store"));
        headers.insert(
            axum::http::header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PAGE_POLICY),
        );
        response
    }
}

/// What a page may load: its own stylesheet and images, and nothing else. The pages run no
/// script at all and carry no inline style, so an injected `<script>` or `style=` does nothing;
/// forms post only here; no page can be framed. `connect-src 'self'` lets a browser's own
/// tooling (and the browser tests) fetch this origin's downloads from a page; with no script
/// allowed, nothing of the page's can use it.
pub const PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A page reached from an emailed link outside the session flows (the unsubscribe page): in
/// the language `?lang=` names, else the reader's, remembering a `?lang=` choice.
pub(crate) fn standalone_page(
    state: &AppState,
    headers: &HeaderMap,
    lang: Option<&str>,
    status: StatusCode,
    name: &str,
    ctx: minijinja::Value,
) -> Result<Response, Problem> {
    let query = PageQuery {
        lang: lang.map(str::to_owned),
        token: None,
    };
    let (locale, lang_cookie) = page_locale(state, headers, &query);
    Ok(Page::render(&state.templates, status, name, locale, ctx)?
        .cookie(lang_cookie)
        .into_response())
}

pub(super) fn see_other(to: &'static str, cookies: Vec<HeaderValue>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    response
        .headers_mut()
        .insert(LOCATION, HeaderValue::from_static(to));
    for value in cookies {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

fn notice(
    templates: &Templates,
    status: StatusCode,
    locale: &str,
    which: &str,
) -> Result<Page, Problem> {
    Page::render(
        templates,
        status,
        "notice",
        locale,
        context! { notice => which },
    )
}

/// 403 for a form without a valid CSRF token: the page says to reload and try again.
fn csrf_refused(templates: &Templates, locale: &str) -> Result<Page, Problem> {
    notice(templates, StatusCode::FORBIDDEN, locale, "forbidden")
}

/// A used, expired or unknown link: a page that says which, with a way to get a new one.
fn link_page(templates: &Templates, locale: &str, problem: LinkProblem) -> Result<Page, Problem> {
    let status = match problem {
        LinkProblem::Unknown => StatusCode::BAD_REQUEST,
        LinkProblem::Used | LinkProblem::Expired => StatusCode::GONE,
    };
    Page::render(
        templates,
        status,
        "link_invalid",
        locale,
        context! { reason => problem.as_str() },
    )
}

// --- session extractor -------------------------------------------------------------------------

/// A signed-in browser: the session cookie's token, checked by the same rules as a bearer
/// token. Without one the request is sent to the sign-in page.
pub struct PageSession {
    pub caller: UserCaller,
}

impl FromRequestParts<AppState> for PageSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_login = |clear: bool| {
            let cookies = if clear {
                vec![clear_session_cookie(state)]
            } else {
                Vec::new()
            };
            see_other("/login", cookies)
        };
        let Some(token) =
            cookie(&parts.headers, session_cookie_name(state)).filter(|t| !t.is_empty())
        else {
            return Err(to_login(false));
        };
        let Ok(request) = Request::builder()
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .body(())
        else {
            return Err(to_login(true));
        };
        let (mut bearer_parts, ()) = request.into_parts();
        match UserCaller::from_request_parts(&mut bearer_parts, state).await {
            Ok(caller) => Ok(Self { caller }),
            Err(_) => Err(to_login(true)),
        }
    }
}

// --- handlers ----------------------------------------------------------------------------------

type PageResult = Result<Response, Problem>;

async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
    session: PageSession,
) -> PageResult {
    let user = &session.caller.user;
    // People are greeted by the name they chose; staff accounts (no professional) by email.
    let person = match user.professional_id {
        Some(id) => holdings::professional(&state.db, id).await?,
        None => None,
    };
    let account = person
        .as_ref()
        .map(|p| p.locale.clone())
        .or_else(|| user.locale.clone());
    let (locale, lang_cookie) = page_locale_for(&state, &headers, &query, account.as_deref());
    let name = person
        .as_ref()
        .map(|p| {
            p.display_name
                .clone()
                .unwrap_or_else(|| p.legal_name.clone())
        })
        .unwrap_or_else(|| user.email.clone());
    let mut rows = Vec::new();
    if let Some(person) = &person {
        let cards = standing::dashboards_of(&state.db, &state.schemes, person).await?;
        let held: Vec<_> = cards.iter().map(|(holding, _)| holding.clone()).collect();
        let histories = crate::services::renewal_history::of_holdings(&state.db, &held).await?;
        for (holding, found) in cards {
            let card = dashboard::card(&holding, found.as_ref(), locale);
            // A certification that is not complete shows the courses that would complete it.
            let short = found
                .as_ref()
                .is_some_and(|f| f.holding.standing.state != StandingState::Complete);
            let plan = if short {
                let found =
                    planner::for_holding(&state.db, &state.schemes, &holding, PlanBy::Hours, None)
                        .await?;
                Some(dashboard::plan(&found, &state.schemes, locale))
            } else {
                None
            };
            let card = dashboard::with_history(card, histories.get(&holding.id));
            rows.push(context! { plan => plan, ..card });
        }
    }
    let page = Page::render(
        &state.templates,
        StatusCode::OK,
        "home",
        locale,
        context! {
            name => name,
            email => user.email,
            holdings => rows,
            professional => user.professional_id.is_some(),
            csrf => session_csrf(&session.caller.claims.jti),
        },
    )?
    .cookie(lang_cookie);
    Ok(page.into_response())
}

async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
    session: Result<PageSession, Response>,
) -> PageResult {
    if session.is_ok() {
        return Ok(see_other("/", Vec::new()));
    }
    let (locale, lang_cookie) = page_locale(&state, &headers, &query);
    let (csrf, csrf_cookie) = pre_login_csrf(&state, &headers);
    Ok(Page::render(
        &state.templates,
        StatusCode::OK,
        "login",
        locale,
        context! { csrf => csrf, email => "" },
    )?
    .cookie(lang_cookie)
    .cookie(csrf_cookie)
    .into_response())
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn login_submit(
    State(state): State<AppState>,
    ClientIp(remote): ClientIp,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
    Form(form): Form<LoginForm>,
) -> PageResult {
    let (locale, _) = page_locale(&state, &headers, &query);
    if !pre_login_csrf_ok(&state, &headers, &form.csrf) {
        return Ok(csrf_refused(&state.templates, locale)?.into_response());
    }
    let words_key = match sign_in::log_in(&state.db, &form.email, &form.password, remote).await {
        Ok(user) => {
            let (token, _) = issue_user_token(&state, &user).await?;
            let mut cookies = vec![session_cookie(&state, &token)];
            // The account's language decides from each sign-in on.
            if let Some(chosen) = account_settings::account_locale(&state.db, &user).await? {
                cookies.push(lang_cookie(&state, &chosen));
            }
            return Ok(see_other("/", cookies));
        }
        Err(LoginError::BadCredentials) => (StatusCode::UNAUTHORIZED, "login_failed", None),
        Err(LoginError::Throttled {
            retry_after_seconds,
        }) => (
            StatusCode::TOO_MANY_REQUESTS,
            "login_throttled",
            Some(retry_after_seconds),
        ),
        Err(e @ LoginError::Db(_)) => return Err(e.into()),
    };
    let (status, key, retry_after) = words_key;
    let (csrf, csrf_cookie) = pre_login_csrf(&state, &headers);
    let words = render_page_word(&state.templates, locale, key);
    let mut page = Page::render(
        &state.templates,
        status,
        "login",
        locale,
        context! { csrf => csrf, email => form.email, error => words },
    )?
    .cookie(csrf_cookie);
    if let Some(seconds) = retry_after {
        page.extra.push((RETRY_AFTER, HeaderValue::from(seconds)));
    }
    Ok(page.into_response())
}

/// One word list entry, for messages a handler chooses.
pub(super) fn render_page_word(templates: &Templates, locale: &str, key: &str) -> String {
    templates
        .page_words(locale)
        .get_attr(key)
        .map(|v| v.to_string())
        .unwrap_or_default()
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
    session: PageSession,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    let (locale, _) = page_locale(&state, &headers, &query);
    if !constant_time_eq(&session_csrf(&session.caller.claims.jti), &form.csrf) {
        return Ok(csrf_refused(&state.templates, locale)?.into_response());
    }
    sign_in::end_sessions(
        &state.db,
        session.caller.user.id,
        &session.caller.actor(),
        "logout",
    )
    .await?;
    Ok(
        notice(&state.templates, StatusCode::OK, locale, "signed_out")?
            .cookie(Some(clear_session_cookie(&state)))
            .into_response(),
    )
}

async fn link_form(
    state: AppState,
    headers: HeaderMap,
    query: PageQuery,
    purpose: TokenPurpose,
) -> PageResult {
    let (locale, lang_cookie) = page_locale(&state, &headers, &query);
    let token = query.token.clone().unwrap_or_default();
    let user = match links::check_link(&state.db, &token, purpose).await {
        Ok(user) => user,
        Err(LinkError::Link(problem)) => {
            return Ok(link_page(&state.templates, locale, problem)?
                .cookie(lang_cookie)
                .into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let (csrf, csrf_cookie) = pre_login_csrf(&state, &headers);
    Ok(set_password_page(
        &state.templates,
        locale,
        purpose,
        &token,
        &csrf,
        user.password_hash.is_none(),
        None,
    )?
    .cookie(lang_cookie)
    .cookie(csrf_cookie)
    .into_response())
}

/// The form to choose a password; with `error`, the same form answered 422.
fn set_password_page(
    templates: &Templates,
    locale: &str,
    purpose: TokenPurpose,
    token: &str,
    csrf: &str,
    needs_password: bool,
    error: Option<String>,
) -> Result<Page, Problem> {
    let (name, action) = match purpose {
        TokenPurpose::Activation => ("activate", "/activate"),
        TokenPurpose::Reset => ("reset", "/reset"),
    };
    let status = match error {
        None => StatusCode::OK,
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
    };
    Page::render(
        templates,
        status,
        "set_password",
        locale,
        context! {
            purpose => name,
            action => action,
            token => token,
            // The language switch links back here with the same token.
            keep_query => format!(
                "&token={}",
                url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
            ),
            csrf => csrf,
            needs_password => needs_password,
            error => error,
        },
    )
}

#[derive(Deserialize)]
pub struct SetPasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

async fn link_submit(
    state: AppState,
    headers: HeaderMap,
    query: PageQuery,
    purpose: TokenPurpose,
    form: SetPasswordForm,
) -> PageResult {
    let (locale, _) = page_locale(&state, &headers, &query);
    if !pre_login_csrf_ok(&state, &headers, &form.csrf) {
        return Ok(csrf_refused(&state.templates, locale)?.into_response());
    }
    let retry = |key: &str, needs_password: bool| -> PageResult {
        Ok(set_password_page(
            &state.templates,
            locale,
            purpose,
            &form.token,
            &form.csrf,
            needs_password,
            Some(render_page_word(&state.templates, locale, key)),
        )?
        .into_response())
    };
    if form.password != form.confirm {
        return retry("passwords_differ", true);
    }
    let password = (!form.password.is_empty()).then_some(form.password.as_str());
    match links::redeem_link(&state.db, &form.token, purpose, password).await {
        Ok(user) => match purpose {
            // A fresh account signs straight in: the link proved the mailbox.
            TokenPurpose::Activation => {
                let (token, _) = issue_user_token(&state, &user).await?;
                Ok(see_other("/", vec![session_cookie(&state, &token)]))
            }
            TokenPurpose::Reset => {
                Ok(
                    notice(&state.templates, StatusCode::OK, locale, "password_set")?
                        .cookie(Some(clear_session_cookie(&state)))
                        .into_response(),
                )
            }
        },
        Err(LinkError::Link(problem)) => {
            Ok(link_page(&state.templates, locale, problem)?.into_response())
        }
        Err(LinkError::Password(_)) => retry("password_rule", true),
        Err(e) => Err(e.into()),
    }
}

async fn activate_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> PageResult {
    link_form(state, headers, query, TokenPurpose::Activation).await
}

async fn activate_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
    Form(form): Form<SetPasswordForm>,
) -> PageResult {
    link_submit(state, headers, query, TokenPurpose::Activation, form).await
}

async fn reset_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> PageResult {
    link_form(state, headers, query, TokenPurpose::Reset).await
}

async fn reset_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
    Form(form): Form<SetPasswordForm>,
) -> PageResult {
    link_submit(state, headers, query, TokenPurpose::Reset, form).await
}

async fn forgot_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> PageResult {
    let (locale, lang_cookie) = page_locale(&state, &headers, &query);
    let (csrf, csrf_cookie) = pre_login_csrf(&state, &headers);
    Ok(Page::render(
        &state.templates,
        StatusCode::OK,
        "forgot",
        locale,
        context! { csrf => csrf },
    )?
    .cookie(lang_cookie)
    .cookie(csrf_cookie)
    .into_response())
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

async fn forgot_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
    Form(form): Form<ForgotForm>,
) -> PageResult {
    let (locale, _) = page_locale(&state, &headers, &query);
    if !pre_login_csrf_ok(&state, &headers, &form.csrf) {
        return Ok(csrf_refused(&state.templates, locale)?.into_response());
    }
    accounts::request_password_reset(&state.db, &form.email).await?;
    Ok(notice(&state.templates, StatusCode::OK, locale, "reset_sent")?.into_response())
}

#[cfg(test)]
mod tests {
    use axum::http::header::COOKIE;

    use super::*;

    #[test]
    fn session_csrf_tokens_differ_per_session_and_compare_in_constant_time() {
        let a = session_csrf("jti-a");
        assert_eq!(a, session_csrf("jti-a"));
        assert_ne!(a, session_csrf("jti-b"));
        assert!(constant_time_eq(&a, &a.clone()));
        assert!(!constant_time_eq(&a, ""));
        assert!(!constant_time_eq("", ""));
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a_cpe_session=x; cpe_session=tok; z=1"),
        );
        assert_eq!(cookie(&headers, "cpe_session").as_deref(), Some("tok"));
        assert_eq!(cookie(&headers, "missing"), None);
    }
}
