//! The rules, one function per kind of xAPI object, each given the JSON and the path it sits
//! at, so every refusal names the property (`context.instructor.mbox`).

use serde_json::{Map, Value};
use uuid::Uuid;

use super::agents::{actor, group};
use super::values::{
    Rule, array, at, boolean, extensions, iri, is_iso8601_duration, language_map, language_tag,
    number, object, required, string, timestamp, uuid, wrong_type,
};
use super::{Invalid, Object, Statement, VOIDED};

fn verb(value: &Value, path: &str) -> Rule<String> {
    let map = object(value, path, &["id", "display"])?;
    let id = iri(required(map, path, "id")?, &at(path, "id"))?;
    if let Some(display) = map.get("display") {
        language_map(display, &at(path, "display"))?;
    }
    Ok(id.to_owned())
}

const INTERACTION_TYPES: &[&str] = &[
    "true-false",
    "choice",
    "fill-in",
    "long-fill-in",
    "matching",
    "performance",
    "sequencing",
    "likert",
    "numeric",
    "other",
];

fn interaction_components(value: &Value, path: &str) -> Rule<()> {
    for (i, component) in array(value, path)?.iter().enumerate() {
        let path = format!("{path}[{i}]");
        let map = object(component, &path, &["id", "description"])?;
        string(required(map, &path, "id")?, &at(&path, "id"))?;
        if let Some(description) = map.get("description") {
            language_map(description, &at(&path, "description"))?;
        }
    }
    Ok(())
}

fn activity_definition(value: &Value, path: &str) -> Rule<()> {
    let map = object(
        value,
        path,
        &[
            "name",
            "description",
            "type",
            "moreInfo",
            "extensions",
            "interactionType",
            "correctResponsesPattern",
            "choices",
            "scale",
            "source",
            "target",
            "steps",
        ],
    )?;
    for key in ["name", "description"] {
        if let Some(v) = map.get(key) {
            language_map(v, &at(path, key))?;
        }
    }
    for key in ["type", "moreInfo"] {
        if let Some(v) = map.get(key) {
            iri(v, &at(path, key))?;
        }
    }
    if let Some(v) = map.get("extensions") {
        extensions(v, &at(path, "extensions"))?;
    }
    if let Some(v) = map.get("interactionType") {
        let p = at(path, "interactionType");
        let kind = string(v, &p)?;
        if !INTERACTION_TYPES.contains(&kind) {
            return Err(Invalid::new(
                p,
                format!("must be one of {}", INTERACTION_TYPES.join(", ")),
            ));
        }
    }
    if let Some(v) = map.get("correctResponsesPattern") {
        let p = at(path, "correctResponsesPattern");
        for (i, item) in array(v, &p)?.iter().enumerate() {
            string(item, &format!("{p}[{i}]"))?;
        }
    }
    for key in ["choices", "scale", "source", "target", "steps"] {
        if let Some(v) = map.get(key) {
            if !map.contains_key("interactionType") {
                return Err(Invalid::new(
                    at(path, key),
                    "interaction components need an interactionType",
                ));
            }
            interaction_components(v, &at(path, key))?;
        }
    }
    Ok(())
}

fn activity(value: &Value, path: &str) -> Rule<String> {
    let map = object(value, path, &["objectType", "id", "definition"])?;
    if let Some(kind) = map.get("objectType") {
        let p = at(path, "objectType");
        if string(kind, &p)? != "Activity" {
            return Err(Invalid::new(p, "must be \"Activity\" here"));
        }
    }
    let id = iri(required(map, path, "id")?, &at(path, "id"))?;
    if let Some(definition) = map.get("definition") {
        activity_definition(definition, &at(path, "definition"))?;
    }
    Ok(id.to_owned())
}

fn statement_ref(value: &Value, path: &str) -> Rule<Uuid> {
    let map = object(value, path, &["objectType", "id"])?;
    let kind = string(required(map, path, "objectType")?, &at(path, "objectType"))?;
    if kind != "StatementRef" {
        return Err(Invalid::new(
            at(path, "objectType"),
            "must be \"StatementRef\"",
        ));
    }
    uuid(required(map, path, "id")?, &at(path, "id"))
}

fn object_of(value: &Value, path: &str, inside_sub_statement: bool) -> Rule<Object> {
    let kind = match value.get("objectType") {
        None => "Activity",
        Some(kind) => string(kind, &at(path, "objectType"))?,
    };
    match kind {
        "Activity" => Ok(Object::Activity {
            id: activity(value, path)?,
        }),
        "Agent" | "Group" => Ok(Object::Agent(actor(value, path)?)),
        "StatementRef" => Ok(Object::StatementRef {
            id: statement_ref(value, path)?,
        }),
        "SubStatement" if inside_sub_statement => Err(Invalid::new(
            at(path, "objectType"),
            "a SubStatement cannot hold another SubStatement",
        )),
        "SubStatement" => {
            sub_statement(value, path)?;
            Ok(Object::SubStatement)
        }
        other => Err(Invalid::new(
            at(path, "objectType"),
            format!("must be Activity, Agent, Group, StatementRef or SubStatement, not {other:?}"),
        )),
    }
}

fn score(value: &Value, path: &str) -> Rule<()> {
    let map = object(value, path, &["scaled", "raw", "min", "max"])?;
    let get = |key: &str| map.get(key).map(|v| number(v, &at(path, key))).transpose();
    let (scaled, raw, min, max) = (get("scaled")?, get("raw")?, get("min")?, get("max")?);
    if let Some(scaled) = scaled
        && !(-1.0..=1.0).contains(&scaled)
    {
        return Err(Invalid::new(at(path, "scaled"), "must be from -1 to 1"));
    }
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        return Err(Invalid::new(at(path, "min"), "must not exceed max"));
    }
    if let Some(raw) = raw {
        if min.is_some_and(|min| raw < min) {
            return Err(Invalid::new(at(path, "raw"), "must not be below min"));
        }
        if max.is_some_and(|max| raw > max) {
            return Err(Invalid::new(at(path, "raw"), "must not exceed max"));
        }
    }
    Ok(())
}

fn result(value: &Value, path: &str) -> Rule<()> {
    let map = object(
        value,
        path,
        &[
            "score",
            "success",
            "completion",
            "response",
            "duration",
            "extensions",
        ],
    )?;
    if let Some(v) = map.get("score") {
        score(v, &at(path, "score"))?;
    }
    for key in ["success", "completion"] {
        if let Some(v) = map.get(key) {
            boolean(v, &at(path, key))?;
        }
    }
    if let Some(v) = map.get("response") {
        string(v, &at(path, "response"))?;
    }
    if let Some(v) = map.get("duration") {
        let p = at(path, "duration");
        if !is_iso8601_duration(string(v, &p)?) {
            return Err(Invalid::new(
                p,
                "is not an ISO 8601 duration such as PT1H30M",
            ));
        }
    }
    if let Some(v) = map.get("extensions") {
        extensions(v, &at(path, "extensions"))?;
    }
    Ok(())
}

/// Checks a context and returns it with each `contextActivities` entry made an array.
fn context(value: &Value, path: &str, object_is_activity: bool) -> Rule<(Value, Option<Uuid>)> {
    let map = object(
        value,
        path,
        &[
            "registration",
            "instructor",
            "team",
            "contextActivities",
            "revision",
            "platform",
            "language",
            "statement",
            "extensions",
        ],
    )?;
    let registration = map
        .get("registration")
        .map(|v| uuid(v, &at(path, "registration")))
        .transpose()?;
    if let Some(v) = map.get("instructor") {
        actor(v, &at(path, "instructor"))?;
    }
    if let Some(v) = map.get("team") {
        let p = at(path, "team");
        if v.get("objectType").and_then(Value::as_str) != Some("Group") {
            return Err(Invalid::new(p, "must be a Group (objectType \"Group\")"));
        }
        group(v, &p)?;
    }
    for key in ["revision", "platform"] {
        if let Some(v) = map.get(key) {
            string(v, &at(path, key))?;
            if !object_is_activity {
                return Err(Invalid::new(
                    at(path, key),
                    "is only allowed when the statement's object is an Activity",
                ));
            }
        }
    }
    if let Some(v) = map.get("language") {
        let p = at(path, "language");
        language_tag(string(v, &p)?, &p)?;
    }
    if let Some(v) = map.get("statement") {
        statement_ref(v, &at(path, "statement"))?;
    }
    if let Some(v) = map.get("extensions") {
        extensions(v, &at(path, "extensions"))?;
    }
    let mut normalised = map.clone();
    if let Some(v) = map.get("contextActivities") {
        let p = at(path, "contextActivities");
        let activities = object(v, &p, &["parent", "grouping", "category", "other"])?;
        let mut arrays = Map::new();
        for (key, entry) in activities {
            let p = at(&p, key);
            let list = match entry {
                Value::Array(list) => {
                    for (i, item) in list.iter().enumerate() {
                        activity(item, &format!("{p}[{i}]"))?;
                    }
                    list.clone()
                }
                single => {
                    activity(single, &p)?;
                    vec![single.clone()]
                }
            };
            arrays.insert(key.clone(), Value::Array(list));
        }
        normalised.insert("contextActivities".to_owned(), Value::Object(arrays));
    }
    Ok((Value::Object(normalised), registration))
}

fn attachments(value: &Value, path: &str) -> Rule<()> {
    for (i, item) in array(value, path)?.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let map = object(
            item,
            &p,
            &[
                "usageType",
                "display",
                "description",
                "contentType",
                "length",
                "sha2",
                "fileUrl",
            ],
        )?;
        iri(required(map, &p, "usageType")?, &at(&p, "usageType"))?;
        language_map(required(map, &p, "display")?, &at(&p, "display"))?;
        if let Some(v) = map.get("description") {
            language_map(v, &at(&p, "description"))?;
        }
        string(required(map, &p, "contentType")?, &at(&p, "contentType"))?;
        let length = required(map, &p, "length")?;
        if length.as_u64().is_none() {
            return Err(wrong_type(
                length,
                &at(&p, "length"),
                "a non-negative integer",
            ));
        }
        string(required(map, &p, "sha2")?, &at(&p, "sha2"))?;
        match map.get("fileUrl") {
            Some(v) => {
                iri(v, &at(&p, "fileUrl"))?;
            }
            None => {
                return Err(Invalid::new(
                    at(&p, "fileUrl"),
                    "this LRS takes attachments by fileUrl only; multipart/mixed bodies are not supported",
                ));
            }
        }
    }
    Ok(())
}

const SUB_STATEMENT_KEYS: &[&str] = &[
    "objectType",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "attachments",
];

fn sub_statement(value: &Value, path: &str) -> Rule<()> {
    let map = object(value, path, SUB_STATEMENT_KEYS)?;
    actor(required(map, path, "actor")?, &at(path, "actor"))?;
    verb(required(map, path, "verb")?, &at(path, "verb"))?;
    let object = object_of(required(map, path, "object")?, &at(path, "object"), true)?;
    if let Some(v) = map.get("result") {
        result(v, &at(path, "result"))?;
    }
    if let Some(v) = map.get("context") {
        context(
            v,
            &at(path, "context"),
            matches!(object, Object::Activity { .. }),
        )?;
    }
    if let Some(v) = map.get("timestamp") {
        timestamp(v, &at(path, "timestamp"))?;
    }
    if let Some(v) = map.get("attachments") {
        attachments(v, &at(path, "attachments"))?;
    }
    Ok(())
}

const STATEMENT_KEYS: &[&str] = &[
    "id",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "stored",
    "authority",
    "version",
    "attachments",
];

pub(super) fn statement(value: &Value) -> Rule<Statement> {
    let map = object(value, "", STATEMENT_KEYS)?;
    let id = map.get("id").map(|v| uuid(v, "id")).transpose()?;
    let actor = actor(required(map, "", "actor")?, "actor")?;
    let verb_id = verb(required(map, "", "verb")?, "verb")?;
    let object = object_of(required(map, "", "object")?, "object", false)?;
    if verb_id == VOIDED && !matches!(object, Object::StatementRef { .. }) {
        return Err(Invalid::new(
            "object",
            "a voiding statement's object must be a StatementRef naming the statement it voids",
        ));
    }
    let mut body = map.clone();
    if let Some(v) = map.get("result") {
        result(v, "result")?;
    }
    let mut registration = None;
    if let Some(v) = map.get("context") {
        let (normalised, found) = context(v, "context", matches!(object, Object::Activity { .. }))?;
        registration = found;
        body.insert("context".to_owned(), normalised);
    }
    let timestamp = map
        .get("timestamp")
        .map(|v| timestamp(v, "timestamp"))
        .transpose()?;
    if let Some(v) = map.get("stored") {
        self::timestamp(v, "stored")?;
    }
    if let Some(v) = map.get("authority") {
        self::actor(v, "authority")?;
    }
    if let Some(v) = map.get("version") {
        let text = string(v, "version")?;
        let ok = text == "1.0"
            || text.strip_prefix("1.0.").is_some_and(|patch| {
                !patch.is_empty() && patch.bytes().all(|b| b.is_ascii_digit())
            });
        if !ok {
            return Err(Invalid::new(
                "version",
                format!("{text:?} is not a 1.0.x version this LRS speaks"),
            ));
        }
    }
    if let Some(v) = map.get("attachments") {
        attachments(v, "attachments")?;
    }
    Ok(Statement {
        id,
        actor,
        verb_id,
        object,
        registration,
        timestamp,
        body,
    })
}
