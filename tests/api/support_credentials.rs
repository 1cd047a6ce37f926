//! Helpers of the credential, registry and webhook tests.

use cpe_ledger::auth::tokens::TokenUse;
use entity::{signing_keys, users};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::Value;

use crate::harness::TestApp;
use crate::support_accounts::Holder;

/// An access token for the holder, as a sign-in would give (a user linked to them).
pub async fn professional_token(app: &TestApp, holder: &Holder) -> String {
    let user = users::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        email: Set(holder.email.clone()),
        password_hash: Set(None),
        role: Set(users::UserRole::Professional),
        professional_id: Set(Some(holder.professional_id)),
        activated_at: Set(Some(chrono::Utc::now())),
        disabled_at: Set(None),
        sessions_revoked_at: Set(None),
        created_at: Set(chrono::Utc::now()),
        locale: Set(None),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    app.state
        .keys
        .issue(TokenUse::User, &user.id.to_string(), "professional")
        .unwrap()
        .0
}

/// Issues a credential for the holder through the API; the answer's body.
pub async fn issue_own(app: &TestApp, token: &str, holder: &Holder) -> Value {
    let response = app
        .client
        .post(app.url("/v1/me/credentials"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "holding_id": holder.holding_id }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "issue refused");
    response.json().await.unwrap()
}

/// The verdict the verify route gives.
pub async fn verdict_of(app: &TestApp, credential: &str) -> Value {
    let response = app
        .post_json(
            "/v1/credentials/verify",
            &serde_json::json!({ "credential": credential }),
        )
        .await;
    assert_eq!(response.status(), 200, "verify answered");
    response.json().await.unwrap()
}

/// The server's credential key, to forge credentials exactly as it signs them.
pub async fn credential_signing_key(app: &TestApp) -> (String, EncodingKey) {
    let stored = signing_keys::Entity::find()
        .filter(signing_keys::Column::Algorithm.eq(signing_keys::SigningAlgorithm::Rs256))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("a credential key");
    let kid = cpe_ledger::auth::credential_keys::kid_url(&app.config.public_url, &stored.kid);
    let key = EncodingKey::from_rsa_pem(stored.private_key_pem.as_bytes()).unwrap();
    (kid, key)
}

/// `claims` signed with the server's credential key under its `kid`.
pub fn sign_credential(kid: &str, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("vc+jwt".to_owned());
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

/// The payload of a compact JWS, unverified.
pub fn payload_of(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).expect("a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("json")
}

/// The same credential with one claim changed and the original signature kept.
pub fn tampered(token: &str, change: impl FnOnce(&mut Value)) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload = payload_of(token);
    change(&mut payload);
    format!(
        "{}.{}.{}",
        parts[0],
        crate::support_clients::b64(&payload),
        parts[2]
    )
}

/// The text of the page at `path` in `lang`, with its status.
pub async fn page(app: &TestApp, path: &str, lang: &str) -> (u16, String) {
    let separator = if path.contains('?') { '&' } else { '?' };
    let response = app
        .client
        .get(app.url(&format!("{path}{separator}lang={lang}")))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}
