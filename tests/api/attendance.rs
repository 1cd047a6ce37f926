//! Providers report attendance: every row answered, a retry never counts twice, a failure
//! inside the write leaves nothing, and one provider never sees another's attendance.

use entity::credits;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::db_test;
use crate::harness::TestApp;
use crate::support_providers::{
    TestProvider, accredited_provider, counted, import_holders, outcomes, post_attendance_csv,
    post_attendance_json, provider_with, publish, publish_course, report_of, row,
};

async fn credits_of(app: &TestApp, provider: &TestProvider) -> u64 {
    credits::Entity::find()
        .filter(credits::Column::ProviderId.eq(provider.id))
        .count(&app.state.db)
        .await
        .unwrap()
}

async fn ready(app: &TestApp) -> TestProvider {
    import_holders(app);
    let provider = accredited_provider(app, "Tokyo Security Academy").await;
    publish_course(app, &provider, "IR-201").await;
    provider
}

db_test! {
    async fn an_accepted_row_counts_toward_every_scheme_the_person_holds_within_seconds(app: TestApp) {
        let provider = ready(&app).await;
        let report = report_of(
            post_attendance_json(&app, &provider, json!([row("A-1", "IR-201", "2026-11-20")])).await,
        )
        .await;
        assert_eq!(outcomes(&report), ["created"], "{report}");
        assert_eq!(counted(&app, "cissp", "123456"), 8);
        assert_eq!(counted(&app, "cisa", "7654321"), 8);
    }
}

db_test! {
    async fn a_retried_batch_creates_no_duplicate_credit_and_answers_unchanged(app: TestApp) {
        let provider = ready(&app).await;
        let rows = json!([
            row("A-1", "IR-201", "2026-11-20"),
            {"reference": "A-2", "course": "IR-201", "email": "hanako@example.jp", "completed": "2026-11-21T10:00:00+09:00"},
        ]);
        let first = report_of(post_attendance_json(&app, &provider, rows.clone()).await).await;
        assert_eq!(outcomes(&first), ["created", "created"], "{first}");
        let again = report_of(post_attendance_json(&app, &provider, rows).await).await;
        assert_eq!(outcomes(&again), ["unchanged", "unchanged"], "{again}");
        assert_eq!(first["results"][0]["credit_id"], again["results"][0]["credit_id"]);
        assert_eq!(credits_of(&app, &provider).await, 2);
        assert_eq!(counted(&app, "cissp", "123456"), 8);
    }
}

db_test! {
    async fn a_reference_sent_again_with_other_content_is_a_conflict_naming_the_fields_that_differ(app: TestApp) {
        let provider = ready(&app).await;
        report_of(post_attendance_json(&app, &provider, json!([row("A-1", "IR-201", "2026-11-20")])).await).await;
        let mut changed = row("A-1", "IR-201", "2026-11-22");
        changed["hours"] = json!(4);
        let report = report_of(post_attendance_json(&app, &provider, json!([changed])).await).await;
        assert_eq!(outcomes(&report), ["conflict"], "{report}");
        assert_eq!(report["results"][0]["fields"], json!(["completed", "hours"]));
        assert_eq!(credits_of(&app, &provider).await, 1);
        assert_eq!(counted(&app, "cissp", "123456"), 8, "the first report still stands");
    }
}

db_test! {
    async fn a_batch_with_bad_rows_writes_its_good_rows_and_reports_each_bad_one_with_its_field(app: TestApp) {
        let provider = ready(&app).await;
        let tomorrow = (chrono::Utc::now() + chrono::Days::new(3)).date_naive().to_string();
        let rows = json!([
            row("B-1", "IR-201", "2026-11-20"),
            row("B-2", "NO-SUCH", "2026-11-20"),
            {"reference": "B-3", "course": "IR-201", "scheme": "cissp", "registration_number": "999999", "completed": "2026-11-20"},
            row("B-4", "IR-201", &tomorrow),
            {"reference": "B-5", "course": "IR-201", "scheme": "cissp", "registration_number": "123456", "completed": "20/11/2026"},
            {"reference": "B-6", "course": "IR-201", "scheme": "cissp", "registration_number": "123456", "completed": "2026-11-20", "points": 9},
            {"reference": "B-7", "course": "IR-201", "email": "hanako@example.jp", "completed": "2026-11-20", "hours": 4},
        ]);
        let report = report_of(post_attendance_json(&app, &provider, rows).await).await;
        assert_eq!(
            outcomes(&report),
            ["created", "rejected", "rejected", "rejected", "rejected", "rejected", "created"],
            "{report}"
        );
        let fields: Vec<&Value> = report["results"].as_array().unwrap().iter().map(|r| &r["field"]).collect();
        assert_eq!(
            fields,
            [&Value::Null, &json!("course"), &json!("registration_number"), &json!("completed"), &json!("completed"), &json!("points"), &Value::Null]
        );
        assert_eq!(report["summary"], json!({"created": 2, "unchanged": 0, "conflict": 0, "rejected": 5}));
        assert_eq!(counted(&app, "cissp", "223344"), 4, "half the hours, half the points");
    }
}

db_test! {
    async fn a_failure_inside_the_write_leaves_nothing_of_the_batch(app: TestApp) {
        let provider = ready(&app).await;
        app.refuse_inserts("credits", "provider_reference", "C-3").await;
        let rows = json!([
            row("C-1", "IR-201", "2026-11-20"),
            row("C-2", "IR-201", "2026-11-21"),
            row("C-3", "IR-201", "2026-11-22"),
        ]);
        let response = post_attendance_json(&app, &provider, rows.clone()).await;
        assert!(response.status().is_server_error(), "{}", response.status());
        assert_eq!(credits_of(&app, &provider).await, 0);
        app.stop_refusing("credits").await;
        let report = report_of(post_attendance_json(&app, &provider, rows).await).await;
        assert_eq!(outcomes(&report), ["created", "created", "created"]);
    }
}

db_test! {
    async fn a_shift_jis_csv_with_japanese_headers_is_accepted(app: TestApp) {
        let provider = ready(&app).await;
        let text = "参照番号,講座コード,資格,登録番号,メールアドレス,修了日,受講時間\r\n\
                    J-1,IR-201,cissp,123456,,2026/11/20,\r\n\
                    J-2,IR-201,,,hanako@example.jp,2026/11/21,8\r\n";
        let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
        assert!(!unmappable);
        let report = report_of(post_attendance_csv(&app, &provider, bytes.into_owned()).await).await;
        assert_eq!(outcomes(&report), ["created", "created"], "{report}");
        assert_eq!(counted(&app, "cissp", "223344"), 8);
    }
}

db_test! {
    async fn a_formula_looking_cell_is_stored_as_text_and_neutralised_on_export(app: TestApp) {
        let provider = ready(&app).await;
        let csv = "reference,course,scheme,registration_number,completed\n\
                   \"=HYPERLINK(\"\"http://x\"\")\",IR-201,cissp,123456,2026-11-20\n";
        let report = report_of(post_attendance_csv(&app, &provider, csv.as_bytes().to_vec()).await).await;
        assert_eq!(outcomes(&report), ["created"], "{report}");
        assert_eq!(report["results"][0]["reference"], "=HYPERLINK(\"http://x\")");
        let listed: Value = app
            .client
            .get(app.url("/v1/provider/attendance"))
            .bearer_auth(&provider.token)
            .send().await.unwrap().json().await.unwrap();
        assert_eq!(listed["items"][0]["reference"], "=HYPERLINK(\"http://x\")");
        let export = app
            .client
            .get(app.url("/v1/provider/attendance?format=csv"))
            .bearer_auth(&provider.token)
            .send().await.unwrap().text().await.unwrap();
        let line = export.lines().nth(1).unwrap();
        assert!(line.starts_with("\"'=HYPERLINK(\"\"http://x\"\")\",IR-201,"), "{export}");
    }
}

db_test! {
    async fn an_award_outside_the_accreditation_is_refused_with_the_reason(app: TestApp) {
        import_holders(&app);
        let provider = provider_with(
            &app,
            "Only CISSP from 2026-11-15",
            vec![cpe_ledger::services::providers::Accreditation {
                scheme_id: "cissp".into(),
                categories: vec!["group_a".into()],
                activity_types: vec![],
                valid_from: chrono::NaiveDate::from_ymd_opt(2026, 11, 15),
                valid_until: None,
            }],
        )
        .await;
        // The catalogue refuses a course awarding in a scheme the provider is not accredited for.
        let response = publish(&app, &provider, crate::support_providers::course_body("IR-201")).await;
        assert_eq!(response.status(), 422);
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "awards[1].scheme", "{problem}");
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("not accredited for cisa"), "{problem}");

        let mut cissp_only = crate::support_providers::course_body("IR-201");
        cissp_only["awards"].as_array_mut().unwrap().truncate(1);
        assert_eq!(publish(&app, &provider, cissp_only).await.status(), 201);
        // Attendance completed before the accreditation starts is refused on its row.
        let report = report_of(post_attendance_json(&app, &provider, json!([
            row("D-1", "IR-201", "2026-11-10"),
            row("D-2", "IR-201", "2026-11-20"),
        ])).await).await;
        assert_eq!(outcomes(&report), ["rejected", "created"], "{report}");
        assert!(report["results"][0]["reason"].as_str().unwrap().contains("starts on 2026-11-15"), "{report}");
    }
}

db_test! {
    async fn two_concurrent_uploads_of_the_same_batch_create_each_credit_once(app: TestApp) {
        let provider = ready(&app).await;
        let rows: Vec<Value> = (0..200).map(|i| row(&format!("E-{i}"), "IR-201", "2026-11-20")).collect();
        let rows = Value::Array(rows);
        let (a, b) = tokio::join!(
            post_attendance_json(&app, &provider, rows.clone()),
            post_attendance_json(&app, &provider, rows.clone()),
        );
        let (a, b) = (report_of(a).await, report_of(b).await);
        let created = a["summary"]["created"].as_u64().unwrap() + b["summary"]["created"].as_u64().unwrap();
        let unchanged = a["summary"]["unchanged"].as_u64().unwrap() + b["summary"]["unchanged"].as_u64().unwrap();
        assert_eq!((created, unchanged), (200, 200), "{a} {b}");
        assert_eq!(credits_of(&app, &provider).await, 200);
    }
}

db_test! {
    async fn a_provider_reads_back_and_withdraws_its_attendance_and_standing_follows(app: TestApp) {
        let provider = ready(&app).await;
        report_of(post_attendance_json(&app, &provider, json!([row("F-1", "IR-201", "2026-11-20T18:30:00+09:00")])).await).await;
        let got: Value = app.client.get(app.url("/v1/provider/attendance/F-1"))
            .bearer_auth(&provider.token).send().await.unwrap().json().await.unwrap();
        assert_eq!(got["course"], "IR-201");
        assert_eq!(got["completed_on"], "2026-11-20");
        assert_eq!(got["state"], "approved");
        assert_eq!(got["claims"].as_array().unwrap().len(), 2, "{got}");

        let voided = app.client.delete(app.url("/v1/provider/attendance/F-1"))
            .bearer_auth(&provider.token).send().await.unwrap();
        assert_eq!(voided.status(), 200);
        assert_eq!(voided.json::<Value>().await.unwrap()["state"], "voided");
        assert_eq!(counted(&app, "cissp", "123456"), 0);
        let again = app.client.delete(app.url("/v1/provider/attendance/F-1"))
            .bearer_auth(&provider.token).send().await.unwrap();
        assert_eq!(again.status(), 409);
        // A withdrawn reference cannot be reused for another attendance.
        let report = report_of(post_attendance_json(&app, &provider, json!([row("F-1", "IR-201", "2026-11-20")])).await).await;
        assert_eq!(outcomes(&report), ["rejected"]);
        assert_eq!(report["results"][0]["field"], "reference");
    }
}

db_test! {
    async fn a_provider_can_never_see_or_withdraw_another_providers_attendance_or_courses(app: TestApp) {
        let x = ready(&app).await;
        let y = accredited_provider(&app, "Another Academy").await;
        let course = publish_course(&app, &x, "X-ONLY").await;
        report_of(post_attendance_json(&app, &x, json!([row("G-1", "IR-201", "2026-11-20")])).await).await;

        for (method, path) in [
            ("GET", "/v1/provider/attendance/G-1".to_owned()),
            ("DELETE", "/v1/provider/attendance/G-1".to_owned()),
            ("GET", format!("/v1/provider/courses/{}", course["id"].as_str().unwrap())),
            ("DELETE", format!("/v1/provider/courses/{}", course["id"].as_str().unwrap())),
        ] {
            let request = match method {
                "GET" => app.client.get(app.url(&path)),
                _ => app.client.delete(app.url(&path)),
            };
            let response = request.bearer_auth(&y.token).send().await.unwrap();
            assert_eq!(response.status(), 404, "{method} {path}");
        }
        // Y reporting X's course code or X's reference finds neither.
        let report = report_of(post_attendance_json(&app, &y, json!([row("G-1", "IR-201", "2026-11-20")])).await).await;
        assert_eq!(outcomes(&report), ["rejected"]);
        assert_eq!(report["results"][0]["field"], "course");
        let listed: Value = app.client.get(app.url("/v1/provider/attendance"))
            .bearer_auth(&y.token).send().await.unwrap().json().await.unwrap();
        assert_eq!(listed["items"], json!([]));
        assert_eq!(credits_of(&app, &x).await, 1);
        assert_eq!(counted(&app, "cissp", "123456"), 8);
    }
}

db_test! {
    async fn a_catalogue_entry_is_published_read_changed_and_withdrawn(app: TestApp) {
        import_holders(&app);
        let provider = accredited_provider(&app, "Catalogue Academy").await;
        let course = publish_course(&app, &provider, "SEC-101").await;
        assert_eq!(course["title"]["ja"], "インシデント対応の実践");
        assert_eq!(course["nice_work_roles"], json!(["PD-WRL-004"]));
        assert_eq!(course["fee"], json!({"amount": "50000", "currency": "JPY"}));
        assert_eq!(course["sessions"], json!([]));
        let id = course["id"].as_str().unwrap();
        assert_eq!(publish(&app, &provider, crate::support_providers::course_body("SEC-101")).await.status(), 409);

        let mut changed = crate::support_providers::course_body("SEC-101");
        changed["hours"] = json!(4);
        changed["sessions"] = json!(["2027-03-10", "2027-01-15", "2027-03-10"]);
        changed["awards"] = json!([{"scheme": "cissp", "activity_type": "education", "category": "group_a", "points": 4}]);
        let updated: Value = app.client.put(app.url(&format!("/v1/provider/courses/{id}")))
            .bearer_auth(&provider.token).json(&changed).send().await.unwrap().json().await.unwrap();
        assert_eq!(updated["hours"], 4);
        assert_eq!(updated["awards"].as_array().unwrap().len(), 1);
        assert_eq!(updated["sessions"], json!(["2027-01-15", "2027-03-10"]), "sessions are listed once each, earliest first");

        let mut bad = crate::support_providers::course_body("SEC-102");
        bad["awards"][0]["category"] = json!("group_z");
        bad["nice_work_roles"] = json!(["PR-CDA-001"]);
        let problem: Value = publish(&app, &provider, bad).await.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "nice_work_roles[0]", "{problem}");

        let gone = app.client.delete(app.url(&format!("/v1/provider/courses/{id}")))
            .bearer_auth(&provider.token).send().await.unwrap();
        assert_eq!(gone.status(), 204);
        let listed: Value = app.client.get(app.url("/v1/provider/courses"))
            .bearer_auth(&provider.token).send().await.unwrap().json().await.unwrap();
        assert_eq!(listed["items"], json!([]));
        let report = report_of(post_attendance_json(&app, &provider, json!([row("H-1", "SEC-101", "2026-11-20")])).await).await;
        assert!(report["results"][0]["reason"].as_str().unwrap().contains("withdrawn"), "{report}");
    }
}

db_test! {
    async fn a_batch_over_five_thousand_rows_is_refused_whole_naming_the_field(app: TestApp) {
        let provider = ready(&app).await;
        let rows: Vec<Value> = (0..5_001).map(|i| row(&format!("L-{i}"), "IR-201", "2026-11-20")).collect();
        let response = post_attendance_json(&app, &provider, Value::Array(rows)).await;
        assert_eq!(response.status(), 422);
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "rows", "{problem}");
        assert_eq!(credits_of(&app, &provider).await, 0);
    }
}

db_test! {
    async fn staff_accredit_a_provider_from_the_command_line_one_scheme_at_a_time(app: TestApp) {
        let provider = accredited_provider(&app, "CLI Academy").await;
        let id = provider.id.to_string();
        let out = crate::harness::stdout_of(&app.cli(&[
            "admin", "accredit", "--provider-id", &id, "--scheme", "CISA", "--category", "cpe",
            "--from", "2026/01/01", "--until", "2027-12-31",
        ]));
        assert!(out.contains("cisa (categories: cpe; 2026-01-01 to 2027-12-31)"), "{out}");
        assert!(out.contains("  cissp (from 2020-01-01)"), "the other scheme stays: {out}");
        let listed = crate::harness::stdout_of(&app.cli(&["admin", "list-providers"]));
        assert!(listed.contains("cisa (categories: cpe; 2026-01-01 to 2027-12-31)"), "{listed}");

        let (code, message) = crate::harness::failure_of(&app.cli(&[
            "admin", "accredit", "--provider-id", &id, "--scheme", "cisa", "--category", "group_a",
        ]));
        assert_ne!(code, 0);
        assert!(message.contains("scheme cisa has no category 'group_a' (it has: cpe"), "{message}");

        let out = crate::harness::stdout_of(&app.cli(&[
            "admin", "accredit", "--provider-id", &id, "--scheme", "cisa", "--withdraw",
        ]));
        assert!(!out.contains("cisa"), "{out}");
        let profile: Value = app.client.get(app.url("/v1/provider"))
            .bearer_auth(&provider.token).send().await.unwrap().json().await.unwrap();
        assert_eq!(profile["accreditations"].as_array().unwrap().len(), 1, "{profile}");
    }
}
