//! Every refusal is a passing control statement changed in one way only.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use serde_json::{Value, json};

use super::*;

fn control() -> Value {
    json!({
        "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
        "actor": {"objectType": "Agent", "name": "Hanako", "mbox": "mailto:hanako@example.jp"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attended", "display": {"en-US": "attended", "ja": "出席した"}},
        "object": {
            "objectType": "Activity",
            "id": "https://lms.example.org/courses/IR-101",
            "definition": {"name": {"en": "Incident response"}, "type": "http://adlnet.gov/expapi/activities/course"}
        },
        "result": {"completion": true, "duration": "PT8H", "score": {"scaled": 0.9, "raw": 90, "min": 0, "max": 100},
                   "extensions": {"https://cpe-ledger.example/xapi/points": null}},
        "context": {
            "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
            "contextActivities": {"parent": {"id": "https://lms.example.org/programmes/sec"}},
            "language": "ja-JP",
            "platform": "Example LMS"
        },
        "timestamp": "2026-05-10T17:00:00+09:00"
    })
}

/// The control with the value at `pointer` replaced (or removed, for `None`).
fn variant(pointer: &str, value: Option<Value>) -> Value {
    let mut statement = control();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = statement.pointer_mut(parent).unwrap();
    match (target, value) {
        (Value::Object(map), Some(v)) => {
            map.insert(key.to_owned(), v);
        }
        (Value::Object(map), None) => {
            map.remove(key);
        }
        (other, _) => panic!("{pointer} is not inside an object: {other}"),
    }
    statement
}

#[test]
fn the_control_statement_passes_and_its_facts_are_read() {
    let statement = parse_statement(&control()).unwrap();
    assert_eq!(
        statement.actor,
        Actor::Agent(Identifier::Mbox("mailto:hanako@example.jp".into()))
    );
    assert_eq!(statement.verb_id, "http://adlnet.gov/expapi/verbs/attended");
    assert_eq!(
        statement.activity_id(),
        Some("https://lms.example.org/courses/IR-101")
    );
    assert!(statement.reports_completion());
    assert_eq!(
        statement.registration.map(|r| r.to_string()).as_deref(),
        Some("ec531277-b57b-4c15-8d91-d292c5b2b8f7")
    );
    assert_eq!(statement.voids(), None);
}

#[test]
fn context_activities_are_returned_as_arrays() {
    let statement = parse_statement(&control()).unwrap();
    assert_eq!(
        statement.body["context"]["contextActivities"]["parent"],
        json!([{"id": "https://lms.example.org/programmes/sec"}])
    );
}

#[test]
fn each_broken_rule_is_refused_naming_its_property() {
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "a null property",
            variant("/result/success", Some(Value::Null)),
            "result.success",
        ),
        (
            "a null nested in the actor",
            variant("/actor/name", Some(Value::Null)),
            "actor.name",
        ),
        (
            "an unknown top-level property",
            variant("/colour", Some(json!("red"))),
            "colour",
        ),
        (
            "a property in the wrong case",
            variant("/Verb", Some(json!({"id": "http://x.org/v"}))),
            "Verb",
        ),
        (
            "a verb id that is not an IRI",
            variant("/verb/id", Some(json!("attended"))),
            "verb.id",
        ),
        (
            "an IRI with a space",
            variant("/object/id", Some(json!("http://x.org/a b"))),
            "object.id",
        ),
        (
            "an id that is not a UUID",
            variant("/id", Some(json!("not-a-uuid"))),
            "id",
        ),
        (
            "a UUID without hyphens",
            variant("/id", Some(json!("fd41c918b88b4b20a0a5a4c32391aaa0"))),
            "id",
        ),
        (
            "a registration that is a number",
            variant("/context/registration", Some(json!(7))),
            "context.registration",
        ),
        (
            "a language map with a bad tag",
            variant("/verb/display", Some(json!({"not a tag": "x"}))),
            "verb.display.not a tag",
        ),
        (
            "a language map that is a string",
            variant("/verb/display", Some(json!("attended"))),
            "verb.display",
        ),
        (
            "an mbox without mailto:",
            variant("/actor/mbox", Some(json!("hanako@example.jp"))),
            "actor.mbox",
        ),
        (
            "an mbox that is no address",
            variant("/actor/mbox", Some(json!("mailto:hanako"))),
            "actor.mbox",
        ),
        (
            "two identifiers",
            variant("/actor/openid", Some(json!("http://openid.example.org/h"))),
            "actor",
        ),
        ("no identifier", variant("/actor/mbox", None), "actor"),
        (
            "a short sha1 sum",
            {
                let mut s = variant("/actor/mbox", None);
                s["actor"]["mbox_sha1sum"] = json!("abc123");
                s
            },
            "actor.mbox_sha1sum",
        ),
        (
            "an account without a name",
            {
                let mut s = variant("/actor/mbox", None);
                s["actor"]["account"] = json!({"homePage": "https://ledger.example"});
                s
            },
            "actor.account.name",
        ),
        (
            "an unknown objectType for the actor",
            variant("/actor/objectType", Some(json!("Person"))),
            "actor.objectType",
        ),
        (
            "a bad duration",
            variant("/result/duration", Some(json!("8 hours"))),
            "result.duration",
        ),
        (
            "a duration with T and nothing after",
            variant("/result/duration", Some(json!("P1DT"))),
            "result.duration",
        ),
        (
            "a scaled score above 1",
            variant("/result/score/scaled", Some(json!(1.5))),
            "result.score.scaled",
        ),
        (
            "a raw score above max",
            variant("/result/score/raw", Some(json!(101))),
            "result.score.raw",
        ),
        (
            "a timestamp without an offset",
            variant("/timestamp", Some(json!("2026-05-10T17:00:00"))),
            "timestamp",
        ),
        (
            "a timestamp offset -00:00",
            variant("/timestamp", Some(json!("2026-05-10T17:00:00-00:00"))),
            "timestamp",
        ),
        (
            "a boolean given as a string",
            variant("/result/completion", Some(json!("true"))),
            "result.completion",
        ),
        ("a verb without an id", variant("/verb/id", None), "verb.id"),
        ("no object", variant("/object", None), "object"),
        (
            "an extension key that is not an IRI",
            variant("/result/extensions", Some(json!({"points": 1}))),
            "result.extensions.points",
        ),
        (
            "a version this LRS does not speak",
            variant("/version", Some(json!("2.0.0"))),
            "version",
        ),
        (
            "a bad interaction type",
            variant("/object/definition/interactionType", Some(json!("essay"))),
            "object.definition.interactionType",
        ),
        (
            "a team that is not a Group",
            variant(
                "/context/team",
                Some(json!({"mbox": "mailto:a@example.org"})),
            ),
            "context.team",
        ),
        (
            "an attachment sent without fileUrl",
            variant(
                "/attachments",
                Some(json!([{
                    "usageType": "http://id.tincanapi.com/attachment/certificate-of-completion",
                    "display": {"en": "certificate"}, "contentType": "application/pdf", "length": 10, "sha2": "ab"
                }])),
            ),
            "attachments[0].fileUrl",
        ),
    ];
    for (case, statement, field) in cases {
        match parse_statement(&statement) {
            Ok(_) => panic!("{case}: accepted"),
            Err(e) => assert_eq!(e.field, field, "{case}: {}", e.message),
        }
    }
}

#[test]
fn a_voiding_statement_must_point_at_a_statement() {
    let mut voiding = control();
    voiding["verb"] = json!({"id": VOIDED});
    let refused = parse_statement(&voiding).unwrap_err();
    assert_eq!(refused.field, "object");

    voiding["object"] =
        json!({"objectType": "StatementRef", "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0"});
    voiding["context"]
        .as_object_mut()
        .unwrap()
        .remove("platform");
    let statement = parse_statement(&voiding).unwrap();
    assert_eq!(
        statement.voids().map(|id| id.to_string()).as_deref(),
        Some("fd41c918-b88b-4b20-a0a5-a4c32391aaa0")
    );
}

#[test]
fn platform_is_refused_when_the_object_is_not_an_activity() {
    let statement = variant(
        "/object",
        Some(json!({"objectType": "Agent", "mbox": "mailto:b@example.org"})),
    );
    assert_eq!(
        parse_statement(&statement).unwrap_err().field,
        "context.platform"
    );
}

#[test]
fn groups_need_an_identifier_or_members_and_members_are_agents() {
    let anonymous = variant("/actor", Some(json!({"objectType": "Group"})));
    assert_eq!(
        parse_statement(&anonymous).unwrap_err().field,
        "actor.member"
    );
    let nested = variant(
        "/actor",
        Some(
            json!({"objectType": "Group", "member": [{"objectType": "Group", "mbox": "mailto:g@example.org"}]}),
        ),
    );
    assert_eq!(
        parse_statement(&nested).unwrap_err().field,
        "actor.member[0]"
    );
    let fine = variant(
        "/actor",
        Some(json!({"objectType": "Group", "member": [{"mbox": "mailto:a@example.org"}]})),
    );
    assert!(parse_statement(&fine).is_ok());
}

#[test]
fn a_batch_names_the_index_of_the_bad_statement() {
    let batch = json!([control(), variant("/verb/id", Some(json!("x")))]);
    let refused = parse_statements(&batch).unwrap_err();
    assert_eq!(refused.field, "[1].verb.id");
    assert_eq!(parse_statements(&json!([])).unwrap_err().field, "body");
    assert_eq!(parse_statements(&json!("x")).unwrap_err().field, "body");
    assert_eq!(parse_statements(&control()).unwrap().len(), 1);
}

#[test]
fn iso8601_durations_are_read_by_their_grammar() {
    for good in [
        "PT8H",
        "P1D",
        "P1Y2M3DT4H5M6.5S",
        "PT0.25S",
        "P2W",
        "PT1H30M",
    ] {
        assert!(is_iso8601_duration(good), "{good}");
    }
    for bad in [
        "", "P", "PT", "8H", "PT1.5H", "P1H", "PT1S2M", "P1DT", "PT1..5S", "P-1D",
    ] {
        assert!(!is_iso8601_duration(bad), "{bad}");
    }
}

#[test]
fn the_agent_filter_reads_an_identifier() {
    assert_eq!(
        parse_agent_filter(r#"{"mbox":"mailto:hanako@example.jp"}"#)
            .unwrap()
            .key(),
        "mbox mailto:hanako@example.jp"
    );
    assert_eq!(
        parse_agent_filter(r#"{"account":{"homePage":"https://l.example","name":"cissp:1"}}"#)
            .unwrap()
            .key(),
        "account https://l.example cissp:1"
    );
    assert_eq!(parse_agent_filter("{").unwrap_err().field, "agent");
    assert_eq!(parse_agent_filter("{}").unwrap_err().field, "agent");
}

#[test]
fn the_ids_format_keeps_only_identifiers() {
    let statement = parse_statement(&control()).unwrap();
    let ids = ids_only(&Value::Object(statement.body));
    assert_eq!(
        ids["actor"],
        json!({"objectType": "Agent", "mbox": "mailto:hanako@example.jp"})
    );
    assert_eq!(
        ids["verb"],
        json!({"id": "http://adlnet.gov/expapi/verbs/attended"})
    );
    assert_eq!(
        ids["object"],
        json!({"objectType": "Activity", "id": "https://lms.example.org/courses/IR-101"})
    );
    assert_eq!(ids["result"], control()["result"]);
}

#[test]
fn the_canonical_format_keeps_the_preferred_language() {
    let statement = parse_statement(&control()).unwrap();
    let body = Value::Object(statement.body);
    let japanese = canonical(&body, &["ja".to_owned()]);
    assert_eq!(japanese["verb"]["display"], json!({"ja": "出席した"}));
    let none = canonical(&body, &[]);
    assert_eq!(none["verb"]["display"], json!({"en-US": "attended"}));
    assert_eq!(
        none["result"]["extensions"],
        json!({"https://cpe-ledger.example/xapi/points": null})
    );
}
