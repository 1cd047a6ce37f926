//! `credits add` then `standing`: the engine's verdict for a real holder, read back through
//! the command line with the same numbers the engine's worked examples assert
//! (`src/domain/standing/examples.rs`).

use cpe_ledger::services::audit::Actor;
use cpe_ledger::services::ledger;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use crate::db_test;
use crate::harness::{TestApp, failure_of, stdout_of};
use crate::support_accounts::PASSWORD;
use crate::support_clients::{get_bearer, make_client, token_for};

const HEADER: &str = "scheme,registration_number,email,legal_name,legal_name_kana,display_name,certified_on,cycle_start";

fn import_holder(app: &TestApp, row: &str) {
    let path = app.file("holder.csv");
    std::fs::write(&path, format!("{HEADER}\n{row}\n")).unwrap();
    let out = stdout_of(&app.cli(&["import", "holders", path.to_str().unwrap()]));
    assert!(out.contains("0 rejected"), "{out}");
}

/// Records an approved credit and returns its id.
fn add_credit(
    app: &TestApp,
    holding: (&str, &str),
    activity_type: &str,
    date: &str,
    points: &[&str],
) -> String {
    let title = format!("{activity_type} on {date}");
    let mut args = vec![
        "credits",
        "add",
        "--scheme",
        holding.0,
        "--registration-number",
        holding.1,
        "--activity-type",
        activity_type,
        "--title",
        &title,
        "--date",
        date,
        "--hours",
        "8",
    ];
    for p in points {
        args.extend(["--points", p]);
    }
    let out = stdout_of(&app.cli(&args));
    out.strip_prefix("credit ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no credit id in {out:?}"))
        .to_owned()
}

fn standing(app: &TestApp, holding: (&str, &str), as_of: &str) -> Value {
    let out = stdout_of(&app.cli(&["standing", holding.0, holding.1, "--json", "--as-of", as_of]));
    serde_json::from_str(&out).unwrap()
}

fn category<'v>(standing: &'v Value, id: &str) -> &'v Value {
    standing["by_category"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["category"] == id)
        .unwrap_or_else(|| panic!("no category {id}"))
}

/// Ids differ from run to run; `null` (an open slot) stays visible.
fn id_or_null(
    value: insta::internals::Content,
    _: insta::internals::ContentPath<'_>,
) -> insta::internals::Content {
    if value.as_str().is_some() {
        "[id]".into()
    } else {
        value
    }
}

const RISS: (&str, &str) = ("riss", "000123");
const CISSP: (&str, &str) = ("cissp", "123456");

db_test! {
    async fn a_riss_holder_with_two_online_courses_and_no_practical_course_is_at_risk_in_year_three(app: TestApp) {
        import_holder(&app, "riss,000123,jiro@example.jp,鈴木 次郎,スズキ ジロウ,Jiro,2023-04-01,2023-04-01");
        let online_1 = add_credit(&app, RISS, "ipa_online_course", "2023-06-10", &[]);
        let online_2 = add_credit(&app, RISS, "ipa_online_course", "2024-06-10", &[]);

        let s = standing(&app, RISS, "2025-05-01");
        assert_eq!(s["state"], "at_risk");
        assert_eq!(s["expires_on"], "2026-03-31");
        assert_eq!(s["deadline"], "2026-01-30");
        let unmet: Vec<(&str, &Value)> = s["unmet_slots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| (u["slot"].as_str().unwrap(), &u["year"]))
            .collect();
        assert_eq!(
            unmet,
            [("ipa_online_course", &Value::from(3)), ("practical", &Value::Null)]
        );
        assert_eq!(s["unmet_slots"][1]["due_by"], "2026-01-30");
        assert_eq!(s["slots"][0]["filled_by"], online_1.as_str());
        assert_eq!(s["slots"][1]["filled_by"], online_2.as_str());

        insta::assert_json_snapshot!("riss_standing_in_year_three", s, {
            ".holding_id" => "[id]",
            ".slots[].filled_by" => insta::dynamic_redaction(id_or_null),
            ".unmet_slots[].filled_by" => insta::dynamic_redaction(id_or_null),
        });
    }
}

db_test! {
    async fn a_riss_holder_on_track_in_year_two_completes_with_the_third_course_and_a_specified_course(app: TestApp) {
        import_holder(&app, "riss,000123,jiro@example.jp,鈴木 次郎,スズキ ジロウ,Jiro,2023-04-01,2023-04-01");
        add_credit(&app, RISS, "ipa_online_course", "2023-06-10", &[]);
        add_credit(&app, RISS, "ipa_online_course", "2024-06-10", &[]);
        let s = standing(&app, RISS, "2024-08-01");
        assert_eq!(s["state"], "on_track");
        assert_eq!(s["unmet_slots"].as_array().unwrap().len(), 2);

        add_credit(&app, RISS, "ipa_online_course", "2025-06-10", &[]);
        add_credit(&app, RISS, "tokutei_koshu", "2025-09-01", &[]);
        let s = standing(&app, RISS, "2025-10-01");
        assert_eq!(s["state"], "complete");
        assert_eq!(s["unmet_slots"], serde_json::json!([]));
        assert_eq!(standing(&app, RISS, "2026-06-01")["state"], "complete", "complete stays complete");
    }
}

db_test! {
    async fn a_cissp_holder_with_100_group_a_and_35_group_b_counts_130_and_is_complete(app: TestApp) {
        import_holder(&app, "cissp,123456,taro@example.jp,山田 太郎,ヤマダ タロウ,Taro,2021-01-01,2024-01-01");
        add_credit(&app, CISSP, "education", "2024-03-01", &["group_a=40"]);
        add_credit(&app, CISSP, "education", "2025-03-01", &["group_a=40"]);
        add_credit(&app, CISSP, "contribution", "2026-03-01", &["group_a=20"]);
        add_credit(&app, CISSP, "professional_development", "2024-06-01", &["group_b=20"]);
        add_credit(&app, CISSP, "professional_development", "2025-06-01", &["cissp:group_b=15"]);

        let s = standing(&app, CISSP, "2026-06-01");
        assert_eq!(s["state"], "complete");
        assert_eq!(s["counted"], 130);
        assert_eq!(s["remaining"], 0);
        assert_eq!(category(&s, "group_a")["counted"], 100);
        assert_eq!(category(&s, "group_b")["counted"], 30);
        assert_eq!(category(&s, "group_b")["claimed"], 35);
        let years: Vec<&Value> = s["by_year"].as_array().unwrap().iter().map(|y| &y["counted"]).collect();
        assert_eq!(years, [&Value::from(60), &Value::from(50), &Value::from(20)]);
    }
}

db_test! {
    async fn a_cissp_standing_with_rollover_rounding_and_the_group_b_cap_reads_like_the_engines(app: TestApp) {
        // Two cycles on record: 2021-2024 and 2024-2027.
        import_holder(&app, "cissp,123456,taro@example.jp,山田 太郎,ヤマダ タロウ,Taro,2021-01-01,2021-01-01");
        import_holder(&app, "cissp,123456,taro@example.jp,山田 太郎,ヤマダ タロウ,Taro,2021-01-01,2024-01-01");
        for (date, points) in [
            ("2021-05-01", "group_a=40"),
            ("2022-05-01", "group_a=40"),
            ("2023-05-01", "group_a=40"),
            ("2023-09-01", "group_a=12.5"),
            ("2024-02-01", "group_a=10.3"),
        ] {
            add_credit(&app, CISSP, "education", date, &[points]);
        }
        add_credit(&app, CISSP, "professional_development", "2024-03-01", &["group_b=35"]);

        let s = standing(&app, CISSP, "2024-05-01");
        // The numbers of the engine's snapshot of the same example.
        assert_eq!(s["state"], "on_track");
        assert_eq!(s["carried_in"], 12.5);
        assert_eq!(s["counted"], 52.75);
        assert_eq!(s["remaining"], 67.25);
        assert_eq!(category(&s, "group_a")["counted"], 22.75);
        assert_eq!(category(&s, "group_b")["counted"], 30);
        assert_eq!(s["by_year"][0]["counted"], 40.25);
        assert_eq!(s["by_year"][0]["met"], true);
        let counted: Vec<(&Value, &Value)> = s["counted_claims"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (&c["claimed"], &c["counted"]))
            .collect();
        assert_eq!(
            counted,
            [(&Value::from(10.3), &Value::from(10.25)), (&Value::from(35), &Value::from(30))]
        );

        insta::assert_json_snapshot!("cissp_standing_with_rollover", s, {
            ".holding_id" => "[id]",
            ".counted_claims[].credit_id" => "[id]",
            ".ignored[].credit_id" => "[id]",
        });
    }
}

db_test! {
    async fn a_voided_credit_no_longer_counts_toward_standing(app: TestApp) {
        import_holder(&app, "cissp,123456,taro@example.jp,山田 太郎,ヤマダ タロウ,Taro,2021-01-01,2024-01-01");
        add_credit(&app, CISSP, "education", "2024-03-01", &["group_a=40"]);
        let wrong = add_credit(&app, CISSP, "education", "2024-04-01", &["group_a=25"]);
        assert_eq!(standing(&app, CISSP, "2024-05-01")["counted"], 65);

        let id = wrong.parse().unwrap();
        let voided = ledger::void_credit(&app.state.db, &app.state.schemes, id, "reported twice", &Actor::cli("test"))
            .await
            .unwrap();
        assert_eq!(voided.void_reason.as_deref(), Some("reported twice"));

        let s = standing(&app, CISSP, "2024-05-01");
        assert_eq!(s["counted"], 40);
        assert_eq!(category(&s, "group_a")["claimed"], 40);
        assert!(
            s["counted_claims"].as_array().unwrap().iter().all(|c| c["credit_id"] != wrong.as_str()),
            "{s}"
        );

        let again = ledger::void_credit(&app.state.db, &app.state.schemes, id, "again", &Actor::cli("test")).await;
        assert!(matches!(again, Err(ledger::LedgerError::NotVoidable { .. })), "{again:?}");
    }
}

db_test! {
    async fn the_text_report_shows_the_state_points_and_open_slots(app: TestApp) {
        import_holder(&app, "riss,000123,jiro@example.jp,鈴木 次郎,スズキ ジロウ,Jiro,2023-04-01,2023-04-01");
        add_credit(&app, RISS, "ipa_online_course", "2023-06-10", &[]);
        let out = stdout_of(&app.cli(&["standing", "riss", "000123", "--as-of", "2024-08-01"]));
        assert!(out.starts_with("riss 000123 (rules 2020-05)"), "{out}");
        assert!(out.contains("cycle:     2023-04-01 – 2026-03-31 (expires on 2026-03-31)"), "{out}");
        assert!(!out.contains("2026-04-01"), "the exclusive end is never printed: {out}");
        assert!(out.contains("state:     on_track"), "{out}");
        assert!(out.contains("slot ipa_online_course year 1: done"), "{out}");
        assert!(out.contains("slot ipa_online_course year 2: open"), "{out}");
        assert!(out.contains("slot practical: open"), "{out}");
    }
}

db_test! {
    async fn credits_add_refuses_an_unknown_holding_or_category_and_says_which(app: TestApp) {
        import_holder(&app, "cissp,123456,taro@example.jp,山田 太郎,ヤマダ タロウ,Taro,2021-01-01,2024-01-01");
        let base = [
            "credits", "add", "--scheme", "cissp", "--activity-type", "education",
            "--title", "Course", "--date", "2024-03-01", "--hours", "8",
        ];
        let mut unknown = base.to_vec();
        unknown.extend(["--registration-number", "999999", "--points", "group_a=8"]);
        let (_, stderr) = failure_of(&app.cli(&unknown));
        assert!(stderr.contains("no cissp holding with registration number 999999"), "{stderr}");

        let mut typo = base.to_vec();
        typo.extend(["--registration-number", "123456", "--points", "group_x=8"]);
        let (_, stderr) = failure_of(&app.cli(&typo));
        assert!(stderr.contains("claims[0]") && stderr.contains("group_x"), "{stderr}");

        let mut three_decimals = base.to_vec();
        three_decimals.extend(["--registration-number", "123456", "--points", "group_a=1.125"]);
        failure_of(&app.cli(&three_decimals));

        let (_, stderr) = failure_of(&app.cli(&["standing", "cissp", "999999", "--json"]));
        assert!(stderr.contains("999999"), "{stderr}");
    }
}

db_test! {
    async fn a_corrected_credit_counts_as_corrected_and_the_original_stays_voided(app: TestApp) {
        import_holder(&app, "cissp,123456,taro@example.jp,山田 太郎,ヤマダ タロウ,Taro,2021-01-01,2024-01-01");
        let wrong = add_credit(&app, CISSP, "education", "2024-03-01", &["group_a=25"]);
        assert_eq!(standing(&app, CISSP, "2024-05-01")["counted"], 25);

        let out = stdout_of(&app.cli(&[
            "credits", "correct", &wrong, "--reason", "hours were misread",
            "--scheme", "cissp", "--registration-number", "123456",
            "--activity-type", "education", "--title", "Course, corrected",
            "--date", "2024-03-01", "--hours", "5", "--points", "group_a=5",
        ]));
        assert!(out.contains(&format!("credit {wrong} voided")), "{out}");
        assert_eq!(standing(&app, CISSP, "2024-05-01")["counted"], 5);

        let old_id: uuid::Uuid = wrong.parse().unwrap();
        let ledger_rows = entity::credits::Entity::find().all(&app.state.db).await.unwrap();
        assert_eq!(ledger_rows.len(), 2, "nothing is deleted");
        let old = ledger_rows.iter().find(|c| c.id == old_id).unwrap();
        assert_eq!(old.state, entity::credits::CreditState::Voided);
        assert_eq!(old.void_reason.as_deref(), Some("hours were misread"));
        let new = ledger_rows.iter().find(|c| c.id != old_id).unwrap();
        assert_eq!(new.replaces_credit_id, Some(old_id));

        // A voided entry cannot be corrected again, and the refusal writes nothing.
        let again = app.cli(&[
            "credits", "correct", &wrong, "--reason", "again",
            "--scheme", "cissp", "--registration-number", "123456",
            "--activity-type", "education", "--title", "Again",
            "--date", "2024-03-01", "--hours", "5", "--points", "group_a=5",
        ]);
        assert!(!again.status.success());
        assert_eq!(entity::credits::Entity::find().all(&app.state.db).await.unwrap().len(), 2);
    }
}

// ------------------------------------------------------------ dates as people read them

db_test! {
    async fn a_riss_registration_of_2023_10_01_expires_on_2026_09_30_and_its_application_is_due_on_2026_08_01(app: TestApp) {
        import_holder(&app, "riss,000123,jiro@example.jp,鈴木 次郎,スズキ ジロウ,Jiro,2023-10-01,2023-10-01");

        let s = standing(&app, RISS, "2026-08-01");
        assert_eq!(s["starts_on"], "2023-10-01");
        assert_eq!(s["expires_on"], "2026-09-30");
        assert_eq!(s["deadline"], "2026-08-01");
        assert_eq!(s["days_to_deadline"], 0);
        assert_eq!(s["grace_until"], "2026-09-30");
        assert!(s.get("ends_on").is_none(), "no exclusive end in the JSON: {s}");
        assert_eq!(s["state"], "at_risk");
        assert_eq!(standing(&app, RISS, "2026-08-02")["state"], "due");
        assert_eq!(standing(&app, RISS, "2026-09-30")["state"], "due");
        assert_eq!(standing(&app, RISS, "2026-10-01")["state"], "lapsed");

        let out = stdout_of(&app.cli(&["standing", "riss", "000123", "--as-of", "2026-08-01"]));
        assert!(out.contains("cycle:     2023-10-01 – 2026-09-30 (expires on 2026-09-30)"), "{out}");
        assert!(out.contains("deadline:  2026-08-01 (0 days)"), "{out}");
    }
}

db_test! {
    async fn a_cissp_cycle_from_2023_06_01_ends_on_2026_05_31_and_its_grace_period_on_2026_08_29(app: TestApp) {
        import_holder(&app, "cissp,123456,taro@example.jp,山田 太郎,ヤマダ タロウ,Taro,2023-06-01,2023-06-01");
        add_credit(&app, CISSP, "education", "2024-03-01", &["group_a=40"]);

        let s = standing(&app, CISSP, "2026-05-31");
        assert_eq!(s["expires_on"], "2026-05-31");
        assert_eq!(s["deadline"], "2026-05-31");
        assert_eq!(s["grace_until"], "2026-08-29", "ISC2's 90 days after the expiry date");
        assert_eq!(s["state"], "at_risk");
        assert_eq!(s["by_year"][2]["last_day"], "2026-05-31");
        let states: Vec<Value> = ["2026-06-01", "2026-08-29", "2026-08-30"]
            .iter()
            .map(|on| standing(&app, CISSP, on)["state"].clone())
            .collect();
        assert_eq!(states, ["due", "due", "lapsed"]);

        let out = stdout_of(&app.cli(&["standing", "cissp", "123456", "--as-of", "2026-06-15"]));
        assert!(out.contains("cycle:     2023-06-01 – 2026-05-31 (expires on 2026-05-31)"), "{out}");
        assert!(out.contains("grace:     until 2026-08-29"), "{out}");
        assert!(out.contains("year 3 2025-06-01 – 2026-05-31"), "{out}");
    }
}

db_test! {
    async fn a_procurement_lookup_answers_valid_until_with_the_last_valid_day(app: TestApp) {
        // The cycle being judged today: registered 2025-10-01, three years.
        import_holder(&app, "riss,000123,jiro@example.jp,鈴木 次郎,スズキ ジロウ,Jiro,2025-10-01,2025-10-01");
        let client = make_client(&app, "procurement", &[], 100).await;
        let token = token_for(&app, &client).await;
        let response = get_bearer(&app, "/v1/procurement/holdings/riss/000123", &token).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["valid_until"], "2028-09-30", "{body}");
    }
}

db_test! {
    async fn a_professional_reads_the_expiry_date_of_their_cycle_not_its_exclusive_end(app: TestApp) {
        let holder = app.active_holder().await;
        let cycle = entity::cycles::Entity::find()
            .filter(entity::cycles::Column::HoldingId.eq(holder.holding_id))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        let expires_on = (cycle.ends_on - chrono::Duration::days(1)).to_string();
        let token = app.login_as(&holder.email, PASSWORD).await;

        let holdings: Value = app.get_as("/v1/me/holdings", &token).await.json().await.unwrap();
        let current = &holdings[0]["current_cycle"];
        assert_eq!(current["expires_on"], expires_on.as_str(), "{holdings}");
        assert!(current.get("ends_on").is_none(), "{holdings}");

        let standing: Value = app
            .get_as(&format!("/v1/me/holdings/{}/standing", holder.holding_id), &token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(standing["expires_on"], expires_on.as_str(), "{standing}");
        assert!(standing.get("ends_on").is_none(), "{standing}");
    }
}
