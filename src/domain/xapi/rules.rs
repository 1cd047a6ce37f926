//! The rules, one function per kind of xAPI object, each given the JSON and the path it sits
//! at, so every refusal names the property (`context.instructor.mbox`).

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{Actor, Identifier, Invalid, Object, Statement, VOIDED};
use crate::domain::EmailAddress;

type Rule<T> = Result<T, Invalid>;

fn at(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong_type(value: &Value, path: &str, expected: &str) -> Invalid {
    if value.is_null() {
        Invalid::new(path, "must not be null")
    } else {
        Invalid::new(path, format!("must be {expected}, not {}", describe(value)))
    }
}

/// An object whose properties are all among `allowed` (property names are case-sensitive, so
/// `Actor` for `actor` is refused here) and none of them `null`.
fn object<'a>(value: &'a Value, path: &str, allowed: &[&str]) -> Rule<&'a Map<String, Value>> {
    let Value::Object(map) = value else {
        return Err(wrong_type(value, path, "an object"));
    };
    for (key, item) in map {
        if !allowed.contains(&key.as_str()) {
            return Err(Invalid::new(
                at(path, key),
                format!(
                    "is not a property here (allowed: {}); names are case-sensitive",
                    allowed.join(", ")
                ),
            ));
        }
        if item.is_null() {
            return Err(Invalid::new(at(path, key), "must not be null"));
        }
    }
    Ok(map)
}

fn required<'a>(map: &'a Map<String, Value>, path: &str, key: &str) -> Rule<&'a Value> {
    map.get(key)
        .ok_or_else(|| Invalid::new(at(path, key), "is required"))
}

pub(super) fn string<'a>(value: &'a Value, path: &str) -> Rule<&'a str> {
    value
        .as_str()
        .ok_or_else(|| wrong_type(value, path, "a string"))
}

fn boolean(value: &Value, path: &str) -> Rule<bool> {
    value
        .as_bool()
        .ok_or_else(|| wrong_type(value, path, "a boolean"))
}

fn number(value: &Value, path: &str) -> Rule<f64> {
    value
        .as_f64()
        .ok_or_else(|| wrong_type(value, path, "a number"))
}

fn array<'a>(value: &'a Value, path: &str) -> Rule<&'a Vec<Value>> {
    value
        .as_array()
        .ok_or_else(|| wrong_type(value, path, "an array"))
}

/// An absolute IRI (RFC 3987): a scheme, then no spaces or other characters an IRI forbids.
pub(super) fn iri<'a>(value: &'a Value, path: &str) -> Rule<&'a str> {
    let text = string(value, path)?;
    iri_string::types::IriStr::new(text)
        .map(|_| text)
        .map_err(|_| {
            Invalid::new(
                path,
                format!("{text:?} is not an absolute IRI (RFC 3987), e.g. http://example.org/x"),
            )
        })
}

/// A UUID in the hyphenated form RFC 4122 writes (`xxxxxxxx-xxxx-…`), any letter case.
pub(super) fn uuid(value: &Value, path: &str) -> Rule<Uuid> {
    let text = string(value, path)?;
    let hyphenated = text.len() == 36 && text.as_bytes()[8] == b'-';
    match Uuid::try_parse(text) {
        Ok(id) if hyphenated => Ok(id),
        _ => Err(Invalid::new(
            path,
            format!("{text:?} is not a UUID in hyphenated form"),
        )),
    }
}

fn language_tag(text: &str, path: &str) -> Rule<()> {
    language_tags::LanguageTag::parse(text)
        .map(|_| ())
        .map_err(|e| {
            Invalid::new(
                path,
                format!("{text:?} is not an RFC 5646 language tag ({e})"),
            )
        })
}

/// A language map: RFC 5646 tags to strings.
fn language_map(value: &Value, path: &str) -> Rule<()> {
    let Value::Object(map) = value else {
        return Err(wrong_type(value, path, "a language map (an object)"));
    };
    for (tag, text) in map {
        language_tag(tag, &at(path, tag))?;
        string(text, &at(path, tag))?;
    }
    Ok(())
}

/// An RFC 3339 date-time with an offset (the profile of ISO 8601 xAPI clients send). The
/// offset `-00:00` (an unknown local offset) is refused, as xAPI 1.0.3 asks.
pub(super) fn timestamp(value: &Value, path: &str) -> Rule<DateTime<FixedOffset>> {
    let text = string(value, path)?;
    if text.ends_with("-00:00") || text.ends_with("-0000") || text.ends_with("-00") {
        return Err(Invalid::new(
            path,
            "the offset -00:00 is not allowed; give the real offset or Z",
        ));
    }
    DateTime::parse_from_rfc3339(text).map_err(|_| {
        Invalid::new(
            path,
            format!("{text:?} is not an ISO 8601 timestamp such as 2026-05-10T09:00:00+09:00"),
        )
    })
}

/// `PnYnMnDTnHnMnS` (or `PnW`), each part optional but at least one present, a fraction only
/// on the last (seconds) part, and `T` only before a time part.
pub fn is_iso8601_duration(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('P') else {
        return false;
    };
    let (date, time) = match rest.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (rest, None),
    };
    fn parts(text: &str, designators: &[char], fraction_on: Option<char>) -> Option<usize> {
        let mut count = 0;
        let mut next = 0;
        let mut number = String::new();
        for c in text.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
                continue;
            }
            let position = designators[next..].iter().position(|d| *d == c)? + next;
            let valid = match number.split_once('.') {
                None => !number.is_empty(),
                Some((whole, fraction)) => {
                    Some(c) == fraction_on
                        && !whole.is_empty()
                        && !fraction.is_empty()
                        && !fraction.contains('.')
                }
            };
            if !valid {
                return None;
            }
            number.clear();
            next = position + 1;
            count += 1;
        }
        number.is_empty().then_some(count)
    }
    let Some(date_parts) = parts(date, &['Y', 'M', 'W', 'D'], None) else {
        return false;
    };
    let time_parts = match time {
        None => 0,
        Some(time) => match parts(time, &['H', 'M', 'S'], Some('S')) {
            Some(0) | None => return false,
            Some(n) => n,
        },
    };
    date_parts + time_parts > 0
}

const AGENT_KEYS: &[&str] = &[
    "objectType",
    "name",
    "mbox",
    "mbox_sha1sum",
    "openid",
    "account",
];
const GROUP_KEYS: &[&str] = &[
    "objectType",
    "name",
    "member",
    "mbox",
    "mbox_sha1sum",
    "openid",
    "account",
];

/// The inverse functional identifiers present on an Agent or Group: none, one, or (refused by
/// the caller where it matters) several.
fn identifiers(map: &Map<String, Value>, path: &str) -> Rule<Vec<Identifier>> {
    let mut found = Vec::new();
    if let Some(value) = map.get("mbox") {
        let path = at(path, "mbox");
        let text = string(value, &path)?;
        let address = text.strip_prefix("mailto:").ok_or_else(|| {
            Invalid::new(&path, "must be a mailto: IRI (mailto:name@example.org)")
        })?;
        EmailAddress::parse(address)
            .map_err(|e| Invalid::new(&path, format!("is not a mailto: address: {e}")))?;
        if address.trim() != address {
            return Err(Invalid::new(&path, "must not hold spaces"));
        }
        found.push(Identifier::Mbox(text.to_owned()));
    }
    if let Some(value) = map.get("mbox_sha1sum") {
        let path = at(path, "mbox_sha1sum");
        let text = string(value, &path)?;
        if text.len() != 40 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Invalid::new(
                &path,
                "must be the 40 hex digits of a SHA-1 sum",
            ));
        }
        found.push(Identifier::MboxSha1(text.to_ascii_lowercase()));
    }
    if let Some(value) = map.get("openid") {
        let path = at(path, "openid");
        found.push(Identifier::OpenId(iri(value, &path)?.to_owned()));
    }
    if let Some(value) = map.get("account") {
        let path = at(path, "account");
        let account = object(value, &path, &["homePage", "name"])?;
        let home_page = iri(
            required(account, &path, "homePage")?,
            &at(&path, "homePage"),
        )?;
        let name = string(required(account, &path, "name")?, &at(&path, "name"))?;
        found.push(Identifier::Account {
            home_page: home_page.to_owned(),
            name: name.to_owned(),
        });
    }
    Ok(found)
}

fn agent(value: &Value, path: &str) -> Rule<Identifier> {
    let map = object(value, path, AGENT_KEYS)?;
    if let Some(kind) = map.get("objectType") {
        let path = at(path, "objectType");
        if string(kind, &path)? != "Agent" {
            return Err(Invalid::new(path, "must be \"Agent\" here"));
        }
    }
    if let Some(name) = map.get("name") {
        string(name, &at(path, "name"))?;
    }
    let mut found = identifiers(map, path)?;
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Invalid::new(
            path,
            "an Agent needs one identifier: mbox, mbox_sha1sum, openid or account",
        )),
        _ => Err(Invalid::new(
            path,
            "an Agent has exactly one identifier, not several",
        )),
    }
}

fn group(value: &Value, path: &str) -> Rule<Actor> {
    let map = object(value, path, GROUP_KEYS)?;
    if let Some(name) = map.get("name") {
        string(name, &at(path, "name"))?;
    }
    let mut found = identifiers(map, path)?;
    if found.len() > 1 {
        return Err(Invalid::new(
            path,
            "a Group has at most one identifier, not several",
        ));
    }
    let mut members = Vec::new();
    if let Some(list) = map.get("member") {
        let list_path = at(path, "member");
        for (i, member) in array(list, &list_path)?.iter().enumerate() {
            let member_path = format!("{list_path}[{i}]");
            if member.get("objectType").and_then(Value::as_str) == Some("Group") {
                return Err(Invalid::new(
                    member_path,
                    "a Group's members are Agents, not Groups",
                ));
            }
            members.push(agent(member, &member_path)?);
        }
    }
    let identifier = found.pop();
    if identifier.is_none() && members.is_empty() {
        return Err(Invalid::new(
            at(path, "member"),
            "an anonymous Group (no identifier) must list its members",
        ));
    }
    Ok(Actor::Group {
        identifier,
        members,
    })
}

/// An Agent or a Group, told apart by `objectType`.
pub(super) fn actor(value: &Value, path: &str) -> Rule<Actor> {
    match value.get("objectType").map(|kind| (kind, kind.as_str())) {
        Some((_, Some("Group"))) => group(value, path),
        None | Some((_, Some("Agent"))) => agent(value, path).map(Actor::Agent),
        Some((kind, _)) => Err(Invalid::new(
            at(path, "objectType"),
            match kind.as_str() {
                Some(other) => format!("must be \"Agent\" or \"Group\", not {other:?}"),
                None => wrong_type(kind, "", "a string").message,
            },
        )),
    }
}

fn verb(value: &Value, path: &str) -> Rule<String> {
    let map = object(value, path, &["id", "display"])?;
    let id = iri(required(map, path, "id")?, &at(path, "id"))?;
    if let Some(display) = map.get("display") {
        language_map(display, &at(path, "display"))?;
    }
    Ok(id.to_owned())
}

fn extensions(value: &Value, path: &str) -> Rule<()> {
    let Value::Object(map) = value else {
        return Err(wrong_type(value, path, "an object"));
    };
    // Extension values are the profile's business: anything, `null` included.
    for key in map.keys() {
        iri(&Value::String(key.clone()), &at(path, key))?;
    }
    Ok(())
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
