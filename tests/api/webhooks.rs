//! Status webhooks end to end: a receiver started by the test (a small axum server on a free
//! port) subscribes through the API, and gets exactly one signed delivery per change of a
//! watched holding, through the outbox, even when it was down when the change happened.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use cpe_ledger::services::webhooks;
use entity::{holdings, notifications};
use hmac::{Hmac, Mac};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::oneshot;

use crate::db_test;
use crate::harness::TestApp;
use crate::support_clients::*;

/// One POST the receiver got: its headers and exact body.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: Vec<u8>,
}

/// A webhook receiver on 127.0.0.1; stopped (its port closed) by [`Receiver::stop`].
struct Receiver {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Listens on `port` (0: any free one), answering every POST with `answer`.
    async fn start(port: u16, answer: StatusCode, received: Arc<Mutex<Vec<Received>>>) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let address = listener.local_addr().unwrap();
        let log = received.clone();
        let router = axum::Router::new().route(
            "/hooks/status",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let log = log.clone();
                async move {
                    log.lock().unwrap().push(Received {
                        headers,
                        body: body.to_vec(),
                    });
                    answer
                }
            }),
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Self {
            address,
            stop: Some(stop),
            served,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/hooks/status", self.address)
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.served).await;
    }
}

fn expected_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The certification body changes the holding's status, through the service that does so.
async fn set_status(app: &TestApp, number: &str, status: holdings::HoldingStatus) {
    let holding = holdings::Entity::find()
        .filter(holdings::Column::RegistrationNumber.eq(number))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    cpe_ledger::services::holdings::set_status(
        &app.state.db,
        &app.state.schemes,
        &cpe_ledger::services::audit::Actor::cli("test"),
        holding.id,
        status,
    )
    .await
    .unwrap()
    .unwrap();
}

/// As if the backoff had passed: a deferred delivery is due now.
async fn due_now(app: &TestApp) {
    notifications::Entity::update_many()
        .col_expr(
            notifications::Column::NextAttemptAt,
            Expr::value(chrono::Utc::now()),
        )
        .filter(notifications::Column::Template.eq(webhooks::TEMPLATE))
        .exec(&app.state.db)
        .await
        .unwrap();
}

async fn detect(app: &TestApp) -> usize {
    webhooks::detect_changes(&app.state.db, &app.state.schemes)
        .await
        .unwrap()
}

db_test! {
    async fn a_receiver_gets_exactly_one_signed_delivery_per_change_even_after_being_down(app: TestApp) {
        let (scheme, number) = seed_holding(&app).await;
        let client = make_client(&app, "procurement", &["procurement:read"], 1000).await;
        let token = token_for(&app, &client).await;
        let received = Arc::new(Mutex::new(Vec::new()));
        let receiver = Receiver::start(0, StatusCode::OK, received.clone()).await;
        let port = receiver.address.port();

        let created = post_bearer(&app, "/v1/procurement/webhooks", &token, Some(json!({
            "target_url": receiver.url(),
            "holdings": [{ "scheme": scheme, "registration_number": number }],
        }))).await;
        assert_eq!(created.status(), 201);
        let created: Value = created.json().await.unwrap();
        let secret = created["secret"].as_str().unwrap().to_owned();
        assert!(secret.len() >= 40, "{secret}");
        let listed: Value = get_bearer(&app, "/v1/procurement/webhooks", &token).await.json().await.unwrap();
        assert_eq!(listed[0]["holdings"], json!([{ "scheme": scheme, "registration_number": number }]));
        assert!(listed[0].get("secret").is_none(), "the secret is shown once");

        // Nothing changed since subscribing: nothing to announce.
        assert_eq!(detect(&app).await, 0);

        // The receiver goes down; then the holding is suspended.
        receiver.stop().await;
        set_status(&app, &number, holdings::HoldingStatus::Suspended).await;
        assert_eq!(detect(&app).await, 1, "the change is queued");
        assert_eq!(detect(&app).await, 0, "and queued once");
        assert_eq!(app.dispatch_pending_emails().await, 0, "nobody is listening");
        let waiting = notifications::Entity::find()
            .filter(notifications::Column::Template.eq(webhooks::TEMPLATE))
            .one(&app.state.db).await.unwrap().unwrap();
        assert_eq!(waiting.state, notifications::NotificationState::Pending, "retried later");
        assert_eq!(waiting.attempts, 1);
        assert!(waiting.next_attempt_at > chrono::Utc::now(), "after a backoff");
        assert!(waiting.last_error.as_deref().unwrap_or("").contains("no answer"), "{:?}", waiting.last_error);

        // It comes back on the same address; the retry gets through, once.
        let receiver = Receiver::start(port, StatusCode::OK, received.clone()).await;
        due_now(&app).await;
        assert_eq!(app.dispatch_pending_emails().await, 1);
        due_now(&app).await;
        assert_eq!(app.dispatch_pending_emails().await, 0, "a delivered change is not sent again");
        let got = received.lock().unwrap().clone();
        assert_eq!(got.len(), 1, "exactly one delivery: {got:?}");
        let delivery = &got[0];
        let timestamp = delivery.headers["cpe-ledger-timestamp"].to_str().unwrap();
        assert!(timestamp.parse::<i64>().is_ok(), "{timestamp}");
        assert_eq!(
            delivery.headers["cpe-ledger-signature"].to_str().unwrap(),
            expected_signature(&secret, timestamp, &delivery.body),
            "signed over timestamp + \".\" + body with the subscription's secret"
        );
        assert_ne!(
            delivery.headers["cpe-ledger-signature"].to_str().unwrap(),
            expected_signature("another secret", timestamp, &delivery.body),
        );
        let event: Value = serde_json::from_slice(&delivery.body).unwrap();
        assert_eq!(event["type"], "holding.status_changed");
        assert_eq!(event["holding"]["registration_number"], number.as_str());
        assert_eq!(event["holding"]["status"], "suspended");
        assert_eq!(event["previous"]["status"], "active");
        assert_eq!(event["holding"]["in_good_standing"], false);
        assert_eq!(delivery.headers["cpe-ledger-delivery"].to_str().unwrap(), event["id"].as_str().unwrap());

        // A second change is a second delivery, with its own id.
        set_status(&app, &number, holdings::HoldingStatus::Active).await;
        assert_eq!(detect(&app).await, 1);
        assert_eq!(app.dispatch_pending_emails().await, 1);
        let got = received.lock().unwrap().clone();
        assert_eq!(got.len(), 2);
        let second: Value = serde_json::from_slice(&got[1].body).unwrap();
        assert_eq!(second["holding"]["status"], "active");
        assert_eq!(second["previous"]["status"], "suspended");
        assert_ne!(second["id"], event["id"]);
        receiver.stop().await;
    }
}

db_test! {
    async fn subscriptions_name_real_holdings_and_a_safe_target_and_belong_to_their_client(app: TestApp) {
        let (scheme, number) = seed_holding(&app).await;
        let client = make_client(&app, "procurement", &["procurement:read"], 1000).await;
        let token = token_for(&app, &client).await;
        let other = make_client(&app, "procurement", &["procurement:read"], 1000).await;
        let other_token = token_for(&app, &other).await;
        let holding = json!({ "scheme": scheme, "registration_number": number });

        let cases = [
            (json!({ "target_url": "https://buyer.example/hook", "holdings": [{ "scheme": scheme, "registration_number": "nope" }] }), "holdings[0]"),
            (json!({ "target_url": "http://buyer.example/hook", "holdings": [holding] }), "target_url"),
            (json!({ "target_url": "ftp://buyer.example/hook", "holdings": [holding] }), "target_url"),
            (json!({ "target_url": "not a url", "holdings": [holding] }), "target_url"),
            (json!({ "target_url": "https://user:pw@buyer.example/hook", "holdings": [holding] }), "target_url"),
            (json!({ "target_url": "https://buyer.example/hook", "holdings": [] }), "holdings"),
            (json!({ "target_url": "https://buyer.example/hook", "holdings": [holding, holding] }), "holdings[1]"),
        ];
        for (body, field) in cases {
            let response = post_bearer(&app, "/v1/procurement/webhooks", &token, Some(body.clone())).await;
            assert_eq!(response.status(), 422, "{body}");
            let problem: Value = response.json().await.unwrap();
            assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
        }

        let created = post_bearer(&app, "/v1/procurement/webhooks", &token, Some(json!({
            "target_url": "https://buyer.example/hook", "holdings": [holding],
        }))).await;
        assert_eq!(created.status(), 201);
        let id = created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
        let theirs: Value = get_bearer(&app, "/v1/procurement/webhooks", &other_token).await.json().await.unwrap();
        assert_eq!(theirs, json!([]), "another client does not see it");
        let delete = |token: String| {
            let url = app.url(&format!("/v1/procurement/webhooks/{id}"));
            let client = app.client.clone();
            async move { client.delete(url).bearer_auth(token).send().await.unwrap().status() }
        };
        assert_eq!(delete(other_token.clone()).await, 404, "nor delete it");
        assert_eq!(delete(token.clone()).await, 204);
        assert_eq!(delete(token.clone()).await, 404);
        let mine: Value = get_bearer(&app, "/v1/procurement/webhooks", &token).await.json().await.unwrap();
        assert_eq!(mine, json!([]));
    }
}
