//! What staff and systems type, read the same way everywhere: scheme ids in any case and dates
//! by one rule, in the command line and over HTTP, on every database.

use serde_json::Value;

use crate::db_test;
use crate::harness::{TestApp, failure_of, stdout_of};
use crate::support_clients::{get_bearer, make_client, token_for};

const HEADER: &str = "scheme,registration_number,email,legal_name,legal_name_kana,display_name,certified_on,cycle_start";

fn import_rows(app: &TestApp, rows: &[&str]) {
    let path = app.file("registry.csv");
    std::fs::write(&path, format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
    let out = stdout_of(&app.cli(&["import", "holders", path.to_str().unwrap()]));
    assert!(out.contains("0 rejected"), "{out}");
}

db_test! {
    async fn a_registry_of_riss_rows_in_upper_case_is_found_in_any_case_by_the_command_line_and_procurement(app: TestApp) {
        import_rows(&app, &["RISS,012345,jiro@example.jp,鈴木 次郎,スズキ ジロウ,Jiro,2025-10-01,2025-10-01"]);

        let added = stdout_of(&app.cli(&[
            "credits", "add", "--scheme", "RISS", "--registration-number", "012345",
            "--activity-type", "ipa_online_course", "--title", "IPA online course 2026",
            "--date", "2026/01/05", "--hours", "6",
        ]));
        assert!(added.contains("recorded"), "{added}");

        let standing = stdout_of(&app.cli(&["standing", "RISS", "012345", "--as-of", "2026/01/10"]));
        assert!(standing.starts_with("riss 012345"), "{standing}");
        assert!(standing.contains("as of:     2026-01-10"), "{standing}");
        assert!(standing.contains("slot ipa_online_course year 1: done"), "{standing}");

        let listed = stdout_of(&app.cli(&[
            "credits", "list", "--scheme", "Riss", "--registration-number", "012345", "--json",
        ]));
        let listed: Value = serde_json::from_str(&listed).unwrap();
        assert_eq!(listed[0]["completed_on"], "2026-01-05", "{listed}");

        let client = make_client(&app, "procurement", &[], 100).await;
        let token = token_for(&app, &client).await;
        let response = get_bearer(&app, "/v1/procurement/holdings/RISS/012345", &token).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["scheme"], "riss", "{body}");
        assert_eq!(body["registration_number"], "012345", "{body}");
    }
}

db_test! {
    async fn a_date_in_another_format_is_refused_naming_the_option_and_the_format_and_nothing_is_written(app: TestApp) {
        import_rows(&app, &["cissp,123456,taro@example.jp,山田 太郎,ヤマダ タロウ,Taro,2024-01-01,2024-01-01"]);
        for (date, said) in [
            ("10.05.2025", "expected a date as YYYY-MM-DD (or YYYY/MM/DD), e.g. 2026-05-10, got '10.05.2025'"),
            ("2025-02-30", "'2025-02-30' is not a day of the calendar"),
        ] {
            let (_, stderr) = failure_of(&app.cli(&[
                "credits", "add", "--scheme", "cissp", "--registration-number", "123456",
                "--title", "Course", "--date", date, "--hours", "8",
                "--claim", "cissp:education:group_a=8",
            ]));
            assert!(stderr.contains("--date"), "{stderr}");
            assert!(stderr.contains(said), "{stderr}");
        }
        let (_, stderr) = failure_of(&app.cli(&["standing", "cissp", "123456", "--as-of", "tomorrow"]));
        assert!(stderr.contains("--as-of") && stderr.contains("YYYY-MM-DD (or YYYY/MM/DD)"), "{stderr}");
        let listed = stdout_of(&app.cli(&[
            "credits", "list", "--scheme", "cissp", "--registration-number", "123456", "--json",
        ]));
        assert_eq!(listed.trim(), "[]", "nothing written: {listed}");
    }
}

/// 403 `insufficient_scope` as problem+json, with the RFC 6750 challenge.
async fn assert_insufficient_scope(response: reqwest::Response, case: &str) -> Value {
    assert_eq!(response.status(), 403, "{case}");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "{case}"
    );
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer error=\"insufficient_scope\""),
        "{case}: {challenge}"
    );
    response.json().await.unwrap()
}

db_test! {
    async fn a_professionals_valid_token_on_a_procurement_route_is_insufficient_scope_not_an_invalid_token(app: TestApp) {
        let holder = app.active_holder().await;
        let token = app.login_as(&holder.email, crate::support_accounts::PASSWORD).await;
        let path = "/v1/procurement/holdings/cissp/123456";
        let body = assert_insufficient_scope(get_bearer(&app, path, &token).await, "professional on procurement").await;
        assert!(body["detail"].as_str().unwrap().contains("machine clients"), "{body}");

        // The same token, tampered with, is still an invalid token.
        let tampered = format!("{token}x");
        assert_eq!(get_bearer(&app, path, &tampered).await.status(), 401);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sender_of_every_email_is_the_mail_from_setting_with_its_display_name() {
    use crate::harness::Backend;
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.mail_from = Some("RISS registry office <riss-office@example.org>".to_owned());
    })
    .await
    else {
        return;
    };
    let holder = app.seed_holder("en").await;
    app.invite_holders().await;
    let from = app.only_email_to(&holder.email).header("from");
    assert_eq!(
        from.as_deref(),
        Some("\"RISS registry office\" <riss-office@example.org>")
    );

    let Some(plain) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let holder = plain.seed_holder("en").await;
    plain.invite_holders().await;
    let from = plain.only_email_to(&holder.email).header("from").unwrap();
    assert!(
        from.contains("cpe-ledger") && from.contains("<no-reply@"),
        "{from}"
    );
}

/// The emailed link's page offers the other language with the same token, and that page is
/// the same form, not "this link cannot be used".
async fn assert_language_switch_keeps_the_token(
    app: &TestApp,
    link: &str,
    path: &str,
    title: &str,
) {
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let page = app.client.get(app.local_link(link)).send().await.unwrap();
    assert_eq!(page.status(), 200, "{link}");
    let html = page.text().await.unwrap();
    let switch = format!("href=\"?lang=en&amp;token={token}\"");
    assert!(html.contains(&switch), "{switch} missing in {html}");
    let english = app
        .client
        .get(app.url(&format!("{path}?lang=en&token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(english.status(), 200);
    let html = english.text().await.unwrap();
    assert!(html.contains(title), "{html}");
    assert!(
        html.contains(&format!("name=\"token\" value=\"{token}\"")),
        "{html}"
    );
}

db_test! {
    async fn the_language_switch_on_the_activation_and_reset_pages_keeps_the_links_token(app: TestApp) {
        use crate::support_accounts::PASSWORD;
        let holder = app.seed_holder("ja").await;
        app.invite_holders().await;
        let activation = app.only_email_to(&holder.email).link("/activate");
        assert_language_switch_keeps_the_token(&app, &activation, "/activate", "Activate your account").await;
        assert_eq!(app.submit_link_form(&activation, PASSWORD).await.status(), 303);

        cpe_ledger::services::accounts::request_password_reset(&app.state.db, &holder.email)
            .await
            .unwrap();
        app.dispatch_pending_emails().await;
        let reset = app
            .emails_to(&holder.email)
            .iter()
            .find(|e| e.text().contains("/reset?"))
            .expect("a reset email")
            .link("/reset");
        assert_language_switch_keeps_the_token(&app, &reset, "/reset", "Choose a new password").await;
    }
}

db_test! {
    async fn the_home_page_greets_the_professional_by_display_name_in_their_language(app: TestApp) {
        use sea_orm::{ActiveModelTrait, EntityTrait, Set};
        use crate::support_accounts::PASSWORD;
        let holder = app.active_holder().await;
        let token = app.login_as(&holder.email, PASSWORD).await;
        let cookie = format!("cpe_session={token}");
        let home = |lang: &'static str| {
            let request = app.client.get(app.url(&format!("/?lang={lang}"))).header("cookie", cookie.clone());
            async move { request.send().await.unwrap().text().await.unwrap() }
        };
        // No display name on record: the legal name.
        assert!(home("ja").await.contains("山田 太郎さん、こんにちは。"));

        let person = entity::professionals::Entity::find_by_id(holder.professional_id)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        let mut person: entity::professionals::ActiveModel = person.into();
        person.display_name = Set(Some("Taro".to_owned()));
        person.update(&app.state.db).await.unwrap();
        let html = home("en").await;
        assert!(html.contains("<p id=\"greeting\">Hello, Taro.</p>"), "{html}");
        assert!(html.contains(&holder.email), "the account's email is still shown: {html}");
    }
}

db_test! {
    async fn a_credit_that_would_count_for_nothing_is_refused_naming_why_and_nothing_is_written(app: TestApp) {
        import_rows(&app, &["cissp,123456,taro@example.jp,山田 太郎,ヤマダ タロウ,Taro,2021-01-01,2024-01-01"]);
        let add = |date: &str, extra: &[&str]| {
            let mut args = vec![
                "credits", "add", "--scheme", "cissp", "--registration-number", "123456",
                "--activity-type", "education", "--title", "Incident response course",
                "--date", date, "--hours", "8",
            ];
            args.extend(extra);
            app.cli(&args)
        };
        // The control: one change from each variant below.
        let control = add("2025-05-10", &["--claim", "cissp:education:group_a=8"]);
        assert!(stdout_of(&control).contains("recorded"));

        for (case, output, said) in [
            (
                "no points for a points scheme",
                add("2025-05-10", &[]),
                "claims: the credit claims no points for cissp, a points scheme (120 per cycle), so it would count for nothing there",
            ),
            (
                "before the first cycle",
                add("2023-12-31", &["--claim", "cissp:education:group_a=8"]),
                "date: 2023-12-31 is before the first cissp cycle on record (from 2024-01-01)",
            ),
            (
                "a claim toward a scheme the professional does not hold",
                add("2025-05-10", &["--claim", "cissp:education:group_a=8", "--claim", "cisa:training:cpe=8"]),
                "claims[1].scheme: the professional holds no cisa certification, so this claim would count for nothing",
            ),
        ] {
            let (_, stderr) = failure_of(&output);
            assert!(stderr.contains(said), "{case}: {stderr}");
        }
        let listed: Value = serde_json::from_str(&stdout_of(&app.cli(&[
            "credits", "list", "--scheme", "cissp", "--registration-number", "123456", "--json",
        ])))
        .unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 1, "only the control: {listed}");
    }
}

db_test! {
    async fn standing_explains_an_at_risk_state_with_its_reason_in_both_languages_in_the_table_and_the_json(app: TestApp) {
        import_rows(&app, &["riss,012345,jiro@example.jp,鈴木 次郎,スズキ ジロウ,Jiro,2023-04-01,2023-04-01"]);
        for date in ["2023-06-10", "2024-06-10", "2025-04-10"] {
            let added = stdout_of(&app.cli(&[
                "credits", "add", "--scheme", "riss", "--registration-number", "012345",
                "--activity-type", "ipa_online_course", "--title", "IPA online course",
                "--date", date, "--hours", "6",
            ]));
            assert!(added.contains("recorded"), "{added}");
        }
        let table = stdout_of(&app.cli(&["standing", "riss", "012345", "--as-of", "2025-05-01"]));
        assert!(table.contains("state:     at_risk\n  because cycle_slot_open_in_final_year: a once-per-cycle requirement is still open in the cycle's final year / 更新期間に1回の必須講習が、最終年度に入っても未受講です"), "{table}");

        let json: Value = serde_json::from_str(&stdout_of(&app.cli(&[
            "standing", "riss", "012345", "--as-of", "2025-05-01", "--json",
        ])))
        .unwrap();
        assert_eq!(json["reasons"][0]["code"], "cycle_slot_open_in_final_year", "{json}");
        assert_eq!(json["reasons"].as_array().unwrap().len(), 1, "{json}");

        let after = stdout_of(&app.cli(&["standing", "riss", "012345", "--as-of", "2026-02-15"]));
        assert!(after.contains("state:     due\n  because deadline_passed: the deadline has passed"), "{after}");
    }
}
