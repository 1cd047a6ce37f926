//! A professional's personal calendar feed, found by the SHA-256 of the secret in its URL;
//! no row means no feed.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "calendar_feeds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub professional_id: Uuid,
    /// Lowercase hex SHA-256 of the URL's secret; unique.
    #[sea_orm(column_type = "String(StringLen::N(64))", unique)]
    pub secret_sha256: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::professionals::Entity",
        from = "Column::ProfessionalId",
        to = "super::professionals::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Professionals,
}

impl Related<super::professionals::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Professionals.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
