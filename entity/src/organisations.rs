//! An employer or vendor whose staff a buyer may ask about.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "organisations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(254))")]
    pub name: String,
    /// Japanese corporate number (法人番号), unique when present.
    #[sea_orm(column_type = "String(StringLen::N(32))", nullable, unique)]
    pub corporate_number: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::memberships::Entity")]
    Memberships,
    #[sea_orm(has_many = "super::clients::Entity")]
    Clients,
}

impl Related<super::memberships::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Memberships.def()
    }
}

impl Related<super::clients::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Clients.def()
    }
}

impl Related<super::professionals::Entity> for Entity {
    fn to() -> RelationDef {
        super::memberships::Relation::Professionals.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::memberships::Relation::Organisations.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
