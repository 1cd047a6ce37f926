//! The renewal planner over HTTP: `GET /v1/me/holdings/{id}/plan` proposes catalogue courses,
//! held after today and by the deadline, that close a holding's gaps with the fewest hours or
//! the lowest fee, and says every holding each course counts toward. Fixtures are dated from
//! today, since the plan is computed for today.

use chrono::{Days, Months, NaiveDate};
use serde_json::{Value, json};

use crate::dashboard::{holding_id, import_holder, staff_credit, today, token_of};
use crate::db_test;
use crate::harness::TestApp;
use crate::support_providers::{TestProvider, accredited_provider, publish};

/// A course awarding `points` in CISSP Group A and CISA, held on `on`.
fn course(code: &str, hours: i64, points: i64, fee: &str, on: NaiveDate) -> Value {
    json!({
        "code": code,
        "title": {"en": format!("Course {code}"), "ja": format!("講座 {code}")},
        "hours": hours,
        "delivery": "classroom",
        "fee": {"amount": fee, "currency": "JPY"},
        "sessions": [on.to_string()],
        "awards": [
            {"scheme": "cissp", "activity_type": "education", "category": "group_a", "points": points},
            {"scheme": "cisa", "activity_type": "training", "category": "cpe", "points": points}
        ]
    })
}

async fn publish_all(app: &TestApp, provider: &TestProvider, courses: Vec<Value>) {
    for body in courses {
        let response = publish(app, provider, body).await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    }
}

/// Hanako holds CISSP P-CISSP and CISA P-CISA, both two years into their three-year cycles,
/// with 40 points in each: 80 short of 120 in both. The catalogue holds courses before,
/// inside and after her deadline.
async fn short_holder(app: &TestApp) -> String {
    let start = today() - Months::new(24);
    import_holder(app, "cissp", "P-CISSP", "plan@example.jp", start).await;
    import_holder(app, "cisa", "P-CISA", "plan@example.jp", start).await;
    let earned = start + Days::new(30);
    staff_credit(
        app,
        ("cissp", "P-CISSP"),
        "education",
        earned,
        &["group_a=40"],
    )
    .await;
    staff_credit(app, ("cisa", "P-CISA"), "training", earned, &["cpe=40"]).await;
    let provider = accredited_provider(app, "Plan Academy").await;
    let ahead = |months: u32| today() + Months::new(months);
    publish_all(
        app,
        &provider,
        vec![
            course("BIG-40", 40, 40, "200000", ahead(2)),
            course("MID-40", 40, 40, "100000", ahead(3)),
            course("ALT-40", 41, 40, "50000", ahead(4)),
            course("SMALL-8", 8, 8, "10000", ahead(1)),
            course("PAST", 1, 40, "1", today() - Days::new(1)),
            course("LATE", 1, 40, "1", ahead(14)),
        ],
    )
    .await;
    token_of(app, "plan@example.jp").await
}

async fn plan_of(app: &TestApp, token: &str, query: &str) -> Value {
    let id = holding_id(app, "P-CISSP").await;
    let response = app
        .get_as(&format!("/v1/me/holdings/{id}/plan{query}"), token)
        .await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

fn codes(plan: &Value) -> Vec<&str> {
    let mut codes: Vec<&str> = plan["courses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    codes.sort_unstable();
    codes
}

db_test! {
    async fn a_short_holding_is_proposed_the_fewest_hours_that_close_every_gap(app: TestApp) {
        let token = short_holder(&app).await;
        let plan = plan_of(&app, &token, "").await;
        assert_eq!(plan["gaps"]["total"], 80, "{plan}");
        assert_eq!(plan["gaps"]["categories"][0]["category"], "group_a");
        assert_eq!(codes(&plan), ["BIG-40", "MID-40"], "{plan}");
        assert_eq!(plan["total_hours"], 80);
        assert_eq!(plan["left_open"]["total"], 0);
        assert_eq!(plan["left_open"]["categories"], json!([]));
        assert_eq!(plan["optimal"], true);
        assert_eq!(plan["candidates"], 4, "neither the course held yesterday nor the one after the deadline is weighed: {plan}");
    }
}

db_test! {
    async fn one_proposed_course_counts_toward_both_the_cissp_and_the_cisa_holding(app: TestApp) {
        let token = short_holder(&app).await;
        let plan = plan_of(&app, &token, "").await;
        for course in plan["courses"].as_array().unwrap() {
            let mut schemes: Vec<&str> = course["counts_toward"].as_array().unwrap().iter()
                .map(|e| e["scheme_id"].as_str().unwrap()).collect();
            schemes.sort_unstable();
            assert_eq!(schemes, ["cisa", "cissp"], "{course}");
            assert!(course["counts_toward"].as_array().unwrap().iter().all(|e| e["points"] == 40), "{course}");
        }
    }
}

db_test! {
    async fn a_plan_by_fee_picks_the_cheapest_courses_and_sums_their_fees(app: TestApp) {
        let token = short_holder(&app).await;
        let plan = plan_of(&app, &token, "?by=fee").await;
        assert_eq!(codes(&plan), ["ALT-40", "MID-40"], "{plan}");
        assert_eq!(plan["total_fee"], json!({"amount": "150000", "currency": "JPY"}));
        assert_eq!(plan["currency"], "JPY");

        let in_dollars = plan_of(&app, &token, "?by=fee&currency=usd").await;
        assert_eq!(in_dollars["courses"], json!([]), "no course has a fee in USD");
        assert_eq!(in_dollars["left_open"], in_dollars["gaps"]);
    }
}

db_test! {
    async fn a_malformed_currency_is_refused_naming_the_field(app: TestApp) {
        let token = short_holder(&app).await;
        let id = holding_id(&app, "P-CISSP").await;
        let response = app.get_as(&format!("/v1/me/holdings/{id}/plan?by=fee&currency=Y1"), &token).await;
        assert_eq!(response.status(), 422);
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "currency", "{problem}");
    }
}

db_test! {
    async fn one_professional_can_never_read_anothers_plan(app: TestApp) {
        short_holder(&app).await;
        import_holder(&app, "cissp", "OTHER-1", "other-plan@example.jp", today()).await;
        let other = token_of(&app, "other-plan@example.jp").await;
        let id = holding_id(&app, "P-CISSP").await;
        let response = app.get_as(&format!("/v1/me/holdings/{id}/plan"), &other).await;
        assert_eq!(response.status(), 404);
    }
}

db_test! {
    async fn the_dashboard_card_of_a_short_holding_lists_the_planned_courses_in_the_readers_language(app: TestApp) {
        let token = short_holder(&app).await;
        let ja = crate::dashboard::dashboard_page(&app, &token, "ja").await;
        assert!(ja.contains("更新プラン"), "{ja}");
        assert!(ja.contains("講座 BIG-40") && ja.contains("講座 MID-40"), "{ja}");
        assert!(!ja.contains("講座 SMALL-8"), "only the planned courses are listed");
        let en = crate::dashboard::dashboard_page(&app, &token, "en").await;
        assert!(en.contains("Renewal plan") && en.contains("Course BIG-40"), "{en}");
        assert!(en.contains("CISA +40"), "each course says the other holding it counts toward: {en}");
    }
}

db_test! {
    async fn a_riss_holder_missing_this_years_online_course_is_planned_the_on_demand_course_that_fills_it(app: TestApp) {
        // Second cycle year: year 1's online course and the practical course are done.
        let start = today() - Months::new(14);
        import_holder(&app, "riss", "R-PLAN", "riss-plan@example.jp", start).await;
        staff_credit(&app, ("riss", "R-PLAN"), "ipa_online_course", start + Days::new(30), &[]).await;
        staff_credit(&app, ("riss", "R-PLAN"), "tokutei_koshu", start + Days::new(40), &[]).await;
        let ipa = crate::support_providers::provider_with(&app, "IPA", vec![cpe_ledger::services::providers::Accreditation {
            scheme_id: "riss".into(),
            categories: vec![],
            activity_types: vec![],
            valid_from: NaiveDate::from_ymd_opt(2020, 1, 1),
            valid_until: None,
        }]).await;
        publish_all(&app, &ipa, vec![json!({
            "code": "IPA-ONLINE",
            "title": {"en": "IPA online course", "ja": "IPAオンライン講習"},
            "hours": 6,
            "delivery": "on_demand",
            "awards": [{"scheme": "riss", "activity_type": "ipa_online_course"}]
        })]).await;
        let token = token_of(&app, "riss-plan@example.jp").await;
        let id = holding_id(&app, "R-PLAN").await;
        let response = app.get_as(&format!("/v1/me/holdings/{id}/plan"), &token).await;
        let plan: Value = response.json().await.unwrap();
        let open: Vec<(&str, u64)> = plan["gaps"]["slots"].as_array().unwrap().iter()
            .map(|s| (s["slot"].as_str().unwrap(), s["year"].as_u64().unwrap())).collect();
        assert_eq!(open, [("ipa_online_course", 2), ("ipa_online_course", 3)], "this year's and next year's: {plan}");
        assert_eq!(codes(&plan), ["IPA-ONLINE", "IPA-ONLINE"], "a course that only fills a yearly slot is planned once a year");
        let days: Vec<&str> = plan["courses"].as_array().unwrap().iter().map(|c| c["on"].as_str().unwrap()).collect();
        assert_eq!(days, [(today() + Days::new(1)).to_string(), (start + Months::new(24)).to_string()],
            "on demand: tomorrow, and the first day of the next cycle year");
        assert_eq!(plan["courses"][0]["counts_toward"][0]["fills_slots"], json!(["ipa_online_course"]));
        assert_eq!(plan["left_open"]["slots"], json!([]));
        let page = crate::dashboard::dashboard_page(&app, &token, "ja").await;
        assert!(page.contains("IPAオンライン講習（毎年1回）"), "the slot it fills is named on the card: {page}");
    }
}
