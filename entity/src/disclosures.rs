//! One procurement read of a holding: who asked, which fields the answer carried, and when.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "disclosures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The asking client's public `client_id`.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub client_id: String,
    #[sea_orm(indexed)]
    pub holding_id: Uuid,
    /// The names of the fields disclosed, comma-separated.
    #[sea_orm(column_type = "String(StringLen::N(254))")]
    pub fields: String,
    pub disclosed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::holdings::Entity",
        from = "Column::HoldingId",
        to = "super::holdings::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Holdings,
}

impl Related<super::holdings::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Holdings.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
