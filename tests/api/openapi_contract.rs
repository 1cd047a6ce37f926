//! The document promises what the extractors answer: the shared 4xx responses are declared once
//! and every operation they apply to refers to them. (schemathesis in `.ci/run` checks the
//! document against the running server; this keeps the rule visible to a plain `cargo test`.)

use serde_json::Value;

fn document() -> Value {
    serde_json::to_value(cpe_ledger::http::openapi()).unwrap()
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if matches!(method.as_str(), "get" | "post" | "put" | "patch" | "delete") {
                all.push((method.to_uppercase(), path.clone(), operation.clone()));
            }
        }
    }
    all
}

fn refers_to(operation: &Value, status: &str, component: &str) -> bool {
    let shared = format!("#/components/responses/{component}");
    operation["responses"][status]["$ref"].as_str() == Some(shared.as_str())
        || operation["responses"][status]["content"]["application/problem+json"].is_object()
}

#[test]
fn every_json_route_declares_400_415_and_422_and_every_protected_route_401_403_and_429() {
    let doc = document();
    for component in [
        "BadRequest",
        "Unauthorized",
        "Forbidden",
        "UnsupportedMediaType",
        "Unprocessable",
        "TooManyRequests",
    ] {
        assert_eq!(
            doc["components"]["responses"][component]["content"]["application/problem+json"]["schema"]
                ["$ref"],
            "#/components/schemas/Problem",
            "{component} is declared once, as problem+json"
        );
    }
    let mut missing = Vec::new();
    let mut json_routes = 0;
    let mut protected_routes = 0;
    for (method, path, operation) in operations(&doc) {
        let mut expect = Vec::new();
        if operation["requestBody"]["content"]["application/json"].is_object() {
            json_routes += 1;
            expect.extend([
                ("400", "BadRequest"),
                ("415", "UnsupportedMediaType"),
                ("422", "Unprocessable"),
            ]);
        }
        let security = operation["security"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let anonymous_allowed = security
            .iter()
            .any(|r| r.as_object().is_some_and(|o| o.is_empty()));
        if security.iter().any(|r| r.get("bearer").is_some()) && !anonymous_allowed {
            protected_routes += 1;
            expect.extend([
                ("401", "Unauthorized"),
                ("403", "Forbidden"),
                ("429", "TooManyRequests"),
            ]);
        }
        for (status, component) in expect {
            if !refers_to(&operation, status, component) {
                missing.push(format!("{method} {path} does not declare {status}"));
            }
        }
    }
    assert!(
        json_routes >= 4 && protected_routes >= 10,
        "{json_routes} {protected_routes}"
    );
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn the_holding_standing_route_declares_401_for_a_missing_token() {
    let doc = document();
    let operation = &doc["paths"]["/v1/me/holdings/{id}/standing"]["get"];
    assert_eq!(
        operation["responses"]["401"]["$ref"],
        "#/components/responses/Unauthorized"
    );
}

#[test]
fn sign_up_documents_the_email_and_password_rules_it_enforces() {
    let doc = document();
    let signup = &doc["components"]["schemas"]["SignupRequest"]["properties"];
    assert_eq!(signup["email"]["minLength"], 1);
    assert_eq!(signup["email"]["format"], "email");
    assert_eq!(
        signup["password"]["minLength"],
        cpe_ledger::auth::password::MIN_PASSWORD_LENGTH
    );
}
