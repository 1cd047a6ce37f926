//! The outbox and what leaves it: real SMTP, `.eml` files by default, retries and failures,
//! and the rendered account emails.

use entity::notifications::{self, NotificationState};
use insta::assert_snapshot;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter};

use crate::db_test;
use crate::harness::{Backend, TestApp};
use crate::support_accounts::unique_email;

async fn notification_to(app: &TestApp, email: &str) -> notifications::Model {
    notifications::Entity::find()
        .filter(notifications::Column::Recipient.eq(email))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("a notification")
}

db_test! {
    async fn a_sent_email_is_marked_sent_with_a_message_id_from_its_dedupe_key(app: TestApp) {
        let holder = app.seed_holder("ja").await;
        app.invite_holders().await;
        let row = notification_to(&app, &holder.email).await;
        assert_eq!(row.state, NotificationState::Sent);
        assert_eq!(row.attempts, 1);
        let expected = app.state.mailer.message_id(&row.dedupe_key);
        assert_eq!(row.message_id.as_deref(), Some(expected.as_str()));
        assert_eq!(app.only_email_to(&holder.email).header("message-id").as_deref(), Some(expected.as_str()));
        // Nothing is left to send.
        assert_eq!(app.dispatch_pending_emails().await, 0);
    }
}

db_test! {
    async fn a_notification_whose_account_is_gone_fails_for_good_and_a_repeated_key_is_not_queued(app: TestApp) {
        use cpe_ledger::services::notifications::{NewNotification, enqueue};
        // An address the test SMTP server accepts (only `refuse-…` and `busy-…` are turned
        // away), so nothing but the missing account can stop this email.
        let to = unique_email("gone");
        let gone_account = || NewNotification {
            dedupe_key: "t:gone".to_owned(),
            template: "password_reset",
            locale: "en".to_owned(),
            recipient: to.clone(),
            payload: serde_json::json!({"user_id": uuid::Uuid::now_v7()}),
        };
        assert!(enqueue(&app.state.db, gone_account()).await.unwrap());
        // A second enqueue with the same key is a no-op.
        assert!(!enqueue(&app.state.db, gone_account()).await.unwrap());

        assert_eq!(app.dispatch_pending_emails().await, 0);
        let row = notification_to(&app, &to).await;
        assert_eq!(row.state, NotificationState::Failed, "{:?}", row.last_error);
        assert_eq!(row.last_error.as_deref(), Some("the user no longer exists"));
        assert_eq!(row.attempts, 1);
        assert!(app.emails_to(&to).is_empty(), "no email left for a missing account");
        // Failed for good: a later run does not try again.
        assert_eq!(app.dispatch_pending_emails().await, 0);
        assert_eq!(notification_to(&app, &to).await.attempts, 1);
    }
}

db_test! {
    async fn smtp_replies_decide_between_failure_and_retry(app: TestApp) {
        use cpe_ledger::services::notifications::{NewNotification, enqueue};
        let holder = app.seed_holder("en").await;
        app.invite_holders().await;
        let user_id = entity::users::Entity::find()
            .filter(entity::users::Column::Email.eq(holder.email.as_str()))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
            .id;
        let refused = format!("refuse-{}", unique_email("x"));
        let busy = format!("busy-{}", unique_email("x"));
        for to in [&refused, &busy] {
            enqueue(&app.state.db, NewNotification {
                dedupe_key: format!("t:{to}"),
                template: "password_reset",
                locale: "en".to_owned(),
                recipient: to.clone(),
                payload: serde_json::json!({"user_id": user_id}),
            })
            .await
            .unwrap();
        }
        app.dispatch_pending_emails().await;
        let failed = notification_to(&app, &refused).await;
        assert_eq!(failed.state, NotificationState::Failed, "{:?}", failed.last_error);
        let deferred = notification_to(&app, &busy).await;
        assert_eq!(deferred.state, NotificationState::Pending, "{:?}", deferred.last_error);
        assert_eq!(deferred.attempts, 1);
        let wait = deferred.next_attempt_at - chrono::Utc::now();
        assert!(wait > chrono::Duration::seconds(50) && wait <= chrono::Duration::seconds(60), "{wait}");
        assert!(deferred.last_error.is_some());
        // The retry is a minute away, after the test.
        app.expect_left_in_outbox(&busy);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_smtp_url_emails_are_written_as_eml_files() {
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |s| s.smtp_url = None).await else {
        return;
    };
    let holder = app.seed_holder("ja").await;
    app.invite_holders().await;
    let outbox = app.data_dir.path().join("outbox");
    let files: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .collect();
    assert_eq!(files.len(), 1, "{outbox:?}");
    let text = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(text.contains(&holder.email), "{text}");
    assert!(
        app.emails_to(&holder.email).is_empty(),
        "nothing went over SMTP"
    );
}

/// A queued notification rendered exactly as the outbox renders it, then snapshotted with the
/// link (its token), the expiry date and the link host redacted.
async fn assert_rendered_snapshot(app: &TestApp, name: &str, row: &notifications::Model) {
    let mail = cpe_ledger::services::notifications::render(
        &app.state.db,
        &app.config,
        &app.state.keys,
        &app.state.templates,
        row,
    )
    .await
    .unwrap();
    let text = format!(
        "Subject: {}\n\n--- text ---\n{}\n--- html ---\n{}",
        mail.subject, mail.text, mail.html
    );
    insta::with_settings!({filters => vec![
        (r"https?:(//|&#x2f;&#x2f;)[^\s\x22<]+", "[link]"),
        (r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2} \(JST\)", "[date]"),
        (r"\d{1,2} [A-Z][a-z]+ \d{4}, \d{2}:\d{2} \(JST\)", "[date]"),
    ]}, {
        assert_snapshot!(name, text);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_japanese_invitation_email_reads_like_this() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let holder = app.seed_holder("ja").await;
    cpe_ledger::services::accounts::invite_holders(
        &app.state.db,
        &cpe_ledger::services::audit::Actor::cli("test"),
    )
    .await
    .unwrap();
    let row = notification_to(&app, &holder.email).await;
    assert_eq!(
        (row.template.as_str(), row.locale.as_str()),
        ("invitation", "ja")
    );
    assert_rendered_snapshot(&app, "invitation_email_ja", &row).await;
    // Rendered, not sent: that is what this test is about.
    app.expect_left_in_outbox(&holder.email);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_english_password_reset_email_reads_like_this() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let holder = app.seed_holder("en").await;
    cpe_ledger::services::accounts::invite_holders(
        &app.state.db,
        &cpe_ledger::services::audit::Actor::cli("test"),
    )
    .await
    .unwrap();
    cpe_ledger::services::accounts::request_password_reset(&app.state.db, &holder.email)
        .await
        .unwrap();
    let row = notifications::Entity::find()
        .filter(notifications::Column::Template.eq("password_reset"))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("a reset notification");
    // The request does not know the account, so the language is the holder's only once the
    // address is resolved, when the email is rendered: the snapshot is in English.
    assert_rendered_snapshot(&app, "password_reset_email_en", &row).await;
    // Rendered, not sent: that is what this test is about.
    app.expect_left_in_outbox(&holder.email);
}

/// The review email, rendered from the notification a rejection queues.
async fn review_email_row(app: &TestApp, locale: &str) -> notifications::Model {
    let me = crate::self_report::reporter(app, &[("giac", &format!("MR{locale}1"))]).await;
    entity::professionals::ActiveModel {
        id: sea_orm::Set(me.professional_id),
        locale: sea_orm::Set(locale.to_owned()),
        ..Default::default()
    }
    .update(&app.state.db)
    .await
    .unwrap();
    let admin = crate::self_report::admin_token(app).await;
    let file = crate::self_report::evidence_id(app, &me.token).await;
    let body = crate::self_report::course(Some(&file));
    let (status, credit) =
        crate::self_report::send(app, "POST", "/v1/me/credits", &me.token, Some(&body)).await;
    assert_eq!(status, 201, "{credit}");
    let (status, _) = crate::self_report::send(
        app,
        "POST",
        &format!("/v1/admin/credits/{}/review", credit["id"].as_str().unwrap()),
        &admin,
        Some(&serde_json::json!({"decision": "reject", "reason": "The certificate does not show the hours."})),
    )
    .await;
    assert_eq!(status, 200);
    app.expect_left_in_outbox(&me.email);
    notification_to(app, &me.email).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_english_email_of_a_rejected_self_report_reads_like_this() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let row = review_email_row(&app, "en").await;
    assert_eq!(
        (row.template.as_str(), row.locale.as_str()),
        ("credit_reviewed", "en")
    );
    assert_review_snapshot(&app, "credit_rejected_email_en", &row).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_japanese_email_of_a_rejected_self_report_reads_like_this() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let row = review_email_row(&app, "ja").await;
    assert_eq!(
        (row.template.as_str(), row.locale.as_str()),
        ("credit_reviewed", "ja")
    );
    assert_review_snapshot(&app, "credit_rejected_email_ja", &row).await;
}

/// As [`assert_rendered_snapshot`], with the activity's completion day (a few days before the
/// test runs) redacted too.
async fn assert_review_snapshot(app: &TestApp, name: &str, row: &notifications::Model) {
    let mail = cpe_ledger::services::notifications::render(
        &app.state.db,
        &app.config,
        &app.state.keys,
        &app.state.templates,
        row,
    )
    .await
    .unwrap();
    let text = format!(
        "Subject: {}\n\n--- text ---\n{}\n--- html ---\n{}",
        mail.subject, mail.text, mail.html
    );
    insta::with_settings!({filters => vec![
        (r"https?:(//|&#x2f;&#x2f;)[^\s\x22<]+", "[link]"),
        (r"\d{4}年\d{1,2}月\d{1,2}日", "[day]"),
        (r"\d{1,2} (January|February|March|April|May|June|July|August|September|October|November|December) \d{4}", "[day]"),
    ]}, {
        assert_snapshot!(name, text);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_shutdown_has_begun_a_drain_finishes_its_batch_and_starts_no_other() {
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.outbox_batch = Some("1".to_owned());
    })
    .await
    else {
        return;
    };
    let recipients: Vec<String> = (0..3)
        .map(|i| crate::support_accounts::unique_email(&format!("shutdown{i}")))
        .collect();
    for email in &recipients {
        let response = app
            .post_json(
                "/v1/auth/signup",
                &serde_json::json!({"email": email, "password": crate::support_accounts::PASSWORD}),
            )
            .await;
        assert_eq!(response.status(), 202);
    }
    assert!(
        app.state.jobs.stop(std::time::Duration::from_secs(5)).await,
        "nothing was running"
    );
    assert!(
        app.state.jobs.begin().await.is_none(),
        "no scheduled run begins now"
    );
    let sent = cpe_ledger::jobs::schedule::drain(&app.state).await;
    assert_eq!(sent, 1, "the batch under way is sent, and no further one");
    let delivered: Vec<&String> = recipients
        .iter()
        .filter(|r| !app.emails_to(r).is_empty())
        .collect();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    for email in recipients.iter().filter(|r| app.emails_to(r).is_empty()) {
        app.expect_left_in_outbox(email);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_server_that_accepts_and_then_says_nothing_defers_the_email_after_the_timeout() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    // Accepts every connection and never writes a byte.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().flatten() {
            held.push(stream);
        }
    });
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        s.smtp_timeout = Some("1".to_owned());
    })
    .await
    else {
        return;
    };
    let to = unique_email("silent");
    let signup = app
        .post_json(
            "/v1/auth/signup",
            &serde_json::json!({"email": to, "password": crate::support_accounts::PASSWORD}),
        )
        .await;
    assert_eq!(signup.status(), 202);
    let started = std::time::Instant::now();
    assert_eq!(app.dispatch_pending_emails().await, 0);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the pass was not held: {:?}",
        started.elapsed()
    );
    let deferred = notification_to(&app, &to).await;
    assert_eq!(
        deferred.state,
        NotificationState::Pending,
        "{:?}",
        deferred.last_error
    );
    assert_eq!(deferred.attempts, 1);
    assert!(deferred.last_error.is_some());
    app.expect_left_in_outbox(&to);
}
