//! The append-only audit log: who did what to which record, with before and after.

use chrono::Utc;
use entity::audit_events;
pub use entity::audit_events::ActorKind;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, NotSet, Set};
use serde_json::Value;

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
    audit_events::ActiveModel {
        id: NotSet,
        occurred_at: Set(Utc::now()),
        actor_kind: Set(actor.kind),
        actor_id: Set(actor.id.clone()),
        action: Set(event.action.to_owned()),
        subject_kind: Set(event.subject_kind.to_owned()),
        subject_id: Set(event.subject_id),
        before: Set(event.before),
        after: Set(event.after),
        ip: Set(actor.ip.clone()),
    }
    .insert(db)
    .await?;
    Ok(())
}
