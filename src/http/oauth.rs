//! `POST /oauth/token`: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4).
//!
//! Clients authenticate with HTTP Basic (RFC 6749 §2.3.1) or, less preferably, with
//! `client_id`/`client_secret` in the form body; never both. Errors use the RFC 6749 §5.2 JSON
//! shape (not problem+json), except a spent request budget, which is the same 429 problem every
//! client route answers. Every request leaves `token.issued` or `token.refused` in the audit log,
//! with the caller's address as [`ClientIp`] sees it (behind `CPE_LEDGER_TRUSTED_PROXIES`, the
//! forwarded client). Refusals repeated within a window are counted on one row
//! ([`audit::record_repeatable`]), so a flood of bad requests cannot grow the log at line rate.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::tokens::TokenUse;
use crate::http::client_ip::ClientIp;
use crate::http::problem::Problem;
use crate::services::audit::{self, Actor, Event};
use crate::services::clients;

/// The realm named in the Basic challenge.
const REALM: &str = "cpe-ledger";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(token))
}

/// The form a client posts (`application/x-www-form-urlencoded`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct TokenRequest {
    grant_type: GrantType,
    /// Space-separated scopes, a subset of the client's; all of them when absent.
    scope: Option<String>,
    /// Only when not using HTTP Basic (not recommended).
    client_id: Option<String>,
    /// Only when not using HTTP Basic (not recommended).
    client_secret: Option<String>,
}

/// The one grant this server issues tokens for.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub enum GrantType {
    #[serde(rename = "client_credentials")]
    ClientCredentials,
}

/// RFC 6749 §5.1 access token response.
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// A signed JWT (RFC 9068 `at+jwt`); verify it with `/.well-known/jwks.json`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: i64,
    /// The scopes granted, space-separated.
    pub scope: String,
}

/// RFC 6749 §5.2 error response.
#[derive(Serialize, ToSchema)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `unsupported_grant_type` or `invalid_scope`.
    pub error: &'static str,
    pub error_description: String,
}

/// How the client presented its credentials.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Basic,
    Body,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Basic => "client_secret_basic",
            Method::Body => "client_secret_post",
        }
    }
}

/// One refused request: what the client is told, and what the audit log keeps.
struct Refused {
    status: StatusCode,
    error: &'static str,
    description: String,
    /// Add `WWW-Authenticate: Basic …` (a failed or missing client authentication).
    challenge: bool,
    reason: &'static str,
}

fn refused(error: &'static str, description: impl Into<String>, reason: &'static str) -> Refused {
    Refused {
        status: StatusCode::BAD_REQUEST,
        error,
        description: description.into(),
        challenge: false,
        reason,
    }
}

fn invalid_client(challenge: bool, reason: &'static str) -> Refused {
    Refused {
        status: StatusCode::UNAUTHORIZED,
        error: "invalid_client",
        description: "client authentication failed".to_owned(),
        challenge,
        reason,
    }
}

fn no_store(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(OAuthError {
                error: self.error,
                error_description: self.description,
            }),
        )
            .into_response();
        no_store(&mut response);
        if self.challenge
            && let Ok(challenge) =
                HeaderValue::from_str(&format!("Basic realm=\"{REALM}\", charset=\"UTF-8\""))
        {
            response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

/// Form-decodes one credential from the Basic header (RFC 6749 §2.3.1 encodes them first).
fn form_decode(part: &str) -> String {
    url::form_urlencoded::parse(format!("v={part}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// `Some((id, secret))` from `Authorization: Basic …`; `Err` when the header is there but is
/// not usable Basic credentials.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, ()> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| ())?;
    let (scheme, encoded) = text.split_once(' ').ok_or(())?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| ())?;
    let decoded = String::from_utf8(decoded).map_err(|_| ())?;
    let (id, secret) = decoded.split_once(':').ok_or(())?;
    Ok(Some((form_decode(id), form_decode(secret))))
}

/// Issues an access token to a machine client (OAuth 2.0 client-credentials grant).
///
/// Authenticate with HTTP Basic (`client_id:client_secret`), or with `client_id` and
/// `client_secret` in the form (not both). The answer is never cached.
#[utoipa::path(post, path = "/oauth/token", tag = "auth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    security(("client_basic" = []), ()),
    responses(
        (status = 200, description = "A token was issued", body = TokenResponse),
        (status = 400, description = "`invalid_request`, `unsupported_grant_type` or `invalid_scope`", body = OAuthError),
        (status = 401, description = "`invalid_client`: unknown, disabled or wrong credentials", body = OAuthError),
        (status = 429, description = "The client's request budget is spent; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn token(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ip = ip.to_string();
    let mut presented: Option<String> = None;
    match grant(&state, &ip, &headers, &body, &mut presented).await {
        Ok(response) => response,
        Err(GrantFailure::Refused(refusal)) => {
            record_refusal(&state, &ip, presented.as_deref(), refusal.reason).await;
            refusal.into_response()
        }
        Err(GrantFailure::Limited(problem)) => {
            record_refusal(&state, &ip, presented.as_deref(), "rate_limited").await;
            let mut response = problem.into_response();
            no_store(&mut response);
            response
        }
        Err(GrantFailure::Internal(problem)) => problem.into_response(),
    }
}

enum GrantFailure {
    Refused(Refused),
    Limited(Problem),
    Internal(Problem),
}

impl From<Refused> for GrantFailure {
    fn from(refused: Refused) -> Self {
        GrantFailure::Refused(refused)
    }
}

impl From<clients::ClientError> for GrantFailure {
    fn from(err: clients::ClientError) -> Self {
        GrantFailure::Internal(Problem::internal(&err))
    }
}

async fn grant(
    state: &AppState,
    ip: &str,
    headers: &HeaderMap,
    body: &[u8],
    presented: &mut Option<String>,
) -> Result<Response, GrantFailure> {
    let form_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(refused(
            "invalid_request",
            "the request must be application/x-www-form-urlencoded",
            "not_a_form",
        )
        .into());
    }
    let mut params: Vec<(String, String)> = Vec::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        if params.iter().any(|(seen, _)| *seen == name) {
            return Err(refused(
                "invalid_request",
                format!("the parameter `{name}` is repeated"),
                "repeated_parameter",
            )
            .into());
        }
        params.push((name.into_owned(), value.into_owned()));
    }
    let param = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };

    let basic =
        basic_credentials(headers).map_err(|()| invalid_client(true, "malformed_authorization"))?;
    let body_credentials = match (param("client_id"), param("client_secret")) {
        (None, None) => None,
        (Some(id), Some(secret)) => Some((id.to_owned(), secret.to_owned())),
        (Some(id), None) => {
            *presented = Some(id.to_owned());
            return Err(invalid_client(true, "missing_secret").into());
        }
        // A secret without its id authenticates no one: the same answer as an id without
        // its secret.
        (None, Some(_)) => return Err(invalid_client(true, "missing_client_id").into()),
    };
    let (method, (client_id, secret)) = match (basic, body_credentials) {
        (Some(_), Some(_)) => {
            return Err(refused(
                "invalid_request",
                "authenticate with HTTP Basic or with the form, not both",
                "two_authentication_methods",
            )
            .into());
        }
        (Some(credentials), None) => (Method::Basic, credentials),
        (None, Some(credentials)) => (Method::Body, credentials),
        (None, None) => return Err(invalid_client(true, "no_credentials").into()),
    };
    *presented = Some(client_id.clone());

    match param("grant_type") {
        None => {
            return Err(refused(
                "invalid_request",
                "`grant_type` is required",
                "missing_grant_type",
            )
            .into());
        }
        Some("client_credentials") => {}
        Some(other) => {
            return Err(refused(
                "unsupported_grant_type",
                format!("grant type `{other}` is not supported; use `client_credentials`"),
                "unsupported_grant_type",
            )
            .into());
        }
    }

    let client = match clients::authenticate(&state.db, &client_id, &secret).await? {
        Ok(client) => client,
        Err(refusal) => {
            return Err(invalid_client(method == Method::Basic, refusal.reason()).into());
        }
    };
    state
        .client_limits
        .check(&client.client_id, client.rate_limit_per_minute)
        .map_err(|wait| GrantFailure::Limited(Problem::too_many_requests(wait)))?;
    let Some(scope) = clients::grant_scopes(&client, param("scope")) else {
        return Err(refused(
            "invalid_scope",
            format!(
                "the requested scope exceeds the client's: {}",
                client.scopes
            ),
            "invalid_scope",
        )
        .into());
    };

    let wait = clients::not_before_rotation(&client, chrono::Utc::now());
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    let (access_token, expires_in) = state
        .keys
        .issue(TokenUse::Client, &client.client_id, &scope)
        .map_err(|e| GrantFailure::Internal(Problem::internal(&e)))?;
    let actor = Actor {
        ip: Some(ip.to_owned()),
        ..Actor::client(&client.client_id)
    };
    audit::record(
        &state.db,
        &actor,
        Event {
            action: "token.issued",
            subject_kind: "client",
            subject_id: Some(client.client_id.clone()),
            before: None,
            after: Some(serde_json::json!({
                "scope": scope,
                "expires_in": expires_in,
                "authentication": method.name(),
            })),
        },
    )
    .await
    .map_err(|e| GrantFailure::Internal(Problem::internal(&e)))?;
    let mut response = Json(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        scope,
    })
    .into_response();
    no_store(&mut response);
    Ok(response)
}

/// `token.refused`, naming the client id that was presented (if any), why, and from where.
/// The same refusal repeated within a window adds to one row's count. A failure to record is
/// logged; the refusal stands either way.
async fn record_refusal(state: &AppState, ip: &str, presented: Option<&str>, reason: &str) {
    let presented: Option<String> = presented.map(|id| id.chars().take(128).collect());
    let actor = Actor {
        ip: Some(ip.to_owned()),
        ..Actor::anonymous(presented.clone())
    };
    let event = Event {
        action: "token.refused",
        subject_kind: "client",
        subject_id: presented,
        before: None,
        after: Some(serde_json::json!({ "reason": reason })),
    };
    if let Err(e) = audit::record_repeatable(&state.db, &actor, event).await {
        tracing::error!(error = %e, "cannot record a refused token request");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut headers = HeaderMap::new();
        let encoded = STANDARD.encode("cl_a%2Bb:s3cr%3At");
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}"))
                .unwrap_or(HeaderValue::from_static("")),
        );
        assert_eq!(
            basic_credentials(&headers),
            Ok(Some(("cl_a+b".to_owned(), "s3cr:t".to_owned())))
        );
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(basic_credentials(&headers), Err(()));
    }

    #[test]
    fn the_basic_challenge_names_the_realm() {
        let response = invalid_client(true, "x").into_response();
        let challenge = response.headers()[WWW_AUTHENTICATE].to_str().unwrap_or("");
        assert!(challenge.contains(&format!("realm=\"{REALM}\"")));
    }
}
