//! `/v1/auth/*`: professionals sign up, sign in and out, and ask for a password-reset link.
//!
//! Answers never reveal whether an email address has an account: sign-up and reset requests
//! are always 202, and a failed sign-in is the same 401 for an unknown address, a wrong
//! password or an account not yet activated (an unknown address still costs one argon2 check).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::tokens::TokenUse;
use crate::http::callers::UserCaller;
use crate::http::client_ip::ClientIp;
use crate::http::extract::Json;
use crate::http::problem::Problem;
use crate::services::users::{User, UserRole};
use crate::services::{accounts, sign_in, throttle};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(signup))
        .routes(routes!(password_reset))
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// An access token (RFC 6749 §5.1 shape).
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: i64,
}

#[derive(Deserialize, ToSchema)]
pub struct SignupRequest {
    #[schema(min_length = 1, max_length = 254, format = Email, example = "pat@example.com")]
    pub email: String,
    /// At least 12 characters.
    #[schema(min_length = 12)]
    pub password: String,
    /// `ja` (default) or `en`: the language of the activation email.
    #[serde(default)]
    pub locale: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordResetRequest {
    pub email: String,
}

/// The same answer whether or not the address has an account.
#[derive(Serialize, ToSchema)]
pub struct Accepted {
    pub status: &'static str,
}

/// Signs a professional (or staff member) in with email and password.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "Wrong email or password (one answer for both)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed sign-ins for this account or address; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(remote): ClientIp,
    Json(body): Json<LoginRequest>,
) -> Result<Json<TokenResponse>, Problem> {
    let user = sign_in::log_in(&state.db, &body.email, &body.password, remote).await?;
    let (access_token, expires_in) = issue_user_token(&state, &user).await?;
    Ok(Json(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
    }))
}

/// A fresh access token for a user who just proved who they are.
pub(crate) async fn issue_user_token(
    state: &AppState,
    user: &User,
) -> Result<(String, i64), Problem> {
    sign_in::wait_past_revocation(user).await;
    let role = match user.role {
        UserRole::Professional => "professional",
        UserRole::Admin => "admin",
    };
    state
        .keys
        .issue(TokenUse::User, &user.id.to_string(), role)
        .map_err(|e| Problem::internal(&e))
}

/// Ends every session of the caller: this token and all others issued so far stop working.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out everywhere"),
    ))]
pub async fn logout(
    State(state): State<AppState>,
    caller: UserCaller,
) -> Result<StatusCode, Problem> {
    sign_in::end_sessions(&state.db, caller.user.id, &caller.actor(), "logout").await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Creates an account and emails an activation link. The account is not linked to any
/// holding: only the registry import or the certification body's staff link holdings.
#[utoipa::path(post, path = "/v1/auth/signup", tag = "auth", request_body = SignupRequest,
    responses(
        (status = 202, description = "If the address is new, an activation link is on its way", body = Accepted),
        (status = 422, description = "Invalid email or too short a password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many sign-ups from this network or for this address; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn signup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(body): Json<SignupRequest>,
) -> Result<(StatusCode, Json<Accepted>), Problem> {
    throttle::admit_sign_up(&state.db, &body.email, ip).await??;
    accounts::sign_up(
        &state.db,
        &body.email,
        &body.password,
        body.locale.as_deref().unwrap_or("ja"),
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            status: "check your email",
        }),
    ))
}

/// Emails a password-reset link (valid one hour) if an account uses this address.
#[utoipa::path(post, path = "/v1/auth/password-reset", tag = "auth", request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "Always, whether or not the address has an account", body = Accepted),
    ))]
pub async fn password_reset(
    State(state): State<AppState>,
    Json(body): Json<PasswordResetRequest>,
) -> Result<(StatusCode, Json<Accepted>), Problem> {
    accounts::request_password_reset(&state.db, &body.email).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            status: "if the address has an account, a reset link is on its way",
        }),
    ))
}
