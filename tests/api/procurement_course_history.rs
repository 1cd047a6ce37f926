//! Course history: buyers and the public registry see the holder's courses of the current
//! cycle only with consent for that audience, and a procurement read that carried it says so
//! in the disclosure log.

use chrono::{Days, Utc};
use cpe_ledger::domain::points::Points;
use cpe_ledger::services::audit::Actor;
use cpe_ledger::services::consents::{self, Audience, Consents};
use cpe_ledger::services::ledger::{self, ClaimSpec, StaffCredit};
use cpe_ledger::services::{disclosures, holdings};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db_test;
use crate::harness::TestApp;
use crate::support_clients::{get_bearer, make_client, post_bearer, token_for};
use crate::support_providers::{
    accredited_provider, import_holders, post_attendance_json, publish_course, report_of,
};

/// Taro (CISSP 123456) with, in his current cycle: a course a provider reported ten days ago
/// (8 CISSP points), a staff-recorded activity five days ago (3 points), and a staff entry
/// that was voided. Answers his professional id.
async fn taro_with_courses(app: &TestApp) -> Uuid {
    import_holders(app);
    let provider = accredited_provider(app, "History Academy").await;
    publish_course(app, &provider, "IR-301").await;
    let ten_days_ago = (Utc::now().date_naive() - Days::new(10)).format("%Y-%m-%d");
    let report = report_of(
        post_attendance_json(
            app,
            &provider,
            json!([{
                "reference": "H-1",
                "course": "IR-301",
                "scheme": "cissp",
                "registration_number": "123456",
                "completed": ten_days_ago.to_string(),
            }]),
        )
        .await,
    )
    .await;
    assert_eq!(report["results"][0]["outcome"], "created", "{report}");
    let staff = |title: &str, days: u64| StaffCredit {
        scheme: "cissp".into(),
        registration_number: "123456".into(),
        activity_type: None,
        title: title.into(),
        completed_on: Utc::now().date_naive() - Days::new(days),
        hours: Points::from_hundredths(300),
        claims: vec![ClaimSpec::parse("cissp:education:group_a=3", "cissp").unwrap()],
        recorded_by: "test".into(),
    };
    ledger::record_staff_credit(
        &app.state.db,
        &app.state.schemes,
        staff("Chapter talk on SOC metrics", 5),
    )
    .await
    .unwrap();
    let wrong = ledger::record_staff_credit(
        &app.state.db,
        &app.state.schemes,
        staff("Entered by mistake", 3),
    )
    .await
    .unwrap();
    ledger::void_credit(
        &app.state.db,
        &app.state.schemes,
        wrong.id,
        "entered by mistake",
        &Actor::cli("test"),
    )
    .await
    .unwrap();
    holdings::by_registration(&app.state.db, "cissp", "123456")
        .await
        .unwrap()
        .unwrap()
        .professional_id
}

async fn choose(app: &TestApp, person: Uuid, audience: Audience, course_history: bool) {
    consents::set(
        &app.state.db,
        &Actor::cli("test"),
        person,
        audience,
        Consents {
            name: false,
            employer: false,
            course_history,
        },
    )
    .await
    .unwrap();
}

/// The fields each read of Taro's holdings disclosed, oldest read first.
async fn logged_fields(app: &TestApp, person: Uuid) -> Vec<Vec<String>> {
    let mut log = disclosures::of_professional(&app.state.db, person, None, 100)
        .await
        .unwrap();
    log.reverse();
    log.into_iter().map(|d| d.fields).collect()
}

async fn batch(app: &TestApp, token: &str, query: &str) -> Value {
    let response = post_bearer(
        app,
        &format!("/v1/procurement/verify{query}"),
        token,
        Some(json!({"holdings": [{"scheme": "cissp", "registration_number": "123456"}]})),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["results"][0].clone()
}

db_test! {
    async fn a_procurement_client_sees_course_history_only_with_consent_and_the_read_is_logged_as_such(app: TestApp) {
        let taro = taro_with_courses(&app).await;
        let client = make_client(&app, "procurement", &[], 100).await;
        let token = token_for(&app, &client).await;
        let single = || async {
            let response = get_bearer(&app, "/v1/procurement/holdings/cissp/123456", &token).await;
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        };

        // No consent, and consent for the public registry only: nothing for buyers.
        let before = single().await;
        assert!(before.get("course_history").is_none(), "{before}");
        choose(&app, taro, Audience::PublicRegistry, true).await;
        let asked = batch(&app, &token, "?include=course_history").await;
        assert!(asked.get("course_history").is_none(), "{asked}");
        assert!(!asked.to_string().contains("History Academy"), "{asked}");

        choose(&app, taro, Audience::Procurement, true).await;
        let shown = single().await;
        let history = shown["course_history"].as_array().expect("a history").clone();
        assert_eq!(history.len(), 2, "the voided entry is no history: {shown}");
        assert_eq!(history[0]["title"], "Chapter talk on SOC metrics", "most recent first");
        assert!(history[0].get("provider").is_none(), "staff recorded it: {shown}");
        assert_eq!(history[0]["points"], 3);
        assert_eq!(history[1]["provider"], "History Academy");
        assert_eq!(history[1]["points"], 8);
        assert_eq!(
            history[1]["completed_on"],
            (Utc::now().date_naive() - Days::new(10)).to_string()
        );

        // A batch carries it only when asked for.
        let plain = batch(&app, &token, "").await;
        assert!(plain.get("course_history").is_none(), "{plain}");
        let asked = batch(&app, &token, "?include=course_history").await;
        assert_eq!(asked["course_history"], shown["course_history"]);

        let with = |fields: &Vec<String>| fields.iter().any(|f| f == "course_history");
        let log = logged_fields(&app, taro).await;
        assert_eq!(log.len(), 5, "{log:?}");
        assert_eq!(
            log.iter().map(with).collect::<Vec<_>>(),
            [false, false, true, false, true],
            "only the reads that carried it say so: {log:?}"
        );

        let refused = post_bearer(
            &app,
            "/v1/procurement/verify?include=everything",
            &token,
            Some(json!({"holdings": [{"scheme": "cissp", "registration_number": "123456"}]})),
        )
        .await;
        assert_eq!(refused.status(), 422);
        let problem: Value = refused.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "include", "{problem}");
        assert_eq!(logged_fields(&app, taro).await.len(), 5, "a refused request reads nothing");
    }
}

db_test! {
    async fn the_public_registry_shows_the_current_cycles_courses_only_with_consent_for_the_public(app: TestApp) {
        let taro = taro_with_courses(&app).await;
        let page = |lang: &'static str| {
            let url = app.url(&format!("/registry?scheme=cissp&number=123456&lang={lang}"));
            let client = app.client.clone();
            async move {
                let response = client.get(url).send().await.unwrap();
                assert_eq!(response.status(), 200);
                response.text().await.unwrap()
            }
        };
        let hidden = page("en").await;
        assert!(!hidden.contains("result-course-history"), "{hidden}");
        assert!(!hidden.contains("History Academy"), "{hidden}");

        choose(&app, taro, Audience::Procurement, true).await;
        let still_hidden = page("en").await;
        assert!(!still_hidden.contains("History Academy"), "buyers' consent is not the public's: {still_hidden}");

        choose(&app, taro, Audience::PublicRegistry, true).await;
        for (lang, heading) in [("en", "Courses of the current cycle"), ("ja", "今回の更新期間の受講履歴")] {
            let html = page(lang).await;
            assert!(html.contains(heading), "{lang}: {html}");
            assert!(html.contains("id=\"result-course-history\""), "{lang}: {html}");
            assert!(html.contains("History Academy"), "{lang}: {html}");
            assert!(html.contains("Chapter talk on SOC metrics"), "{lang}: {html}");
            assert!(!html.contains("Entered by mistake"), "{lang}: {html}");
        }
        assert!(
            entity::disclosures::Entity::find().all(&app.state.db).await.unwrap().is_empty(),
            "the public page is no procurement read"
        );
    }
}
