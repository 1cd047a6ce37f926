//! Statements that report a finished course become credits; voiding one voids its credit.

use reqwest::Method;
use serde_json::{Value, json};

use crate::db_test;
use crate::harness::TestApp;
use crate::support_clients::TestClient;
use crate::support_providers::{
    TestProvider, accredited_provider, counted, import_holders, publish_course,
};
use crate::xapi::{ATTENDED, xapi};

/// An accredited provider with course `IR-101` and the holders of `import_holders`.
async fn ready(app: &TestApp) -> TestProvider {
    let provider = accredited_provider(app, "xAPI Academy").await;
    publish_course(app, &provider, "IR-101").await;
    publish_course(app, &provider, "https://lms.example/courses/forensics").await;
    import_holders(app);
    provider
}

/// The activity id the ledger gives a course code.
fn course_iri(app: &TestApp, code: &str) -> String {
    format!(
        "{}/xapi/courses/{code}",
        app.config.public_url.as_str().trim_end_matches('/')
    )
}

fn completed_yesterday() -> String {
    (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339()
}

fn reported(actor: Value, verb: &str, activity: &str) -> Value {
    json!({
        "actor": actor,
        "verb": {"id": verb},
        "object": {"id": activity},
        "timestamp": completed_yesterday(),
    })
}

async fn post(app: &TestApp, client: &TestClient, body: &Value) -> Vec<String> {
    let response = xapi(app, Method::POST, "/xapi/statements", client)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    serde_json::from_value(response.json().await.unwrap()).unwrap()
}

/// The attendance `/v1/provider/attendance/{reference}` shows, or its status when none.
async fn attendance(app: &TestApp, provider: &TestProvider, reference: &str) -> Result<Value, u16> {
    let response = app
        .client
        .get(app.url(&format!("/v1/provider/attendance/{reference}")))
        .bearer_auth(&provider.token)
        .send()
        .await
        .unwrap();
    match response.status().as_u16() {
        200 => Ok(response.json().await.unwrap()),
        other => Err(other),
    }
}

db_test! {
    async fn an_attended_statement_about_a_catalogue_course_becomes_a_credit_and_voiding_it_voids_it(app: TestApp) {
        let provider = ready(&app).await;
        let client = &provider.client;
        let statement = reported(json!({"mbox": "mailto:taro@example.jp"}), ATTENDED, &course_iri(&app, "IR-101"));
        let id = post(&app, client, &statement).await.remove(0);
        assert_eq!(counted(&app, "cissp", "123456"), 8);
        assert_eq!(counted(&app, "cisa", "7654321"), 8, "one course, counted for each scheme it awards");
        let credit = attendance(&app, &provider, &format!("xapi:{id}")).await.unwrap();
        assert_eq!(credit["course"], "IR-101");
        assert_eq!(credit["state"], "approved");

        // A retry of the statement changes nothing.
        let mut again = statement.clone();
        again["id"] = json!(id);
        post(&app, client, &again).await;
        assert_eq!(counted(&app, "cissp", "123456"), 8);

        let voiding = json!({
            "actor": {"mbox": "mailto:ops@academy.example"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": id},
        });
        post(&app, client, &voiding).await;
        assert_eq!(counted(&app, "cissp", "123456"), 0);
        assert_eq!(attendance(&app, &provider, &format!("xapi:{id}")).await.unwrap()["state"], "voided");
    }
}

db_test! {
    async fn the_actor_is_matched_by_mbox_sha1sum_or_by_an_account_on_the_ledger(app: TestApp) {
        let provider = ready(&app).await;
        let sum = cpe_ledger::services::xapi::mbox_sha1sum("hanako@example.jp");
        let home = app.config.public_url.as_str().trim_end_matches('/').to_owned();
        let completed = "http://adlnet.gov/expapi/verbs/completed";
        let passed = "http://adlnet.gov/expapi/verbs/passed";
        let ids = post(&app, &provider.client, &json!([
            reported(json!({"mbox_sha1sum": sum}), completed, &course_iri(&app, "IR-101")),
            reported(
                json!({"account": {"homePage": home, "name": "cissp:123456"}}),
                passed,
                "https://lms.example/courses/forensics",
            ),
        ])).await;
        assert_eq!(counted(&app, "cissp", "223344"), 8, "Hanako, by the SHA-1 of her address");
        assert_eq!(counted(&app, "cissp", "123456"), 8, "Taro, by his CISSP number");
        let by_code = attendance(&app, &provider, &format!("xapi:{}", ids[1])).await.unwrap();
        assert_eq!(by_code["course"], "https://lms.example/courses/forensics");
    }
}

db_test! {
    async fn a_statement_the_ledger_cannot_place_is_stored_and_not_credited(app: TestApp) {
        let provider = ready(&app).await;
        let course = course_iri(&app, "IR-101");
        let taro = json!({"mbox": "mailto:taro@example.jp"});
        let mut future = reported(taro.clone(), ATTENDED, &course);
        future["timestamp"] = json!((chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339());
        let cases = [
            ("another verb", reported(taro.clone(), "http://adlnet.gov/expapi/verbs/experienced", &course)),
            ("a course not in the catalogue", reported(taro.clone(), ATTENDED, &course_iri(&app, "NOPE"))),
            ("a person the ledger does not know", reported(json!({"mbox": "mailto:nobody@example.jp"}), ATTENDED, &course)),
            ("an account on another home page", reported(json!({"account": {"homePage": "https://lms.example", "name": "cissp:123456"}}), ATTENDED, &course)),
            ("an openid", reported(json!({"openid": "https://id.example/taro"}), ATTENDED, &course)),
            ("a completion in the future", future),
        ];
        for (case, statement) in cases {
            let id = post(&app, &provider.client, &statement).await.remove(0);
            assert_eq!(attendance(&app, &provider, &format!("xapi:{id}")).await, Err(404), "{case}");
            let stored = xapi(&app, Method::GET, &format!("/xapi/statements?statementId={id}"), &provider.client)
                .send().await.unwrap();
            assert_eq!(stored.status(), 200, "{case}: stored all the same");
        }
        assert_eq!(counted(&app, "cissp", "123456"), 0);
    }
}

db_test! {
    async fn a_statement_and_its_credit_are_written_together_or_not_at_all(app: TestApp) {
        let provider = ready(&app).await;
        let id = uuid::Uuid::new_v4().to_string();
        let mut statement = reported(json!({"mbox": "mailto:taro@example.jp"}), ATTENDED, &course_iri(&app, "IR-101"));
        statement["id"] = json!(id);
        // The statement's own row is refused inside the write, after its credit went in.
        refuse_statement(&app, &id).await;
        let response = xapi(&app, Method::POST, "/xapi/statements", &provider.client)
            .json(&statement).send().await.unwrap();
        assert!(response.status().is_server_error(), "{}", response.status());
        assert_eq!(attendance(&app, &provider, &format!("xapi:{id}")).await, Err(404), "no credit without its statement");
        assert_eq!(counted(&app, "cissp", "123456"), 0);

        app.stop_refusing("xapi_statements").await;
        post(&app, &provider.client, &statement).await;
        assert_eq!(counted(&app, "cissp", "123456"), 8);
    }
}

/// Makes the database refuse the row of statement `id` in `xapi_statements`.
async fn refuse_statement(app: &TestApp, id: &str) {
    app.refuse_inserts("xapi_statements", "credit_reference", &format!("xapi:{id}"))
        .await;
}
