//! A certified person.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "professionals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Unique when present; imported holders may have none yet.
    #[sea_orm(column_type = "String(StringLen::N(254))", nullable, unique)]
    pub email: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(254))")]
    pub legal_name: String,
    #[sea_orm(column_type = "String(StringLen::N(254))", nullable)]
    pub legal_name_kana: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(254))", nullable)]
    pub display_name: Option<String>,
    /// BCP 47 language tag, `ja` by default.
    #[sea_orm(column_type = "String(StringLen::N(8))", default_value = "ja")]
    pub locale: String,
    /// IANA time zone name, `Asia/Tokyo` by default.
    #[sea_orm(column_type = "String(StringLen::N(64))", default_value = "Asia/Tokyo")]
    pub time_zone: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_one = "super::users::Entity")]
    Users,
    #[sea_orm(has_many = "super::holdings::Entity")]
    Holdings,
    #[sea_orm(has_many = "super::credits::Entity")]
    Credits,
    #[sea_orm(has_many = "super::memberships::Entity")]
    Memberships,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Users.def()
    }
}

impl Related<super::holdings::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Holdings.def()
    }
}

impl Related<super::credits::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Credits.def()
    }
}

impl Related<super::memberships::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Memberships.def()
    }
}

impl Related<super::organisations::Entity> for Entity {
    fn to() -> RelationDef {
        super::memberships::Relation::Organisations.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::memberships::Relation::Professionals.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
