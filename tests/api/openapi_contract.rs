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
fn every_operation_declares_the_shared_4xx_its_body_parameters_and_token_can_answer() {
    let doc = document();
    for component in [
        "BadRequest",
        "Unauthorized",
        "Forbidden",
        "UnsupportedMediaType",
        "Unprocessable",
        "ContentTooLarge",
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
        if operation["requestBody"].is_object() {
            expect.push(("413", "ContentTooLarge"));
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

/// The schema a `$ref` names, or the schema itself.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// Every property an object schema documents, through `allOf`.
fn documented(doc: &Value, schema: &Value) -> Vec<(String, Value)> {
    let schema = resolve(doc, schema);
    let mut found: Vec<(String, Value)> = schema["properties"]
        .as_object()
        .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        found.extend(documented(doc, part));
    }
    found
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks `value` against `schema` as far as the document uses JSON Schema: types, enums,
/// required and documented properties, items, `allOf` and `oneOf`. Every finding names its path.
fn conform(doc: &Value, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if let Some(choices) = schema["oneOf"].as_array() {
        let fits = choices.iter().any(|choice| {
            let mut found = Vec::new();
            conform(doc, choice, value, path, &mut found);
            found.is_empty()
        });
        if !fits {
            errors.push(format!("{path}: {value} fits none of oneOf"));
        }
        return;
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let kind = kind_of(value);
    let fits = types.is_empty()
        || types.contains(&kind)
        || (kind == "integer" && types.contains(&"number"));
    if !fits {
        errors.push(format!("{path}: {kind} where the document says {types:?}"));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        errors.push(format!("{path}: {value} is not one of {allowed:?}"));
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        let part = resolve(doc, part);
        for required in part["required"].as_array().into_iter().flatten() {
            if value.get(required.as_str().unwrap_or_default()).is_none() {
                errors.push(format!("{path}: required {required} missing"));
            }
        }
    }
    if let Value::Object(fields) = value {
        let properties = documented(doc, schema);
        for required in schema["required"].as_array().into_iter().flatten() {
            if !fields.contains_key(required.as_str().unwrap_or_default()) {
                errors.push(format!("{path}: required {required} missing"));
            }
        }
        for (key, field) in fields {
            match properties.iter().find(|(name, _)| name == key) {
                Some((_, property)) => {
                    conform(doc, property, field, &format!("{path}.{key}"), errors)
                }
                None => errors.push(format!("{path}.{key}: not in the document")),
            }
        }
    }
    if let Value::Array(items) = value {
        for (i, item) in items.iter().enumerate() {
            conform(doc, &schema["items"], item, &format!("{path}[{i}]"), errors);
        }
    }
}

/// Standings with every kind of field filled: counted and ignored claims, slots filled and
/// open, per-year and per-cycle slots, minimums and caps present and absent, reasons; with
/// the dashboard's names, series and credits (of every source) beside them.
fn sample_standings() -> Vec<Value> {
    use cpe_ledger::domain::dashboard::{CreditFacts, CreditSource, dashboard};
    use cpe_ledger::domain::scheme::builtin_schemes;
    use cpe_ledger::domain::{
        Claim, CreditEntry, CreditState, CyclePeriod, StandingInput, evaluate,
    };
    use cpe_ledger::services::standing::{HoldingDashboard, HoldingStanding};
    let day = |text: &str| text.parse::<chrono::NaiveDate>().unwrap();
    let entry = |id: &str, on: &str, kind: &str, claims: &[(&str, &str)]| CreditEntry {
        id: id.to_owned(),
        completed_on: day(on),
        activity_type: kind.to_owned(),
        state: CreditState::Approved,
        claims: claims
            .iter()
            .map(|(category, points)| Claim {
                category: (*category).to_owned(),
                points: points.parse().unwrap(),
            })
            .collect(),
    };
    let schemes = builtin_schemes().unwrap();
    let scheme = |id: &str| schemes.iter().find(|s| s.id == id).unwrap();
    let cases = [
        (
            scheme("cissp"),
            CyclePeriod {
                starts_on: day("2024-01-01"),
                ends_on: day("2027-01-01"),
            },
            vec![
                entry("a", "2024-03-01", "education", &[("group_a", "12.25")]),
                entry("b", "2024-04-01", "education", &[("group_x", "3")]),
                entry("c", "2024-05-01", "unknown_kind", &[("group_a", "3")]),
            ],
            "2025-07-01",
        ),
        (
            scheme("riss"),
            CyclePeriod {
                starts_on: day("2023-04-01"),
                ends_on: day("2026-04-01"),
            },
            vec![entry("o", "2023-06-10", "ipa_online_course", &[])],
            "2025-05-01",
        ),
        (
            scheme("cisa"),
            CyclePeriod {
                starts_on: day("2024-01-01"),
                ends_on: day("2027-01-01"),
            },
            vec![entry("t", "2024-02-01", "training", &[("cpe", "8")])],
            "2027-01-10",
        ),
    ];
    cases
        .into_iter()
        .map(|(scheme, cycle, credits, as_of)| {
            let standing = evaluate(&StandingInput {
                scheme,
                cycle,
                previous_cycle: None,
                credits: &credits,
                as_of: day(as_of),
            });
            let sources = [
                CreditSource::Provider,
                CreditSource::SelfReported,
                CreditSource::Admin,
            ];
            let facts: Vec<CreditFacts> = credits
                .iter()
                .zip(sources.into_iter().cycle())
                .map(|(c, source)| CreditFacts {
                    id: c.id.clone(),
                    title: format!("course {}", c.id),
                    completed_on: c.completed_on,
                    source,
                    state: c.state,
                    claimed: c.claims.iter().map(|claim| claim.points).sum(),
                })
                .collect();
            let view = dashboard(scheme, &standing, &facts);
            serde_json::to_value(HoldingDashboard {
                holding: HoldingStanding {
                    holding_id: uuid::Uuid::nil(),
                    registration_number: "123456".to_owned(),
                    standing,
                },
                dashboard: view,
            })
            .unwrap()
        })
        .collect()
}

#[test]
fn the_standing_route_documents_the_standing_it_answers_field_by_field() {
    let doc = document();
    let schema = &doc["paths"]["/v1/me/holdings/{id}/standing"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"];
    assert_eq!(
        schema["$ref"], "#/components/schemas/HoldingDashboard",
        "not a bare JSON value: {schema}"
    );
    let reasons = &resolve(&doc, &doc["components"]["schemas"]["StandingReason"])["properties"];
    assert!(
        reasons["code"].is_object() && reasons["en"].is_object() && reasons["ja"].is_object(),
        "{reasons}"
    );
    for standing in sample_standings() {
        assert!(
            standing["reasons"]
                .as_array()
                .is_some_and(|r| !r.is_empty()),
            "samples carry reasons: {standing}"
        );
        let mut errors = Vec::new();
        conform(&doc, schema, &standing, "standing", &mut errors);
        assert!(errors.is_empty(), "{}\n{standing:#}", errors.join("\n"));
    }
}
