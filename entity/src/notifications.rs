//! An email in the outbox.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum NotificationState {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "sending")]
    Sending,
    #[sea_orm(string_value = "sent")]
    Sent,
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Closed without sending, by design: a password reset requested for an address that
    /// has no usable account. `last_error` says why.
    #[sea_orm(string_value = "dropped")]
    Dropped,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// e.g. holding, cycle, reminder kind and threshold; a second insert is refused.
    #[sea_orm(column_type = "String(StringLen::N(254))", unique)]
    pub dedupe_key: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub template: String,
    #[sea_orm(column_type = "String(StringLen::N(8))")]
    pub locale: String,
    #[sea_orm(column_type = "String(StringLen::N(254))")]
    pub recipient: String,
    #[sea_orm(column_type = "Json")]
    pub payload: Json,
    pub state: NotificationState,
    #[sea_orm(default_value = 0)]
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    /// The Message-ID header, derived from the dedupe key.
    #[sea_orm(column_type = "String(StringLen::N(254))", nullable)]
    pub message_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
