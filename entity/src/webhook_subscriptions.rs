//! A procurement client's subscription to status changes of some holdings.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhook_subscriptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The subscribing client's `client_id`.
    #[sea_orm(column_type = "String(StringLen::N(64))", indexed)]
    pub client_id: String,
    #[sea_orm(column_type = "Text")]
    pub target_url: String,
    /// Signs every delivery (HMAC-SHA256); never serialized.
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    #[serde(skip_serializing, default)]
    pub secret: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
