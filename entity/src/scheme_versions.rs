//! A loaded version of a scheme's renewal rules.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Whether a rule version is the one in force or only a proposal.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum SchemeVersionStatus {
    #[sea_orm(string_value = "in_force")]
    InForce,
    #[sea_orm(string_value = "proposal")]
    Proposal,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "scheme_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub scheme_id: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub version: String,
    pub status: SchemeVersionStatus,
    pub effective_from: Date,
    /// The parsed scheme definition.
    #[sea_orm(column_type = "Json")]
    pub definition: Json,
    #[sea_orm(column_type = "String(StringLen::N(254))")]
    pub source_file: String,
    /// Hex SHA-256 of the source file.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub sha256: String,
    pub loaded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::cycles::Entity")]
    Cycles,
}

impl Related<super::cycles::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Cycles.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
