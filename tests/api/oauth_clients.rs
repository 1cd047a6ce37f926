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
        // The second wrong secret for the same client from the same address is a repeat of
        // the first: counted on its row, not a row of its own.
        assert_eq!(reasons, ["wrong_secret", "unknown_client", "no_credentials"]);
        let counts: Vec<i32> = refused.iter().map(|e| e.repeat_count).collect();
        assert_eq!(counts, [2, 1, 1]);
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

db_test! {
    async fn token_requests_issued_or_refused_record_the_callers_address(app: TestApp) {
        let client = make_client(&app, "procurement", &[], 100).await;
        token_for(&app, &client).await;
        let response = token_request_basic(&app, &client.client_id, "not-the-secret", "grant_type=client_credentials").await;
        oauth_error(response, 401, "invalid_client").await;
        oauth_error(token_request_form(&app, "grant_type=client_credentials").await, 401, "invalid_client").await;

        let issued = audit_events_named(&app, "token.issued").await;
        let refused = audit_events_named(&app, "token.refused").await;
        assert_eq!((issued.len(), refused.len()), (1, 2));
        for event in issued.iter().chain(&refused) {
            assert_eq!(event.ip.as_deref(), Some("127.0.0.1"), "{event:?}");
        }
    }
}

/// 50 refused token requests sent at once from one forwarded address, then one more for
/// another client id and one more from another address, against a server that trusts the
/// loopback proxy: one row per (client id, address) in the window, and no request lost or
/// answered 500 while concurrent writers raced to create the window's row.
mod refused_token_requests_are_counted_per_window {
    use crate::harness::{Backend, TestApp};
    use crate::support_clients::*;

    const ATTEMPTS: usize = 50;

    async fn refused_from(app: &TestApp, client_id: &str, forwarded: &str) -> reqwest::StatusCode {
        app.client
            .post(app.url("/oauth/token"))
            .header("x-forwarded-for", forwarded)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=client_credentials&client_id={client_id}&client_secret=wrong"
            ))
            .send()
            .await
            .expect("request sent")
            .status()
    }

    async fn run(backend: Backend) {
        let Some(app) = TestApp::spawn_with(backend, |s| {
            s.trusted_proxies = Some("127.0.0.1".parse().expect("proxy addresses"));
        })
        .await
        else {
            return;
        };
        let app = std::sync::Arc::new(app);
        let client = make_client(&app, "procurement", &[], 1000).await;
        let mut requests = tokio::task::JoinSet::new();
        for _ in 0..ATTEMPTS {
            let app = std::sync::Arc::clone(&app);
            let client_id = client.client_id.clone();
            requests.spawn(async move { refused_from(&app, &client_id, "203.0.113.7").await });
        }
        while let Some(status) = requests.join_next().await {
            assert_eq!(status.expect("request task"), 401);
        }
        assert_eq!(refused_from(&app, "cl_nobody", "203.0.113.7").await, 401);
        assert_eq!(
            refused_from(&app, &client.client_id, "198.51.100.9").await,
            401
        );

        let refused = audit_events_named(&app, "token.refused").await;
        let rows: Vec<(Option<&str>, Option<&str>, i32)> = refused
            .iter()
            .map(|e| (e.subject_id.as_deref(), e.ip.as_deref(), e.repeat_count))
            .collect();
        let id = Some(client.client_id.as_str());
        // The 50 could straddle a window boundary; then they are two rows that add up to 50.
        let flood: Vec<_> = rows
            .iter()
            .filter(|(s, ip, _)| *s == id && *ip == Some("203.0.113.7"))
            .collect();
        assert!(matches!(flood.len(), 1 | 2), "{rows:?}");
        assert_eq!(
            flood.iter().map(|(_, _, n)| *n as usize).sum::<usize>(),
            ATTEMPTS,
            "{rows:?}"
        );
        assert!(
            rows.contains(&(Some("cl_nobody"), Some("203.0.113.7"), 1)),
            "{rows:?}"
        );
        assert!(rows.contains(&(id, Some("198.51.100.9"), 1)), "{rows:?}");
        assert_eq!(rows.len(), flood.len() + 2, "{rows:?}");
        let first = &refused[0];
        if first.repeat_count > 1 {
            let last = first
                .last_occurred_at
                .expect("a repeated row has its last time");
            // Concurrent requests take their times before they write: a repeat counted just
            // after the first row was inserted may carry a time a moment before it.
            assert!(
                last >= first.occurred_at - chrono::Duration::seconds(1),
                "{first:?}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        run(Backend::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mysql() {
        run(Backend::MySql).await;
    }
}
