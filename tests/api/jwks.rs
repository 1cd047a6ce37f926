//! The published key set: its shape and caching, key rotation, and verification of our tokens by
//! an independent JOSE implementation that sees nothing but the JWKS.

use std::process::Command;

use cpe_ledger::auth::keys;
use cpe_ledger::auth::tokens::AUDIENCE;
use serde_json::Value;

use crate::db_test;
use crate::harness::{Needs, skipped};
use crate::support_clients::*;

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .expect("header")
        .kid
        .expect("kid")
}

db_test! {
    async fn the_jwks_publishes_the_signing_key_and_may_be_cached(app: TestApp) {
        let response = app.get("/.well-known/jwks.json").await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "public, max-age=300");
        let body: Value = response.json().await.expect("json");
        let keys: Vec<&Value> = body["keys"].as_array().expect("keys").iter()
            .filter(|k| k["alg"] == "EdDSA").collect();
        assert_eq!(keys.len(), 1, "one token key beside the credential key");
        let key = keys[0];
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
        assert_eq!(key["alg"], "EdDSA");
        assert!(key.get("d").is_none(), "never the private half");
        assert_eq!(key["kid"], server_key(&app).await.kid.as_str());
    }
}

db_test! {
    async fn after_a_key_rotation_both_keys_are_published_and_old_tokens_still_verify(app: TestApp) {
        let (scheme, number) = seed_holding(&app).await;
        let route = format!("/v1/procurement/holdings/{scheme}/{number}");
        let client = make_client(&app, "procurement", &[], 100).await;
        let old_token = token_for(&app, &client).await;

        let new_key = keys::rotate(&app.state.db).await.expect("rotated");
        app.state.keys.reload(&app.state.db).await.expect("reloaded");

        let body: Value = app.get("/.well-known/jwks.json").await.json().await.expect("json");
        let kids: Vec<&str> = body["keys"].as_array().expect("keys").iter()
            .filter(|k| k["alg"] == "EdDSA")
            .filter_map(|k| k["kid"].as_str()).collect();
        assert_eq!(kids.len(), 2);
        assert!(kids.contains(&new_key.kid.as_str()));
        assert!(kids.contains(&kid_of(&old_token).as_str()));

        assert_eq!(get_bearer(&app, &route, &old_token).await.status(), 200, "old key still verifies");
        let new_token = token_for(&app, &client).await;
        assert_eq!(kid_of(&new_token), new_key.kid);
        assert_eq!(get_bearer(&app, &route, &new_token).await.status(), 200);
    }
}

db_test! {
    async fn a_token_from_the_token_endpoint_verifies_with_jwcrypto_using_only_the_jwks(app: TestApp) {
        // Locally without jwcrypto this is skipped (the run's one notice line says so).
        if skipped(Needs::Jwcrypto).await {
            return;
        }
        let client = make_client(&app, "procurement", &[], 100).await;
        let token = token_for(&app, &client).await;
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/jose/verify_with_jwcrypto.py");
        let jwks_url = app.url("/.well-known/jwks.json");
        let issuer = app.state.keys.issuer().to_owned();
        let run = |token: String| {
            let (script, jwks_url, issuer) = (script.to_owned(), jwks_url.clone(), issuer.clone());
            tokio::task::spawn_blocking(move || {
                Command::new("python3")
                    .args([script.as_str(), jwks_url.as_str(), token.as_str(), issuer.as_str(), AUDIENCE])
                    .output()
                    .expect("python3 ran")
            })
        };
        let output = run(token.clone()).await.expect("joined");
        assert!(
            output.status.success(),
            "jwcrypto refused our token: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let claims: Value = serde_json::from_slice(&output.stdout).expect("claims json");
        assert_eq!(claims["sub"], client.client_id.as_str());
        assert_eq!(claims["iss"], issuer.as_str());
        assert_eq!(claims["aud"], AUDIENCE);
        assert_eq!(claims["scope"], "procurement:read");

        // The script is no rubber stamp: a tampered token fails there too.
        let parts: Vec<&str> = token.split('.').collect();
        let mut forged = claims.clone();
        forged["scope"] = Value::from("admin");
        let tampered = format!("{}.{}.{}", parts[0], b64(&forged), parts[2]);
        let output = run(tampered).await.expect("joined");
        assert_eq!(output.status.code(), Some(1), "jwcrypto accepted a tampered token");
    }
}
