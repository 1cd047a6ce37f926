//! An append-only record of who did what to which record.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Who performed an audited action.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A logged-in user (professional or admin); `actor_id` is the user id.
    #[sea_orm(string_value = "user")]
    User,
    /// A machine client; `actor_id` is its `client_id`.
    #[sea_orm(string_value = "client")]
    Client,
    /// An operator at the command line.
    #[sea_orm(string_value = "cli")]
    Cli,
    /// Nobody identified yet (a failed login for an unknown email, a bad token).
    #[sea_orm(string_value = "anonymous")]
    Anonymous,
    /// The server itself (scheduler, outbox worker, imports).
    #[sea_orm(string_value = "system")]
    System,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(indexed)]
    pub occurred_at: DateTimeUtc,
    pub actor_kind: ActorKind,
    #[sea_orm(column_type = "String(StringLen::N(128))", nullable)]
    pub actor_id: Option<String>,
    /// e.g. `credit.void`, `holding.import`.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub action: String,
    /// The table or kind of record acted on, e.g. `credit`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub subject_kind: String,
    #[sea_orm(column_type = "String(StringLen::N(128))", nullable)]
    pub subject_id: Option<String>,
    #[sea_orm(column_type = "Json", nullable)]
    pub before: Option<Json>,
    #[sea_orm(column_type = "Json", nullable)]
    pub after: Option<Json>,
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub ip: Option<String>,
    /// How many times this event happened in its window (see `repeat_key`); 1 for every
    /// event that is not aggregated.
    #[sea_orm(default_value = 1)]
    pub repeat_count: i32,
    /// The latest repeat of an aggregated event; `None` until it repeats.
    pub last_occurred_at: Option<DateTimeUtc>,
    /// Names the window's row of an aggregated event (`token.refused`, `login.throttled`):
    /// the SHA-256 of its actor, action, subject, details, address and window start. `None`
    /// for every other event.
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable, unique)]
    pub repeat_key: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
