//! One holding a webhook subscription watches, with what was last announced about it.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhook_watches")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub subscription_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub holding_id: Uuid,
    /// The holding's status (`active`, `suspended`, …) when last announced or subscribed.
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub last_status: String,
    /// The standing state (`on_track`, `lapsed`, …); `None` without a cycle on record.
    #[sea_orm(column_type = "String(StringLen::N(16))", nullable)]
    pub last_state: Option<String>,
    pub last_valid_until: Option<Date>,
    /// Changes announced so far; the next change's delivery is keyed by this plus one.
    pub changes: i32,
    pub checked_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
