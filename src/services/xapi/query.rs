//! Reading a provider's statements: one by id, or a page of the query form.
//!
//! Pages are cut by position, not offset: a page ends at (`stored`, row id) of its last
//! statement, and the next page starts after it. Statements stored meanwhile land before the
//! first page (newest first) or after the last one (ascending), so no page repeats or skips a
//! statement, and a position stays valid for as long as the statements exist.

use entity::xapi_statements;
use sea_orm::sea_query::Condition;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// Where a page ended: the last statement's `stored` (milliseconds) and row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub stored_ms: i64,
    pub row: Uuid,
}

/// The query form's filters (Communication §2.1.3), already read and checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementQuery {
    /// Identifier key of the Agent or Group that is the actor or the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verb: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<Uuid>,
    /// Stored after this instant (milliseconds, exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_ms: Option<i64>,
    /// Stored at or before this instant (milliseconds, inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<i64>,
    pub limit: u64,
    #[serde(default)]
    pub ascending: bool,
}

/// One page: the statements as stored, and where the next page starts when there is one.
#[derive(Debug, Clone)]
pub struct Page {
    pub statements: Vec<Value>,
    pub next: Option<Position>,
}

/// A page of the provider's statements that are not voided and match `query`, after `after`.
pub async fn query(
    db: &impl ConnectionTrait,
    provider_id: Uuid,
    query: &StatementQuery,
    after: Option<Position>,
) -> Result<Page, DbErr> {
    use xapi_statements::Column as C;
    let mut select = xapi_statements::Entity::find()
        .filter(C::ProviderId.eq(provider_id))
        .filter(C::Voided.eq(false));
    if let Some(agent) = &query.agent {
        select = select.filter(
            Condition::any()
                .add(C::ActorKey.eq(agent.as_str()))
                .add(C::ObjectAgentKey.eq(agent.as_str())),
        );
    }
    if let Some(verb) = &query.verb {
        select = select.filter(C::VerbId.eq(verb.as_str()));
    }
    if let Some(activity) = &query.activity {
        select = select.filter(C::ActivityId.eq(activity.as_str()));
    }
    if let Some(registration) = query.registration {
        select = select.filter(C::Registration.eq(registration));
    }
    if let Some(since) = query.since_ms {
        select = select.filter(C::StoredMs.gt(since));
    }
    if let Some(until) = query.until_ms {
        select = select.filter(C::StoredMs.lte(until));
    }
    if let Some(after) = after {
        let (later_in_order, same_instant_after) = if query.ascending {
            (C::StoredMs.gt(after.stored_ms), C::Id.gt(after.row))
        } else {
            (C::StoredMs.lt(after.stored_ms), C::Id.lt(after.row))
        };
        select = select.filter(
            Condition::any().add(later_in_order).add(
                Condition::all()
                    .add(C::StoredMs.eq(after.stored_ms))
                    .add(same_instant_after),
            ),
        );
    }
    let order = if query.ascending {
        sea_orm::Order::Asc
    } else {
        sea_orm::Order::Desc
    };
    let mut rows = select
        .order_by(C::StoredMs, order.clone())
        .order_by(C::Id, order)
        .limit(query.limit + 1)
        .all(db)
        .await?;
    let more = rows.len() as u64 > query.limit;
    rows.truncate(usize::try_from(query.limit).unwrap_or(usize::MAX));
    let next = more.then(|| rows.last()).flatten().map(|last| Position {
        stored_ms: last.stored_ms,
        row: last.id,
    });
    Ok(Page {
        statements: rows.into_iter().map(|r| r.statement).collect(),
        next,
    })
}

/// One of the provider's statements by id: a statement that is not voided, or (with
/// `voided`) one that is. Any other statement, or another provider's, is not found.
pub async fn find(
    db: &impl ConnectionTrait,
    provider_id: Uuid,
    statement_id: Uuid,
    voided: bool,
) -> Result<Option<Value>, DbErr> {
    use xapi_statements::Column as C;
    Ok(xapi_statements::Entity::find()
        .filter(C::ProviderId.eq(provider_id))
        .filter(C::StatementId.eq(statement_id))
        .filter(C::Voided.eq(voided))
        .one(db)
        .await?
        .map(|r| r.statement))
}
