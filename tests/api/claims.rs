//! One activity, classified by each scheme in its own words: a credit's claim names, per
//! scheme, that scheme's activity type, category and points. A claim a scheme cannot place is
//! refused and nothing is written; one the engine cannot count is listed with the reason.

use chrono::Utc;
use entity::credits::{CreditSource, CreditState};
use entity::{credit_claims, credits, holdings};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use serde_json::Value;
use uuid::Uuid;

use crate::db_test;
use crate::harness::{TestApp, failure_of, stdout_of};

const HEADER: &str = "scheme,registration_number,email,legal_name,legal_name_kana,display_name,certified_on,cycle_start";

/// One professional holding CISSP 123456 and CISA 7654321, both in a cycle from 2024-01-01.
fn import_cissp_and_cisa_holder(app: &TestApp) {
    let path = app.file("holders.csv");
    std::fs::write(
        &path,
        format!(
            "{HEADER}\n\
             cissp,123456,taro@example.jp,山田 太郎,ヤマダ タロウ,Taro,2021-01-01,2024-01-01\n\
             cisa,7654321,taro@example.jp,山田 太郎,ヤマダ タロウ,Taro,2021-01-01,2024-01-01\n"
        ),
    )
    .unwrap();
    let out = stdout_of(&app.cli(&["import", "holders", path.to_str().unwrap()]));
    assert!(out.contains("0 rejected"), "{out}");
}

fn standing(app: &TestApp, scheme: &str, number: &str, as_of: &str) -> Value {
    let out = stdout_of(&app.cli(&["standing", scheme, number, "--json", "--as-of", as_of]));
    serde_json::from_str(&out).unwrap()
}

fn credit_id(out: &str) -> Uuid {
    out.strip_prefix("credit ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no credit id in {out:?}"))
}

/// `credits add` for CISSP 123456 of an 8-hour course on 2025-05-10, with `extra` options.
fn add_course<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "credits",
        "add",
        "--scheme",
        "cissp",
        "--registration-number",
        "123456",
        "--title",
        "Incident response course",
        "--date",
        "2025-05-10",
        "--hours",
        "8",
    ];
    args.extend_from_slice(extra);
    args
}

db_test! {
    async fn one_incident_response_course_counts_as_education_group_a_for_cissp_and_training_cpe_for_cisa(app: TestApp) {
        import_cissp_and_cisa_holder(&app);
        let out = stdout_of(&app.cli(&add_course(&[
            "--claim", "cissp:education:group_a=8",
            "--claim", "cisa:training:cpe=8",
        ])));
        let id = credit_id(&out);

        let cissp = standing(&app, "cissp", "123456", "2025-06-01");
        assert_eq!(cissp["counted"], 8, "{cissp}");
        assert_eq!(cissp["by_category"][0]["category"], "group_a");
        assert_eq!(cissp["by_category"][0]["counted"], 8);
        assert_eq!(cissp["counted_claims"][0]["activity_type"], "education");
        assert_eq!(cissp["ignored"], serde_json::json!([]));

        let cisa = standing(&app, "cisa", "7654321", "2025-06-01");
        assert_eq!(cisa["counted"], 8, "{cisa}");
        assert_eq!(cisa["by_category"][0]["category"], "cpe");
        assert_eq!(cisa["by_category"][0]["counted"], 8);
        assert_eq!(cisa["counted_claims"][0]["activity_type"], "training");
        assert_eq!(cisa["ignored"], serde_json::json!([]));

        // Logged once: one ledger entry, one claim per scheme in that scheme's words.
        let credit = credits::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap();
        assert_eq!(credit.activity_type, "education", "the holding's scheme names the credit");
        let mut claims: Vec<(String, String, String, i64)> = credit_claims::Entity::find()
            .filter(credit_claims::Column::CreditId.eq(id))
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|c| (c.scheme_id, c.activity_type, c.category, c.points))
            .collect();
        claims.sort();
        assert_eq!(
            claims,
            [
                ("cisa".to_owned(), "training".to_owned(), "cpe".to_owned(), 800),
                ("cissp".to_owned(), "education".to_owned(), "group_a".to_owned(), 800),
            ]
        );
    }
}

db_test! {
    async fn the_simple_form_still_names_the_holdings_scheme_and_the_credits_activity_type(app: TestApp) {
        import_cissp_and_cisa_holder(&app);
        stdout_of(&app.cli(&add_course(&[
            "--activity-type", "education",
            "--points", "group_a=8",
            "--claim", "cisa:training:cpe=8",
        ])));
        assert_eq!(standing(&app, "cissp", "123456", "2025-06-01")["counted"], 8);
        assert_eq!(standing(&app, "cisa", "7654321", "2025-06-01")["counted"], 8);
    }
}

db_test! {
    async fn a_claim_its_scheme_cannot_place_is_refused_naming_the_scheme_and_the_field_and_nothing_is_written(app: TestApp) {
        import_cissp_and_cisa_holder(&app);
        let cases: [(&[&str], &[&str]); 5] = [
            // CISA has no activity type `education`: the credit's own type does not fit CISA.
            (
                &["--activity-type", "education", "--claim", "group_a=8", "--claim", "cisa:cpe=8"],
                &["claims[1].activity_type", "scheme cisa", "'education'"],
            ),
            // CISA has no category `group_a`.
            (
                &["--claim", "cissp:education:group_a=8", "--claim", "cisa:training:group_a=8"],
                &["claims[1].category", "scheme cisa", "'group_a'"],
            ),
            // CISSP's professional development counts only in Group B.
            (
                &["--claim", "cissp:professional_development:group_a=8"],
                &["claims[0].category", "scheme cissp", "group_b"],
            ),
            // The example README used to give: CISSP has no activity type `training`.
            (
                &["--activity-type", "training", "--points", "group_a=8"],
                &["activity_type", "scheme cissp", "'training'"],
            ),
            // One activity has one activity type per scheme.
            (
                &["--claim", "cissp:education:group_a=4", "--claim", "cissp:contribution:group_b=4"],
                &["claims[1].activity_type", "scheme cissp", "'contribution'"],
            ),
        ];
        for (extra, expected) in cases {
            let (_, stderr) = failure_of(&app.cli(&add_course(extra)));
            for part in expected {
                assert!(stderr.contains(part), "{extra:?}: {part:?} not in {stderr}");
            }
        }
        assert!(credits::Entity::find().all(&app.state.db).await.unwrap().is_empty(), "no credit written");
        assert!(credit_claims::Entity::find().all(&app.state.db).await.unwrap().is_empty(), "no claim written");
    }
}

db_test! {
    async fn the_standing_lists_each_claim_the_engine_ignored_with_the_reason(app: TestApp) {
        import_cissp_and_cisa_holder(&app);
        // A claim stored before claims named their own activity type: the backfill gave it
        // its credit's type, `training`, which CISSP does not know. It kept meaning nothing
        // for CISSP, and now says so.
        let holding = holdings::Entity::find()
            .filter(holdings::Column::SchemeId.eq("cissp"))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        let legacy = credits::Model {
            id: Uuid::now_v7(),
            professional_id: holding.professional_id,
            course_id: None,
            provider_id: None,
            provider_reference: None,
            activity_type: "training".into(),
            title: "Course logged before per-scheme activity types".into(),
            completed_on: chrono::NaiveDate::from_ymd_opt(2024, 3, 1).unwrap(),
            completed_at: None,
            hours: 800,
            source: CreditSource::Admin,
            reported_points: None,
            state: CreditState::Approved,
            evidence: None,
            replaces_credit_id: None,
            voided_at: None,
            void_reason: None,
            recorded_by: Some("cli".into()),
            created_at: Utc::now(),
        }
        .into_active_model()
        .insert(&app.state.db)
        .await
        .unwrap();
        credit_claims::Model {
            id: Uuid::now_v7(),
            credit_id: legacy.id,
            scheme_id: "cissp".into(),
            activity_type: "training".into(),
            category: "group_a".into(),
            points: 800,
        }
        .into_active_model()
        .insert(&app.state.db)
        .await
        .unwrap();
        // And a course completed after the date the standing is computed for.
        let later = credit_id(&stdout_of(&app.cli(&add_course(&["--claim", "cissp:education:group_a=8"]))));

        let s = standing(&app, "cissp", "123456", "2025-05-01");
        assert_eq!(s["counted"], 0, "{s}");
        let ignored: Vec<(&str, &str, &Value, &str)> = s["ignored"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["credit_id"].as_str().unwrap(),
                    i["activity_type"].as_str().unwrap(),
                    &i["category"],
                    i["reason"].as_str().unwrap(),
                )
            })
            .collect();
        let (legacy_id, later_id) = (legacy.id.to_string(), later.to_string());
        assert_eq!(
            ignored,
            [
                (legacy_id.as_str(), "training", &Value::Null, "unknown_activity_type"),
                (later_id.as_str(), "education", &Value::Null, "completed_after_as_of"),
            ]
        );

        let out = stdout_of(&app.cli(&["standing", "cissp", "123456", "--as-of", "2025-05-01"]));
        assert!(out.contains("ignored:   2 claim(s) that do not count"), "{out}");
        assert!(
            out.contains(&format!("credit {legacy_id} training: the scheme has no such activity type")),
            "{out}"
        );
        assert!(
            out.contains(&format!("credit {later_id} education: completed after the date of this standing")),
            "{out}"
        );
    }
}
