//! The `format` parameter of `GET /statements` (Communication §2.1.3): `exact` returns a
//! statement as stored; `ids` keeps only what identifies each Agent, Group, Activity and Verb;
//! `canonical` keeps one language per language map, the one the caller prefers.

use serde_json::{Map, Value};

use super::Invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    Ids,
    #[default]
    Exact,
    Canonical,
}

impl Format {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        match text {
            "ids" => Ok(Format::Ids),
            "exact" => Ok(Format::Exact),
            "canonical" => Ok(Format::Canonical),
            _ => Err(Invalid::new(
                "format",
                "must be \"ids\", \"exact\" or \"canonical\"",
            )),
        }
    }
}

const IDENTIFIER_KEYS: [&str; 4] = ["mbox", "mbox_sha1sum", "openid", "account"];

fn pick(map: &Map<String, Value>, keys: &[&str]) -> Map<String, Value> {
    keys.iter()
        .filter_map(|k| map.get(*k).map(|v| ((*k).to_owned(), v.clone())))
        .collect()
}

fn agent_or_group_ids(value: &Value) -> Value {
    let Value::Object(map) = value else {
        return value.clone();
    };
    let mut out = pick(map, &["objectType"]);
    out.extend(pick(map, &IDENTIFIER_KEYS));
    if let Some(Value::Array(members)) = map.get("member") {
        out.insert(
            "member".to_owned(),
            Value::Array(members.iter().map(agent_or_group_ids).collect()),
        );
    }
    Value::Object(out)
}

fn object_ids(value: &Value) -> Value {
    let Value::Object(map) = value else {
        return value.clone();
    };
    match map.get("objectType").and_then(Value::as_str) {
        Some("Agent" | "Group") => agent_or_group_ids(value),
        Some("SubStatement") => statement_ids(value),
        Some("StatementRef") => value.clone(),
        _ => Value::Object(pick(map, &["objectType", "id"])),
    }
}

fn context_ids(value: &Value) -> Value {
    let Value::Object(map) = value else {
        return value.clone();
    };
    let mut out = map.clone();
    for key in ["instructor", "team"] {
        if let Some(v) = map.get(key) {
            out.insert(key.to_owned(), agent_or_group_ids(v));
        }
    }
    if let Some(Value::Object(activities)) = map.get("contextActivities") {
        let lists = activities
            .iter()
            .map(|(k, v)| {
                let list = match v {
                    Value::Array(items) => items.iter().map(object_ids).collect(),
                    single => vec![object_ids(single)],
                };
                (k.clone(), Value::Array(list))
            })
            .collect();
        out.insert("contextActivities".to_owned(), Value::Object(lists));
    }
    Value::Object(out)
}

fn statement_ids(value: &Value) -> Value {
    let Value::Object(map) = value else {
        return value.clone();
    };
    let mut out = map.clone();
    for key in ["actor", "authority"] {
        if let Some(v) = map.get(key) {
            out.insert(key.to_owned(), agent_or_group_ids(v));
        }
    }
    if let Some(Value::Object(verb)) = map.get("verb") {
        out.insert("verb".to_owned(), Value::Object(pick(verb, &["id"])));
    }
    if let Some(v) = map.get("object") {
        out.insert("object".to_owned(), object_ids(v));
    }
    if let Some(v) = map.get("context") {
        out.insert("context".to_owned(), context_ids(v));
    }
    Value::Object(out)
}

/// The statement in the `ids` format.
pub fn ids_only(statement: &Value) -> Value {
    statement_ids(statement)
}

/// Whether `value` is a language map (every key a language tag, every value a string).
fn is_language_map(value: &Map<String, Value>) -> bool {
    !value.is_empty()
        && value
            .iter()
            .all(|(tag, text)| text.is_string() && language_tags::LanguageTag::parse(tag).is_ok())
}

/// The entry of a language map the caller prefers: the first of `preferred` (language ranges
/// from `Accept-Language`, best first) that matches a tag exactly or as its prefix, else the
/// map's first entry.
fn choose(map: &Map<String, Value>, preferred: &[String]) -> Map<String, Value> {
    let matches = |range: &str, tag: &str| {
        let (range, tag) = (range.to_ascii_lowercase(), tag.to_ascii_lowercase());
        tag == range || tag.starts_with(&format!("{range}-"))
    };
    let chosen = preferred
        .iter()
        .find_map(|range| map.iter().find(|(tag, _)| matches(range, tag)))
        .or_else(|| map.iter().next());
    chosen
        .map(|(k, v)| Map::from_iter([(k.clone(), v.clone())]))
        .unwrap_or_default()
}

fn canonical_in(value: &Value, preferred: &[String]) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, v)| {
                    let v = match v {
                        // An extension's content is not ours to rewrite.
                        _ if key == "extensions" => v.clone(),
                        Value::Object(inner)
                            if matches!(key.as_str(), "display" | "name" | "description")
                                && is_language_map(inner) =>
                        {
                            Value::Object(choose(inner, preferred))
                        }
                        other => canonical_in(other, preferred),
                    };
                    (key.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| canonical_in(item, preferred))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The statement in the `canonical` format, for a caller whose `Accept-Language` lists
/// `preferred` (best first).
pub fn canonical(statement: &Value, preferred: &[String]) -> Value {
    canonical_in(statement, preferred)
}
