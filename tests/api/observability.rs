//! What an operator sees of a running instance: a request id on every answer, its log lines and
//! problem bodies; `/metrics` for the scraper it is meant for; and the cap on requests served at
//! once, which sheds the excess with 503 instead of letting every caller wait.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::db_test;
use crate::harness::{Backend, TestApp};

fn request_id_of(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("every answer carries x-request-id")
        .to_owned()
}

db_test! {
    async fn every_answer_names_its_request_id_and_a_problem_body_carries_the_same(app: TestApp) {
        let health = app.get("/health/live").await;
        let first = request_id_of(&health);
        let again = request_id_of(&app.get("/health/live").await);
        assert_ne!(first, again, "each request gets its own id");

        let problem = app
            .client
            .get(app.url("/v1/me"))
            .send()
            .await
            .unwrap();
        assert_eq!(problem.status(), 401);
        let id = request_id_of(&problem);
        let body: Value = problem.json().await.unwrap();
        assert_eq!(body["request_id"], id.as_str(), "{body}");

        let quoted = app
            .client
            .get(app.url("/v1/nowhere"))
            .header("x-request-id", "lb-2f9c:7")
            .send()
            .await
            .unwrap();
        assert_eq!(request_id_of(&quoted), "lb-2f9c:7", "a proxy's well-formed id is kept");
        let body: Value = quoted.json().await.unwrap();
        assert_eq!(body["request_id"], "lb-2f9c:7");

        let forged = app
            .client
            .get(app.url("/health/live"))
            .header("x-request-id", "two words\tand a tab")
            .send()
            .await
            .unwrap();
        assert!(uuid::Uuid::parse_str(&request_id_of(&forged)).is_ok(), "a malformed id is replaced");
    }
}

async fn metrics_text(app: &TestApp) -> String {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    response.text().await.unwrap()
}

db_test! {
    async fn metrics_count_requests_by_route_and_status_and_show_the_pool_and_the_outbox(app: TestApp) {
        for _ in 0..3 {
            assert_eq!(app.get("/health/live").await.status(), 200);
        }
        assert_eq!(app.get("/v1/procurement/holdings/riss/000001").await.status(), 401);
        let signup = app
            .post_json(
                "/v1/auth/signup",
                &serde_json::json!({"email": "metrics@example.com", "password": "correct horse battery staple 42", "locale": "en"}),
            )
            .await;
        assert_eq!(signup.status(), 202);
        let text = metrics_text(&app).await;
        for line in [
            r#"cpe_ledger_http_requests_total{method="GET",route="/health/live",status="200"} 3"#,
            r#"cpe_ledger_http_requests_total{method="GET",route="/v1/procurement/holdings/{scheme}/{registration_number}",status="401"} 1"#,
            r#"cpe_ledger_http_request_duration_seconds_count{method="GET",route="/health/live"} 3"#,
            r#"cpe_ledger_notifications{state="queued"} 1"#,
            r#"cpe_ledger_notifications{state="sent"} 0"#,
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        assert!(text.contains(r#"cpe_ledger_db_pool_connections{state="idle"}"#), "{text}");
        // Only the labels: a duration or a sum may well have the digits 000001 in it.
        let labels = text
            .lines()
            .filter_map(|line| line.split_once('{').and_then(|(_, rest)| rest.split_once('}')))
            .map(|(labels, _)| labels);
        for labels in labels {
            assert!(!labels.contains("000001"), "no path value becomes a label: {labels}");
        }

        app.dispatch_pending_emails().await;
        let text = metrics_text(&app).await;
        assert!(text.contains(r#"cpe_ledger_notifications{state="sent"} 1"#), "{text}");
        assert!(text.contains(r#"cpe_ledger_job_runs_total{job="outbox_drain",outcome="done"}"#), "{text}");
    }
}

#[tokio::test]
async fn metrics_through_a_proxy_are_refused_without_a_token_and_need_the_token_once_set() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let proxied = app
        .client
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), 403);
    assert_eq!(
        proxied.headers()["content-type"],
        "application/problem+json"
    );
    drop(app);

    let token = "scrape-token-0123456789";
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.metrics_token = Some(token.to_owned());
    })
    .await
    else {
        return;
    };
    assert_eq!(
        app.get("/metrics").await.status(),
        401,
        "local is not enough once a token is set"
    );
    let wrong = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-token-wrong-guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    assert!(
        right
            .text()
            .await
            .unwrap()
            .contains("cpe_ledger_http_requests_total")
    );
}

#[tokio::test]
async fn beyond_its_cap_of_requests_at_once_the_server_sheds_with_503_but_still_answers_health() {
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.max_concurrent_requests = Some("1".to_owned());
    })
    .await
    else {
        return;
    };
    // A request whose body is still arriving holds the one place while its handler reads it.
    let mut slow = TcpStream::connect(app.address).await.unwrap();
    slow.write_all(
        b"POST /v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 60\r\n\r\n{\"email\":",
    )
    .await
    .unwrap();

    let started = Instant::now();
    let shed = loop {
        let response = app.get("/v1/me").await;
        if response.status() == 503 {
            break response;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never shed: {}",
            response.status()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(shed.headers()["retry-after"], "1");
    assert_eq!(shed.headers()["content-type"], "application/problem+json");
    let body: Value = shed.json().await.unwrap();
    assert_eq!(body["type"], "/problems/overloaded");
    assert_eq!(
        app.get("/health/live").await.status(),
        200,
        "health is not counted"
    );
    let text = metrics_text(&app).await;
    assert!(
        text.contains("cpe_ledger_http_requests_shed_total"),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/v1/me",status="503""#),
        "a shed request is counted by its route: {text}"
    );

    drop(slow);
    let started = Instant::now();
    loop {
        let status = app.get("/v1/me").await.status();
        if status == 401 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the place was never freed: {status}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
