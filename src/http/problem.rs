//! The one error type at the HTTP edge, rendered as RFC 9457 `application/problem+json`.
//!
//! Policy:
//! - Anything a client can send wrong is a 4xx that names the field (`errors[].field`) and says
//!   why, in words a person can act on. A client never sees a 500 for bad input.
//! - A unique-constraint failure is a 409 with a useful message, never a 500.
//! - A 500 is logged with its full cause chain and returned opaque: the body says only that
//!   something failed on our side, and carries the request's trace id when there is one.
//! - Protected routes add `WWW-Authenticate: Bearer error=…` (RFC 6750) to 401 and 403.
//! - Every service error becomes a problem here, through one `From` per error type, so the same
//!   error gets the same answer on every route. Handlers use `?` and never map errors by hand.
//! - A body, query or path that cannot be read is answered by the rejection-typed extractors
//!   of [`crate::http::extract`], through the `From<…Rejection>` impls below: 400 for syntax,
//!   415 for a wrong content type, 422 for a body of the wrong shape, naming the field.

use axum::Json;
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::tokens::TokenError;
use crate::services::account_settings::SettingsError;
use crate::services::accounts::AccountError;
use crate::services::attendance::AttendanceError;
use crate::services::clients::ClientError;
use crate::services::courses::CourseError;
use crate::services::links::{LinkError, LinkProblem};
use crate::services::organisations::OrganisationError;
use crate::services::providers::ProviderError;
use crate::services::reminder_preferences::{PreferenceError, UnsubscribeError};
use crate::services::sign_in::LoginError;
use crate::services::standing::StandingError;
use crate::services::throttle::{LookupThrottled, SignUpThrottled};
use crate::services::transcript::TranscriptError;
use crate::services::xapi::XapiError;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One field-level complaint inside a problem.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The offending field, as a JSON pointer-like path (`claims[0].points`) or a header name.
    pub field: String,
    /// Why it was refused.
    pub message: String,
}

/// RFC 9457 problem details. As sent, a problem also carries `request_id`, the id returned in
/// the `X-Request-Id` header, under which the server logged the request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the problem type (`about:blank` when the status says it all).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip)]
    pub www_authenticate: Option<String>,
    /// Seconds for the `Retry-After` header (429, 503). A `u16` keeps `Problem` small enough
    /// to return by value.
    #[serde(skip)]
    pub retry_after: Option<u16>,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: Some(detail.into()),
            errors: Vec::new(),
            www_authenticate: None,
            retry_after: None,
        }
    }

    /// A 400/422 that names the field at fault.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = message.into();
        let mut p = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{field}: {message}"),
        );
        p.kind = "/problems/validation".to_owned();
        p.errors.push(FieldError { field, message });
        p
    }

    pub fn with_type(mut self, kind: &str) -> Self {
        self.kind = kind.to_owned();
        self
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, detail).with_type("/problems/conflict")
    }

    /// 401 with the RFC 6750 challenge.
    pub fn unauthorized(error: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let mut p = Self::new(StatusCode::UNAUTHORIZED, detail.clone());
        p.www_authenticate = Some(bearer_challenge(error, &detail));
        p
    }

    /// 403 with the RFC 6750 challenge.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let mut p = Self::new(StatusCode::FORBIDDEN, detail.clone());
        p.www_authenticate = Some(bearer_challenge("insufficient_scope", &detail));
        p
    }

    /// 429 with `Retry-After`: the caller spent its request budget.
    pub fn too_many_requests(retry_after_seconds: u64) -> Self {
        let retry_after_seconds = u16::try_from(retry_after_seconds).unwrap_or(u16::MAX);
        let mut p = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("rate limit reached; retry in {retry_after_seconds} s"),
        )
        .with_type("/problems/rate-limited");
        p.retry_after = Some(retry_after_seconds);
        p
    }

    /// The opaque answer for our own failures; the cause is logged, not sent.
    pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %ErrorChain(cause), "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server could not complete the request; it has been logged",
        )
    }
}

fn bearer_challenge(error: &str, description: &str) -> String {
    let description = description.replace(['"', '\\'], "'");
    format!("Bearer error=\"{error}\", error_description=\"{description}\"")
}

/// Displays an error with every `source()` after it, for logs.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// A problem as sent: its fields and the id of the request it answers, which the caller can
/// quote and the logs carry (see [`crate::http::request_id`]).
#[derive(Serialize)]
struct Body<'a> {
    #[serde(flatten)]
    problem: &'a Problem,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let challenge = self.www_authenticate.clone();
        let retry_after = self.retry_after;
        let body = Body {
            problem: &self,
            request_id: crate::http::request_id::current(),
        };
        let mut response = (status, Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(challenge) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
        }
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<sea_orm::DbErr> for Problem {
    fn from(err: sea_orm::DbErr) -> Self {
        if let Some(sea_orm::SqlErr::UniqueConstraintViolation(detail)) = err.sql_err() {
            tracing::info!(%detail, "unique constraint refused a write");
            return Problem::conflict("a record with the same identifying values already exists");
        }
        if storage_full(&err) {
            tracing::error!(error = %err, "the database's storage is full");
            return Problem::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "the server's storage is full; nothing was saved, retry later",
            )
            .with_type("/problems/storage-full");
        }
        if database_unavailable(&err) {
            tracing::warn!(error = %err, "the database is unavailable");
            let mut p = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable; retry shortly",
            )
            .with_type("/problems/unavailable");
            p.retry_after = Some(DATABASE_RETRY_AFTER_SECONDS);
            return p;
        }
        Problem::internal(&err)
    }
}

/// Whether the database refused a write because its storage is full: SQLite `SQLITE_FULL`
/// (13), PostgreSQL `53100 disk_full`, MySQL/MariaDB 1021 (disk full) and 1114 (table full). The
/// write's transaction is rolled back, so nothing of it was kept.
fn storage_full(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = err
    else {
        return false;
    };
    let sea_orm::sqlx::Error::Database(db) = &**e else {
        return false;
    };
    let code = db.code();
    let code = code.as_deref().unwrap_or("");
    match db.try_downcast_ref::<sea_orm::sqlx::mysql::MySqlDatabaseError>() {
        Some(mysql) => matches!(mysql.number(), 1021 | 1114),
        None => matches!(code, "13" | "53100"),
    }
}

/// Seconds a caller is told to wait while the database is away.
const DATABASE_RETRY_AFTER_SECONDS: u16 = 5;

/// Whether `err` says the database could not be reached (restarting, the network gone, every
/// connection busy past the wait), as opposed to refusing what was asked: a 503 the caller may
/// retry, not a 500. PostgreSQL's own "connection exception" (08…) and "operator intervention"
/// (57P…, a server shutting down) codes count too.
fn database_unavailable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            use sea_orm::sqlx::Error;
            match &**e {
                Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed => {
                    true
                }
                Error::Database(db) => db
                    .code()
                    .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
                _ => false,
            }
        }
        _ => false,
    }
}

impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let text = rejection.body_text();
        // serde_json's messages carry the path when the failure was in a field; keep them whole.
        let field = match &rejection {
            JsonRejection::JsonDataError(_) => field_from_serde_message(&text),
            JsonRejection::MissingJsonContentType(_) => "content-type".to_owned(),
            _ => "body".to_owned(),
        };
        let mut p = Problem::new(status, text.clone());
        p.kind = "/problems/invalid-body".to_owned();
        p.errors.push(FieldError {
            field,
            message: text,
        });
        p
    }
}

impl From<FormRejection> for Problem {
    fn from(rejection: FormRejection) -> Self {
        Problem::new(rejection.status(), rejection.body_text()).with_type("/problems/invalid-body")
    }
}

impl From<QueryRejection> for Problem {
    fn from(rejection: QueryRejection) -> Self {
        let text = rejection.body_text();
        let mut p = Problem::new(StatusCode::BAD_REQUEST, text.clone())
            .with_type("/problems/invalid-query");
        p.errors.push(FieldError {
            field: field_from_serde_message(&text),
            message: text,
        });
        p
    }
}

impl From<PathRejection> for Problem {
    fn from(rejection: PathRejection) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, rejection.body_text())
            .with_type("/problems/invalid-path")
    }
}

// --- service errors ----------------------------------------------------------------------------

/// A credit the caller may not change is a 409 that says why (approved: staff correct it
/// through the ledger); a field the rules refuse is a 422 naming it.
impl From<crate::services::self_report::SelfReportError> for Problem {
    fn from(err: crate::services::self_report::SelfReportError) -> Self {
        use crate::services::self_report::SelfReportError;
        match err {
            SelfReportError::Invalid { field, message } => Problem::invalid_field(field, message),
            SelfReportError::NotFound => Problem::not_found("credit"),
            SelfReportError::NotChangeable(detail) => Problem::conflict(detail),
            SelfReportError::Db(e) => e.into(),
            SelfReportError::Standing(e) => e.into(),
        }
    }
}

/// Too large is 413; a type we do not take is 415; a name or declared type that lies, or an
/// empty file, is 422 naming what lied. Each says what to do.
impl From<crate::services::evidence::EvidenceError> for Problem {
    fn from(err: crate::services::evidence::EvidenceError) -> Self {
        use crate::services::evidence::EvidenceError;
        let refused = |status: StatusCode, kind: &str, field: &str, message: String| {
            let mut p = Problem::new(status, message.clone()).with_type(kind);
            p.errors.push(FieldError {
                field: field.to_owned(),
                message,
            });
            p
        };
        match err {
            e @ EvidenceError::TooLarge => refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                "/problems/evidence-too-large",
                "body",
                format!("{e}; send a smaller scan or a PDF"),
            ),
            e @ EvidenceError::UnsupportedType(_) => refused(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "/problems/evidence-type",
                "body",
                format!("{e}; send a PDF, PNG or JPEG"),
            ),
            e @ EvidenceError::Empty => refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "/problems/validation",
                "body",
                e.to_string(),
            ),
            EvidenceError::Mismatch { field, message } => refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "/problems/evidence-type",
                field,
                message,
            ),
            EvidenceError::Db(e) => e.into(),
        }
    }
}

impl From<crate::services::credit_review::ReviewError> for Problem {
    fn from(err: crate::services::credit_review::ReviewError) -> Self {
        use crate::services::credit_review::ReviewError;
        match err {
            ReviewError::Invalid { field, message } => Problem::invalid_field(field, message),
            ReviewError::NotFound => Problem::not_found("credit"),
            e @ ReviewError::NotPending(_) => Problem::conflict(e.to_string()),
            ReviewError::Db(e) => e.into(),
        }
    }
}

impl From<StandingError> for Problem {
    fn from(err: StandingError) -> Self {
        match err {
            StandingError::UnknownHolding { .. } => Problem::not_found("holding"),
            StandingError::NoCycle(_) => {
                Problem::conflict("this holding has no renewal cycle on record yet")
            }
            StandingError::Db(e) => e.into(),
            StandingError::UnknownVersion { .. } => Problem::internal(&err),
        }
    }
}

impl From<TranscriptError> for Problem {
    fn from(err: TranscriptError) -> Self {
        match err {
            TranscriptError::UnknownCycle(_) => Problem::invalid_field(
                "cycle",
                format!(
                    "{err}; give the first day of one of its cycles, or leave it out for the current one"
                ),
            ),
            TranscriptError::Standing(e) => e.into(),
            TranscriptError::Db(e) => e.into(),
        }
    }
}

impl From<SettingsError> for Problem {
    fn from(err: SettingsError) -> Self {
        match err {
            SettingsError::Invalid { field, message } => Problem::invalid_field(field, message),
            SettingsError::Throttled {
                retry_after_seconds,
            } => Problem::too_many_requests(retry_after_seconds),
            SettingsError::Db(e) => e.into(),
            SettingsError::Hash(_) => Problem::internal(&err),
        }
    }
}

impl From<AccountError> for Problem {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::Invalid { field, message } => Problem::invalid_field(field, message),
            AccountError::Conflict(message) => Problem::conflict(message),
            AccountError::Db(e) => e.into(),
            AccountError::Hash(_) => Problem::internal(&err),
        }
    }
}

/// One 401 for every kind of wrong credentials; 429 with `Retry-After` when throttled.
impl From<LoginError> for Problem {
    fn from(err: LoginError) -> Self {
        match err {
            LoginError::BadCredentials => Problem::new(
                StatusCode::UNAUTHORIZED,
                "the email address or password is not correct",
            )
            .with_type("/problems/invalid-credentials"),
            LoginError::Throttled {
                retry_after_seconds,
            } => throttled(
                "/problems/too-many-sign-ins",
                "too many failed sign-ins",
                retry_after_seconds,
            ),
            LoginError::Db(e) => e.into(),
        }
    }
}

/// 429 with `Retry-After`, for every throttle a client can run into.
fn throttled(kind: &str, what: &str, retry_after_seconds: u64) -> Problem {
    let mut p = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!("{what}; try again in {retry_after_seconds} seconds"),
    )
    .with_type(kind);
    p.retry_after = Some(u16::try_from(retry_after_seconds).unwrap_or(u16::MAX));
    p
}

impl From<SignUpThrottled> for Problem {
    fn from(err: SignUpThrottled) -> Self {
        throttled(
            "/problems/too-many-sign-ups",
            "too many sign-ups",
            err.retry_after_seconds,
        )
    }
}

impl From<LookupThrottled> for Problem {
    fn from(err: LookupThrottled) -> Self {
        throttled(
            "/problems/too-many-lookups",
            "too many lookups from this address",
            err.retry_after_seconds,
        )
    }
}

impl From<crate::services::credentials::CredentialError> for Problem {
    fn from(err: crate::services::credentials::CredentialError) -> Self {
        use crate::services::credentials::CredentialError;
        match err {
            CredentialError::Db(e) => e.into(),
            CredentialError::Standing(e) => e.into(),
            CredentialError::Keys(_) => Problem::internal(&err),
        }
    }
}

/// An unknown link is a bad request; a used or expired one is gone.
impl From<LinkError> for Problem {
    fn from(err: LinkError) -> Self {
        match err {
            LinkError::Link(LinkProblem::Unknown) => {
                Problem::new(StatusCode::BAD_REQUEST, "the link is not valid")
                    .with_type("/problems/invalid-link")
            }
            LinkError::Link(problem @ (LinkProblem::Used | LinkProblem::Expired)) => Problem::new(
                StatusCode::GONE,
                format!("the link is {}", problem.as_str()),
            )
            .with_type("/problems/invalid-link"),
            LinkError::Password(message) => Problem::invalid_field("password", message),
            LinkError::Db(e) => e.into(),
            LinkError::Hash(_) => Problem::internal(&err),
        }
    }
}

/// An unsubscribe link that does not verify is no link at all: 404, naming the token.
impl From<UnsubscribeError> for Problem {
    fn from(err: UnsubscribeError) -> Self {
        match err {
            UnsubscribeError::Invalid(why) => {
                tracing::info!(why, "an unsubscribe link was refused");
                let mut p = Problem::new(StatusCode::NOT_FOUND, "no such unsubscribe link")
                    .with_type("/problems/invalid-link");
                p.errors.push(FieldError {
                    field: "token".to_owned(),
                    message: "not a valid unsubscribe link".to_owned(),
                });
                p
            }
            UnsubscribeError::Db(e) => e.into(),
            UnsubscribeError::Keys(e) => Problem::internal(&e),
        }
    }
}

/// A preference that cannot be set names the reason at fault.
impl From<PreferenceError> for Problem {
    fn from(err: PreferenceError) -> Self {
        match err {
            PreferenceError::AlwaysSent(reason) => {
                Problem::invalid_field(reason.as_str(), err.to_string())
            }
            PreferenceError::Db(e) => e.into(),
        }
    }
}

impl From<ClientError> for Problem {
    fn from(err: ClientError) -> Self {
        match err {
            ClientError::Invalid { field, message } => Problem::invalid_field(field, message),
            ClientError::NotFound(_) => Problem::not_found("client"),
            ClientError::UnknownProvider(_) => {
                let mut p = Problem::not_found("provider");
                p.errors.push(FieldError {
                    field: "provider_id".to_owned(),
                    message: "no such provider".to_owned(),
                });
                p
            }
            ClientError::Conflict(detail) => Problem::conflict(detail),
            ClientError::Db(e) => e.into(),
        }
    }
}

impl From<ProviderError> for Problem {
    fn from(err: ProviderError) -> Self {
        match err {
            ProviderError::Invalid { field, message } => Problem::invalid_field(field, message),
            ProviderError::NotFound(_) => Problem::not_found("provider"),
            ProviderError::Conflict(detail) => Problem::conflict(detail),
            ProviderError::Db(e) => e.into(),
        }
    }
}

impl From<CourseError> for Problem {
    fn from(err: CourseError) -> Self {
        match err {
            CourseError::Invalid { field, message } => Problem::invalid_field(field, message),
            CourseError::NotFound(_) => Problem::not_found("course"),
            CourseError::Conflict(detail) => Problem::conflict(detail),
            e @ CourseError::ProviderNotApproved(_) => Problem::forbidden(e.to_string()),
            CourseError::Db(e) => e.into(),
        }
    }
}

impl From<AttendanceError> for Problem {
    fn from(err: AttendanceError) -> Self {
        match err {
            e @ AttendanceError::ProviderNotApproved(_) => Problem::forbidden(e.to_string()),
            AttendanceError::UnknownReference(_) => Problem::not_found("attendance"),
            e @ AttendanceError::AlreadyVoided(_) => Problem::conflict(e.to_string()),
            AttendanceError::Provider(e) => e.into(),
            // The credit was found as the provider's own and approved: the ledger refusing it
            // now means it changed under us.
            e @ AttendanceError::Ledger(_) => Problem::conflict(e.to_string()),
            AttendanceError::Db(e) => e.into(),
        }
    }
}

impl From<OrganisationError> for Problem {
    fn from(err: OrganisationError) -> Self {
        match err {
            OrganisationError::Invalid { field, message } => Problem::invalid_field(field, message),
            OrganisationError::NotFound(what) => Problem::not_found(what),
            OrganisationError::Db(e) => e.into(),
        }
    }
}

/// xAPI asks for 400 on any statement or parameter that breaks its rules (not 422), naming
/// the property; a reused id with different content is 409.
impl From<XapiError> for Problem {
    fn from(err: XapiError) -> Self {
        match err {
            XapiError::Invalid(invalid) => {
                let mut p = Problem::new(StatusCode::BAD_REQUEST, invalid.to_string())
                    .with_type("/problems/xapi-invalid");
                p.errors.push(FieldError {
                    field: invalid.field,
                    message: invalid.message,
                });
                p
            }
            XapiError::Conflict(_) => Problem::conflict(err.to_string()),
            XapiError::Attendance(e) => e.into(),
            XapiError::Db(e) => e.into(),
        }
    }
}

/// A token that does not verify is the caller's problem (401 `invalid_token`); keys that cannot
/// be loaded are ours.
impl From<TokenError> for Problem {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Keys(e) => Problem::internal(&e),
            other => Problem::unauthorized("invalid_token", other.to_string()),
        }
    }
}

/// axum's JSON errors read `…target type: path.to.field: message`; take the path when present,
/// else the field named in backticks (`missing field \`email\``), else `body`.
fn field_from_serde_message(text: &str) -> String {
    let tail = text
        .split_once("target type: ")
        .map_or(text, |(_, tail)| tail);
    if let Some((path, _)) = tail.split_once(": ")
        && !path.is_empty()
        && !path.contains(' ')
    {
        return path.to_owned();
    }
    tail.split('`')
        .nth(1)
        .filter(|name| !name.is_empty())
        .unwrap_or("body")
        .to_owned()
}

/// Fallback for routes that do not exist: problem+json rather than an empty 404.
pub async fn not_found() -> Problem {
    Problem::not_found("resource")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_serde_path_names_the_field() {
        assert_eq!(
            field_from_serde_message(
                "Failed to deserialize the JSON body into the target type: hours: invalid type: string \"x\", expected f64 at line 1 column 12"
            ),
            "hours"
        );
        assert_eq!(
            field_from_serde_message(
                "Failed to deserialize the JSON body into the target type: missing field `email` at line 1 column 2"
            ),
            "email"
        );
    }

    #[test]
    fn unauthorized_problems_carry_a_bearer_challenge() {
        let p = Problem::unauthorized("invalid_token", "the token has \"expired\"");
        assert_eq!(
            p.www_authenticate.as_deref(),
            Some("Bearer error=\"invalid_token\", error_description=\"the token has 'expired'\"")
        );
    }
}
