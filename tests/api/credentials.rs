//! Status credentials: issued by the holder or a procurement client, signed RS256 with a key
//! published in the JWKS, verified offline by an independent JOSE implementation, and judged
//! valid, expired, revoked, tampered or malformed by the verify route and the public page.

use std::process::Command;

use serde_json::{Value, json};

use crate::db_test;
use crate::harness::{Needs, TestApp, skipped};
use crate::support_clients::*;
use crate::support_credentials::*;

/// Runs the independent check; (exit code, stdout, stderr).
async fn jwcrypto(app: &TestApp, credential: &str) -> (Option<i32>, String, String) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/jose/verify_credential_with_jwcrypto.py"
    );
    let args = [
        script.to_owned(),
        app.url("/.well-known/jwks.json"),
        credential.to_owned(),
        app.state.keys.issuer().to_owned(),
    ];
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args(&args)
            .output()
            .expect("python3 ran")
    })
    .await
    .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

db_test! {
    async fn the_jwks_publishes_one_rs256_credential_key_whose_kid_is_a_url_into_it(app: TestApp) {
        let body: Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
        let rsa: Vec<&Value> = body["keys"].as_array().unwrap().iter()
            .filter(|k| k["kty"] == "RSA").collect();
        assert_eq!(rsa.len(), 1, "{body}");
        let key = rsa[0];
        assert_eq!(key["alg"], "RS256");
        assert_eq!(key["use"], "sig");
        assert!(key.get("d").is_none() && key.get("p").is_none(), "never the private half");
        let kid = key["kid"].as_str().unwrap();
        let jwks_url = format!("{}/.well-known/jwks.json#", app.state.keys.issuer());
        assert!(kid.starts_with(&jwks_url), "{kid}");
        let n = key["n"].as_str().unwrap();
        assert!(n.len() >= 342, "a 2048-bit modulus: {} base64url characters", n.len());
        // The token keys are still there, and still Ed25519.
        assert!(body["keys"].as_array().unwrap().iter().any(|k| k["alg"] == "EdDSA"));
    }
}

db_test! {
    async fn an_issued_credential_verifies_with_jwcrypto_using_only_the_jwks_and_forgeries_do_not(app: TestApp) {
        if skipped(Needs::Jwcrypto).await {
            return;
        }
        let holder = app.seed_holder("ja").await;
        let token = professional_token(&app, &holder).await;
        let issued = issue_own(&app, &token, &holder).await;
        let credential = issued["credential"].as_str().unwrap();

        let (code, stdout, stderr) = jwcrypto(&app, credential).await;
        assert_eq!(code, Some(0), "jwcrypto refused our credential: {stderr}");
        let claims: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(claims["type"], json!(["VerifiableCredential", "OpenBadgeCredential"]));
        assert_eq!(claims["issuer"]["id"], app.state.keys.issuer());
        assert_eq!(claims["credentialSubject"]["scheme"], "cissp");
        assert_eq!(claims["credentialSubject"]["status"], "active");
        assert_eq!(claims["id"], format!("urn:uuid:{}", issued["id"].as_str().unwrap()));
        assert!(claims["credentialSubject"].get("name").is_none(), "no name without consent");

        // Tampered: a claim changed after signing.
        let forged = tampered(credential, |p| p["credentialSubject"]["status"] = json!("revoked"));
        let (code, _, _) = jwcrypto(&app, &forged).await;
        assert_eq!(code, Some(1), "jwcrypto accepted a tampered credential");

        // Expired: signed with the server's own key, exactly as issued, but past its exp.
        let (kid, key) = credential_signing_key(&app).await;
        let mut old = payload_of(credential);
        let now = chrono::Utc::now().timestamp();
        old["iat"] = json!(now - 40 * 86400);
        old["nbf"] = json!(now - 40 * 86400);
        old["exp"] = json!(now - 10 * 86400);
        let expired = sign_credential(&kid, &key, &old);
        let (code, _, _) = jwcrypto(&app, &expired).await;
        assert_eq!(code, Some(1), "jwcrypto accepted an expired credential");

        // The control still passes after the forgeries.
        let (code, _, _) = jwcrypto(&app, credential).await;
        assert_eq!(code, Some(0));
    }
}

db_test! {
    async fn the_verify_route_answers_valid_expired_revoked_tampered_and_malformed(app: TestApp) {
        let holder = app.seed_holder("ja").await;
        let token = professional_token(&app, &holder).await;
        let issued = issue_own(&app, &token, &holder).await;
        let credential = issued["credential"].as_str().unwrap().to_owned();

        let valid = verdict_of(&app, &credential).await;
        assert_eq!(valid["verdict"], "valid", "{valid}");
        assert_eq!(valid["claims"]["credentialSubject"]["registrationNumber"],
            payload_of(&credential)["credentialSubject"]["registrationNumber"]);

        let forged = tampered(&credential, |p| p["exp"] = json!(4_102_444_800_i64));
        let answer = verdict_of(&app, &forged).await;
        assert_eq!(answer["verdict"], "tampered", "{answer}");
        assert!(answer["claims"].is_null(), "no claims from a forgery");

        for junk in ["", "not a credential", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
            let answer = verdict_of(&app, junk).await;
            assert!(
                matches!(answer["verdict"].as_str(), Some("malformed" | "tampered")),
                "{junk:?}: {answer}"
            );
        }
        assert_eq!(verdict_of(&app, "not a credential").await["verdict"], "malformed");

        // An access token is no credential, though this ledger signed it.
        let access = verdict_of(&app, &token).await;
        assert_eq!(access["verdict"], "malformed", "{access}");

        // Expired: the server's own key, a recorded credential, an exp in the past.
        let (kid, key) = credential_signing_key(&app).await;
        let mut old = payload_of(&credential);
        let now = chrono::Utc::now().timestamp();
        old["exp"] = json!(now - 3600);
        old["iat"] = json!(now - 7200);
        old["nbf"] = json!(now - 7200);
        let expired = sign_credential(&kid, &key, &old);
        assert_eq!(verdict_of(&app, &expired).await["verdict"], "expired");

        // Revoked by its holder: the verify route says so, from then on.
        let id = issued["id"].as_str().unwrap();
        let revoke = post_bearer(&app, &format!("/v1/me/credentials/{id}/revoke"), &token, None).await;
        assert_eq!(revoke.status(), 200);
        let record: Value = revoke.json().await.unwrap();
        assert!(record["revoked_at"].is_string(), "{record}");
        let revoked = verdict_of(&app, &credential).await;
        assert_eq!(revoked["verdict"], "revoked", "{revoked}");
        assert!(revoked["claims"].is_null(), "a revoked credential's claims are not vouched for");
        // Revoking again changes nothing.
        let again = post_bearer(&app, &format!("/v1/me/credentials/{id}/revoke"), &token, None).await;
        assert_eq!(again.status(), 200);
        let again: Value = again.json().await.unwrap();
        assert_eq!(again["revoked_at"], record["revoked_at"]);
    }
}

db_test! {
    async fn the_verify_page_shows_each_verdict_in_japanese_and_english(app: TestApp) {
        let holder = app.seed_holder("ja").await;
        let token = professional_token(&app, &holder).await;
        let issued = issue_own(&app, &token, &holder).await;
        let credential = issued["credential"].as_str().unwrap().to_owned();
        assert_eq!(
            issued["verify_url"].as_str().unwrap(),
            format!("{}/verify/{credential}", app.state.keys.issuer())
        );
        let number = payload_of(&credential)["credentialSubject"]["registrationNumber"]
            .as_str().unwrap().to_owned();

        let (status, en) = page(&app, &format!("/verify/{credential}"), "en").await;
        assert_eq!(status, 200);
        assert!(en.contains("data-verdict=\"valid\"") && en.contains("Valid"), "{en}");
        assert!(en.contains(&number), "the page states the registration number");
        let (_, ja) = page(&app, &format!("/verify/{credential}"), "ja").await;
        assert!(ja.contains("data-verdict=\"valid\"") && ja.contains("有効"), "{ja}");

        let forged = tampered(&credential, |p| p["credentialSubject"]["status"] = json!("active "));
        let (_, en) = page(&app, &format!("/verify/{forged}"), "en").await;
        assert!(en.contains("data-verdict=\"tampered\"") && en.contains("Not authentic"), "{en}");
        assert!(!en.contains(&number), "nothing a forgery states is shown");
        let (_, ja) = page(&app, &format!("/verify/{forged}"), "ja").await;
        assert!(ja.contains("真正ではありません"), "{ja}");

        let (_, en) = page(&app, "/verify/garbage", "en").await;
        assert!(en.contains("data-verdict=\"malformed\"") && en.contains("Not a credential"), "{en}");

        let (kid, key) = credential_signing_key(&app).await;
        let mut old = payload_of(&credential);
        let now = chrono::Utc::now().timestamp();
        old["exp"] = json!(now - 3600);
        let expired = sign_credential(&kid, &key, &old);
        let (_, en) = page(&app, &format!("/verify/{expired}"), "en").await;
        assert!(en.contains("data-verdict=\"expired\"") && en.contains("Expired"), "{en}");
        let (_, ja) = page(&app, &format!("/verify/{expired}"), "ja").await;
        assert!(ja.contains("期限切れ"), "{ja}");

        let id = issued["id"].as_str().unwrap();
        post_bearer(&app, &format!("/v1/me/credentials/{id}/revoke"), &token, None).await;
        let (_, en) = page(&app, &format!("/verify/{credential}"), "en").await;
        assert!(en.contains("data-verdict=\"revoked\"") && en.contains("Revoked"), "{en}");
        let (_, ja) = page(&app, &format!("/verify/{credential}"), "ja").await;
        assert!(ja.contains("data-verdict=\"revoked\"") && ja.contains("取り消し済み"), "{ja}");
    }
}

db_test! {
    async fn a_professional_lists_and_revokes_only_their_own_credentials(app: TestApp) {
        let holder = app.seed_holder("ja").await;
        let other = app.seed_holder("en").await;
        let token = professional_token(&app, &holder).await;
        let other_token = professional_token(&app, &other).await;
        let issued = issue_own(&app, &token, &holder).await;
        let id = issued["id"].as_str().unwrap();

        // Someone else's holding cannot be the subject of my credential.
        let response = app.client.post(app.url("/v1/me/credentials")).bearer_auth(&token)
            .json(&json!({ "holding_id": other.holding_id })).send().await.unwrap();
        assert_eq!(response.status(), 404);

        let listed: Value = get_bearer(&app, "/v1/me/credentials", &token).await.json().await.unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
        assert_eq!(listed[0]["id"], id);
        assert_eq!(listed[0]["requested_by"], "professional");
        assert!(listed[0].get("credential").is_none(), "the list never repeats the token");
        let theirs: Value = get_bearer(&app, "/v1/me/credentials", &other_token).await.json().await.unwrap();
        assert_eq!(theirs, json!([]));

        let response = post_bearer(&app, &format!("/v1/me/credentials/{id}/revoke"), &other_token, None).await;
        assert_eq!(response.status(), 404, "another professional cannot revoke it");
        assert_eq!(verdict_of(&app, issued["credential"].as_str().unwrap()).await["verdict"], "valid");
    }
}

db_test! {
    async fn a_procurement_client_obtains_a_credential_without_the_holders_name(app: TestApp) {
        let (scheme, number) = seed_holding(&app).await;
        let client = make_client(&app, "procurement", &["procurement:read"], 100).await;
        let token = token_for(&app, &client).await;
        let response = post_bearer(
            &app,
            &format!("/v1/procurement/holdings/{scheme}/{number}/credential"),
            &token,
            None,
        )
        .await;
        assert_eq!(response.status(), 201);
        let issued: Value = response.json().await.unwrap();
        let claims = payload_of(issued["credential"].as_str().unwrap());
        assert_eq!(claims["credentialSubject"]["registrationNumber"], number.as_str());
        let text = claims.to_string();
        assert!(!text.contains("山田") && !text.contains("Taro"), "no name without consent: {text}");
        assert_eq!(verdict_of(&app, issued["credential"].as_str().unwrap()).await["verdict"], "valid");

        let missing = post_bearer(
            &app,
            &format!("/v1/procurement/holdings/{scheme}/99999999/credential"),
            &token,
            None,
        )
        .await;
        assert_eq!(missing.status(), 404);
    }
}

db_test! {
    async fn anonymous_verification_is_limited_per_address(app: TestApp) {
        let limit = cpe_ledger::services::throttle::ANONYMOUS_LOOKUPS_PER_ADDRESS;
        for _ in 0..limit {
            let response = app.post_json("/v1/credentials/verify", &json!({"credential": "x"})).await;
            assert_eq!(response.status(), 200);
        }
        let refused = app.post_json("/v1/credentials/verify", &json!({"credential": "x"})).await;
        assert_eq!(refused.status(), 429);
        assert!(refused.headers().contains_key("retry-after"));
        assert_eq!(refused.headers()["content-type"], "application/problem+json");
        // The page counts against the same budget.
        let (status, _) = page(&app, "/verify/x", "en").await;
        assert_eq!(status, 429);
    }
}

db_test! {
    async fn the_signed_in_page_shares_a_credential_with_a_qr_code_pointing_at_its_verify_page(app: TestApp) {
        let holder = app.seed_holder("ja").await;
        let token = professional_token(&app, &holder).await;
        let cookie = format!("{}={token}", cpe_ledger::http::pages::SESSION_COOKIE);
        let home = app.client.get(app.url("/?lang=en")).header("cookie", &cookie).send().await.unwrap();
        let html = home.text().await.unwrap();
        assert!(html.contains("Share a status credential"), "{html}");
        let csrf = crate::support_accounts::csrf_field(&html);

        let without_csrf = app.client.post(app.url("/credentials?lang=en")).header("cookie", &cookie)
            .form(&[("holding_id", holder.holding_id.to_string())]).send().await.unwrap();
        assert_eq!(without_csrf.status(), 403);

        let shared = app.client.post(app.url("/credentials?lang=en")).header("cookie", &cookie)
            .form(&[("csrf", csrf.clone()), ("holding_id", holder.holding_id.to_string())])
            .send().await.unwrap();
        assert_eq!(shared.status(), 200);
        let html = shared.text().await.unwrap();
        assert!(html.contains("<figure id=\"credential-qr\"><svg"), "an inline SVG QR code: {html}");
        let marker = "id=\"verify-link\" href=\"";
        let start = html.find(marker).expect("the verify link") + marker.len();
        // Attribute text, as the template escapes it.
        let link = html[start..].split('"').next().unwrap().replace("&#x2f;", "/");
        let prefix = format!("{}/verify/", app.state.keys.issuer());
        assert!(link.starts_with(&prefix), "{link}");
        let credential = link[prefix.len()..].to_owned();
        assert_eq!(verdict_of(&app, &credential).await["verdict"], "valid");
        let listed: Value = get_bearer(&app, "/v1/me/credentials", &token).await.json().await.unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 1, "recorded like one from the API");

        // Another holder's holding is not shared from my page.
        let other = app.seed_holder("en").await;
        let refused = app.client.post(app.url("/credentials?lang=en")).header("cookie", &cookie)
            .form(&[("csrf", csrf), ("holding_id", other.holding_id.to_string())])
            .send().await.unwrap();
        assert_eq!(refused.status(), 303, "back to the list");
        let listed: Value = get_bearer(&app, "/v1/me/credentials", &token).await.json().await.unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 1);
    }
}

/// The `kid` a compact JWS names in its header.
fn kid_in(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .unwrap()
        .kid
        .expect("a kid")
}

/// The `kid`s of the RS256 keys the JWKS publishes.
async fn published_credential_kids(app: &TestApp) -> Vec<String> {
    let body: Value = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["alg"] == "RS256")
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// A credential rotation run from the command line reaches the running server through its key
/// refresh (every half second here): a credential issued before it still verifies, on the
/// route and offline with the JWKS, and the next ones carry the new key's `kid`.
async fn rotating_the_credential_key_keeps_earlier_credentials_verifying(app: TestApp) {
    let holder = app.seed_holder("ja").await;
    let token = professional_token(&app, &holder).await;
    let before = issue_own(&app, &token, &holder).await["credential"]
        .as_str()
        .unwrap()
        .to_owned();
    let old_kid = kid_in(&before);
    assert_eq!(
        published_credential_kids(&app).await,
        std::slice::from_ref(&old_kid)
    );

    let out = crate::harness::stdout_of(&app.cli(&["admin", "rotate-credential-key"]));
    let thumbprint = out
        .trim()
        .strip_prefix("new credential key ")
        .and_then(|rest| rest.strip_suffix(" is active"))
        .unwrap_or_else(|| panic!("unexpected output: {out}"))
        .to_owned();
    let new_kid = cpe_ledger::auth::credential_keys::kid_url(&app.config.public_url, &thumbprint);
    assert_ne!(new_kid, old_kid);

    let started = std::time::Instant::now();
    let after = loop {
        let issued = issue_own(&app, &token, &holder).await["credential"]
            .as_str()
            .unwrap()
            .to_owned();
        if kid_in(&issued) != old_kid {
            break issued;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the server still signs with the retired key"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(
        kid_in(&after),
        new_kid,
        "signed with the key the rotation created"
    );

    let mut kids = published_credential_kids(&app).await;
    kids.sort();
    let mut expected = vec![old_kid.clone(), new_kid.clone()];
    expected.sort();
    assert_eq!(
        kids, expected,
        "the retired key stays published beside the new one"
    );
    for credential in [&before, &after] {
        let verdict = verdict_of(&app, credential).await;
        assert_eq!(verdict["verdict"], "valid", "{verdict}");
    }
    let (status, html) = page(&app, &format!("/verify/{before}"), "en").await;
    assert_eq!(status, 200);
    assert!(html.contains("data-verdict=\"valid\""), "{html}");
    if !skipped(Needs::Jwcrypto).await {
        for credential in [&before, &after] {
            let (code, _, stderr) = jwcrypto(&app, credential).await;
            assert_eq!(
                code,
                Some(0),
                "jwcrypto refused a credential after rotation: {stderr}"
            );
        }
    }

    // `rotate-keys` rotates every key, the credential key among them.
    let out = crate::harness::stdout_of(&app.cli(&["admin", "rotate-keys"]));
    assert!(out.contains("new signing key "), "{out}");
    assert!(out.contains("new credential key "), "{out}");
    assert_eq!(published_credential_kids(&app).await.len(), 3);
    assert_eq!(verdict_of(&app, &before).await["verdict"], "valid");
}

mod rotating_the_credential_key {
    use super::*;
    use crate::harness::Backend;

    async fn spawn(backend: Backend) -> Option<TestApp> {
        TestApp::spawn_with(backend, |s| s.key_refresh_interval = Some("0.5".to_owned())).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        if let Some(app) = spawn(Backend::Sqlite).await {
            rotating_the_credential_key_keeps_earlier_credentials_verifying(app).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) = spawn(Backend::Postgres).await {
            rotating_the_credential_key_keeps_earlier_credentials_verifying(app).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mysql() {
        if let Some(app) = spawn(Backend::MySql).await {
            rotating_the_credential_key_keeps_earlier_credentials_verifying(app).await;
        }
    }
}
