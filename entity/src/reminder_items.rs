//! One reminder reason once queued: its dedupe key (holding, cycle, reason, threshold) and the
//! digest notification that carried it.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "reminder_items")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(254))"
    )]
    pub dedupe_key: String,
    #[sea_orm(indexed)]
    pub notification_id: Uuid,
    pub holding_id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub reason: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
