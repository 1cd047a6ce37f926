//! The client-credentials grant and a client's lifecycle: tokens, scopes, budgets, disabling
//! and secret rotation.

use serde_json::Value;

use crate::db_test;
use crate::support_clients::*;

async fn oauth_error(
    response: reqwest::Response,
    status: u16,
    error: &str,
) -> reqwest::header::HeaderMap {
    assert_eq!(response.status(), status, "expected {error}");
    let headers = response.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("application/json"),
        "RFC 6749 errors are plain JSON, not problem+json"
    );
    assert_eq!(headers["cache-control"], "no-store");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], error, "{body}");
    headers
}

db_test! {
    async fn a_created_client_gets_a_token_with_basic_or_form_credentials(app: TestApp) {
        let client = make_client(&app, "procurement", &[], 100).await;

        let response = token_request_basic(&app, &client.client_id, &client.secret, "grant_type=client_credentials").await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(response.headers()["pragma"], "no-cache");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 900);
        assert_eq!(body["scope"], "procurement:read");
        assert!(body["access_token"].as_str().is_some_and(|t| t.split('.').count() == 3));
        assert!(body.get("refresh_token").is_none());

        let form = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            client.client_id, client.secret
        );
        let response = token_request_form(&app, &form).await;
        assert_eq!(response.status(), 200, "form credentials work too");

        // Both methods at once is refused.
        let response = token_request_basic(&app, &client.client_id, &client.secret, &form).await;
        oauth_error(response, 400, "invalid_request").await;

        let issued = audit_events_named(&app, "token.issued").await;
        assert_eq!(issued.len(), 2);
        assert_eq!(issued[0].actor_id.as_deref(), Some(client.client_id.as_str()));
        assert_eq!(issued[0].after.as_ref().expect("after")["authentication"], "client_secret_basic");
        assert_eq!(issued[1].after.as_ref().expect("after")["authentication"], "client_secret_post");
    }
}

db_test! {
    async fn a_wrong_secret_or_an_unknown_client_is_invalid_client(app: TestApp) {
        let client = make_client(&app, "procurement", &[], 100).await;

        let response = token_request_basic(&app, &client.client_id, "not-the-secret", "grant_type=client_credentials").await;
        let headers = oauth_error(response, 401, "invalid_client").await;
        let challenge = headers["www-authenticate"].to_str().expect("ascii");
        assert!(challenge.starts_with("Basic realm="), "{challenge}");

        let response = token_request_basic(&app, "cl_nobody", &client.secret, "grant_type=client_credentials").await;
        oauth_error(response, 401, "invalid_client").await;

        let form = format!("grant_type=client_credentials&client_id={}&client_secret=wrong", client.client_id);
        oauth_error(token_request_form(&app, &form).await, 401, "invalid_client").await;

        let response = token_request_form(&app, "grant_type=client_credentials").await;
        oauth_error(response, 401, "invalid_client").await;

        let refused = audit_events_named(&app, "token.refused").await;
        let reasons: Vec<&str> = refused
            .iter()
            .filter_map(|e| e.after.as_ref()?.get("reason")?.as_str())
            .collect();
        assert_eq!(reasons, ["wrong_secret", "unknown_client", "wrong_secret", "no_credentials"]);
        assert_eq!(refused[0].subject_id.as_deref(), Some(client.client_id.as_str()));
        assert!(audit_events_named(&app, "token.issued").await.is_empty());
    }
}

db_test! {
    async fn the_token_endpoint_answers_malformed_requests_in_rfc_6749_terms(app: TestApp) {
        let client = make_client(&app, "procurement", &[], 100).await;
        let basic = |form: &'static str| token_request_basic(&app, &client.client_id, &client.secret, form);

        oauth_error(basic("").await, 400, "invalid_request").await;
        oauth_error(basic("grant_type=password").await, 400, "unsupported_grant_type").await;
        oauth_error(
            basic("grant_type=client_credentials&grant_type=client_credentials").await,
            400,
            "invalid_request",
        )
        .await;
        let json = app
            .client
            .post(app.url("/oauth/token"))
            .basic_auth(&client.client_id, Some(&client.secret))
            .json(&serde_json::json!({"grant_type": "client_credentials"}))
            .send()
            .await
            .expect("sent");
        oauth_error(json, 400, "invalid_request").await;
    }
}

db_test! {
    async fn requested_scopes_must_be_a_subset_of_the_clients(app: TestApp) {
        let client = make_client(&app, "provider", &[], 100).await;
        let response = token_request_basic(
            &app, &client.client_id, &client.secret,
            "grant_type=client_credentials&scope=provider%3Aread",
        )
        .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["scope"], "provider:read");

        let response = token_request_basic(
            &app, &client.client_id, &client.secret,
            "grant_type=client_credentials&scope=provider%3Aread+procurement%3Aread",
        )
        .await;
        oauth_error(response, 400, "invalid_scope").await;
    }
}

db_test! {
    async fn a_client_is_throttled_after_its_per_minute_budget(app: TestApp) {
        let (scheme, number) = seed_holding(&app).await;
        let route = format!("/v1/procurement/holdings/{scheme}/{number}");

        // The token endpoint spends the budget.
        let client = make_client(&app, "procurement", &[], 3).await;
        for _ in 0..3 {
            token_for(&app, &client).await;
        }
        let response = token_request_basic(&app, &client.client_id, &client.secret, "grant_type=client_credentials").await;
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let wait: u64 = response.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
        assert!((1..=20).contains(&wait), "{wait}");

        // So do the routes the token reaches.
        let client = make_client(&app, "procurement", &[], 2).await;
        let token = token_for(&app, &client).await;
        assert_eq!(get_bearer(&app, &route, &token).await.status(), 200);
        let response = get_bearer(&app, &route, &token).await;
        assert_eq!(response.status(), 429);
        assert!(response.headers().contains_key("retry-after"));
        let body: Value = response.json().await.expect("problem");
        assert_eq!(body["status"], 429);
    }
}

db_test! {
    async fn disabling_a_client_stops_its_existing_token_at_once(app: TestApp) {
        let (scheme, number) = seed_holding(&app).await;
        let route = format!("/v1/procurement/holdings/{scheme}/{number}");
        let admin = make_client(&app, "admin", &[], 100).await;
        let admin_token = token_for(&app, &admin).await;
        let client = make_client(&app, "procurement", &[], 100).await;
        let token = token_for(&app, &client).await;
        assert_eq!(get_bearer(&app, &route, &token).await.status(), 200);

        let path = format!("/v1/admin/clients/{}/disable", client.client_id);
        let response = post_bearer(&app, &path, &admin_token, None).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        assert!(body["disabled_at"].is_string());

        assert_bearer_refusal(get_bearer(&app, &route, &token).await, "invalid_token", "disabled client").await;
        let response = token_request_basic(&app, &client.client_id, &client.secret, "grant_type=client_credentials").await;
        oauth_error(response, 401, "invalid_client").await;
        let refused = audit_events_named(&app, "token.refused").await;
        assert_eq!(refused.last().and_then(|e| e.after.clone()).expect("after")["reason"], "client_disabled");
        assert_eq!(audit_events_named(&app, "client.disabled").await.len(), 1);
    }
}

db_test! {
    async fn rotating_a_secret_refuses_the_old_secret_and_the_old_tokens(app: TestApp) {
        let (scheme, number) = seed_holding(&app).await;
        let route = format!("/v1/procurement/holdings/{scheme}/{number}");
        let admin = make_client(&app, "admin", &[], 100).await;
        let admin_token = token_for(&app, &admin).await;
        let client = make_client(&app, "procurement", &[], 100).await;
        let old_token = token_for(&app, &client).await;
        assert_eq!(get_bearer(&app, &route, &old_token).await.status(), 200);

        let path = format!("/v1/admin/clients/{}/rotate-secret", client.client_id);
        let response = post_bearer(&app, &path, &admin_token, None).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        let new_secret = body["client_secret"].as_str().expect("new secret").to_owned();
        assert_ne!(new_secret, client.secret);

        let response = token_request_basic(&app, &client.client_id, &client.secret, "grant_type=client_credentials").await;
        oauth_error(response, 401, "invalid_client").await;
        assert_bearer_refusal(get_bearer(&app, &route, &old_token).await, "invalid_token", "token from before the rotation").await;

        let rotated = TestClient { client_id: client.client_id.clone(), secret: new_secret };
        let new_token = token_for(&app, &rotated).await;
        assert_eq!(get_bearer(&app, &route, &new_token).await.status(), 200);
        assert_eq!(audit_events_named(&app, "client.secret_rotated").await.len(), 1);
    }
}
