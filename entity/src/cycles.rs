//! One renewal cycle of a holding, judged by the rule version in force when it began.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum CycleOutcome {
    #[sea_orm(string_value = "renewed")]
    Renewed,
    #[sea_orm(string_value = "lapsed")]
    Lapsed,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "cycles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Unique together with `starts_on`.
    pub holding_id: Uuid,
    pub scheme_version_id: Uuid,
    pub starts_on: Date,
    pub ends_on: Date,
    /// `None` while the cycle is open.
    pub outcome: Option<CycleOutcome>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::holdings::Entity",
        from = "Column::HoldingId",
        to = "super::holdings::Column::Id",
        on_update = "NoAction",
        on_delete = "Restrict"
    )]
    Holdings,
    #[sea_orm(
        belongs_to = "super::scheme_versions::Entity",
        from = "Column::SchemeVersionId",
        to = "super::scheme_versions::Column::Id",
        on_update = "NoAction",
        on_delete = "Restrict"
    )]
    SchemeVersions,
}

impl Related<super::holdings::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Holdings.def()
    }
}

impl Related<super::scheme_versions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SchemeVersions.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
