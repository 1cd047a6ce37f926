//! The negative-token suite: tokens forged with the server's own signing key (from the
//! `signing_keys` table), each differing from a good token in exactly one way. A good token in
//! the same run must pass, so the suite cannot pass by refusing everything.

use cpe_ledger::auth::tokens::TokenUse;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

use crate::db_test;
use crate::support_clients::*;

db_test! {
    async fn every_forged_or_misused_token_is_refused_with_a_bearer_challenge(app: TestApp) {
        let (scheme, number) = seed_holding(&app).await;
        let route = format!("/v1/procurement/holdings/{scheme}/{number}");
        let client = make_client(&app, "procurement", &[], 1000).await;
        let key = server_key(&app).await;
        let claims = good_claims(&app, &client.client_id, "procurement:read");
        let header = good_header(&key.kid);

        // The control: a token forged exactly as the server issues them passes.
        let good = sign(&header, &claims, &key.signing);
        let response = get_bearer(&app, &route, &good).await;
        assert_eq!(response.status(), 200, "the good token must pass");

        let with = |name: &str, value: Value| {
            let mut c = claims.clone();
            c[name] = value;
            c
        };
        let now = chrono::Utc::now().timestamp();
        let mut cases: Vec<(&str, String)> = Vec::new();

        // alg: none, no signature.
        let none_header = json!({"alg": "none", "typ": "at+jwt", "kid": key.kid});
        cases.push(("alg none", format!("{}.{}.", b64(&none_header), b64(&claims))));

        // HS256 keyed with the public key, in each form a confused verifier might use.
        let mut hs = good_header(&key.kid);
        hs.alg = Algorithm::HS256;
        cases.push((
            "HS256 keyed with the JWK x value",
            sign(&hs, &claims, &EncodingKey::from_secret(key.x.as_bytes())),
        ));
        cases.push((
            "HS256 keyed with the raw public key bytes",
            sign(&hs, &claims, &EncodingKey::from_secret(&key.public_bytes)),
        ));
        cases.push((
            "HS256 keyed with the public key PEM",
            sign(&hs, &claims, &EncodingKey::from_secret(key.public_pem.as_bytes())),
        ));

        // A claim flipped after signing; header and signature kept.
        let parts: Vec<&str> = good.split('.').collect();
        let tampered = with("scope", json!("procurement:read admin"));
        cases.push((
            "payload tampered after signing",
            format!("{}.{}.{}", parts[0], b64(&tampered), parts[2]),
        ));

        cases.push((
            "expired beyond the leeway",
            sign(&header, &with("exp", json!(now - 90)), &key.signing),
        ));
        cases.push((
            "not yet valid beyond the leeway",
            sign(&header, &with("nbf", json!(now + 90)), &key.signing),
        ));
        cases.push((
            "wrong audience",
            sign(&header, &with("aud", json!("some-other-api")), &key.signing),
        ));
        cases.push((
            "wrong issuer",
            sign(&header, &with("iss", json!("https://issuer.invalid")), &key.signing),
        ));
        cases.push((
            "exp as a string",
            sign(&header, &with("exp", json!((now + 600).to_string())), &key.signing),
        ));
        let mut no_exp = claims.clone();
        no_exp.as_object_mut().map(|o| o.remove("exp"));
        cases.push(("exp missing", sign(&header, &no_exp, &key.signing)));

        let mut unknown_kid = good_header("unknown-kid");
        unknown_kid.kid = Some("unknown-kid".to_owned());
        cases.push(("unknown kid", sign(&unknown_kid, &claims, &key.signing)));

        let stranger = ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>());
        let stranger_pem = {
            use ed25519_dalek::pkcs8::EncodePrivateKey;
            use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
            stranger.to_pkcs8_pem(LineEnding::LF).expect("pem").to_string()
        };
        cases.push((
            "signed by another Ed25519 key under our kid",
            sign(&header, &claims, &EncodingKey::from_ed_pem(stranger_pem.as_bytes()).expect("key")),
        ));

        let mut plain_jwt = good_header(&key.kid);
        plain_jwt.typ = Some("JWT".to_owned());
        cases.push(("typ JWT instead of at+jwt", sign(&plain_jwt, &claims, &key.signing)));

        cases.push((
            "token_use user on a client route (forged)",
            sign(&header, &with("token_use", json!("user")), &key.signing),
        ));
        let (user_token, _) = app
            .state
            .keys
            .issue(TokenUse::User, &uuid::Uuid::new_v4().to_string(), "professional")
            .expect("user token");
        cases.push(("a professional's token on a client route", user_token));

        cases.push((
            "a subject that is no client",
            sign(&header, &with("sub", json!("cl_nobody")), &key.signing),
        ));

        for (case, token) in cases {
            let case = format!("{case} ({:?})", app.backend);
            assert_bearer_refusal(get_bearer(&app, &route, &token).await, "invalid_token", &case)
                .await;
        }

        // No token at all, or another scheme: invalid_request.
        let bare = app.client.get(app.url(&route)).send().await.expect("sent");
        assert_bearer_refusal(bare, "invalid_request", "no Authorization header").await;
        let basic = app
            .client
            .get(app.url(&route))
            .header("authorization", "Basic Y2w6eA==")
            .send()
            .await
            .expect("sent");
        assert_bearer_refusal(basic, "invalid_request", "Basic instead of Bearer").await;

        // And the control still passes after all that.
        assert_eq!(get_bearer(&app, &route, &good).await.status(), 200);
    }
}

db_test! {
    async fn a_valid_client_token_where_a_professional_is_expected_is_insufficient_not_invalid(app: TestApp) {
        let client = make_client(&app, "procurement", &[], 100).await;
        let token = token_for(&app, &client).await;
        for route in ["/v1/me", "/v1/me/holdings"] {
            let response = get_bearer(&app, route, &token).await;
            assert_eq!(response.status(), 403, "client token on {route}");
            let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
            assert!(challenge.starts_with("Bearer error=\"insufficient_scope\""), "{challenge}");
        }
    }
}
