//! xAPI 1.0.3 statements: what a learning record store must accept and refuse.
//!
//! A statement arrives as JSON and is checked against the rules of the specification
//! (`xAPI-Data.md` §2.2–2.6, §4) before anything is stored: no `null` outside extensions,
//! every property of the type the specification gives it, no property it does not name (so a
//! wrong letter case is refused too), IRIs, UUIDs, language maps, `mailto:` addresses, SHA-1
//! sums, ISO 8601 timestamps and durations well formed, an Agent or Group with exactly one
//! inverse functional identifier, and a voiding statement whose object is a `StatementRef`.
//!
//! What comes out is a [`Statement`]: the facts the ledger files statements by (actor, verb,
//! activity, registration, the statement a voiding one names) beside the JSON as received,
//! with `context.contextActivities` made arrays as the specification asks an LRS to return
//! them. Nothing here stores, reads a clock or knows HTTP.
//!
//! Deliberate limits of this LRS, each refused with a reason rather than half-supported:
//! attachments must be sent by `fileUrl` (no `multipart/mixed` bodies), and a timestamp is
//! read as RFC 3339 (the profile of ISO 8601 every xAPI client sends).

mod agents;
mod format;
mod rules;
#[cfg(test)]
mod tests;
mod values;

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};
use uuid::Uuid;

pub use format::{Format, canonical, ids_only};
pub use values::is_iso8601_duration;

/// The ADL verb that voids the statement its `StatementRef` names.
pub const VOIDED: &str = "http://adlnet.gov/expapi/verbs/voided";

/// The ADL verbs that report a finished course and so may become a credit.
pub const CREDIT_VERBS: [&str; 3] = [
    "http://adlnet.gov/expapi/verbs/attended",
    "http://adlnet.gov/expapi/verbs/completed",
    "http://adlnet.gov/expapi/verbs/passed",
];

/// Why a statement (or a query parameter) was refused: the property at fault, as a path
/// (`[1].actor.mbox`, `context.contextActivities.parent[0].id`), and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

impl Invalid {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same complaint about the statement at `index` of a batch.
    fn in_batch(self, index: usize) -> Self {
        let field = if self.field.is_empty() {
            format!("[{index}]")
        } else if self.field.starts_with('[') {
            format!("[{index}]{}", self.field)
        } else {
            format!("[{index}].{}", self.field)
        };
        Self { field, ..self }
    }
}

/// An inverse functional identifier: what makes an Agent (or an identified Group) one person.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identifier {
    /// `mailto:` IRI, as sent.
    Mbox(String),
    /// Lowercase hex SHA-1 of the `mailto:` IRI.
    MboxSha1(String),
    OpenId(String),
    Account {
        home_page: String,
        name: String,
    },
}

impl Identifier {
    /// One string per identifier, the same for the same person whichever statement names
    /// them, so the query form's `agent` filter is one comparison. IRIs hold no spaces, so a
    /// space separates the parts unambiguously.
    pub fn key(&self) -> String {
        match self {
            Identifier::Mbox(mbox) => format!("mbox {mbox}"),
            Identifier::MboxSha1(sum) => format!("mbox_sha1sum {sum}"),
            Identifier::OpenId(openid) => format!("openid {openid}"),
            Identifier::Account { home_page, name } => format!("account {home_page} {name}"),
        }
    }
}

/// Who a statement is about: one Agent, or a Group (anonymous, with members, or identified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Agent(Identifier),
    Group {
        identifier: Option<Identifier>,
        members: Vec<Identifier>,
    },
}

impl Actor {
    /// The identifier the `agent` filter matches; an anonymous group has none.
    pub fn identifier(&self) -> Option<&Identifier> {
        match self {
            Actor::Agent(identifier) => Some(identifier),
            Actor::Group { identifier, .. } => identifier.as_ref(),
        }
    }
}

/// What a statement is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Object {
    Activity { id: String },
    Agent(Actor),
    StatementRef { id: Uuid },
    SubStatement,
}

/// A statement that passed every rule, with the JSON it came as.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub id: Option<Uuid>,
    pub actor: Actor,
    pub verb_id: String,
    pub object: Object,
    pub registration: Option<Uuid>,
    pub timestamp: Option<DateTime<FixedOffset>>,
    /// The statement as received (`contextActivities` normalised to arrays).
    pub body: Map<String, Value>,
}

impl Statement {
    /// The id of the statement this one voids, when it is a voiding statement.
    pub fn voids(&self) -> Option<Uuid> {
        match (&self.object, self.verb_id.as_str()) {
            (Object::StatementRef { id }, VOIDED) => Some(*id),
            _ => None,
        }
    }

    /// The activity id, when the object is an Activity.
    pub fn activity_id(&self) -> Option<&str> {
        match &self.object {
            Object::Activity { id } => Some(id),
            _ => None,
        }
    }

    /// Whether the verb reports a finished course.
    pub fn reports_completion(&self) -> bool {
        CREDIT_VERBS.contains(&self.verb_id.as_str())
    }
}

/// Checks one statement.
pub fn parse_statement(value: &Value) -> Result<Statement, Invalid> {
    rules::statement(value)
}

/// Checks a `POST` body: one statement or a non-empty array of them. A complaint about an
/// element names its index (`[2].verb.id`).
pub fn parse_statements(value: &Value) -> Result<Vec<Statement>, Invalid> {
    match value {
        Value::Array(items) => {
            if items.is_empty() {
                return Err(Invalid::new("body", "an empty array holds no statement"));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, item)| rules::statement(item).map_err(|e| e.in_batch(i)))
                .collect()
        }
        Value::Object(_) => Ok(vec![rules::statement(value)?]),
        _ => Err(Invalid::new(
            "body",
            "must be a statement (an object) or an array of statements",
        )),
    }
}

/// Reads the query form's `agent` parameter: the JSON of an Agent or identified Group.
pub fn parse_agent_filter(text: &str) -> Result<Identifier, Invalid> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Invalid::new("agent", format!("is not JSON: {e}")))?;
    let actor = agents::actor(&value, "agent")?;
    actor.identifier().cloned().ok_or_else(|| {
        Invalid::new(
            "agent",
            "an anonymous group names no one to filter by; give an identifier",
        )
    })
}

/// Reads an IRI parameter of the query form (`verb`, `activity`).
pub fn parse_iri(text: &str, field: &str) -> Result<String, Invalid> {
    values::iri(&Value::String(text.to_owned()), field).map(str::to_owned)
}

/// Reads a UUID in its hyphenated form, as statement ids and registrations are written.
pub fn parse_uuid(text: &str, field: &str) -> Result<Uuid, Invalid> {
    values::uuid(&Value::String(text.to_owned()), field)
}

/// Reads a timestamp parameter (`since`, `until`).
pub fn parse_timestamp(text: &str, field: &str) -> Result<DateTime<FixedOffset>, Invalid> {
    values::timestamp(&Value::String(text.to_owned()), field)
}
