//! Agents and Groups, and the inverse functional identifiers that tell people apart.

use serde_json::{Map, Value};

use super::values::{Rule, array, at, iri, object, required, string, wrong_type};
use super::{Actor, Identifier, Invalid};
use crate::domain::EmailAddress;

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

pub(super) fn group(value: &Value, path: &str) -> Rule<Actor> {
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
