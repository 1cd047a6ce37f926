//! What a professional takes away: the transcript of a holding (CSV for spreadsheets, PDF with
//! Japanese text that extracts intact) and a personal calendar feed behind a secret address
//! that can be replaced or stopped. Nobody reads another professional's.

use chrono::{Days, Utc};
use cpe_ledger::domain::points::Points;
use cpe_ledger::services::ledger::{self, ClaimSpec, StaffCredit};
use entity::holdings;
use sea_orm::EntityTrait;
use serde_json::Value;

use crate::db_test;
use crate::harness::{Needs, TestApp, skipped};
use crate::support_accounts::{Holder, PASSWORD};

/// Two approved CISSP credits for the holder: one with a Japanese title, one whose title a
/// spreadsheet would run as a formula.
async fn credited_holder(app: &TestApp) -> (Holder, holdings::Model, String) {
    let holder = app.active_holder().await;
    let holding = holdings::Entity::find_by_id(holder.holding_id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    for (title, days, points) in [
        ("インシデント対応 実践演習", 20, "group_a=8"),
        (
            "=HYPERLINK(\"http://evil.example\",\"x\")",
            10,
            "group_b=2.5",
        ),
    ] {
        ledger::record_staff_credit(
            &app.state.db,
            &app.state.schemes,
            StaffCredit {
                scheme: "cissp".into(),
                registration_number: holding.registration_number.clone(),
                activity_type: Some("education".into()),
                title: title.into(),
                completed_on: Utc::now().date_naive() - Days::new(days),
                hours: Points::from_hundredths(800),
                claims: vec![ClaimSpec::parse(points, "cissp").unwrap()],
                recorded_by: "test".into(),
            },
        )
        .await
        .unwrap();
    }
    let token = app.login_as(&holder.email, PASSWORD).await;
    (holder, holding, token)
}

db_test! {
    async fn a_csv_transcript_opens_in_japanese_excel_and_cannot_run_a_formula(app: TestApp) {
        let (holder, _, token) = credited_holder(&app).await;
        let response = app
            .get_as(&format!("/v1/me/holdings/{}/transcript?format=csv&lang=ja", holder.holding_id), &token)
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
        let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
        assert!(disposition.starts_with("attachment; filename=\"transcript-cissp-"), "{disposition}");
        let bytes = response.bytes().await.unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a byte-order mark, so Excel reads UTF-8");
        let text = std::str::from_utf8(&bytes[3..]).unwrap();
        assert!(text.contains("\r\n"), "CRLF line ends");
        assert!(text.contains("氏名,山田 太郎 (ヤマダ タロウ)"), "{text}");
        assert!(text.contains("インシデント対応 実践演習"), "{text}");
        assert!(text.contains("算入ポイント / 必要ポイント,10.5 / 120"), "{text}");
        // The formula is text: quoted by CSV and prefixed so no spreadsheet evaluates it.
        assert!(text.contains("\"'=HYPERLINK("), "{text}");
        assert!(!text.contains(",=HYPERLINK"), "{text}");
        let rows: Vec<&str> = text.lines().filter(|l| l.contains(",8,8,")).collect();
        assert_eq!(rows.len(), 1, "one claim of 8 points, 8 counted: {text}");
    }
}

db_test! {
    async fn a_pdf_transcript_carries_the_japanese_name_and_titles_as_extractable_text(app: TestApp) {
        if skipped(Needs::Pdftotext).await {
            return;
        }
        let (holder, holding, token) = credited_holder(&app).await;
        let response = app
            .get_as(&format!("/v1/me/holdings/{}/transcript?format=pdf", holder.holding_id), &token)
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/pdf");
        let pdf = response.bytes().await.unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.len() < 200_000, "only the glyphs used are embedded: {} bytes", pdf.len());

        let path = app.file("transcript.pdf");
        std::fs::write(&path, &pdf).unwrap();
        let out = std::process::Command::new("pdftotext")
            .args(["-enc", "UTF-8", path.to_str().unwrap(), "-"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        // The account's language (ja) was used.
        for expected in [
            "継続教育 受講記録",
            "山田 太郎",
            "ヤマダ タロウ",
            "インシデント対応 実践演習",
            &holding.registration_number,
            "10.5 / 120",
        ] {
            assert!(text.contains(expected), "{expected:?} not in:\n{text}");
        }

        let english = app
            .get_as(&format!("/v1/me/holdings/{}/transcript?format=pdf&lang=en", holder.holding_id), &token)
            .await;
        std::fs::write(&path, english.bytes().await.unwrap()).unwrap();
        let out = std::process::Command::new("pdftotext")
            .args(["-enc", "UTF-8", path.to_str().unwrap(), "-"])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Continuing education transcript"), "{text}");
        assert!(text.contains("山田 太郎"), "{text}");
    }
}

db_test! {
    async fn a_transcript_of_a_cycle_the_holding_does_not_have_names_the_cycle_field(app: TestApp) {
        let (holder, _, token) = credited_holder(&app).await;
        let response = app
            .get_as(&format!("/v1/me/holdings/{}/transcript?cycle=1999-01-01", holder.holding_id), &token)
            .await;
        assert_eq!(response.status(), 422);
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "cycle", "{problem}");
        let bad = app
            .get_as(&format!("/v1/me/holdings/{}/transcript?format=docx", holder.holding_id), &token)
            .await;
        assert_eq!(bad.status(), 400);
    }
}

db_test! {
    async fn another_professionals_transcript_is_not_found_on_the_api_and_the_page(app: TestApp) {
        let (holder, _, _) = credited_holder(&app).await;
        let other = app.active_holder().await;
        let token = app.login_as(&other.email, PASSWORD).await;
        let api = app
            .get_as(&format!("/v1/me/holdings/{}/transcript", holder.holding_id), &token)
            .await;
        assert_eq!(api.status(), 404);
        let page = app
            .client
            .get(app.url(&format!("/transcript/{}?format=pdf", holder.holding_id)))
            .header("cookie", format!("{}={token}", cpe_ledger::http::pages::SESSION_COOKIE))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 404);
        let own = app
            .client
            .get(app.url(&format!("/transcript/{}?format=pdf", other.holding_id)))
            .header("cookie", format!("{}={token}", cpe_ledger::http::pages::SESSION_COOKIE))
            .send()
            .await
            .unwrap();
        assert_eq!(own.status(), 200);
        assert_eq!(own.headers()["content-type"], "application/pdf");
    }
}

async fn new_feed(app: &TestApp, token: &str) -> String {
    let response = app
        .client
        .post(app.url("/v1/me/calendar-feed"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    body["url"].as_str().unwrap().to_owned()
}

/// The feed's path on the test server (the URL names the public address).
fn local(app: &TestApp, url: &str) -> String {
    app.url(url::Url::parse(url).unwrap().path())
}

db_test! {
    async fn a_calendar_feed_lists_the_holdings_dates_as_all_day_events_that_parse(app: TestApp) {
        let (_, _, token) = credited_holder(&app).await;
        let url = new_feed(&app, &token).await;
        assert!(url.contains("/v1/calendar/"), "{url}");
        let response = app.client.get(local(&app, &url)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/calendar; charset=utf-8");
        let text = response.text().await.unwrap();
        let calendar: icalendar::Calendar = text.parse().unwrap_or_else(|e| panic!("{e}: {text}"));
        use icalendar::Component;
        let events: Vec<(String, String)> = calendar
            .events()
            .map(|e| {
                (
                    e.get_summary().unwrap_or_default().to_owned(),
                    format!("{:?}", e.get_start()),
                )
            })
            .collect();
        // A CISSP cycle (Japanese account): the last valid day and the end of grace.
        assert!(events.iter().any(|(s, _)| s.contains("有効期限")), "{events:?}");
        assert!(events.iter().any(|(s, _)| s.contains("猶予期間")), "{events:?}");
        assert!(text.contains("DTSTART;VALUE=DATE:"), "all-day events: {text}");
        let uids: std::collections::BTreeSet<&str> =
            calendar.events().filter_map(|e| e.get_uid()).collect();
        assert_eq!(uids.len(), calendar.events().count(), "every event has its own UID");

        let again = app.client.get(local(&app, &url)).send().await.unwrap().text().await.unwrap();
        let again: icalendar::Calendar = again.parse().unwrap();
        let uids_again: std::collections::BTreeSet<&str> =
            again.events().filter_map(|e| e.get_uid()).collect();
        assert_eq!(uids, uids_again, "UIDs are stable, so calendars update instead of duplicating");
    }
}

db_test! {
    async fn a_riss_holders_feed_names_the_open_online_course_of_this_year(app: TestApp) {
        let start = Utc::now().date_naive() - Days::new(40);
        let path = app.file("riss.csv");
        std::fs::write(
            &path,
            format!(
                "scheme,registration_number,email,legal_name,legal_name_kana,display_name,certified_on,cycle_start\n\
                 riss,024680,riss-feed@example.jp,鈴木 次郎,,Jiro,{start},{start}\n"
            ),
        )
        .unwrap();
        let out = crate::harness::stdout_of(&app.cli(&["import", "holders", path.to_str().unwrap()]));
        assert!(out.contains("0 rejected"), "{out}");
        let person = entity::professionals::Entity::find()
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.email.as_deref() == Some("riss-feed@example.jp"))
            .unwrap();
        let secret = cpe_ledger::services::calendar_feed::create(
            &app.state.db,
            &cpe_ledger::services::audit::Actor::cli("test"),
            person.id,
        )
        .await
        .unwrap();
        let text = app.get(&format!("/v1/calendar/{secret}")).await.text().await.unwrap();
        assert!(text.contains("オンライン講習"), "the slot by its Japanese name: {text}");
        assert!(text.contains("更新の期限"), "RISS applies before expiry: {text}");
    }
}

db_test! {
    async fn a_replaced_or_stopped_feed_address_no_longer_answers(app: TestApp) {
        let (_, _, token) = credited_holder(&app).await;
        let first = new_feed(&app, &token).await;
        let second = new_feed(&app, &token).await;
        assert_ne!(first, second);
        assert_eq!(app.client.get(local(&app, &first)).send().await.unwrap().status(), 404);
        assert_eq!(app.client.get(local(&app, &second)).send().await.unwrap().status(), 200);

        let status: Value = app.get_as("/v1/me/calendar-feed", &token).await.json().await.unwrap();
        assert_eq!(status["active"], true);
        assert!(status.get("url").is_none(), "the secret is shown only when made");

        let stopped = app
            .client
            .delete(app.url("/v1/me/calendar-feed"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(stopped.status(), 204);
        assert_eq!(app.client.get(local(&app, &second)).send().await.unwrap().status(), 404);
        let status: Value = app.get_as("/v1/me/calendar-feed", &token).await.json().await.unwrap();
        assert_eq!(status["active"], false);
        let again = app
            .client
            .delete(app.url("/v1/me/calendar-feed"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 404);
    }
}

db_test! {
    async fn a_self_reported_activity_shows_the_provider_its_holder_named_on_the_transcript(app: TestApp) {
        use crate::self_report::{course, reporter, send};
        let me = reporter(&app, &[("cissp", "TR-SELF1")]).await;
        let (status, body) = send(&app, "POST", "/v1/me/credits", &me.token, Some(&course(None))).await;
        assert_eq!(status, 201, "{body}");
        let response = app
            .get_as(&format!("/v1/me/holdings/{}/transcript?format=csv&lang=en", me.holding("TR-SELF1")), &me.token)
            .await;
        assert_eq!(response.status(), 200);
        let csv = response.text().await.unwrap();
        let row = csv.lines().find(|l| l.contains("Incident response course")).unwrap_or_else(|| panic!("{csv}"));
        assert!(row.contains("Security Academy"), "{row}");
    }
}
