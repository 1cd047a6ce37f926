//! `GET /.well-known/jwks.json`: the public keys that verify our tokens (RFC 7517).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::auth::keys;
use crate::http::problem::Problem;

/// How long a verifier may cache the key set. A rotated-in key signs at once, and a verifier
/// that sees an unknown `kid` should refetch; retired keys stay published for months.
const MAX_AGE_SECONDS: u32 = 300;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(jwks))
}

/// A JSON Web Key Set.
#[derive(Serialize, ToSchema)]
pub struct JwkSet {
    /// Ed25519 token keys (`kty: OKP`, `crv: Ed25519`, `alg: EdDSA`), each with its `kid`
    /// (the RFC 7638 thumbprint): the signing key and retired keys whose tokens may still verify;
    /// and the RSA key that signs status credentials (`kty: RSA`, `alg: RS256`), whose `kid` is
    /// a URL into this set (`…/.well-known/jwks.json#<thumbprint>`), as Open Badges 3.0 asks.
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<serde_json::Value>,
}

/// The keys that verify access tokens and credentials this deployment signs.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth",
    responses(
        (status = 200, description = "The published keys; cacheable for five minutes", body = JwkSet),
    ))]
pub async fn jwks(State(state): State<AppState>) -> Result<Response, Problem> {
    let published = keys::published_keys(&state.db, &state.config.public_url)
        .await
        .map_err(|e| Problem::internal(&e))?;
    let keys = published
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Problem::internal(&e))?;
    let mut response = Json(JwkSet { keys }).into_response();
    response.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_str(&format!("public, max-age={MAX_AGE_SECONDS}"))
            .unwrap_or(HeaderValue::from_static("no-cache")),
    );
    Ok(response)
}
