//! Sample audits: staff draw self-reported credits of a scheme's current cycles at random
//! (`admin sample-audit`), each holder is asked for evidence by email and answers at
//! `/v1/me/audit-requests/{id}`, and a credit whose evidence does not come in time is voided
//! through the ledger (`admin sample-audit --expire`).

use entity::audit_requests::{self, AuditOutcome};
use entity::notifications;
use insta::assert_snapshot;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

use crate::db_test;
use crate::harness::{Backend, TestApp, stdout_of};
use crate::self_report::{Reporter, course, evidence_id, reporter, send, standing};

/// Reports `titles` as self-reported CISSP activities of `who` (approved at once: CISSP
/// audits rather than reviews) and returns their credit ids.
async fn self_reported(app: &TestApp, who: &Reporter, titles: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for title in titles {
        let mut body = course(None);
        body["title"] = json!(title);
        let (status, credit) = send(app, "POST", "/v1/me/credits", &who.token, Some(&body)).await;
        assert_eq!(status, 201, "{credit}");
        assert_eq!(credit["state"], "approved", "{credit}");
        ids.push(credit["id"].as_str().unwrap().to_owned());
    }
    ids
}

/// The credit ids a `sample-audit` run printed, and its whole output.
fn drawn(app: &TestApp, args: &[&str]) -> (Vec<String>, String) {
    let mut all = vec!["admin", "sample-audit"];
    all.extend_from_slice(args);
    let out = stdout_of(&app.cli(&all));
    let ids = out
        .lines()
        .filter_map(|l| l.trim().strip_prefix("credit "))
        .map(str::to_owned)
        .collect();
    (ids, out)
}

async fn requests(app: &TestApp) -> Vec<audit_requests::Model> {
    audit_requests::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
}

db_test! {
    async fn the_same_seed_draws_the_same_self_reported_credits_and_asks_each_holder_once_by_email(app: TestApp) {
        let a = reporter(&app, &[("cissp", "SA1001")]).await;
        let b = reporter(&app, &[("cissp", "SA1002")]).await;
        let mut reported = self_reported(&app, &a, &["Course 1", "Course 2", "Course 3"]).await;
        reported.extend(self_reported(&app, &b, &["Course 4", "Course 5", "Course 6"]).await);
        // A credit staff recorded is no self-report: never a candidate.
        stdout_of(&app.cli(&[
            "credits", "add", "--scheme", "cissp", "--registration-number", "SA1001",
            "--title", "Staff-recorded course", "--date",
            &(crate::self_report::today() - chrono::Days::new(2)).to_string(),
            "--hours", "4", "--claim", "cissp:education:group_a=4",
        ]));

        let (first, out) = drawn(&app, &["--scheme", "cissp", "--percent", "50", "--seed", "7"]);
        assert!(out.starts_with("seed: 7\n"), "{out}");
        assert!(out.contains("3 of 6 self-reported cissp credits drawn; 3 holders asked"), "{out}");
        assert_eq!(first.len(), 3, "{out}");
        assert!(first.iter().all(|id| reported.contains(id)), "{first:?} not among {reported:?}");

        // Again with the same seed: the same credits, and nobody is asked twice.
        let (again, out) = drawn(&app, &["--scheme", "cissp", "--percent", "50", "--seed", "7"]);
        assert_eq!(again, first);
        assert!(out.contains("0 holders asked"), "{out}");
        let rows = requests(&app).await;
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|r| r.outcome == AuditOutcome::Open && r.seed == "7"));

        // One email per request, to the credit's holder.
        app.dispatch_pending_emails().await;
        for who in [&a, &b] {
            let theirs = rows.iter().filter(|r| r.professional_id == who.professional_id).count();
            let emails = app.emails_to(&who.email);
            assert_eq!(emails.len(), theirs, "{}", who.email);
            assert!(emails.iter().all(|e| e.subject().contains("Course ")), "{emails:?}");
        }
    }
}

db_test! {
    async fn a_holder_answers_their_own_request_with_their_own_evidence_and_no_one_elses(app: TestApp) {
        let a = reporter(&app, &[("cissp", "SA2001")]).await;
        let b = reporter(&app, &[("cissp", "SA2002")]).await;
        self_reported(&app, &a, &["A's course"]).await;
        self_reported(&app, &b, &["B's course"]).await;
        drawn(&app, &["--scheme", "cissp", "--percent", "100", "--seed", "1"]);
        app.dispatch_pending_emails().await;

        let (status, listed) = send(&app, "GET", "/v1/me/audit-requests", &a.token, None).await;
        assert_eq!(status, 200, "{listed}");
        let listed = listed.as_array().unwrap().clone();
        assert_eq!(listed.len(), 1, "only A's own: {listed:?}");
        assert_eq!(listed[0]["title"], "A's course");
        assert_eq!(listed[0]["outcome"], "open");
        let a_request = listed[0]["id"].as_str().unwrap().to_owned();
        let path = format!("/v1/me/audit-requests/{a_request}");

        // B can neither see nor answer A's request, and A cannot answer with B's file.
        let b_file = evidence_id(&app, &b.token).await;
        let (status, _) = send(&app, "POST", &path, &b.token, Some(&json!({"evidence_id": b_file}))).await;
        assert_eq!(status, 404);
        let (status, problem) = send(&app, "POST", &path, &a.token, Some(&json!({"evidence_id": b_file}))).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["errors"][0]["field"], "evidence_id", "{problem}");
        let (status, problem) = send(&app, "POST", &path, &a.token, Some(&json!({}))).await;
        assert_eq!(status, 422, "{problem}");

        let a_file = evidence_id(&app, &a.token).await;
        let (status, answered) = send(&app, "POST", &path, &a.token, Some(&json!({"evidence_id": a_file}))).await;
        assert_eq!(status, 200, "{answered}");
        assert_eq!(answered["outcome"], "answered");
        assert_eq!(answered["evidence_id"].as_str(), Some(a_file.as_str()));
        let (status, _) = send(&app, "POST", &path, &a.token, Some(&json!({"evidence_id": a_file}))).await;
        assert_eq!(status, 409, "answered once");
    }
}

db_test! {
    async fn a_request_left_unanswered_past_its_due_day_voids_its_credit_and_the_standing_drops(app: TestApp) {
        let a = reporter(&app, &[("cissp", "SA3001")]).await;
        let b = reporter(&app, &[("cissp", "SA3002")]).await;
        let a_credit = self_reported(&app, &a, &["Unanswered course"]).await.remove(0);
        let b_credit = self_reported(&app, &b, &["Answered course"]).await.remove(0);
        drawn(&app, &["--scheme", "cissp", "--percent", "100", "--seed", "3"]);
        app.dispatch_pending_emails().await;
        let before = standing(&app, &a, "SA3001").await["counted"].as_f64().unwrap();
        assert!(before > 0.0);

        // B answers; both requests then fall due (their due day moved to yesterday).
        let (_, listed) = send(&app, "GET", "/v1/me/audit-requests", &b.token, None).await;
        let b_request = listed[0]["id"].as_str().unwrap().to_owned();
        let b_file = evidence_id(&app, &b.token).await;
        let (status, _) = send(&app, "POST", &format!("/v1/me/audit-requests/{b_request}"), &b.token,
            Some(&json!({"evidence_id": b_file}))).await;
        assert_eq!(status, 200);
        let yesterday = cpe_ledger::services::sample_audit::office_today() - chrono::Days::new(1);
        for row in requests(&app).await {
            let mut active: audit_requests::ActiveModel = row.into();
            active.due_on = Set(yesterday);
            active.update(&app.state.db).await.unwrap();
        }

        let out = stdout_of(&app.cli(&["admin", "sample-audit", "--expire"]));
        assert_eq!(out.trim(), "1 requests expired, 1 credits voided");
        let (_, credit) = send(&app, "GET", &format!("/v1/me/credits/{a_credit}"), &a.token, None).await;
        assert_eq!(credit["state"], "voided", "{credit}");
        assert!(credit["void_reason"].as_str().unwrap().contains("sample audit"), "{credit}");
        let (_, credit) = send(&app, "GET", &format!("/v1/me/credits/{b_credit}"), &b.token, None).await;
        assert_eq!(credit["state"], "approved", "an answered request keeps its credit");
        let after = standing(&app, &a, "SA3001").await["counted"].as_f64().unwrap();
        assert!(after < before, "{before} then {after}");

        // Expired, it cannot be answered late; and a second run finds nothing left.
        let (_, listed) = send(&app, "GET", "/v1/me/audit-requests", &a.token, None).await;
        assert_eq!(listed[0]["outcome"], "expired");
        let a_file = evidence_id(&app, &a.token).await;
        let (status, _) = send(&app, "POST", &format!("/v1/me/audit-requests/{}", listed[0]["id"].as_str().unwrap()),
            &a.token, Some(&json!({"evidence_id": a_file}))).await;
        assert_eq!(status, 409);
        let out = stdout_of(&app.cli(&["admin", "sample-audit", "--expire"]));
        assert_eq!(out.trim(), "0 requests expired, 0 credits voided");
    }
}

db_test! {
    async fn a_sample_of_an_unknown_scheme_or_percentage_is_refused_naming_it_and_asks_no_one(app: TestApp) {
        let a = reporter(&app, &[("cissp", "SA4001")]).await;
        self_reported(&app, &a, &["Course"]).await;
        for (args, named) in [
            (&["--scheme", "nope", "--percent", "10"][..], "scheme"),
            (&["--scheme", "cissp", "--percent", "0"][..], "percent"),
            (&["--scheme", "cissp", "--percent", "101"][..], "percent"),
        ] {
            let mut all = vec!["admin", "sample-audit"];
            all.extend_from_slice(args);
            let (_, stderr) = crate::harness::failure_of(&app.cli(&all));
            assert!(stderr.contains(named), "{args:?}: {stderr}");
        }
        assert!(requests(&app).await.is_empty());
    }
}

/// The request email queued for a holder reading `locale`, rendered.
async fn request_email(app: &TestApp, locale: &str) -> String {
    let a = reporter(app, &[("cissp", &format!("SAM{locale}"))]).await;
    entity::professionals::ActiveModel {
        id: Set(a.professional_id),
        locale: Set(locale.to_owned()),
        display_name: Set(Some("Hanako".to_owned())),
        ..Default::default()
    }
    .update(&app.state.db)
    .await
    .unwrap();
    self_reported(app, &a, &["Incident response course"]).await;
    drawn(
        app,
        &["--scheme", "cissp", "--percent", "100", "--seed", "5"],
    );
    let row = notifications::Entity::find()
        .filter(notifications::Column::Template.eq("audit_requested"))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("a request email is queued");
    assert_eq!(row.locale, locale);
    let mail = cpe_ledger::services::notifications::render(
        &app.state.db,
        &app.config,
        &app.state.keys,
        &app.state.templates,
        &row,
    )
    .await
    .unwrap();
    // Rendered, not sent: that is what these tests are about.
    app.expect_left_in_outbox(&a.email);
    format!(
        "Subject: {}\n\n--- text ---\n{}\n--- html ---\n{}",
        mail.subject, mail.text, mail.html
    )
}

fn assert_email_snapshot(name: &str, text: &str) {
    insta::with_settings!({filters => vec![
        (r"https?:(//|&#x2f;&#x2f;)[^\s\x22<]+", "[link]"),
        (r"\d{4}年\d{1,2}月\d{1,2}日", "[day]"),
        (r"\d{1,2} (January|February|March|April|May|June|July|August|September|October|November|December) \d{4}", "[day]"),
    ]}, {
        assert_snapshot!(name, text);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_english_request_for_evidence_reads_like_this() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let text = request_email(&app, "en").await;
    assert_email_snapshot("audit_requested_email_en", &text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_japanese_request_for_evidence_reads_like_this() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let text = request_email(&app, "ja").await;
    assert_email_snapshot("audit_requested_email_ja", &text);
}

/// A signed-in page request as a browser would send it.
fn page(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
) -> reqwest::RequestBuilder {
    app.client.request(method, app.url(path)).header(
        "cookie",
        format!("{}={token}", cpe_ledger::http::pages::SESSION_COOKIE),
    )
}

db_test! {
    async fn the_page_lists_a_professionals_own_open_requests_and_answers_one_with_an_uploaded_file(app: TestApp) {
        let a = reporter(&app, &[("cissp", "SA5001")]).await;
        let b = reporter(&app, &[("cissp", "SA5002")]).await;
        self_reported(&app, &a, &["Course on the page"]).await;
        drawn(&app, &["--scheme", "cissp", "--percent", "100", "--seed", "9"]);
        app.dispatch_pending_emails().await;

        let theirs = page(&app, reqwest::Method::GET, "/audit-requests?lang=en", &b.token)
            .send().await.unwrap().text().await.unwrap();
        assert!(!theirs.contains("Course on the page"), "B sees A's request: {theirs}");
        assert!(theirs.contains("no-audit-requests"), "{theirs}");

        let html = page(&app, reqwest::Method::GET, "/audit-requests?lang=en", &a.token)
            .send().await.unwrap().text().await.unwrap();
        assert!(html.contains("Course on the page"), "{html}");
        let csrf = crate::support_accounts::csrf_field(&html);
        let (_, listed) = send(&app, "GET", "/v1/me/audit-requests", &a.token, None).await;
        let request = listed[0]["id"].as_str().unwrap().to_owned();

        let boundary = "audit-boundary-7f3a";
        let mut body = Vec::new();
        for (name, value) in [("csrf", csrf.as_str()), ("request", request.as_str())] {
            body.extend(format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ).bytes());
        }
        body.extend(format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"certificate.pdf\"\r\n\
             Content-Type: application/pdf\r\n\r\n"
        ).bytes());
        body.extend_from_slice(crate::self_report::PDF);
        body.extend(format!("\r\n--{boundary}--\r\n").bytes());
        let response = page(&app, reqwest::Method::POST, "/audit-requests?lang=en", &a.token)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send().await.unwrap();
        assert_eq!(response.status(), 200);
        let html = response.text().await.unwrap();
        assert!(html.contains("id=\"done\""), "{html}");
        assert!(html.contains("Evidence sent"), "{html}");
        let (_, listed) = send(&app, "GET", "/v1/me/audit-requests", &a.token, None).await;
        assert_eq!(listed[0]["outcome"], "answered");
        assert!(listed[0]["evidence_id"].is_string());
    }
}

db_test! {
    async fn the_daily_sweep_voids_the_credit_of_a_request_left_unanswered_past_its_due_day(app: TestApp) {
        let a = reporter(&app, &[("cissp", "SA4001")]).await;
        let credit = self_reported(&app, &a, &["Never proven course"]).await.remove(0);
        drawn(&app, &["--scheme", "cissp", "--percent", "100", "--seed", "4"]);
        app.dispatch_pending_emails().await;
        let yesterday = cpe_ledger::services::sample_audit::office_today() - chrono::Days::new(1);
        for row in requests(&app).await {
            let mut active: audit_requests::ActiveModel = row.into();
            active.due_on = Set(yesterday);
            active.update(&app.state.db).await.unwrap();
        }
        let swept = cpe_ledger::jobs::schedule::sweep_period(&app.state, "2026-12-02T09:00:00+09:00").await.unwrap();
        assert!(swept.is_some(), "this instance ran the period");
        app.dispatch_pending_emails().await;
        let (_, found) = send(&app, "GET", &format!("/v1/me/credits/{credit}"), &a.token, None).await;
        assert_eq!(found["state"], "voided", "{found}");
    }
}
