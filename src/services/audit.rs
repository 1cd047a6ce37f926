//! The append-only audit log: who did what to which record, with before and after.
//!
//! Most events are one row each ([`record`]). Events an anonymous caller can cause at line
//! rate (`token.refused`, `login.throttled`) go through [`record_repeatable`]: the first of a
//! [`REPEAT_WINDOW`] is a row as before, and each identical event after it in the same window
//! adds one to that row's `repeat_count` and moves its `last_occurred_at`. "Identical" is
//! everything the row says: actor, action, subject, before, after and address; so a different
//! client id, email, reason or address starts its own row.

use chrono::{DateTime, Utc};
use entity::audit_events;
pub use entity::audit_events::ActorKind;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, NotSet, QueryFilter, Set,
    TransactionTrait,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Who acted.
#[derive(Debug, Clone)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<String>,
    pub ip: Option<String>,
}

impl Actor {
    pub fn cli(name: &str) -> Self {
        Self {
            kind: ActorKind::Cli,
            id: Some(name.to_owned()),
            ip: None,
        }
    }

    pub fn user(id: uuid::Uuid) -> Self {
        Self {
            kind: ActorKind::User,
            id: Some(id.to_string()),
            ip: None,
        }
    }

    pub fn client(client_id: &str) -> Self {
        Self {
            kind: ActorKind::Client,
            id: Some(client_id.to_owned()),
            ip: None,
        }
    }

    /// Someone not (yet) authenticated, known at most by the id they presented.
    pub fn anonymous(presented: Option<String>) -> Self {
        Self {
            kind: ActorKind::Anonymous,
            id: presented,
            ip: None,
        }
    }

    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            id: None,
            ip: None,
        }
    }
}

/// One thing that happened.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub action: &'a str,
    pub subject_kind: &'a str,
    pub subject_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    event: Event<'_>,
) -> Result<(), DbErr> {
    row(actor, event, Utc::now(), None).insert(db).await?;
    Ok(())
}

/// How long the first row of a repeatable event collects its repeats. Windows are fixed
/// (aligned on the Unix epoch), so every instance agrees on which window an event is in.
pub const REPEAT_WINDOW: chrono::Duration = chrono::Duration::minutes(5);

/// Records an event anyone can repeat at will: the first of its window is a row, the repeats
/// add to that row's count. Safe with several instances writing at once: the row is found by
/// a unique `repeat_key`, a repeat is one atomic `UPDATE … SET repeat_count = repeat_count + 1`,
/// and an insert that loses the race to create the window's row becomes that increment.
/// Inside a transaction the insert runs in a savepoint, so a lost race leaves it usable.
pub async fn record_repeatable<C>(db: &C, actor: &Actor, event: Event<'_>) -> Result<(), DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let now = Utc::now();
    let key = repeat_key(actor, &event, now);
    if add_repeat(db, &key, now).await? {
        return Ok(());
    }
    let savepoint = db.begin().await?;
    let inserted = audit_events::Entity::insert(row(actor, event, now, Some(key.clone())))
        .exec_without_returning(&savepoint)
        .await;
    if !crate::services::commit_unless_duplicate(savepoint, inserted).await? {
        // Another request created the window's row between our update and our insert.
        add_repeat(db, &key, now).await?;
    }
    Ok(())
}

/// Adds one repeat to the row named `key`; `false` when there is no such row yet.
async fn add_repeat(
    db: &impl ConnectionTrait,
    key: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let updated = audit_events::Entity::update_many()
        .col_expr(
            audit_events::Column::RepeatCount,
            Expr::col(audit_events::Column::RepeatCount).add(1),
        )
        .col_expr(audit_events::Column::LastOccurredAt, Expr::value(now))
        .filter(audit_events::Column::RepeatKey.eq(key))
        .exec(db)
        .await?;
    Ok(updated.rows_affected > 0)
}

/// The SHA-256 (hex) of everything the row would say and the start of `at`'s window.
fn repeat_key(actor: &Actor, event: &Event<'_>, at: DateTime<Utc>) -> String {
    let window = at.timestamp().div_euclid(REPEAT_WINDOW.num_seconds());
    // Serialised as one JSON array, so no field can run into the next.
    let parts = serde_json::json!([
        window,
        actor.kind,
        actor.id,
        actor.ip,
        event.action,
        event.subject_kind,
        event.subject_id,
        event.before,
        event.after,
    ]);
    hex::encode(Sha256::digest(parts.to_string().as_bytes()))
}

fn row(
    actor: &Actor,
    event: Event<'_>,
    at: DateTime<Utc>,
    repeat_key: Option<String>,
) -> audit_events::ActiveModel {
    audit_events::ActiveModel {
        id: NotSet,
        occurred_at: Set(at),
        actor_kind: Set(actor.kind),
        actor_id: Set(actor.id.clone()),
        action: Set(event.action.to_owned()),
        subject_kind: Set(event.subject_kind.to_owned()),
        subject_id: Set(event.subject_id),
        before: Set(event.before),
        after: Set(event.after),
        ip: Set(actor.ip.clone()),
        repeat_count: Set(1),
        last_occurred_at: Set(None),
        repeat_key: Set(repeat_key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(client: &str, ip: &str) -> (Actor, Event<'static>) {
        let actor = Actor {
            ip: Some(ip.to_owned()),
            ..Actor::anonymous(Some(client.to_owned()))
        };
        let event = Event {
            action: "token.refused",
            subject_kind: "client",
            subject_id: Some(client.to_owned()),
            before: None,
            after: Some(serde_json::json!({"reason": "wrong_secret"})),
        };
        (actor, event)
    }

    #[test]
    fn the_same_event_in_the_same_window_has_the_same_key_and_the_next_window_another() {
        let (actor, event) = refused("cl_a", "203.0.113.7");
        let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let key = repeat_key(&actor, &event, start);
        assert_eq!(
            key,
            repeat_key(&actor, &event, start + chrono::Duration::seconds(299))
        );
        assert_ne!(key, repeat_key(&actor, &event, start + REPEAT_WINDOW));
    }

    #[test]
    fn another_client_id_or_address_has_another_key() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let (actor, event) = refused("cl_a", "203.0.113.7");
        let key = repeat_key(&actor, &event, at);
        let (other_client, event_b) = refused("cl_b", "203.0.113.7");
        assert_ne!(key, repeat_key(&other_client, &event_b, at));
        let (other_ip, event_c) = refused("cl_a", "203.0.113.8");
        assert_ne!(key, repeat_key(&other_ip, &event_c, at));
    }
}
