//! Helpers for tests of machine clients: creating clients, getting tokens, forging tokens with
//! the server's own signing key, and seeding a holding to look up.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cpe_ledger::auth::tokens::{ACCESS_TOKEN_TYP, AUDIENCE};
use cpe_ledger::services::audit::Actor;
use cpe_ledger::services::clients::{self, NewClient};
use cpe_ledger::services::providers::{self, NewProvider};
use ed25519_dalek::pkcs8::EncodePublicKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use entity::{audit_events, signing_keys};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::harness::TestApp;

pub const FORM: &str = "application/x-www-form-urlencoded";

/// A client's credentials as its owner holds them.
#[derive(Clone, Debug)]
pub struct TestClient {
    pub client_id: String,
    pub secret: String,
}

/// Creates a client through the service (as the CLI does). Provider clients get a fresh
/// provider of their own.
pub async fn make_client(
    app: &TestApp,
    kind: &str,
    scopes: &[&str],
    per_minute: i32,
) -> TestClient {
    let provider_id = if kind == "provider" {
        let provider = providers::create_provider(
            &app.state.db,
            &Actor::cli("test"),
            NewProvider {
                name: format!("Provider {}", uuid::Uuid::new_v4()),
                contact_email: None,
            },
        )
        .await
        .expect("provider created");
        Some(provider.id)
    } else {
        None
    };
    let created = clients::create_client(
        &app.state.db,
        &Actor::cli("test"),
        NewClient {
            name: format!("{kind} client {}", uuid::Uuid::new_v4()),
            kind: kind.to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            provider_id,
            rate_limit_per_minute: per_minute,
        },
    )
    .await
    .expect("client created");
    TestClient {
        client_id: created.client.client_id,
        secret: created.secret,
    }
}

/// `POST /oauth/token` with HTTP Basic and the given form.
pub async fn token_request_basic(
    app: &TestApp,
    id: &str,
    secret: &str,
    form: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/oauth/token"))
        .header(
            "authorization",
            format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
        )
        .header("content-type", FORM)
        .body(form.to_owned())
        .send()
        .await
        .expect("request sent")
}

/// `POST /oauth/token` with the given raw form and no Authorization header.
pub async fn token_request_form(app: &TestApp, form: &str) -> reqwest::Response {
    app.client
        .post(app.url("/oauth/token"))
        .header("content-type", FORM)
        .body(form.to_owned())
        .send()
        .await
        .expect("request sent")
}

/// A token for `client`, asserting the grant succeeds.
pub async fn token_for(app: &TestApp, client: &TestClient) -> String {
    let response = token_request_basic(
        app,
        &client.client_id,
        &client.secret,
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(response.status(), 200, "token request refused");
    let body: Value = response.json().await.expect("json");
    body["access_token"].as_str().expect("a token").to_owned()
}

pub async fn get_bearer(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("request sent")
}

pub async fn post_bearer(
    app: &TestApp,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.client.post(app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request sent")
}

/// Asserts a 401 problem+json carrying `WWW-Authenticate: Bearer error="<error>"`.
pub async fn assert_bearer_refusal(response: reqwest::Response, error: &str, case: &str) {
    assert_eq!(response.status(), 401, "{case}: status");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "{case}: content type"
    );
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .expect("ascii challenge")
        .to_owned();
    assert!(
        challenge.starts_with(&format!("Bearer error=\"{error}\"")),
        "{case}: challenge was {challenge}"
    );
    let body: Value = response.json().await.expect("problem body");
    assert_eq!(body["status"], 401, "{case}: body");
}

/// Imports one CISSP holder with a cycle that started recently; returns (scheme, number).
pub async fn seed_holding(app: &TestApp) -> (String, String) {
    let today = chrono::Utc::now().date_naive();
    let start = today - chrono::Days::new(30);
    let csv = format!(
        "scheme,registration_number,email,legal_name,legal_name_kana,display_name,certified_on,cycle_start\n\
         cissp,00012345,holder@example.jp,山田 太郎,ヤマダ タロウ,Taro,{start},{start}\n"
    );
    let summary = cpe_ledger::services::registry_import::import(
        &app.state.db,
        &app.state.schemes,
        csv.as_bytes(),
        "seed.csv",
        &mut (),
    )
    .await
    .expect("holders imported");
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
    ("cissp".to_owned(), "00012345".to_owned())
}

/// The active signing key as the server stores it.
pub struct ServerKey {
    pub kid: String,
    pub signing: EncodingKey,
    /// The JWK `x` member (base64url of the public key).
    pub x: String,
    pub public_bytes: Vec<u8>,
    pub public_pem: String,
}

pub async fn server_key(app: &TestApp) -> ServerKey {
    let key = signing_keys::Entity::find()
        .filter(signing_keys::Column::Algorithm.eq(signing_keys::SigningAlgorithm::EdDsa))
        .filter(signing_keys::Column::RetiredAt.is_null())
        .order_by_desc(signing_keys::Column::CreatedAt)
        .one(&app.state.db)
        .await
        .expect("query")
        .expect("an active key");
    let x = key.public_jwk["x"].as_str().expect("x").to_owned();
    let public_bytes = URL_SAFE_NO_PAD.decode(&x).expect("base64url x");
    let bytes: [u8; 32] = public_bytes.clone().try_into().expect("32 bytes");
    let public_pem = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
        .expect("a public key")
        .to_public_key_pem(LineEnding::LF)
        .expect("pem");
    ServerKey {
        kid: key.kid,
        signing: EncodingKey::from_ed_pem(key.private_key_pem.as_bytes()).expect("signing key"),
        x,
        public_bytes,
        public_pem,
    }
}

/// The claims of a good client token, as the server would issue them.
pub fn good_claims(app: &TestApp, client_id: &str, scope: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": app.state.keys.issuer(),
        "aud": AUDIENCE,
        "sub": client_id,
        "exp": now + 600,
        "nbf": now,
        "iat": now,
        "jti": uuid::Uuid::new_v4().to_string(),
        "token_use": "client",
        "scope": scope,
    })
}

/// The header of a good token.
pub fn good_header(kid: &str) -> Header {
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
    header.kid = Some(kid.to_owned());
    header
}

pub fn sign(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, claims, key).expect("token signed")
}

pub fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("json"))
}

/// Audit events with this action, oldest first.
pub async fn audit_events_named(app: &TestApp, action: &str) -> Vec<audit_events::Model> {
    audit_events::Entity::find()
        .filter(audit_events::Column::Action.eq(action))
        .order_by_asc(audit_events::Column::Id)
        .all(&app.state.db)
        .await
        .expect("audit query")
}
