//! Who is calling: extractors that authenticate the bearer token and authorise the audience.
//!
//! Every protected handler takes exactly one of these; a handler without one is public. They
//! answer 401 (no or bad token, or one whose user or client is gone, disabled or signed out;
//! RFC 6750 `invalid_token`) and 403 (a valid caller without the right role or scope, including
//! a valid token of the other audience: a professional's token on a machine route and a
//! client's on a person's route; `insufficient_scope`), always as problem+json. Disabled users
//! and clients are refused on every request, so disabling takes effect immediately.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::tokens::{AccessClaims, TokenUse};
use crate::http::problem::Problem;
use crate::services::audit::Actor;
use crate::services::clients::{self as client_service, Client, ClientError, ClientKind};
use crate::services::users::{self, User, UserRole};

/// The bearer token of the request, if any.
#[allow(
    clippy::result_large_err,
    reason = "Problem is the rejection every extractor and handler answers with"
)]
fn bearer(parts: &Parts) -> Result<&str, Problem> {
    let value = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| Problem::unauthorized("invalid_request", "a bearer token is required"))?;
    let text = value.to_str().map_err(|_| {
        Problem::unauthorized("invalid_request", "the Authorization header is not text")
    })?;
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(Problem::unauthorized(
            "invalid_request",
            "the Authorization header must be `Bearer <token>`",
        )),
    }
}

/// Claims of a token of the `expected` use. A token of the other use is checked as fully as
/// its own kind of route would check it (a bad one stays 401); only a valid caller of the
/// wrong audience gets 403.
async fn verified(
    parts: &Parts,
    state: &AppState,
    expected: TokenUse,
) -> Result<AccessClaims, Problem> {
    let token = bearer(parts)?;
    let claims = state
        .keys
        .verify_any_use(&state.db, token)
        .await
        .map_err(Problem::from)?;
    if claims.token_use == expected {
        return Ok(claims);
    }
    match claims.token_use {
        TokenUse::User => {
            UserCaller::from_claims(state, claims).await?;
            Err(Problem::forbidden(
                "this route is for machine clients; a person's token cannot call it",
            ))
        }
        TokenUse::Client => {
            ClientCaller::from_claims(state, claims).await?;
            Err(Problem::forbidden(
                "this route is for signed-in people; a machine client's token cannot call it",
            ))
        }
    }
}

/// A logged-in person whose account is active.
#[derive(Debug, Clone)]
pub struct UserCaller {
    pub user: User,
    pub claims: AccessClaims,
}

impl UserCaller {
    pub fn actor(&self) -> Actor {
        Actor::user(self.user.id)
    }
}

impl FromRequestParts<AppState> for UserCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let claims = verified(parts, state, TokenUse::User).await?;
        Self::from_claims(state, claims).await
    }
}

impl UserCaller {
    /// The account behind verified user claims, refused when disabled or signed out.
    async fn from_claims(state: &AppState, claims: AccessClaims) -> Result<Self, Problem> {
        let id: Uuid = claims.sub.parse().map_err(|_| {
            Problem::unauthorized("invalid_token", "the token's subject is not a user")
        })?;
        let user = users::find(&state.db, id).await?.ok_or_else(|| {
            Problem::unauthorized("invalid_token", "the account no longer exists")
        })?;
        if user.disabled_at.is_some() {
            return Err(Problem::unauthorized(
                "invalid_token",
                "the account is disabled",
            ));
        }
        if user
            .sessions_revoked_at
            .is_some_and(|revoked| claims.iat <= revoked.timestamp())
        {
            return Err(Problem::unauthorized(
                "invalid_token",
                "the session has ended",
            ));
        }
        Ok(Self { user, claims })
    }
}

/// A professional reading or changing their own records.
#[derive(Debug, Clone)]
pub struct ProfessionalCaller {
    pub user: User,
    pub professional_id: Uuid,
}

impl FromRequestParts<AppState> for ProfessionalCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let caller = UserCaller::from_request_parts(parts, state).await?;
        match (caller.user.role, caller.user.professional_id) {
            (UserRole::Professional, Some(professional_id)) => Ok(Self {
                user: caller.user,
                professional_id,
            }),
            _ => Err(Problem::forbidden("this route is for professionals")),
        }
    }
}

/// The certification body's staff: an admin user, or a client holding the `admin` scope.
#[derive(Debug, Clone)]
pub struct AdminCaller {
    pub actor: Actor,
}

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let token = bearer(parts)?;
        let claims = state
            .keys
            .verify_any_use(&state.db, token)
            .await
            .map_err(Problem::from)?;
        match claims.token_use {
            TokenUse::User => {
                let caller = UserCaller::from_claims(state, claims).await?;
                if caller.user.role != UserRole::Admin {
                    return Err(Problem::forbidden("this route needs the admin role"));
                }
                Ok(Self {
                    actor: caller.actor(),
                })
            }
            TokenUse::Client => {
                let caller = ClientCaller::from_claims(state, claims).await?;
                caller.require("admin")?;
                Ok(Self {
                    actor: caller.actor(),
                })
            }
        }
    }
}

/// A machine client (provider or procurement system) that is not disabled, within its
/// request budget (429 with `Retry-After` beyond it).
#[derive(Debug, Clone)]
pub struct ClientCaller {
    pub client: Client,
    pub claims: AccessClaims,
}

impl ClientCaller {
    /// 403 `insufficient_scope` unless the token carries `scope` (and the client still has it).
    #[allow(
        clippy::result_large_err,
        reason = "Problem is the rejection every extractor and handler answers with"
    )]
    pub fn require(&self, scope: &str) -> Result<(), Problem> {
        let granted = |list: &str| list.split_whitespace().any(|s| s == scope);
        if granted(&self.claims.scope) && granted(&self.client.scopes) {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "this route needs the `{scope}` scope"
            )))
        }
    }

    /// The provider this client acts for; 403 for any other kind of client.
    #[allow(
        clippy::result_large_err,
        reason = "Problem is the rejection every extractor and handler answers with"
    )]
    pub fn provider_id(&self) -> Result<Uuid, Problem> {
        match (self.client.kind, self.client.provider_id) {
            (ClientKind::Provider, Some(id)) => Ok(id),
            _ => Err(Problem::forbidden("this route is for course providers")),
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::client(&self.client.client_id)
    }
}

impl FromRequestParts<AppState> for ClientCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let claims = verified(parts, state, TokenUse::Client).await?;
        Self::from_claims(state, claims).await
    }
}

impl ClientCaller {
    /// The client behind verified client claims, refused when disabled, rotated since the
    /// token was issued, or over its request budget.
    async fn from_claims(state: &AppState, claims: AccessClaims) -> Result<Self, Problem> {
        let client = match client_service::find_client(&state.db, &claims.sub).await {
            Ok(client) => client,
            Err(ClientError::NotFound(_)) => {
                return Err(Problem::unauthorized(
                    "invalid_token",
                    "the client no longer exists",
                ));
            }
            Err(e) => return Err(e.into()),
        };
        if client.disabled_at.is_some() {
            return Err(Problem::unauthorized(
                "invalid_token",
                "the client is disabled",
            ));
        }
        if client
            .secret_rotated_at
            .is_some_and(|rotated| claims.iat < rotated.timestamp())
        {
            return Err(Problem::unauthorized(
                "invalid_token",
                "the client's secret was rotated after this token was issued",
            ));
        }
        state
            .client_limits
            .check(&client.client_id, client.rate_limit_per_minute)
            .map_err(Problem::too_many_requests)?;
        Ok(Self { client, claims })
    }
}
