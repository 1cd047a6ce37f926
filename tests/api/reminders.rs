//! Reminders: the sweep decides who is due and queues one digest per person; the outbox
//! delivers it through the real (in-process) SMTP server.

use chrono::NaiveDate;
use cpe_ledger::services::reminders::{self, SweepOptions, SweepReport};
use entity::notifications::{self, NotificationState};
use entity::reminder_items;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::db_test;
use crate::harness::{TestApp, stdout_of};
use crate::support_accounts::unique_email;

const HEADER: &str = "scheme,registration_number,email,legal_name,legal_name_kana,display_name,certified_on,cycle_start,locale";

/// Imports registry rows (without the header) through the command line.
fn import(app: &TestApp, rows: &[String]) {
    let path = app.file("holders.csv");
    std::fs::write(&path, format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
    let out = stdout_of(&app.cli(&["import", "holders", path.to_str().unwrap()]));
    assert!(out.contains("0 rejected"), "{out}");
}

/// A CISSP holder whose cycle runs 2023-10-01 .. 2026-09-30, with no credits yet.
fn cissp_row(number: &str, email: &str, locale: &str) -> String {
    format!("cissp,{number},{email},山田 花子,ヤマダ ハナコ,Hanako,2023-10-01,2023-10-01,{locale}")
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

async fn sweep_on(app: &TestApp, as_of: &str) -> SweepReport {
    reminders::sweep(
        &app.state.db,
        &app.state.schemes,
        &app.config,
        SweepOptions {
            as_of: Some(day(as_of)),
            dry_run: false,
            congratulate: true,
        },
    )
    .await
    .unwrap()
}

async fn notifications_to(app: &TestApp, email: &str) -> Vec<notifications::Model> {
    notifications::Entity::find()
        .filter(notifications::Column::Recipient.eq(email))
        .all(&app.state.db)
        .await
        .unwrap()
}

db_test! {
    async fn a_holder_short_of_points_is_reminded_once_in_their_language_and_again_at_the_next_threshold(app: TestApp) {
        let (en, ja) = (unique_email("remind-en"), unique_email("remind-ja"));
        import(&app, &[cissp_row("700001", &en, "en"), cissp_row("700002", &ja, "ja")]);

        // 2026-04-15 is 168 days before the deadline: the 180-day threshold is reached.
        let first = sweep_on(&app, "2026-04-15").await;
        assert_eq!((first.notifications, first.items), (2, 2), "{first:?}");
        assert_eq!(app.dispatch_pending_emails().await, 2);

        let english = app.only_email_to(&en);
        assert!(english.subject().contains("Certified Information Systems Security Professional"), "{}", english.subject());
        let text = english.text();
        assert!(text.contains("Dear Hanako,"), "{text}");
        assert!(text.contains("No. 700001"), "{text}");
        assert!(text.contains("Valid through: 30 September 2026"), "{text}");
        assert!(text.contains("in 168 days"), "{text}");
        assert!(text.contains("Points:        0 of 120 (120 missing)"), "{text}");
        let expected_id = app.state.mailer.message_id(&notifications_to(&app, &en).await[0].dedupe_key);
        assert_eq!(english.header("message-id").as_deref(), Some(expected_id.as_str()));

        let japanese = app.only_email_to(&ja).text();
        assert!(japanese.contains("Hanako 様"), "{japanese}");
        assert!(japanese.contains("有効期限：2026年9月30日"), "{japanese}");
        assert!(japanese.contains("あと168日"), "{japanese}");

        // The same day again, and a later day before the next threshold: nothing new.
        for as_of in ["2026-04-15", "2026-06-01"] {
            let again = sweep_on(&app, as_of).await;
            assert_eq!((again.notifications, again.items), (0, 0), "{as_of}: {again:?}");
        }
        assert_eq!(app.dispatch_pending_emails().await, 0);
        assert_eq!(app.emails_to(&en).len(), 1);

        // 77 days before the deadline: the 90-day threshold is a new reminder.
        let next = sweep_on(&app, "2026-07-15").await;
        assert_eq!((next.notifications, next.items), (2, 2), "{next:?}");
        assert_eq!(app.dispatch_pending_emails().await, 2);
        let later = app.emails_to(&en);
        assert_eq!(later.len(), 2);
        assert!(later.iter().any(|m| m.text().contains("in 77 days")));
        let items = reminder_items::Entity::find().count(&app.state.db).await.unwrap();
        assert_eq!(items, 4);
    }
}

db_test! {
    async fn a_person_with_cissp_and_cisa_gets_one_email_listing_both(app: TestApp) {
        let email = unique_email("remind-two");
        import(&app, &[
            cissp_row("700010", &email, "en"),
            format!("cisa,00700011,{email},山田 花子,ヤマダ ハナコ,Hanako,2023-10-01,2023-10-01,en"),
        ]);
        let report = sweep_on(&app, "2026-08-20").await;
        assert_eq!(report.notifications, 1, "{report:?}");
        // Each: 41 days to the deadline, and the third cycle year ends short of its minimum.
        assert_eq!(report.items, 4, "{report:?}");
        app.dispatch_pending_emails().await;
        let mail = app.only_email_to(&email);
        assert_eq!(mail.subject(), "[cpe-ledger] 2 certifications need your attention");
        let text = mail.text();
        assert!(text.contains("== Certified Information Systems Security Professional (No. 700010) =="), "{text}");
        assert!(text.contains("== Certified Information Systems Auditor (No. 00700011) =="), "{text}");
        assert_eq!(text.matches("in 41 days").count(), 2, "{text}");
        assert!(text.contains("Year 3 of the cycle ends on 30 September 2026: 0 of the 40 points"), "{text}");
        assert!(text.contains("Year 3 of the cycle ends on 30 September 2026: 0 of the 20 points"), "{text}");
    }
}

db_test! {
    async fn a_refused_reminder_is_recorded_as_failed_and_not_retried(app: TestApp) {
        let refused = format!("refuse-{}", unique_email("remind"));
        import(&app, &[cissp_row("700020", &refused, "ja")]);
        assert_eq!(sweep_on(&app, "2026-09-28").await.notifications, 1);
        assert_eq!(app.dispatch_pending_emails().await, 0);
        let row = notifications_to(&app, &refused).await.remove(0);
        assert_eq!(row.state, NotificationState::Failed, "{:?}", row.last_error);
        assert_eq!(row.attempts, 1);
        assert!(row.last_error.as_deref().is_some_and(|e| e.contains("550")), "{:?}", row.last_error);

        assert_eq!(app.dispatch_pending_emails().await, 0);
        assert_eq!(notifications_to(&app, &refused).await[0].attempts, 1, "not tried again");
        assert_eq!(sweep_on(&app, "2026-09-28").await.notifications, 0, "not queued again");
    }
}

db_test! {
    async fn lapsed_due_and_complete_each_bring_their_own_section_and_a_dry_run_queues_nothing(app: TestApp) {
        let (due, lapsed) = (unique_email("remind-due"), unique_email("remind-lapsed"));
        import(&app, &[cissp_row("700030", &due, "en")]);
        import(&app, &[format!("cissp,700031,{lapsed},山田 花子,,,2023-07-01,2023-07-01,en")]);

        let dry = reminders::sweep(&app.state.db, &app.state.schemes, &app.config, SweepOptions {
            as_of: Some(day("2026-10-15")),
            dry_run: true,
            congratulate: true,
        })
        .await
        .unwrap();
        let planned: Vec<(&str, &str)> = dry
            .planned
            .iter()
            .map(|p| (p.registration_number.as_str(), p.reason.as_str()))
            .collect();
        assert_eq!(planned, [("700030", "due"), ("700031", "lapsed")]);
        assert_eq!(dry.notifications, 0);
        assert_eq!(notifications::Entity::find().count(&app.state.db).await.unwrap(), 0);

        sweep_on(&app, "2026-10-15").await;
        app.dispatch_pending_emails().await;
        let text = app.only_email_to(&due).text();
        assert!(text.contains("The renewal deadline (30 September 2026) has passed."), "{text}");
        let text = app.only_email_to(&lapsed).text();
        assert!(text.contains("certification has lapsed"), "{text}");
        assert!(text.contains("grace period (28 September 2026)"), "{text}");
    }
}

/// A CISSP row whose deadline is about 100 days from today, so today's sweep reminds it.
fn row_due_soon(number: &str, email: &str) -> String {
    let start = chrono::Utc::now().date_naive() - chrono::Months::new(36) + chrono::Days::new(100);
    format!("cissp,{number},{email},山田 花子,,,{start},{start},en")
}

/// Another `Application` on the same database, serving until the returned sender is dropped.
async fn second_instance(
    app: &TestApp,
    adjust: impl FnOnce(&mut cpe_ledger::config::Config),
) -> (cpe_ledger::app::AppState, tokio::sync::oneshot::Sender<()>) {
    let mut config = app.config.clone();
    adjust(&mut config);
    let instance = cpe_ledger::startup::Application::build(config)
        .await
        .unwrap();
    let state = instance.state();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(instance.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    (state, stop)
}

db_test! {
    async fn two_instances_claiming_the_same_period_sweep_it_once(app: TestApp) {
        use cpe_ledger::jobs::schedule::sweep_period;
        let email = unique_email("remind-race");
        import(&app, &[row_due_soon("700040", &email)]);
        let (other, _stop) = second_instance(&app, |_| {}).await;
        let period = "2026-11-26T09:00:00+09:00";
        let (a, b) = tokio::join!(sweep_period(&app.state, period), sweep_period(&other, period));
        let ran: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
        assert_eq!(ran.len(), 1, "exactly one instance sweeps the period");
        assert_eq!(ran[0].notifications, 1);
        // The next period runs, and finds nothing new.
        let next = sweep_period(&other, "2026-11-27T09:00:00+09:00").await.unwrap().unwrap();
        assert_eq!(next.notifications, 0);
        let periods = entity::job_periods::Entity::find().all(&app.state.db).await.unwrap();
        assert_eq!(periods.len(), 2);
        let status = cpe_ledger::services::outbox_status::status(&app.state.db).await.unwrap();
        assert_eq!((status.queued, status.retrying, status.sent, status.failed), (1, 0, 0, 0));
        assert!(status.last_sweep.is_some_and(|p| p.finished_at.is_some()));
        assert!(periods.iter().all(|p| p.finished_at.is_some() && p.error.is_none()), "{periods:?}");
        // Sweeping queues; delivery is the drain's job, which this test does not run.
        app.expect_left_in_outbox(&email);
    }
}

db_test! {
    async fn two_instances_with_the_scheduler_on_remind_and_send_once(app: TestApp) {
        let email = unique_email("remind-sched");
        import(&app, &[row_due_soon("700050", &email)]);
        let every_second = |c: &mut cpe_ledger::config::Config| {
            c.schedule.enabled = true;
            c.schedule.sweep_cron = "* * * * * *".to_owned();
            c.schedule.drain_cron = "* * * * * *".to_owned();
        };
        let (first, stop_first) = second_instance(&app, every_second).await;
        let (_second, stop_second) = second_instance(&app, every_second).await;
        // Several periods pass with both instances firing every second.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            let swept = entity::job_periods::Entity::find()
                .filter(entity::job_periods::Column::FinishedAt.is_not_null())
                .count(&first.db)
                .await
                .unwrap();
            if (swept >= 3 && !app.emails_to(&email).is_empty()) || std::time::Instant::now() > deadline {
                break;
            }
        }
        drop((stop_first, stop_second));
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let rows = notifications_to(&app, &email).await;
        assert_eq!(rows.len(), 1, "one reminder queued across periods and instances");
        assert_eq!(rows[0].state, NotificationState::Sent);
        assert_eq!(app.emails_to(&email).len(), 1, "and sent once");
        let periods = entity::job_periods::Entity::find().all(&app.state.db).await.unwrap();
        assert!(periods.len() >= 3, "{periods:?}");
    }
}

db_test! {
    async fn the_command_line_dry_run_names_who_would_be_reminded_and_why(app: TestApp) {
        let email = unique_email("remind-cli");
        import(&app, &[cissp_row("700060", &email, "en")]);
        let dry = stdout_of(&app.cli(&["remind", "sweep", "--as-of", "2026-07-15", "--dry-run"]));
        assert!(dry.contains(&format!("{email}\tcissp 700060\tapproaching 90")), "{dry}");
        assert!(dry.contains("1 holdings checked, 0 skipped; would queue 1 emails with 1 reminders"), "{dry}");
        assert_eq!(notifications::Entity::find().count(&app.state.db).await.unwrap(), 0);

        let real = stdout_of(&app.cli(&["remind", "sweep", "--as-of", "2026-07-15"]));
        assert!(real.contains("queued 1 emails with 1 reminders"), "{real}");
        let smtp = crate::support_accounts::mail_server().smtp_url();
        let drained = stdout_of(&crate::harness::run_cli(
            &["remind", "drain"],
            &[
                ("CPE_LEDGER_DATABASE_URL", app.config.database_url.as_str()),
                ("CPE_LEDGER_DATA_DIR", &app.data_dir.path().display().to_string()),
                ("CPE_LEDGER_SMTP_URL", &smtp),
            ],
            None,
        ));
        assert_eq!(drained.trim(), "1 emails sent");
        let status = stdout_of(&app.cli(&["remind", "status"]));
        assert!(status.starts_with("queued 0, retrying 0, sent 1, failed 0\n"), "{status}");
        assert!(status.contains("last sweep: never"), "the command line sweep is not a period: {status}");
        assert!(app.only_email_to(&email).text().contains("in 77 days"));

        let preview = stdout_of(&app.cli(&["remind", "preview", "--reason", "slot", "--locale", "en"]));
        assert!(preview.starts_with("Subject: [cpe-ledger] Registered Information Security Specialist"), "{preview}");
        assert!(preview.contains("Not yet taken:"), "{preview}");
    }
}

db_test! {
    async fn with_the_smtp_server_down_a_reminder_waits_and_is_delivered_once_it_is_back(app: TestApp) {
        use sea_orm::sea_query::Expr;
        let email = unique_email("remind-down");
        import(&app, &[cissp_row("700070", &email, "ja")]);
        assert_eq!(sweep_on(&app, "2026-08-31").await.notifications, 1);

        // An instance whose SMTP server does not answer: nothing listens on that port.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (down, _stop) = second_instance(&app, |c| {
            c.mail = cpe_ledger::config::MailDelivery::Smtp(format!("smtp://127.0.0.1:{closed}"));
        })
        .await;
        assert_eq!(cpe_ledger::jobs::outbox::drain_once(&down).await, 0);
        let waiting = notifications_to(&app, &email).await.remove(0);
        assert_eq!(waiting.state, NotificationState::Pending, "{:?}", waiting.last_error);
        assert_eq!(waiting.attempts, 1);
        assert!(waiting.next_attempt_at > chrono::Utc::now());
        assert!(app.emails_to(&email).is_empty());

        // Not due yet: nothing is sent even though the server is back.
        assert_eq!(app.dispatch_pending_emails().await, 0);
        // Its retry time comes.
        notifications::Entity::update_many()
            .col_expr(notifications::Column::NextAttemptAt, Expr::value(chrono::Utc::now()))
            .filter(notifications::Column::Id.eq(waiting.id))
            .exec(&app.state.db)
            .await
            .unwrap();
        assert_eq!(app.dispatch_pending_emails().await, 1);
        assert_eq!(app.dispatch_pending_emails().await, 0);
        assert_eq!(app.emails_to(&email).len(), 1);
        let sent = notifications_to(&app, &email).await.remove(0);
        assert_eq!((sent.state, sent.attempts), (NotificationState::Sent, 2));
    }
}

db_test! {
    async fn a_scheduler_that_missed_two_sweep_periods_is_reported_and_one_that_runs_is_ready(app: TestApp) {
        use cpe_ledger::jobs::schedule::{SWEEP, missed_sweeps, period_of};
        let every_second = |c: &mut cpe_ledger::config::Config| {
            c.schedule.enabled = true;
            c.schedule.sweep_cron = "* * * * * *".to_owned();
        };
        // Built with the scheduler on, but never started: its sweeps never run.
        let mut config = app.config.clone();
        every_second(&mut config);
        let stalled = cpe_ledger::startup::Application::build(config).await.unwrap().state();
        let later = stalled.started_at + chrono::Duration::seconds(5);
        let missed = missed_sweeps(&stalled, later).await.unwrap();
        assert!(missed.as_deref().is_some_and(|m| m.contains("did not run")), "{missed:?}");
        // One of the last two periods swept (by any instance) is enough.
        let period = period_of("* * * * * *", chrono_tz::Asia::Tokyo, later).unwrap();
        assert!(cpe_ledger::jobs::schedule::claim_period(&stalled, SWEEP, &period).await.unwrap());
        assert_eq!(missed_sweeps(&stalled, later).await.unwrap(), None);

        // A running scheduler keeps /health/ready green, with its check listed.
        let mut config = app.config.clone();
        every_second(&mut config);
        let running = cpe_ledger::startup::Application::build(config).await.unwrap();
        let address = running.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(running.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
        let response = app.client.get(format!("http://{address}/health/ready")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        let check = body["checks"].as_array().unwrap().iter().find(|c| c["name"] == "scheduler").cloned();
        assert_eq!(check, Some(serde_json::json!({"name": "scheduler", "ok": true})));
        drop(stop);
    }
}

db_test! {
    async fn a_digest_another_sweep_queued_first_is_dropped_while_the_rest_of_its_page_is_queued(app: TestApp) {
        use sha2::{Digest, Sha256};
        let emails: Vec<String> = (0..3).map(|i| unique_email(&format!("page-{i}"))).collect();
        let rows: Vec<String> = emails
            .iter()
            .enumerate()
            .map(|(i, email)| cissp_row(&format!("71000{i}"), email, "en"))
            .collect();
        import(&app, &rows);

        // Another sweep has just queued the second person's digest: its notification stands
        // under the same dedupe key, so this sweep's write of the page meets a taken key.
        let planned = reminders::sweep(
            &app.state.db,
            &app.state.schemes,
            &app.config,
            SweepOptions { as_of: Some(day("2026-04-15")), dry_run: true, congratulate: true },
        )
        .await
        .unwrap()
        .planned;
        let raced = &emails[1];
        let mut keys: Vec<&str> = planned
            .iter()
            .filter(|p| &p.recipient == raced)
            .map(|p| p.dedupe_key.as_str())
            .collect();
        keys.sort_unstable();
        assert!(!keys.is_empty());
        let holder = entity::professionals::Entity::find()
            .filter(entity::professionals::Column::Email.eq(raced.as_str()))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        let digest = hex::encode(Sha256::digest(keys.join("\n").as_bytes()));
        let now = chrono::Utc::now();
        cpe_ledger::services::bulk_write::insert(
            &app.state.db,
            vec![notifications::ActiveModel {
                id: sea_orm::Set(uuid::Uuid::now_v7()),
                dedupe_key: sea_orm::Set(format!("reminder:{}:{}", holder.id, &digest[..32])),
                template: sea_orm::Set("reminder".to_owned()),
                locale: sea_orm::Set("en".to_owned()),
                recipient: sea_orm::Set(raced.clone()),
                payload: sea_orm::Set(serde_json::json!({})),
                state: sea_orm::Set(NotificationState::Sent),
                attempts: sea_orm::Set(1),
                next_attempt_at: sea_orm::Set(now),
                last_error: sea_orm::Set(None),
                message_id: sea_orm::Set(None),
                created_at: sea_orm::Set(now),
                sent_at: sea_orm::Set(Some(now)),
            }],
        )
        .await
        .unwrap();

        let report = sweep_on(&app, "2026-04-15").await;
        assert_eq!(report.notifications, 2, "{report:?}");
        for (i, email) in emails.iter().enumerate() {
            let pending = notifications_to(&app, email)
                .await
                .into_iter()
                .filter(|n| n.state == NotificationState::Pending)
                .count();
            assert_eq!(pending, usize::from(i != 1), "{email}");
        }
        assert_eq!(app.dispatch_pending_emails().await, 2);
    }
}
