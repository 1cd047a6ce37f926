//! The value types xAPI properties share: objects whose properties are named, strings,
//! IRIs, UUIDs, language maps, timestamps, durations and extensions.

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::Invalid;

pub(super) type Rule<T> = Result<T, Invalid>;

pub(super) fn at(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

pub(super) fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(super) fn wrong_type(value: &Value, path: &str, expected: &str) -> Invalid {
    if value.is_null() {
        Invalid::new(path, "must not be null")
    } else {
        Invalid::new(path, format!("must be {expected}, not {}", describe(value)))
    }
}

/// An object whose properties are all among `allowed` (property names are case-sensitive, so
/// `Actor` for `actor` is refused here) and none of them `null`.
pub(super) fn object<'a>(
    value: &'a Value,
    path: &str,
    allowed: &[&str],
) -> Rule<&'a Map<String, Value>> {
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

pub(super) fn required<'a>(map: &'a Map<String, Value>, path: &str, key: &str) -> Rule<&'a Value> {
    map.get(key)
        .ok_or_else(|| Invalid::new(at(path, key), "is required"))
}

pub(super) fn string<'a>(value: &'a Value, path: &str) -> Rule<&'a str> {
    value
        .as_str()
        .ok_or_else(|| wrong_type(value, path, "a string"))
}

pub(super) fn boolean(value: &Value, path: &str) -> Rule<bool> {
    value
        .as_bool()
        .ok_or_else(|| wrong_type(value, path, "a boolean"))
}

pub(super) fn number(value: &Value, path: &str) -> Rule<f64> {
    value
        .as_f64()
        .ok_or_else(|| wrong_type(value, path, "a number"))
}

pub(super) fn array<'a>(value: &'a Value, path: &str) -> Rule<&'a Vec<Value>> {
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

pub(super) fn language_tag(text: &str, path: &str) -> Rule<()> {
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
pub(super) fn language_map(value: &Value, path: &str) -> Rule<()> {
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

pub(super) fn extensions(value: &Value, path: &str) -> Rule<()> {
    let Value::Object(map) = value else {
        return Err(wrong_type(value, path, "an object"));
    };
    // Extension values are the profile's business: anything, `null` included.
    for key in map.keys() {
        iri(&Value::String(key.clone()), &at(path, key))?;
    }
    Ok(())
}
