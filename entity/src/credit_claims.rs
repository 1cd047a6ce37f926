//! The points a credit claims toward one category of one scheme, with the activity type as
//! that scheme names it.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "credit_claims")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Unique together with `scheme_id` and `category`.
    pub credit_id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(64))", indexed)]
    pub scheme_id: String,
    /// The activity type in this scheme's own words (CISSP `education`, CISA `training`).
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub activity_type: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub category: String,
    /// Hundredths of a point.
    pub points: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::credits::Entity",
        from = "Column::CreditId",
        to = "super::credits::Column::Id",
        on_update = "NoAction",
        on_delete = "Restrict"
    )]
    Credits,
}

impl Related<super::credits::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Credits.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
