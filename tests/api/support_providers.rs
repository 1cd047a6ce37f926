//! Helpers for tests of course providers: an accredited provider with a client and token, a
//! course in its catalogue, holders to report attendance for, and the calls providers make.

use cpe_ledger::services::audit::Actor;
use cpe_ledger::services::clients::{self, NewClient};
use cpe_ledger::services::providers::{self, Accreditation, NewProvider};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{TestApp, stdout_of};
use crate::support_clients::{TestClient, token_for};

/// A provider with a `provider:write` client and a token for it.
pub struct TestProvider {
    pub id: Uuid,
    pub client: TestClient,
    pub token: String,
}

/// A provider accredited for CISSP (every category) and CISA (only `cpe`), from 2020-01-01.
pub async fn accredited_provider(app: &TestApp, name: &str) -> TestProvider {
    provider_with(
        app,
        name,
        vec![
            Accreditation {
                scheme_id: "cissp".into(),
                categories: vec![],
                activity_types: vec![],
                valid_from: chrono::NaiveDate::from_ymd_opt(2020, 1, 1),
                valid_until: None,
            },
            Accreditation {
                scheme_id: "cisa".into(),
                categories: vec!["cpe".into()],
                activity_types: vec![],
                valid_from: chrono::NaiveDate::from_ymd_opt(2020, 1, 1),
                valid_until: None,
            },
        ],
    )
    .await
}

pub async fn provider_with(
    app: &TestApp,
    name: &str,
    accreditations: Vec<Accreditation>,
) -> TestProvider {
    let actor = Actor::cli("test");
    let provider = providers::create_provider(
        &app.state.db,
        &actor,
        NewProvider {
            name: name.to_owned(),
            contact_email: None,
        },
    )
    .await
    .unwrap();
    providers::set_accreditations(
        &app.state.db,
        &app.state.schemes,
        &actor,
        provider.id,
        accreditations,
    )
    .await
    .unwrap();
    let created = clients::create_client(
        &app.state.db,
        &actor,
        NewClient {
            name: format!("{name} system"),
            kind: "provider".into(),
            scopes: vec!["provider:write".into(), "provider:read".into()],
            provider_id: Some(provider.id),
            rate_limit_per_minute: 100_000,
        },
    )
    .await
    .unwrap();
    let client = TestClient {
        client_id: created.client.client_id,
        secret: created.secret,
    };
    let token = token_for(app, &client).await;
    TestProvider {
        id: provider.id,
        client,
        token,
    }
}

/// An 8-hour course: CISSP `education`/`group_a` 8 points and CISA `training`/`cpe` 8 points.
pub fn course_body(code: &str) -> Value {
    json!({
        "code": code,
        "title": {"en": "Incident response in practice", "ja": "インシデント対応の実践"},
        "hours": 8,
        "delivery": "classroom",
        "fee": {"amount": "50000", "currency": "JPY"},
        "language": "ja",
        "nice_work_roles": ["PD-WRL-004"],
        "awards": [
            {"scheme": "cissp", "activity_type": "education", "category": "group_a", "points": 8},
            {"scheme": "cisa", "activity_type": "training", "category": "cpe", "points": 8}
        ]
    })
}

pub async fn publish(app: &TestApp, provider: &TestProvider, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/v1/provider/courses"))
        .bearer_auth(&provider.token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Publishes [`course_body`] under `code`, asserting it is accepted.
pub async fn publish_course(app: &TestApp, provider: &TestProvider, code: &str) -> Value {
    let response = publish(app, provider, course_body(code)).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

const HEADER: &str = "scheme,registration_number,email,legal_name,legal_name_kana,display_name,certified_on,cycle_start";

/// Taro holds CISSP 123456 and CISA 7654321, Hanako CISSP 223344; cycles from 2024-01-01.
pub fn import_holders(app: &TestApp) {
    let path = app.file("provider-holders.csv");
    std::fs::write(
        &path,
        format!(
            "{HEADER}\n\
             cissp,123456,taro@example.jp,山田 太郎,ヤマダ タロウ,Taro,2021-01-01,2024-01-01\n\
             cisa,7654321,taro@example.jp,山田 太郎,ヤマダ タロウ,Taro,2021-01-01,2024-01-01\n\
             cissp,223344,hanako@example.jp,佐藤 花子,サトウ ハナコ,Hanako,2021-01-01,2024-01-01\n"
        ),
    )
    .unwrap();
    let out = stdout_of(&app.cli(&["import", "holders", path.to_str().unwrap()]));
    assert!(out.contains("0 rejected"), "{out}");
}

pub async fn post_attendance_json(
    app: &TestApp,
    provider: &TestProvider,
    rows: Value,
) -> reqwest::Response {
    app.client
        .post(app.url("/v1/provider/attendance"))
        .bearer_auth(&provider.token)
        .json(&json!({ "rows": rows }))
        .send()
        .await
        .unwrap()
}

pub async fn post_attendance_csv(
    app: &TestApp,
    provider: &TestProvider,
    bytes: Vec<u8>,
) -> reqwest::Response {
    app.client
        .post(app.url("/v1/provider/attendance"))
        .bearer_auth(&provider.token)
        .header("content-type", "text/csv; charset=utf-8")
        .body(bytes)
        .send()
        .await
        .unwrap()
}

/// The report of a batch that must be answered 200.
pub async fn report_of(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

/// Each row's outcome, in order.
pub fn outcomes(report: &Value) -> Vec<String> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap().to_owned())
        .collect()
}

/// The points counted so far in the CISSP 123456 holding's cycle, by the CLI's standing.
pub fn counted(app: &TestApp, scheme: &str, number: &str) -> Value {
    let out = stdout_of(&app.cli(&["standing", scheme, number, "--json"]));
    let standing: Value = serde_json::from_str(&out).unwrap();
    standing["counted"].clone()
}

/// One attendance row for Taro's CISSP holding.
pub fn row(reference: &str, course: &str, completed: &str) -> Value {
    json!({
        "reference": reference,
        "course": course,
        "scheme": "cissp",
        "registration_number": "123456",
        "completed": completed,
    })
}
