//! Who is calling `/xapi`: a provider's machine client, as LRS clients authenticate.
//!
//! xAPI clients send HTTP Basic with a key and secret (Communication §4.0); here the key is
//! the provider client's `client_id` and the secret its client secret, checked as the token
//! endpoint checks them. A bearer token from `/oauth/token` works too. Either way the client
//! must be a provider's, enabled, and within its request budget; a disabled client, a wrong
//! secret or an unknown id is 401 with a `Basic` challenge, another kind of client 403.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use uuid::Uuid;

use crate::app::AppState;
use crate::http::callers::ClientCaller;
use crate::http::problem::Problem;
use crate::services::clients::{self, Client, ClientKind};
use crate::services::xapi::Authority;

/// The realm of the Basic challenge.
const REALM: &str = "xAPI";

/// An authenticated provider client.
#[derive(Debug, Clone)]
pub struct XapiCaller {
    pub provider_id: Uuid,
    pub client_id: String,
    /// The scopes this request may use: the client's own for Basic, the token's (and still
    /// the client's) for a bearer token.
    scopes: Vec<String>,
}

impl XapiCaller {
    /// 403 unless the request may use `scope` (`provider:write` to store, `provider:read` to
    /// read).
    #[allow(
        clippy::result_large_err,
        reason = "Problem is the rejection every extractor and handler answers with"
    )]
    pub fn require(&self, scope: &str) -> Result<(), Problem> {
        if self.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "this route needs the `{scope}` scope"
            )))
        }
    }

    /// The `authority` the store writes on this caller's statements.
    pub fn authority(&self, state: &AppState) -> Authority {
        Authority {
            provider_id: self.provider_id,
            client_id: self.client_id.clone(),
            home_page: state
                .config
                .public_url
                .as_str()
                .trim_end_matches('/')
                .to_owned(),
        }
    }
}

fn basic_refusal(detail: &str) -> Problem {
    let mut p = Problem::new(axum::http::StatusCode::UNAUTHORIZED, detail);
    p.www_authenticate = Some(format!("Basic realm=\"{REALM}\", charset=\"UTF-8\""));
    p
}

/// `(key, secret)` from `Authorization: Basic …` (RFC 7617).
#[allow(
    clippy::result_large_err,
    reason = "Problem is the rejection every extractor and handler answers with"
)]
fn basic_credentials(encoded: &str) -> Result<(String, String), Problem> {
    let malformed = || basic_refusal("the Basic credentials are not base64 of `key:secret`");
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    Ok((id.to_owned(), secret.to_owned()))
}

fn provider_of(client: &Client) -> Result<Uuid, Box<Problem>> {
    match (client.kind, client.provider_id) {
        (ClientKind::Provider, Some(id)) => Ok(id),
        _ => Err(Box::new(Problem::forbidden(
            "the xAPI statements resource is for course providers' clients",
        ))),
    }
}

impl FromRequestParts<AppState> for XapiCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| basic_refusal("credentials are required: HTTP Basic or a bearer token"))?
            .to_str()
            .map_err(|_| basic_refusal("the Authorization header is not text"))?
            .to_owned();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header.as_str(), ""));
        if !scheme.eq_ignore_ascii_case("basic") {
            let caller = ClientCaller::from_request_parts(parts, state).await?;
            let provider_id = caller.provider_id()?;
            let granted: Vec<String> = caller
                .claims
                .scope
                .split_whitespace()
                .filter(|s| caller.client.scopes.split_whitespace().any(|own| own == *s))
                .map(str::to_owned)
                .collect();
            return Ok(Self {
                provider_id,
                client_id: caller.client.client_id,
                scopes: granted,
            });
        }
        let (id, secret) = basic_credentials(rest)?;
        let client = match clients::authenticate(&state.db, &id, &secret).await? {
            Ok(client) => client,
            Err(refusal) => {
                tracing::info!(client_id = %id, reason = refusal.reason(), "xAPI Basic credentials refused");
                return Err(basic_refusal("the key or secret is not valid"));
            }
        };
        let provider_id = provider_of(&client).map_err(|p| *p)?;
        state
            .client_limits
            .check(&client.client_id, client.rate_limit_per_minute)
            .map_err(Problem::too_many_requests)?;
        Ok(Self {
            provider_id,
            scopes: client
                .scopes
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            client_id: client.client_id,
        })
    }
}
