//! The professional's dashboard over HTTP: the worked examples of the schemes read through
//! `GET /v1/me/holdings/{id}/standing` and on the signed-in page, in both languages, and
//! the language and password settings through the API.
//!
//! The standing is computed for today (in the holder's time zone), so every fixture is dated
//! from today.

use chrono::{Days, Months, NaiveDate, Utc};
use cpe_ledger::auth::tokens::TokenUse;
use cpe_ledger::services::ledger::{self, ClaimSpec, StaffCredit};
use entity::{holdings, professionals, users};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::Value;

use crate::db_test;
use crate::harness::TestApp;
use crate::support_accounts::PASSWORD;
use crate::support_clients::audit_events_named;

const HEADER: &str = "scheme,registration_number,email,legal_name,legal_name_kana,display_name,certified_on,cycle_start";

/// Today where the holders live (Asia/Tokyo): the day their standing is computed for.
pub fn today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .date_naive()
}

/// A holder from the registry: one holding of `scheme` whose cycle starts on `start`.
pub async fn import_holder(
    app: &TestApp,
    scheme: &str,
    number: &str,
    email: &str,
    start: NaiveDate,
) {
    let csv = format!(
        "{HEADER}\n{scheme},{number},{email},山田 花子,ヤマダ ハナコ,Hanako,{start},{start}\n"
    );
    let summary = cpe_ledger::services::registry_import::import(
        &app.state.db,
        &app.state.schemes,
        csv.as_bytes(),
        "holders.csv",
        &mut (),
    )
    .await
    .unwrap();
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
}

/// An approved credit recorded by staff; `claims` as the command line writes them.
pub async fn staff_credit(
    app: &TestApp,
    holding: (&str, &str),
    activity_type: &str,
    on: NaiveDate,
    claims: &[&str],
) {
    ledger::record_staff_credit(
        &app.state.db,
        &app.state.schemes,
        StaffCredit {
            scheme: holding.0.to_owned(),
            registration_number: holding.1.to_owned(),
            activity_type: Some(activity_type.to_owned()),
            title: format!("{activity_type} on {on}"),
            completed_on: on,
            hours: "8".parse().unwrap(),
            claims: claims
                .iter()
                .map(|c| ClaimSpec::parse(c, holding.0).unwrap())
                .collect(),
            recorded_by: "staff@example.jp".to_owned(),
        },
    )
    .await
    .unwrap();
}

/// A signed-in account for the professional with this email: its access token.
pub async fn token_of(app: &TestApp, email: &str) -> String {
    let person = professionals::Entity::find()
        .filter(professionals::Column::Email.eq(email))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let user = users::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        email: Set(email.to_owned()),
        password_hash: Set(None),
        role: Set(users::UserRole::Professional),
        professional_id: Set(Some(person.id)),
        activated_at: Set(Some(Utc::now())),
        disabled_at: Set(None),
        sessions_revoked_at: Set(None),
        created_at: Set(Utc::now()),
        locale: Set(None),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    app.state
        .keys
        .issue(TokenUse::User, &user.id.to_string(), "professional")
        .unwrap()
        .0
}

pub async fn holding_id(app: &TestApp, number: &str) -> String {
    holdings::Entity::find()
        .filter(holdings::Column::RegistrationNumber.eq(number))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string()
}

async fn standing_of(app: &TestApp, token: &str, number: &str) -> Value {
    let id = holding_id(app, number).await;
    let response = app
        .get_as(&format!("/v1/me/holdings/{id}/standing"), token)
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The signed-in landing page in `lang`.
pub async fn dashboard_page(app: &TestApp, token: &str, lang: &str) -> String {
    let response = app
        .client
        .get(app.url(&format!("/?lang={lang}")))
        .header(
            "cookie",
            format!("{}={token}", cpe_ledger::http::pages::SESSION_COOKIE),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

fn category<'v>(standing: &'v Value, id: &str) -> &'v Value {
    standing["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["category"] == id)
        .unwrap_or_else(|| panic!("no category {id} in {standing}"))
}

/// A CISSP holder a little over a year into the cycle, with Group A and Group B credits.
async fn cissp_holder(app: &TestApp, number: &str, email: &str, group_a: [&str; 3]) -> String {
    let start = today() - Days::new(400);
    import_holder(app, "cissp", number, email, start).await;
    let holding = ("cissp", number);
    for (days, points) in [10, 100, 200].into_iter().zip(group_a) {
        staff_credit(
            app,
            holding,
            "education",
            start + Days::new(days),
            &[points],
        )
        .await;
    }
    for days in [50, 300] {
        staff_credit(
            app,
            holding,
            "professional_development",
            start + Days::new(days),
            &["group_b=20"],
        )
        .await;
    }
    token_of(app, email).await
}

db_test! {
    async fn a_cissp_holder_with_95_group_a_and_40_group_b_points_has_125_counted_with_group_b_capped_at_30_and_is_complete(app: TestApp) {
        let token = cissp_holder(&app, "C95", "c95@example.jp", ["group_a=40", "group_a=40", "group_a=15"]).await;
        let s = standing_of(&app, &token, "C95").await;
        assert_eq!(s["state"], "complete", "{s}");
        assert_eq!(s["counted"], 125);
        assert_eq!(s["required"], 120);
        assert_eq!(category(&s, "group_a")["counted"], 95);
        assert_eq!(category(&s, "group_a")["minimum"], 90);
        assert_eq!(category(&s, "group_b")["counted"], 30);
        assert_eq!(category(&s, "group_b")["claimed"], 40);
        assert_eq!(category(&s, "group_b")["cap"], 30);
        assert_eq!(s["scheme_name"]["en"], "Certified Information Systems Security Professional");
        assert_eq!(s["per_year_minimum"], serde_json::json!({"points": 40, "hard": false}));
        assert_eq!(s["reasons"], serde_json::json!([]));
        // The chart's series ends on what counted; the credits list says where each came from.
        let progress = s["progress"].as_array().unwrap();
        assert_eq!(progress.first().unwrap()["counted"], 0);
        assert_eq!(progress.last().unwrap()["counted"], 125);
        assert_eq!(progress.last().unwrap()["date"], today().to_string());
        let credits = s["recent_credits"].as_array().unwrap();
        assert_eq!(credits.len(), 5);
        assert!(credits.iter().all(|c| c["source"] == "admin" && c["state"] == "approved"), "{credits:?}");
        let points: Vec<&Value> = credits.iter().map(|c| &c["points"]).collect();
        // Newest first: the second Group B credit counts only the 10 left under the cap.
        assert_eq!(points, [&Value::from(10), &Value::from(15), &Value::from(40), &Value::from(20), &Value::from(40)]);

        let page = dashboard_page(&app, &token, "en").await;
        assert!(page.contains("Certified Information Systems Security Professional"), "{page}");
        assert!(page.contains(r#"<p class="state state-complete">Complete</p>"#), "{page}");
        assert!(page.contains(r#"<progress class="renewal-progress" value="120" max="120">"#), "{page}");
        assert!(page.contains(r#"<strong class="counted">125</strong> / 120 points"#), "{page}");
        assert!(page.contains("<svg class=\"chart points-chart\""), "{page}");
        assert!(page.contains("Staff"), "the source in words: {page}");
    }
}

db_test! {
    async fn a_cissp_holder_with_85_group_a_and_40_group_b_is_short_of_group_a_although_the_raw_total_is_125(app: TestApp) {
        let token = cissp_holder(&app, "C85", "c85@example.jp", ["group_a=40", "group_a=40", "group_a=5"]).await;
        let s = standing_of(&app, &token, "C85").await;
        assert_ne!(s["state"], "complete", "{s}");
        let raw = category(&s, "group_a")["claimed"].as_f64().unwrap() + category(&s, "group_b")["claimed"].as_f64().unwrap();
        assert_eq!(raw, 125.0);
        assert_eq!(s["counted"], 115);
        assert_eq!(category(&s, "group_a")["counted"], 85);
        assert_eq!(category(&s, "group_a")["minimum"], 90);
        assert_eq!(category(&s, "group_b")["counted"], 30);

        let page = dashboard_page(&app, &token, "ja").await;
        assert!(page.contains("CISSP（公認情報システムセキュリティプロフェッショナル）"), "{page}");
        assert!(!page.contains(r#"class="state state-complete""#), "{page}");
        assert!(page.contains(r#"<td class="num short">85</td><td class="num">90</td>"#), "Group A is marked short: {page}");
    }
}

db_test! {
    async fn a_riss_holder_missing_this_years_online_course_is_at_risk_with_that_slot_named_in_the_answer_and_on_the_page_in_both_languages(app: TestApp) {
        // Year 2 of the cycle ends in 60 days; year 1's online course and the practical
        // course are done, this year's online course is not.
        let start = (today() + Days::new(60)) - Months::new(24);
        import_holder(&app, "riss", "R0001", "riss@example.jp", start).await;
        staff_credit(&app, ("riss", "R0001"), "ipa_online_course", start + Days::new(30), &[]).await;
        staff_credit(&app, ("riss", "R0001"), "tokutei_koshu", start + Days::new(40), &[]).await;
        let token = token_of(&app, "riss@example.jp").await;

        let s = standing_of(&app, &token, "R0001").await;
        assert_eq!(s["state"], "at_risk", "{s}");
        let codes: Vec<&Value> = s["reasons"].as_array().unwrap().iter().map(|r| &r["code"]).collect();
        assert_eq!(codes, [&Value::from("slot_due_soon")]);
        let this_year = &s["open_slots"][0];
        assert_eq!(this_year["slot"], "ipa_online_course");
        assert_eq!(this_year["year"], 2);
        assert_eq!(this_year["due_by"], (today() + Days::new(59)).to_string());
        assert_eq!(this_year["name"]["en"], "IPA online course, once every year");
        assert_eq!(this_year["name"]["ja"], "IPAオンライン講習（毎年1回）");
        assert!(
            s["open_slots"].as_array().unwrap().iter().all(|o| o["slot"] != "practical"),
            "the practical course is done: {s}"
        );

        let due = (today() + Days::new(59)).to_string();
        let en = dashboard_page(&app, &token, "en").await;
        assert!(en.contains(r#"<p class="state state-at_risk">At risk</p>"#), "{en}");
        assert!(en.contains(&format!("IPA online course, once every year — year 2 (due by {due})")), "{en}");
        assert!(en.contains("a required course is due within 90 days"), "the reason in words: {en}");
        let ja = dashboard_page(&app, &token, "ja").await;
        assert!(ja.contains(r#"<p class="state state-at_risk">要注意</p>"#), "{ja}");
        assert!(ja.contains(&format!("IPAオンライン講習（毎年1回） — 2年目 (受講期限 {due})")), "{ja}");
        assert!(ja.contains("情報処理安全確保支援士"), "{ja}");
        assert!(ja.contains("必須講習の受講期限まで90日を切っています"), "{ja}");
    }
}

db_test! {
    async fn the_standing_answer_of_another_professionals_holding_is_404(app: TestApp) {
        let start = today() - Days::new(30);
        import_holder(&app, "cissp", "OWN-A", "owner-a@example.jp", start).await;
        import_holder(&app, "cissp", "OWN-B", "owner-b@example.jp", start).await;
        let a = token_of(&app, "owner-a@example.jp").await;
        let b = token_of(&app, "owner-b@example.jp").await;
        let of_a = holding_id(&app, "OWN-A").await;
        let path = format!("/v1/me/holdings/{of_a}/standing");

        assert_eq!(app.get_as(&path, &a).await.status(), 200, "the owner reads it");
        let response = app.get_as(&path, &b).await;
        assert_eq!(response.status(), 404);
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let unknown = app.get_as(&format!("/v1/me/holdings/{}/standing", uuid::Uuid::now_v7()), &b).await;
        assert_eq!(unknown.status(), 404, "the same answer as for no such holding");
        assert!(!dashboard_page(&app, &b, "en").await.contains("OWN-A"), "nor is it on B's page");
    }
}

db_test! {
    async fn a_professional_sets_their_language_through_the_api_and_an_unknown_one_is_refused_naming_the_field(app: TestApp) {
        let holder = app.active_holder().await;
        let token = app.login_as(&holder.email, PASSWORD).await;
        let put = |body: Value| {
            app.client.put(app.url("/v1/me/locale")).bearer_auth(&token).json(&body).send()
        };
        let response = put(serde_json::json!({"locale": "en"})).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.json::<Value>().await.unwrap(), serde_json::json!({"locale": "en"}));
        let profile: Value = app.get_as("/v1/me", &token).await.json().await.unwrap();
        assert_eq!(profile["locale"], "en", "emails follow it too");

        let refused = put(serde_json::json!({"locale": "fr"})).await.unwrap();
        assert_eq!(refused.status(), 422);
        let problem: Value = refused.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "locale", "{problem}");
        let profile: Value = app.get_as("/v1/me", &token).await.json().await.unwrap();
        assert_eq!(profile["locale"], "en", "unchanged by the refused one");

        let changes = audit_events_named(&app, "locale.changed").await;
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].before, Some(serde_json::json!({"locale": "ja"})));
        assert_eq!(changes[0].after, Some(serde_json::json!({"locale": "en"})));

        // Signed in without a language in the address, the page speaks the chosen one.
        let page = dashboard_page_without_lang(&app, &token).await;
        assert!(page.contains("Sign out"), "{page}");
    }
}

async fn dashboard_page_without_lang(app: &TestApp, token: &str) -> String {
    app.client
        .get(app.url("/"))
        .header(
            "cookie",
            format!("{}={token}", cpe_ledger::http::pages::SESSION_COOKIE),
        )
        .header("accept-language", "ja")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

db_test! {
    async fn a_staff_account_keeps_its_own_language(app: TestApp) {
        let admin = cpe_ledger::services::accounts::create_user(&app.state.db, "staff-lang@example.jp", "admin", PASSWORD)
            .await
            .unwrap();
        let token = app.login_as("staff-lang@example.jp", PASSWORD).await;
        let response = app.client.put(app.url("/v1/me/locale")).bearer_auth(&token)
            .json(&serde_json::json!({"locale": "en"})).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let stored = users::Entity::find_by_id(admin.id).one(&app.state.db).await.unwrap().unwrap();
        assert_eq!(stored.locale.as_deref(), Some("en"));
        let page = dashboard_page_without_lang(&app, &token).await;
        assert!(page.contains("Sign out"), "the account's language beats Accept-Language: {page}");
    }
}

db_test! {
    async fn a_password_change_needs_the_current_password_and_ends_every_other_session(app: TestApp) {
        let holder = app.active_holder().await;
        let this = app.login_as(&holder.email, PASSWORD).await;
        let other = app.login_as(&holder.email, PASSWORD).await;
        let change = |current: &str, new: &str| {
            app.client
                .post(app.url("/v1/me/password"))
                .bearer_auth(&this)
                .json(&serde_json::json!({"current_password": current, "new_password": new}))
                .send()
        };
        const NEW: &str = "a brand new passphrase";

        let wrong = change("not my password at all", NEW).await.unwrap();
        assert_eq!(wrong.status(), 422);
        let problem: Value = wrong.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "current_password", "{problem}");
        let short = change(PASSWORD, "short").await.unwrap();
        assert_eq!(short.status(), 422);
        let problem: Value = short.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "new_password", "{problem}");
        assert_eq!(app.get_as("/v1/me", &other).await.status(), 200, "nothing changed yet");

        let changed = change(PASSWORD, NEW).await.unwrap();
        assert_eq!(changed.status(), 200);
        let fresh: Value = changed.json().await.unwrap();
        let fresh = fresh["access_token"].as_str().unwrap();
        assert_eq!(app.get_as("/v1/me", &other).await.status(), 401, "the other session ended");
        assert_eq!(app.get_as("/v1/me", &this).await.status(), 401, "and the one that asked");
        assert_eq!(app.get_as("/v1/me", fresh).await.status(), 200, "the answer's token works");

        let old = app.post_json("/v1/auth/login", &serde_json::json!({"email": holder.email, "password": PASSWORD})).await;
        assert_eq!(old.status(), 401, "the old password no longer signs in");
        app.login_as(&holder.email, NEW).await;
        assert_eq!(audit_events_named(&app, "password.changed").await.len(), 1);
    }
}
