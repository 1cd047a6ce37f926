//! `/xapi`: the statements resource as an LRS client sees it. Each refusal is a passing
//! control changed in one way.

use cpe_ledger::services::audit::Actor;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

use crate::db_test;
use crate::harness::TestApp;
use crate::support_clients::{TestClient, make_client, token_for};

pub const ATTENDED: &str = "http://adlnet.gov/expapi/verbs/attended";

pub async fn provider_client(app: &TestApp) -> TestClient {
    make_client(
        app,
        "provider",
        &["provider:write", "provider:read"],
        10_000,
    )
    .await
}

/// A request with the client's Basic credentials and the version header.
pub fn xapi(app: &TestApp, method: Method, path: &str, client: &TestClient) -> RequestBuilder {
    app.client
        .request(method, app.url(path))
        .basic_auth(&client.client_id, Some(&client.secret))
        .header("X-Experience-API-Version", "1.0.3")
}

pub fn statement(email: &str, verb: &str, activity: &str) -> Value {
    json!({
        "actor": {"objectType": "Agent", "mbox": format!("mailto:{email}")},
        "verb": {"id": verb, "display": {"en": "did"}},
        "object": {"objectType": "Activity", "id": activity},
    })
}

async fn post(app: &TestApp, client: &TestClient, body: &Value) -> reqwest::Response {
    xapi(app, Method::POST, "/xapi/statements", client)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn put(app: &TestApp, client: &TestClient, id: &str, body: &Value) -> reqwest::Response {
    xapi(
        app,
        Method::PUT,
        &format!("/xapi/statements?statementId={id}"),
        client,
    )
    .json(body)
    .send()
    .await
    .unwrap()
}

async fn get(app: &TestApp, client: &TestClient, query: &str) -> reqwest::Response {
    xapi(
        app,
        Method::GET,
        &format!("/xapi/statements{query}"),
        client,
    )
    .send()
    .await
    .unwrap()
}

async fn get_json(app: &TestApp, client: &TestClient, query: &str) -> Value {
    let response = get(app, client, query).await;
    assert_eq!(response.status(), 200, "GET {query}");
    assert!(
        response
            .headers()
            .contains_key("x-experience-api-consistent-through")
    );
    response.json().await.unwrap()
}

fn ids_of(page: &Value) -> Vec<String> {
    page["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn refused_field(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    let field = body["errors"][0]["field"].as_str().unwrap_or("").to_owned();
    (status, field)
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

db_test! {
    async fn a_statement_that_breaks_a_rule_is_refused_naming_the_property(app: TestApp) {
        let client = provider_client(&app).await;
        let control = statement("a@example.jp", ATTENDED, "https://lms.example/courses/IR-101");
        let response = post(&app, &client, &control).await;
        assert_eq!(response.status(), 200, "the control passes");

        let with = |pointer: &str, value: Value| {
            let mut s = control.clone();
            *s.pointer_mut(pointer).unwrap() = value;
            s
        };
        let mut unknown = control.clone();
        unknown["Verb"] = json!({"id": ATTENDED});
        let cases = [
            ("a null", with("/verb/display", Value::Null), "verb.display"),
            ("an unknown property", unknown, "Verb"),
            ("a verb id that is no IRI", with("/verb/id", json!("attended")), "verb.id"),
            ("an mbox without mailto:", with("/actor/mbox", json!("a@example.jp")), "actor.mbox"),
            ("an id that is no UUID", { let mut s = control.clone(); s["id"] = json!("123"); s }, "id"),
            ("a language map with a bad tag", with("/verb/display", json!({"english!": "did"})), "verb.display.english!"),
            ("a number for an object", with("/object", json!(7)), "object"),
        ];
        for (case, body, field) in cases {
            let (status, named) = refused_field(post(&app, &client, &body).await).await;
            assert_eq!((status, named.as_str()), (400, field), "{case}");
        }
        let response = xapi(&app, Method::POST, "/xapi/statements", &client)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(refused_field(response).await, (400, "body".to_owned()));

        let huge = json!([{"padding": "x".repeat(5 * 1024 * 1024)}]);
        let response = post(&app, &client, &huge).await;
        assert_eq!(response.status(), 413);
        assert_eq!(response.headers()["content-type"], "application/problem+json");
    }
}

db_test! {
    async fn a_batch_with_one_bad_statement_stores_nothing(app: TestApp) {
        let client = provider_client(&app).await;
        let good = statement("a@example.jp", ATTENDED, "https://lms.example/courses/IR-101");
        let mut bad = good.clone();
        bad["verb"]["id"] = json!("not an iri");
        let (status, field) = refused_field(post(&app, &client, &json!([good, bad])).await).await;
        assert_eq!((status, field.as_str()), (400, "[1].verb.id"));
        let page = get_json(&app, &client, "").await;
        assert_eq!(page["statements"], json!([]));
        assert_eq!(page["more"], "");

        // Two statements with one id in a batch are refused too, and store nothing.
        let id = uuid::Uuid::new_v4().to_string();
        let mut first = good.clone();
        first["id"] = json!(id);
        let (status, field) = refused_field(post(&app, &client, &json!([first.clone(), first])).await).await;
        assert_eq!((status, field.as_str()), (400, "[1].id"));
        assert_eq!(get_json(&app, &client, "").await["statements"], json!([]));
    }
}

db_test! {
    async fn a_repeated_id_is_a_no_op_when_the_statement_is_the_same_and_a_conflict_when_not(app: TestApp) {
        let client = provider_client(&app).await;
        let id = uuid::Uuid::new_v4().to_string();
        let body = statement("a@example.jp", ATTENDED, "https://lms.example/courses/IR-101");
        assert_eq!(put(&app, &client, &id, &body).await.status(), 204);
        let stored = get_json(&app, &client, &format!("?statementId={id}")).await;
        assert_eq!(stored["id"], id);
        assert_eq!(stored["version"], "1.0.0");
        assert_eq!(stored["authority"]["account"]["name"], client.client_id.as_str());
        assert!(stored["stored"].as_str().is_some_and(|s| s.ends_with('Z')));

        assert_eq!(put(&app, &client, &id, &body).await.status(), 204, "a retry");
        let mut same = body.clone();
        same["id"] = json!(id);
        let response = post(&app, &client, &json!([same])).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.json::<Value>().await.unwrap(), json!([id]));
        let after = get_json(&app, &client, &format!("?statementId={id}")).await;
        assert_eq!(after, stored, "nothing about the stored statement changed");

        let different = statement("a@example.jp", ATTENDED, "https://lms.example/courses/OTHER");
        assert_eq!(put(&app, &client, &id, &different).await.status(), 409);
        let mut clash = different.clone();
        clash["id"] = json!(id);
        let fresh = statement("b@example.jp", ATTENDED, "https://lms.example/courses/IR-101");
        let response = post(&app, &client, &json!([fresh, clash])).await;
        assert_eq!(response.status(), 409);
        assert_eq!(ids_of(&get_json(&app, &client, "").await), vec![id.clone()], "the conflicting batch stored nothing");

        // PUT: the body's id must match, and statementId is required.
        let mut mismatched = body.clone();
        mismatched["id"] = json!(uuid::Uuid::new_v4().to_string());
        assert_eq!(refused_field(put(&app, &client, &id, &mismatched).await).await, (400, "id".to_owned()));
        let response = xapi(&app, Method::PUT, "/xapi/statements", &client).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 400);
    }
}

db_test! {
    async fn a_voided_statement_leaves_the_query_form_and_is_found_by_voided_statement_id(app: TestApp) {
        let client = provider_client(&app).await;
        let target = uuid::Uuid::new_v4().to_string();
        let body = statement("a@example.jp", ATTENDED, "https://lms.example/courses/IR-101");
        assert_eq!(put(&app, &client, &target, &body).await.status(), 204);

        let voiding = json!({
            "actor": {"mbox": "mailto:ops@lms.example"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": target},
        });
        let response = post(&app, &client, &voiding).await;
        assert_eq!(response.status(), 200);
        let voiding_id = response.json::<Value>().await.unwrap()[0].as_str().unwrap().to_owned();

        assert_eq!(get(&app, &client, &format!("?statementId={target}")).await.status(), 404);
        let voided = get_json(&app, &client, &format!("?voidedStatementId={target}")).await;
        assert_eq!(voided["id"], target);
        assert_eq!(ids_of(&get_json(&app, &client, "").await), vec![voiding_id.clone()]);
        assert_eq!(get(&app, &client, &format!("?voidedStatementId={voiding_id}")).await.status(), 404);

        // A voiding statement cannot be voided, and a void must name a stored statement.
        let mut again = voiding.clone();
        again["object"]["id"] = json!(voiding_id);
        assert_eq!(refused_field(post(&app, &client, &again).await).await, (400, "[0].object.id".to_owned()));
        again["object"]["id"] = json!(uuid::Uuid::new_v4().to_string());
        assert_eq!(refused_field(post(&app, &client, &again).await).await, (400, "[0].object.id".to_owned()));
    }
}

db_test! {
    async fn the_query_form_filters_and_pages_with_more(app: TestApp) {
        let client = provider_client(&app).await;
        let registration = uuid::Uuid::new_v4().to_string();
        let mut sent = Vec::new();
        for i in 0..5 {
            let mut s = statement(
                if i % 2 == 0 { "even@example.jp" } else { "odd@example.jp" },
                if i == 4 { "http://adlnet.gov/expapi/verbs/completed" } else { ATTENDED },
                &format!("https://lms.example/courses/C{i}"),
            );
            if i == 3 {
                s["context"] = json!({"registration": registration});
            }
            // One request per statement, so each has its own `stored`.
            let response = post(&app, &client, &s).await;
            assert_eq!(response.status(), 200);
            sent.push(response.json::<Value>().await.unwrap()[0].as_str().unwrap().to_owned());
        }
        let newest_first: Vec<String> = sent.iter().rev().cloned().collect();

        let mut seen = Vec::new();
        let mut page = get_json(&app, &client, "?limit=2").await;
        let mut pages = 1;
        loop {
            let ids = ids_of(&page);
            assert!(ids.len() <= 2);
            seen.extend(ids);
            let more = page["more"].as_str().unwrap().to_owned();
            if more.is_empty() {
                break;
            }
            assert!(more.starts_with("/xapi/statements?"), "{more}");
            let response = xapi(&app, Method::GET, &more, &client).send().await.unwrap();
            assert_eq!(response.status(), 200);
            page = response.json().await.unwrap();
            pages += 1;
        }
        assert_eq!(pages, 3);
        assert_eq!(seen, newest_first, "every statement once, newest first");

        let ascending = get_json(&app, &client, "?ascending=true").await;
        assert_eq!(ids_of(&ascending), sent);

        let agent = encode(r#"{"mbox":"mailto:odd@example.jp"}"#);
        let odd = get_json(&app, &client, &format!("?agent={agent}")).await;
        assert_eq!(ids_of(&odd), vec![sent[3].clone(), sent[1].clone()]);
        let verb = encode("http://adlnet.gov/expapi/verbs/completed");
        assert_eq!(ids_of(&get_json(&app, &client, &format!("?verb={verb}")).await), vec![sent[4].clone()]);
        let activity = encode("https://lms.example/courses/C2");
        assert_eq!(ids_of(&get_json(&app, &client, &format!("?activity={activity}")).await), vec![sent[2].clone()]);
        assert_eq!(
            ids_of(&get_json(&app, &client, &format!("?registration={registration}")).await),
            vec![sent[3].clone()]
        );

        // since is exclusive, until inclusive: the window around the third statement's stored.
        let third = get_json(&app, &client, &format!("?statementId={}", sent[2])).await;
        let stored = encode(third["stored"].as_str().unwrap());
        let until = get_json(&app, &client, &format!("?until={stored}&ascending=true")).await;
        assert_eq!(ids_of(&until), sent[..3].to_vec());
        let since = get_json(&app, &client, &format!("?since={stored}&ascending=true")).await;
        assert_eq!(ids_of(&since), sent[3..].to_vec());

        let ids = get_json(&app, &client, &format!("?statementId={}&format=ids", sent[0])).await;
        assert_eq!(ids["verb"], json!({"id": ATTENDED}));
        assert_eq!(ids["actor"], json!({"objectType": "Agent", "mbox": "mailto:even@example.jp"}));

        for (query, field) in [
            ("?statementId=x&voidedStatementId=y", "voidedStatementId"),
            (&format!("?statementId={}&verb={verb}", sent[0]), "statementId"),
            ("?limit=-1", "limit"),
            ("?since=yesterday", "since"),
            ("?format=full", "format"),
            ("?agent=%7B%7D", "agent"),
            ("?more=garbage", "more"),
        ] {
            let (status, named) = refused_field(get(&app, &client, query).await).await;
            assert_eq!((status, named.as_str()), (400, field), "{query}");
        }
        assert_eq!(get(&app, &client, "?colour=red").await.status(), 400, "an unknown parameter");
    }
}

db_test! {
    async fn another_provider_can_never_see_or_void_your_statements(app: TestApp) {
        let mine = provider_client(&app).await;
        let theirs = provider_client(&app).await;
        let id = uuid::Uuid::new_v4().to_string();
        let body = statement("a@example.jp", ATTENDED, "https://lms.example/courses/IR-101");
        assert_eq!(put(&app, &mine, &id, &body).await.status(), 204);

        assert_eq!(get(&app, &theirs, &format!("?statementId={id}")).await.status(), 404);
        assert_eq!(get_json(&app, &theirs, "").await["statements"], json!([]));
        let voiding = json!({
            "actor": {"mbox": "mailto:ops@other.example"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": id},
        });
        assert_eq!(refused_field(post(&app, &theirs, &voiding).await).await, (400, "[0].object.id".to_owned()));
        assert_eq!(get_json(&app, &mine, &format!("?statementId={id}")).await["id"], id, "still mine, not voided");

        // The other store is separate: the same id there is theirs, and tells them nothing.
        let other = statement("z@example.jp", ATTENDED, "https://other.example/x");
        assert_eq!(put(&app, &theirs, &id, &other).await.status(), 204);
        let mine_again = get_json(&app, &mine, &format!("?statementId={id}")).await;
        assert_eq!(mine_again["object"]["id"], "https://lms.example/courses/IR-101");
    }
}

db_test! {
    async fn basic_credentials_and_bearer_tokens_both_work_and_others_are_refused(app: TestApp) {
        let client = provider_client(&app).await;
        assert_eq!(get(&app, &client, "").await.status(), 200, "HTTP Basic");

        let token = token_for(&app, &client).await;
        let response = app.client.get(app.url("/xapi/statements"))
            .bearer_auth(&token)
            .header("X-Experience-API-Version", "1.0.3")
            .send().await.unwrap();
        assert_eq!(response.status(), 200, "a bearer token");

        let wrong = TestClient { secret: "not the secret".to_owned(), ..client.clone() };
        let response = get(&app, &wrong, "").await;
        assert_eq!(response.status(), 401);
        assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic "));
        let response = app.client.get(app.url("/xapi/statements"))
            .header("X-Experience-API-Version", "1.0.3")
            .send().await.unwrap();
        assert_eq!(response.status(), 401, "no credentials");

        let buyer = make_client(&app, "procurement", &["procurement:read"], 10_000).await;
        assert_eq!(get(&app, &buyer, "").await.status(), 403, "not a provider's client");

        let reader = make_client(&app, "provider", &["provider:read"], 10_000).await;
        let body = statement("a@example.jp", ATTENDED, "https://lms.example/courses/IR-101");
        assert_eq!(post(&app, &reader, &body).await.status(), 403, "storing needs provider:write");

        cpe_ledger::services::clients::disable_client(&app.state.db, &Actor::cli("test"), &client.client_id)
            .await
            .unwrap();
        assert_eq!(get(&app, &client, "").await.status(), 401, "a disabled client");
    }
}

db_test! {
    async fn every_request_but_about_must_name_the_version_and_every_response_does(app: TestApp) {
        let client = provider_client(&app).await;
        for version in [None, Some("0.95"), Some("1.1.0"), Some("2.0.0")] {
            let mut request = app.client.get(app.url("/xapi/statements"))
                .basic_auth(&client.client_id, Some(&client.secret));
            if let Some(version) = version {
                request = request.header("X-Experience-API-Version", version);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.headers()["x-experience-api-version"], "1.0.3");
            let (status, field) = refused_field(response).await;
            assert_eq!((status, field.as_str()), (400, "X-Experience-API-Version"), "{version:?}");
        }
        for version in ["1.0", "1.0.0", "1.0.3"] {
            let response = app.client.get(app.url("/xapi/statements"))
                .basic_auth(&client.client_id, Some(&client.secret))
                .header("X-Experience-API-Version", version)
                .send().await.unwrap();
            assert_eq!(response.status(), 200, "{version}");
            assert_eq!(response.headers()["x-experience-api-version"], "1.0.3");
        }
        let about = app.get("/xapi/about").await;
        assert_eq!(about.status(), 200);
        assert_eq!(about.headers()["x-experience-api-version"], "1.0.3");
        assert_eq!(about.json::<Value>().await.unwrap()["version"], json!(["1.0.3"]));
    }
}
