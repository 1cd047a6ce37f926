//! A professional's choice for one reminder reason; no row means the reason is sent.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "reminder_preferences")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub professional_id: Uuid,
    /// A reminder reason as the sweep names it (`approaching`, `slot`, …).
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(32))"
    )]
    pub reason: String,
    pub subscribed: bool,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
