//! The learning record store behind `/xapi`: each provider's statements, stored all or
//! nothing, read back by id or through the query form.
//!
//! Each provider has a store of its own. Statement ids are unique per provider, a provider's
//! reads and voids reach only its own statements, and nothing a provider can send tells it
//! whether another provider used an id.
//!
//! Storing a batch (Communication §2.1.2, Data §2.3.2):
//! - a statement without an `id` gets one; two statements with one id in a batch are refused;
//! - `stored`, `authority` (the client, as an Agent with an `account`), `version` (`1.0.0`)
//!   and, when absent, `timestamp` (= `stored`) are set by the store;
//! - an id already stored with the same statement is a no-op (a retry); with a different one,
//!   the whole batch is refused with a conflict;
//! - a voiding statement must name a statement of the same provider, stored before or earlier
//!   in the batch, that is not itself a voiding statement; the target is marked voided, leaves
//!   the query form and is found only by `voidedStatementId`;
//! - any refusal stores nothing of the batch.

mod credit;
mod query;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use entity::xapi_statements;
use sea_orm::sea_query::Value as SqlValue;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect,
    Set,
};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::xapi::{Invalid, Object, Statement, VOIDED};
use crate::services::attendance::AttendanceError;
use crate::services::schemes::SchemeCatalog;
use crate::services::{begin_write, bulk_write};

pub use credit::{course_code, mbox_sha1sum, reference};
pub use query::{Page, Position, StatementQuery, find, query};

/// Statements one request may carry.
pub const MAX_BATCH: usize = 1_000;

/// The version an LRS of the 1.0.x family writes on every statement it stores (Data §2.4.10).
pub const STORED_VERSION: &str = "1.0.0";

#[derive(Debug, thiserror::Error)]
pub enum XapiError {
    /// The request breaks a rule of the specification (400).
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// A statement id already stored with a different statement (409).
    #[error("statement {0} is already stored with different content")]
    Conflict(Uuid),
    /// Crediting failed for a reason of the ledger's own.
    #[error(transparent)]
    Attendance(AttendanceError),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// A database error stays one (so a unique-key race is retried like any other); the rest are
/// the attendance path's own.
impl From<AttendanceError> for XapiError {
    fn from(err: AttendanceError) -> Self {
        match err {
            AttendanceError::Db(e) => XapiError::Db(e),
            other => XapiError::Attendance(other),
        }
    }
}

/// Who sent the statements: the LRS's `authority` on each one.
#[derive(Debug, Clone)]
pub struct Authority {
    pub provider_id: Uuid,
    pub client_id: String,
    /// The ledger's public URL, the `homePage` of the client's account.
    pub home_page: String,
}

impl Authority {
    pub fn agent(&self) -> Value {
        json!({
            "objectType": "Agent",
            "account": {"homePage": self.home_page, "name": self.client_id},
        })
    }
}

/// `stored` as the LRS writes it: UTC, milliseconds.
pub fn format_instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// SHA-256 of the statement as sent, with the id it is stored under and without what the
/// store sets itself (`stored`, `authority`, `version`); keys sorted, so property order does
/// not matter.
fn fingerprint(statement: &Statement, id: Uuid) -> String {
    let mut body = statement.body.clone();
    for key in ["stored", "authority", "version"] {
        body.remove(key);
    }
    body.insert("id".to_owned(), Value::String(id.to_string()));
    let text = Value::Object(body).to_string();
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The statement as the store returns it.
fn as_stored(statement: &Statement, id: Uuid, stored: &str, authority: &Authority) -> Value {
    let mut body: Map<String, Value> = statement.body.clone();
    body.insert("id".to_owned(), Value::String(id.to_string()));
    body.insert("stored".to_owned(), Value::String(stored.to_owned()));
    body.insert("authority".to_owned(), authority.agent());
    body.insert(
        "version".to_owned(),
        Value::String(STORED_VERSION.to_owned()),
    );
    body.entry("timestamp")
        .or_insert_with(|| Value::String(stored.to_owned()));
    Value::Object(body)
}

fn object_agent_key(statement: &Statement) -> Option<String> {
    match &statement.object {
        Object::Agent(actor) => actor.identifier().map(|i| i.key()),
        _ => None,
    }
}

/// Stores `statements` for `authority`'s provider, all or nothing, and answers their ids in
/// order. `statement_id` is the id a `PUT` named (the body's `id`, if any, must match it).
pub async fn store(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    authority: &Authority,
    statements: Vec<Statement>,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, XapiError> {
    if statements.len() > MAX_BATCH {
        return Err(Invalid::new(
            "body",
            format!("at most {MAX_BATCH} statements per request"),
        )
        .into());
    }
    let mut ids = Vec::with_capacity(statements.len());
    let mut seen = HashSet::new();
    for (i, statement) in statements.iter().enumerate() {
        let id = statement.id.unwrap_or_else(Uuid::new_v4);
        if !seen.insert(id) {
            return Err(Invalid::new(
                format!("[{i}].id"),
                "the same id appears twice in this batch",
            )
            .into());
        }
        ids.push(id);
    }
    // Two requests storing the same new id at once: the second meets the unique key, and a
    // second pass then sees the first's row and answers as for any repeat.
    match store_once(db, catalog, authority, &statements, &ids, now).await {
        Err(XapiError::Db(e))
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            store_once(db, catalog, authority, &statements, &ids, now).await
        }
        other => other,
    }
}

async fn store_once(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    authority: &Authority,
    statements: &[Statement],
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, XapiError> {
    let txn = begin_write(db).await?;
    let existing = stored_with_ids(&txn, authority.provider_id, ids).await?;
    let targets: Vec<Uuid> = statements.iter().filter_map(Statement::voids).collect();
    let stored_targets = stored_with_ids(&txn, authority.provider_id, &targets).await?;

    // `stored` only moves forward within a provider's store: a write in the same millisecond
    // as the last (or after a clock step back) is stored one millisecond after it, so
    // statements stored one after another are told apart by `since` and `until`.
    let last = xapi_statements::Entity::find()
        .select_only()
        .column_as(xapi_statements::Column::StoredMs.max(), "last")
        .filter(xapi_statements::Column::ProviderId.eq(authority.provider_id))
        .into_tuple::<Option<i64>>()
        .one(&txn)
        .await?
        .flatten();
    let stored_ms = last.map_or(now.timestamp_millis(), |last| {
        now.timestamp_millis().max(last + 1)
    });
    let stored_at = DateTime::from_timestamp_millis(stored_ms).unwrap_or(now);
    let stored = format_instant(stored_at);
    let mut rows = Vec::new();
    let mut new = Vec::new();
    let mut newly_voided = Vec::new();
    // Verbs of the statements this batch stores, by id, for voids that name one of them.
    let mut batch_verbs: HashMap<Uuid, &str> = HashMap::new();
    for (i, (statement, id)) in statements.iter().zip(ids).enumerate() {
        let print = fingerprint(statement, *id);
        if let Some(row) = existing.get(id) {
            if row.fingerprint == print {
                continue;
            }
            return Err(XapiError::Conflict(*id));
        }
        if let Some(target) = statement.voids() {
            let target_verb = stored_targets
                .get(&target)
                .map(|row| row.verb_id.as_str())
                .or_else(|| batch_verbs.get(&target).copied());
            match target_verb {
                None => {
                    return Err(Invalid::new(
                        format!("[{i}].object.id"),
                        format!("no statement {target} of yours to void"),
                    )
                    .into());
                }
                Some(VOIDED) => {
                    return Err(Invalid::new(
                        format!("[{i}].object.id"),
                        format!(
                            "statement {target} is itself a voiding statement and cannot be voided"
                        ),
                    )
                    .into());
                }
                Some(_) => newly_voided.push(target),
            }
        }
        batch_verbs.insert(*id, statement.verb_id.as_str());
        new.push((statement, *id, stored_at.fixed_offset()));
        rows.push(xapi_statements::ActiveModel {
            id: Set(Uuid::now_v7()),
            provider_id: Set(authority.provider_id),
            statement_id: Set(*id),
            statement: Set(as_stored(statement, *id, &stored, authority)),
            fingerprint: Set(print),
            verb_id: Set(statement.verb_id.clone()),
            activity_id: Set(statement.activity_id().map(str::to_owned)),
            actor_key: Set(statement.actor.identifier().map(|i| i.key())),
            object_agent_key: Set(object_agent_key(statement)),
            registration: Set(statement.registration),
            voids_statement_id: Set(statement.voids()),
            stored_ms: Set(stored_ms),
            voided: Set(false),
            credit_reference: Set(None),
        });
    }
    // The statements and their credits are written together or not at all.
    let candidates = credit::candidates(&txn, &new, &authority.home_page).await?;
    let credited = credit::credit(
        &txn,
        catalog,
        authority.provider_id,
        &authority.client_id,
        candidates,
    )
    .await?;
    let mut batch_credits = HashMap::new();
    for (index, reference) in credited {
        batch_credits.insert(new[index].1, reference.clone());
        rows[index].credit_reference = Set(Some(reference));
    }
    bulk_write::insert(&txn, rows).await?;
    if !newly_voided.is_empty() {
        let voiding_ids: HashMap<Uuid, Uuid> = statements
            .iter()
            .zip(ids)
            .filter_map(|(s, id)| s.voids().map(|target| (target, *id)))
            .collect();
        let credits: Vec<(String, Uuid)> = newly_voided
            .iter()
            .filter_map(|target| {
                let reference = stored_targets
                    .get(target)
                    .and_then(|row| row.credit_reference.clone())
                    .or_else(|| batch_credits.get(target).cloned())?;
                Some((reference, *voiding_ids.get(target)?))
            })
            .collect();
        credit::void(
            &txn,
            catalog,
            authority.provider_id,
            &authority.client_id,
            credits,
        )
        .await?;
        xapi_statements::Entity::update_many()
            .col_expr(
                xapi_statements::Column::Voided,
                sea_orm::sea_query::Expr::value(true),
            )
            .filter(xapi_statements::Column::ProviderId.eq(authority.provider_id))
            .filter(xapi_statements::Column::StatementId.is_in(newly_voided))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(ids.to_vec())
}

/// The provider's stored statements among `ids`, by id.
async fn stored_with_ids(
    db: &impl ConnectionTrait,
    provider_id: Uuid,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, xapi_statements::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let keys = ids
        .iter()
        .map(|id| vec![SqlValue::from(provider_id), SqlValue::from(*id)])
        .collect();
    let rows = bulk_write::find_by_keys::<xapi_statements::Entity>(
        db,
        &[
            xapi_statements::Column::ProviderId,
            xapi_statements::Column::StatementId,
        ],
        keys,
    )
    .await?;
    Ok(rows.into_iter().map(|r| (r.statement_id, r)).collect())
}
