//! Password-reset requests tell nobody which addresses have accounts: not by the answer, not
//! by the emails sent, and not by the time taken, because the request does the same database
//! work for every address and the account is looked up only when the outbox sends.

use std::sync::{Arc, Mutex};

use cpe_ledger::services::accounts::request_password_reset;
use cpe_ledger::services::notifications::{self, NewNotification};
use entity::notifications::NotificationState;
use entity::users;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

use crate::db_test;
use crate::harness::TestApp;
use crate::support_accounts::unique_email;
use crate::support_clients::audit_events_named;

/// The statements `request_password_reset(email)` runs, as SQL text without its values.
async fn statements_of_a_reset_request(app: &TestApp, email: &str) -> Vec<String> {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut db = app.state.db.clone();
    let sink = Arc::clone(&seen);
    db.set_metric_callback(move |info| {
        sink.lock().unwrap().push(info.statement.sql.clone());
    });
    request_password_reset(&db, email).await.unwrap();
    seen.lock().unwrap().clone()
}

async fn user_with_email(app: &TestApp, email: &str) -> users::Model {
    users::Entity::find()
        .filter(users::Column::Email.eq(email))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("a user")
}

async fn reset_rows(app: &TestApp) -> Vec<entity::notifications::Model> {
    entity::notifications::Entity::find()
        .filter(entity::notifications::Column::Template.eq(notifications::PASSWORD_RESET))
        .all(&app.state.db)
        .await
        .unwrap()
}

db_test! {
    async fn a_reset_request_runs_the_same_statements_for_an_address_with_an_account_and_without(app: TestApp) {
        let holder = app.active_holder().await;
        let nobody = unique_email("nobody");

        let known = statements_of_a_reset_request(&app, &holder.email).await;
        let unknown = statements_of_a_reset_request(&app, &nobody).await;
        assert!(!known.is_empty(), "the metric callback saw nothing");
        assert_eq!(known, unknown, "the statements differ between a known and an unknown address");
        assert!(
            known.iter().all(|sql| !sql.contains("users") && !sql.contains("audit_events")),
            "a request must not look the account up or write to the audit log: {known:#?}"
        );
        // A repeat within the minute is refused by the dedupe key, the same way for both.
        let known_again = statements_of_a_reset_request(&app, &holder.email).await;
        let unknown_again = statements_of_a_reset_request(&app, &nobody).await;
        assert_eq!(known_again, unknown_again);
        app.dispatch_pending_emails().await;
    }
}

db_test! {
    async fn an_address_with_an_account_gets_one_reset_email_and_one_without_gets_none_with_the_same_answer(app: TestApp) {
        let holder = app.active_holder().await;
        let nobody = unique_email("nobody");

        let mut answers = Vec::new();
        for email in [&holder.email, &nobody] {
            let response = app.post_json("/v1/auth/password-reset", &json!({"email": email})).await;
            let status = response.status();
            let headers: Vec<(String, String)> = response
                .headers()
                .iter()
                .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
                .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("").to_owned()))
                .collect();
            answers.push((status, headers, response.text().await.unwrap()));
        }
        assert_eq!(answers[0].0, 202);
        assert_eq!(answers[0], answers[1], "the two answers differ");
        assert!(
            audit_events_named(&app, "password_reset.requested").await.is_empty(),
            "nothing about the account is written before the outbox resolves the address"
        );

        app.dispatch_pending_emails().await;
        let resets: Vec<_> = app
            .emails_to(&holder.email)
            .into_iter()
            .filter(|m| m.text().contains("/reset?token="))
            .collect();
        assert_eq!(resets.len(), 1, "exactly one reset email");
        assert!(app.emails_to(&nobody).is_empty());

        let rows = reset_rows(&app).await;
        let state_of = |address: &str| {
            let row = rows.iter().find(|r| r.recipient == address).expect("a queued row");
            (row.state, row.last_error.clone())
        };
        assert_eq!(state_of(&holder.email), (NotificationState::Sent, None));
        assert_eq!(
            state_of(&nobody),
            (NotificationState::Dropped, Some("no account uses this address".to_owned()))
        );

        let user = user_with_email(&app, &holder.email).await;
        let requested = audit_events_named(&app, "password_reset.requested").await;
        assert_eq!(requested.len(), 1, "{requested:?}");
        assert_eq!(requested[0].subject_id.as_deref(), Some(user.id.to_string().as_str()));
    }
}

db_test! {
    async fn a_reset_requested_for_a_disabled_account_is_dropped_unsent(app: TestApp) {
        let holder = app.active_holder().await;
        let user = user_with_email(&app, &holder.email).await;
        let mut disabled: users::ActiveModel = user.into();
        disabled.disabled_at = Set(Some(chrono::Utc::now()));
        disabled.update(&app.state.db).await.unwrap();
        let before = app.emails_to(&holder.email).len();

        let response = app.post_json("/v1/auth/password-reset", &json!({"email": holder.email})).await;
        assert_eq!(response.status(), 202);
        app.dispatch_pending_emails().await;

        assert_eq!(app.emails_to(&holder.email).len(), before, "no email for a disabled account");
        let rows = reset_rows(&app).await;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].state, NotificationState::Dropped);
        assert_eq!(rows[0].last_error.as_deref(), Some("the account is disabled"));
        assert!(audit_events_named(&app, "password_reset.requested").await.is_empty());
    }
}

db_test! {
    async fn a_reset_queued_before_requests_named_the_address_is_still_sent(app: TestApp) {
        let holder = app.active_holder().await;
        let user = user_with_email(&app, &holder.email).await;
        // What `request_password_reset` used to queue: the user, resolved at request time.
        let queued = notifications::enqueue(
            &app.state.db,
            NewNotification {
                dedupe_key: format!("password_reset:{}:1", user.id),
                template: notifications::PASSWORD_RESET,
                locale: "ja".to_owned(),
                recipient: holder.email.clone(),
                payload: json!({ "user_id": user.id }),
            },
        )
        .await
        .unwrap();
        assert!(queued);

        app.dispatch_pending_emails().await;
        let reset = app
            .emails_to(&holder.email)
            .into_iter()
            .find(|m| m.text().contains("/reset?token="))
            .expect("a reset email");
        assert_eq!(app.submit_link_form(&reset.link("/reset"), "a brand new passphrase").await.status(), 200);
    }
}
