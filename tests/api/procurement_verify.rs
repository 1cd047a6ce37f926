//! Procurement reads: batch and single verify disclose only what the holder consented to,
//! every answer lands in the holder's disclosure log, and an unknown or suspended number
//! reveals nothing beyond its own answer.

use std::collections::BTreeSet;

use chrono::Utc;
use cpe_ledger::services::audit::Actor;
use cpe_ledger::services::consents::{self, Audience, Consents};
use cpe_ledger::services::holdings::{self, HoldingStatus};
use entity::{memberships, organisations, professionals};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::db_test;
use crate::harness::TestApp;
use crate::support_accounts::PASSWORD;
use crate::support_clients::{get_bearer, make_client, post_bearer, token_for};

/// Imports CISSP holders `numbers` (holder emails `<number>@example.jp`, cycles begun 30 days
/// ago) through the registry import; answers each one's professional id.
async fn import_holders(app: &TestApp, numbers: &[&str]) -> Vec<Uuid> {
    let start = Utc::now().date_naive() - chrono::Days::new(30);
    let mut csv = String::from(
        "scheme,registration_number,email,legal_name,legal_name_kana,display_name,certified_on,cycle_start\n",
    );
    for n in numbers {
        csv.push_str(&format!(
            "cissp,{n},{n}@example.jp,Holder {n},,,{start},{start}\n"
        ));
    }
    let summary = cpe_ledger::services::registry_import::import(
        &app.state.db,
        &app.state.schemes,
        csv.as_bytes(),
        "verify.csv",
        &mut (),
    )
    .await
    .unwrap();
    assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
    let mut ids = Vec::new();
    for n in numbers {
        let person = professionals::Entity::find()
            .filter(professionals::Column::Email.eq(format!("{n}@example.jp")))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        ids.push(person.id);
    }
    ids
}

async fn consent(app: &TestApp, person: Uuid, audience: Audience, name: bool, employer: bool) {
    consents::set(
        &app.state.db,
        &Actor::cli("test"),
        person,
        audience,
        Consents {
            name,
            employer,
            course_history: false,
        },
    )
    .await
    .unwrap();
}

/// A confirmed membership of `person` in a new organisation called `name`.
async fn employ(app: &TestApp, person: Uuid, name: &str, confirmed: bool) {
    let org = organisations::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.to_owned()),
        corporate_number: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    memberships::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(org.id),
        professional_id: Set(person),
        confirmed_by_professional_at: Set(confirmed.then(Utc::now)),
        confirmed_by_organisation_at: Set(Some(Utc::now())),
        created_at: Set(Utc::now()),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
}

fn keys(answer: &Value) -> BTreeSet<String> {
    answer.as_object().unwrap().keys().cloned().collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

const ALWAYS: &[&str] = &[
    "scheme",
    "registration_number",
    "found",
    "answered_at",
    "status",
    "in_good_standing",
    "standing",
    "valid_until",
    "level",
];

async fn verify(app: &TestApp, token: &str, numbers: &[&str]) -> Vec<Value> {
    let pairs: Vec<Value> = numbers
        .iter()
        .map(|n| json!({"scheme": "CISSP", "registration_number": n}))
        .collect();
    let response = post_bearer(
        app,
        "/v1/procurement/verify",
        token,
        Some(json!({"holdings": pairs})),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["results"].as_array().unwrap().clone()
}

db_test! {
    async fn a_procurement_client_never_receives_a_field_the_holder_did_not_consent_to(app: TestApp) {
        let people = import_holders(&app, &["P0001", "P0002", "P0003", "P0004"]).await;
        // P0001 chose nothing for buyers, only for the public registry.
        consent(&app, people[0], Audience::PublicRegistry, true, true).await;
        employ(&app, people[0], "Hidden Employer KK", true).await;
        // P0002: name only. P0003: name and employer. P0004: employer, of an unconfirmed claim.
        consent(&app, people[1], Audience::Procurement, true, false).await;
        employ(&app, people[1], "Also Hidden KK", true).await;
        consent(&app, people[2], Audience::Procurement, true, true).await;
        employ(&app, people[2], "Shown Vendor KK", true).await;
        consent(&app, people[3], Audience::Procurement, false, true).await;
        employ(&app, people[3], "Unconfirmed Claim KK", false).await;

        let client = make_client(&app, "procurement", &[], 100).await;
        let token = token_for(&app, &client).await;
        let results = verify(&app, &token, &["P0001", "P0002", "P0003", "P0004", "NOPE"]).await;
        assert_eq!(results.len(), 5);
        let text = serde_json::to_string(&results).unwrap();
        for hidden in ["Holder P0001", "Hidden Employer KK", "Also Hidden KK", "Unconfirmed Claim KK", "Holder P0004"] {
            assert!(!text.contains(hidden), "{hidden} leaked: {text}");
        }

        assert_eq!(keys(&results[0]), set(ALWAYS), "{}", results[0]);
        assert_eq!(results[0]["status"], "active");
        assert_eq!(results[0]["in_good_standing"], true);
        assert_eq!(results[0]["registration_number"], "P0001");
        assert_eq!(results[0]["level"]["id"], "principal");

        let mut with_name: Vec<&str> = ALWAYS.to_vec();
        with_name.push("name");
        assert_eq!(keys(&results[1]), set(&with_name), "{}", results[1]);
        assert_eq!(results[1]["name"], "Holder P0002");

        with_name.push("employers");
        assert_eq!(keys(&results[2]), set(&with_name), "{}", results[2]);
        assert_eq!(results[2]["name"], "Holder P0003");
        assert_eq!(results[2]["employers"], json!(["Shown Vendor KK"]));

        let mut with_employers: Vec<&str> = ALWAYS.to_vec();
        with_employers.push("employers");
        assert_eq!(keys(&results[3]), set(&with_employers), "{}", results[3]);
        assert_eq!(results[3]["employers"], json!([]), "an unconfirmed claim is no employer");

        assert_eq!(keys(&results[4]), set(&["scheme", "registration_number", "found", "answered_at"]));
        assert_eq!(results[4]["found"], false);

        // The single lookup follows the same rules.
        let one: Value = get_bearer(&app, "/v1/procurement/holdings/cissp/P0001", &token).await.json().await.unwrap();
        assert_eq!(keys(&one), set(ALWAYS), "{one}");
        let named: Value = get_bearer(&app, "/v1/procurement/holdings/cissp/P0003", &token).await.json().await.unwrap();
        assert_eq!(named["name"], "Holder P0003");
    }
}

db_test! {
    async fn every_procurement_read_appears_in_the_holders_disclosure_log_and_no_one_elses(app: TestApp) {
        let holder = app.active_holder().await;
        let other = app.active_holder().await;
        let holding = entity::holdings::Entity::find_by_id(holder.holding_id).one(&app.state.db).await.unwrap().unwrap();
        consent(&app, holder.professional_id, Audience::Procurement, true, false).await;
        let client = make_client(&app, "procurement", &[], 100).await;
        let token = token_for(&app, &client).await;

        let single = get_bearer(&app, &format!("/v1/procurement/holdings/cissp/{}", holding.registration_number), &token).await;
        assert_eq!(single.status(), 200);
        let batch = verify(&app, &token, &[&holding.registration_number, &holding.registration_number, "NOPE"]).await;
        assert_eq!(batch[0]["found"], true);

        let mine = app.login_as(&holder.email, PASSWORD).await;
        let log: Value = app.get_as("/v1/me/disclosures", &mine).await.json().await.unwrap();
        let items = log["items"].as_array().unwrap();
        assert_eq!(items.len(), 2, "one per request, the same holding asked twice in a batch once: {log}");
        for item in items {
            assert_eq!(item["client_id"], client.client_id.as_str());
            assert!(item["client_name"].as_str().unwrap().starts_with("procurement client"), "{item}");
            assert_eq!(item["registration_number"], holding.registration_number.as_str());
            let fields: Vec<&str> = item["fields"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
            assert_eq!(fields, ["scheme", "registration_number", "status", "standing", "valid_until", "level", "name"]);
            assert!(item["disclosed_at"].is_string());
        }
        let page: Value = app.get_as("/v1/me/disclosures?limit=1", &mine).await.json().await.unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 1);
        let before = page["next_before"].as_str().unwrap();
        let rest: Value = app.get_as(&format!("/v1/me/disclosures?limit=1&before={before}"), &mine).await.json().await.unwrap();
        assert_eq!(rest["items"][0]["id"], items[1]["id"], "the second page goes on from the first");
        let bad = app.get_as("/v1/me/disclosures?limit=0", &mine).await;
        assert_eq!(bad.status(), 422);

        // The "who looked me up" page lists the same reads, in words.
        let cookies = crate::procurement_consents::page_session(&app, &holder.email).await;
        for (lang, words) in [("en", "last valid day"), ("ja", "有効期限日")] {
            let page = app.client.get(app.url(&format!("/disclosures?lang={lang}"))).header("cookie", cookies.header()).send().await.unwrap();
            assert_eq!(page.status(), 200);
            let html = page.text().await.unwrap();
            assert!(html.contains(items[0]["client_name"].as_str().unwrap()), "{html}");
            assert!(html.contains(words), "{lang}: {html}");
        }

        let theirs = app.login_as(&other.email, PASSWORD).await;
        let log: Value = app.get_as("/v1/me/disclosures", &theirs).await.json().await.unwrap();
        assert_eq!(log["items"], json!([]));
    }
}

db_test! {
    async fn an_unknown_or_suspended_number_reveals_nothing_beyond_its_own_answer(app: TestApp) {
        let people = import_holders(&app, &["S0001"]).await;
        consent(&app, people[0], Audience::Procurement, true, true).await;
        employ(&app, people[0], "Vendor KK", true).await;
        let holding = holdings::by_registration(&app.state.db, "cissp", "S0001").await.unwrap().unwrap();
        holdings::set_status(&app.state.db, &app.state.schemes, &Actor::cli("test"), holding.id, HoldingStatus::Suspended)
            .await
            .unwrap();
        let client = make_client(&app, "procurement", &[], 100).await;
        let token = token_for(&app, &client).await;

        let results = verify(&app, &token, &["S0001", "UNKNOWN-1"]).await;
        assert_eq!(
            keys(&results[0]),
            set(&["scheme", "registration_number", "found", "answered_at", "status", "in_good_standing"]),
            "{}", results[0]
        );
        assert_eq!(results[0]["status"], "suspended");
        assert_eq!(results[0]["in_good_standing"], false);
        assert_eq!(keys(&results[1]), set(&["scheme", "registration_number", "found", "answered_at"]));

        let single = get_bearer(&app, "/v1/procurement/holdings/cissp/S0001", &token).await;
        let single: Value = single.json().await.unwrap();
        assert_eq!(single["status"], "suspended");
        assert!(single.get("name").is_none() && single.get("valid_until").is_none(), "{single}");
        let unknown = get_bearer(&app, "/v1/procurement/holdings/cissp/UNKNOWN-1", &token).await;
        assert_eq!(unknown.status(), 404);
        let body: Value = unknown.json().await.unwrap();
        assert!(!body.to_string().contains("UNKNOWN-1"), "not even an echo: {body}");

        // What the suspended holder's log says was disclosed: the status only.
        let logged = entity::disclosures::Entity::find().all(&app.state.db).await.unwrap();
        assert_eq!(logged.len(), 2);
        assert!(logged.iter().all(|d| d.holding_id == holding.id && d.fields == "scheme,registration_number,status"));
    }
}

db_test! {
    async fn a_batch_answers_up_to_a_thousand_pairs_and_refuses_more_or_none_naming_the_field(app: TestApp) {
        import_holders(&app, &["B0001"]).await;
        let client = make_client(&app, "procurement", &[], 100).await;
        let token = token_for(&app, &client).await;
        let pairs = |n: usize| -> Value {
            let list: Vec<Value> = (0..n).map(|i| json!({"scheme": "cissp", "registration_number": if i == 0 { "B0001".to_owned() } else { format!("X{i:05}") }})).collect();
            json!({"holdings": list})
        };
        let full = post_bearer(&app, "/v1/procurement/verify", &token, Some(pairs(1000))).await;
        assert_eq!(full.status(), 200);
        let full: Value = full.json().await.unwrap();
        let results = full["results"].as_array().unwrap();
        assert_eq!(results.len(), 1000);
        assert_eq!(results[0]["found"], true);
        assert!(results[1..].iter().all(|r| r["found"] == false));

        for n in [1001, 0] {
            let refused = post_bearer(&app, "/v1/procurement/verify", &token, Some(pairs(n))).await;
            assert_eq!(refused.status(), 400, "{n} pairs");
            assert_eq!(refused.headers()["content-type"], "application/problem+json");
            let body: Value = refused.json().await.unwrap();
            assert_eq!(body["errors"][0]["field"], "holdings", "{body}");
        }
    }
}

db_test! {
    async fn a_minimum_level_is_answered_per_holding_and_an_unknown_level_is_refused_naming_it(app: TestApp) {
        import_holders(&app, &["L0001"]).await;
        let client = make_client(&app, "procurement", &[], 100).await;
        let token = token_for(&app, &client).await;
        let body = json!({"holdings": [{"scheme": "cissp", "registration_number": "L0001"}]});
        for (level, meets) in [("practitioner", true), ("Principal", true), ("chartered", false)] {
            let answer: Value = post_bearer(&app, &format!("/v1/procurement/verify?min_level={level}"), &token, Some(body.clone()))
                .await.json().await.unwrap();
            assert_eq!(answer["results"][0]["meets_min_level"], meets, "{level}: {answer}");
        }
        let refused = post_bearer(&app, "/v1/procurement/verify?min_level=wizard", &token, Some(body)).await;
        assert_eq!(refused.status(), 422);
        let problem: Value = refused.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "min_level");
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("associate, practitioner, principal, chartered"));
    }
}
