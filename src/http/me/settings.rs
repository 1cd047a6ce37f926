//! `/v1/me/locale` and `/v1/me/password`: a signed-in person (a professional, or a staff
//! account) changes their language and their password. The page `/settings` does the same
//! through the same service.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::password::MAX_PASSWORD_BYTES;
use crate::http::auth::{TokenResponse, issue_user_token};
use crate::http::callers::UserCaller;
use crate::http::client_ip::ClientIp;
use crate::http::extract::Json;
use crate::http::problem::Problem;
use crate::services::account_settings;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(put_locale))
        .routes(routes!(change_password))
}

/// The language of the caller's pages and emails.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Locale {
    /// `ja` or `en`.
    #[schema(example = "en", max_length = 8)]
    pub locale: String,
}

/// Sets the caller's language: the pages use it from the next sign-in on (and at once on
/// `/settings`), and every email is written in it.
#[utoipa::path(put, path = "/v1/me/locale", tag = "me", security(("bearer" = [])),
    request_body = Locale,
    responses(
        (status = 200, description = "The language now in force", body = Locale),
        (status = 422, description = "Not a language the ledger speaks (field `locale`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_locale(
    State(state): State<AppState>,
    caller: UserCaller,
    Json(body): Json<Locale>,
) -> Result<Json<Locale>, Problem> {
    let locale =
        account_settings::set_locale(&state.db, &caller.user, &caller.actor(), &body.locale)
            .await?;
    Ok(Json(Locale {
        locale: locale.to_owned(),
    }))
}

/// A password change: the current password, and the new one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[schema(max_length = 1024)]
    pub current_password: String,
    /// At least 12 characters.
    #[schema(min_length = 12, max_length = 1024)]
    pub new_password: String,
}

/// Changes the caller's password. The current password is checked as a sign-in is (and
/// throttled the same way); then every session ends, this token's too, and the answer
/// carries a fresh access token.
#[utoipa::path(post, path = "/v1/me/password", tag = "me", security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 200, description = "Changed; every earlier token is void. A new one", body = TokenResponse),
        (status = 422, description = "The current password is wrong (field `current_password`) or the new one breaks the rule (field `new_password`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords for this account or address; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    ClientIp(remote): ClientIp,
    caller: UserCaller,
    Json(body): Json<PasswordChange>,
) -> Result<Json<TokenResponse>, Problem> {
    if body.current_password.len() > MAX_PASSWORD_BYTES {
        return Err(Problem::invalid_field(
            "current_password",
            format!("is longer than {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    let user = account_settings::change_password(
        &state.db,
        &caller.user,
        remote,
        &body.current_password,
        &body.new_password,
    )
    .await?;
    let (access_token, expires_in) = issue_user_token(&state, &user).await?;
    Ok(Json(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
    }))
}
