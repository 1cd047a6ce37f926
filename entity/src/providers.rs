//! An organisation that delivers courses, accredited for some schemes.

use sea_orm::FromJsonQueryResult;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum ProviderStatus {
    /// Registered, awaiting approval by the certification body.
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "approved")]
    Approved,
    #[sea_orm(string_value = "suspended")]
    Suspended,
}

/// One scheme a provider is accredited for: what it may award there, and for which days.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accreditation {
    pub scheme_id: String,
    /// The categories it may award points toward; empty: every category of the scheme.
    #[serde(default)]
    pub categories: Vec<String>,
    /// The activity types (in the scheme's words) it may award; empty: every one.
    #[serde(default)]
    pub activity_types: Vec<String>,
    /// First day an activity completed on counts under this accreditation.
    #[serde(default)]
    pub valid_from: Option<chrono::NaiveDate>,
    /// Last day it covers; `None`: open-ended.
    #[serde(default)]
    pub valid_until: Option<chrono::NaiveDate>,
}

/// The `accreditations` JSON column: a list of [`Accreditation`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJsonQueryResult)]
#[serde(transparent)]
pub struct Accreditations(pub Vec<Accreditation>);

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "providers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(254))")]
    pub name: String,
    #[sea_orm(column_type = "String(StringLen::N(254))", nullable)]
    pub contact_email: Option<String>,
    pub status: ProviderStatus,
    #[sea_orm(column_type = "Json")]
    pub accreditations: Accreditations,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::courses::Entity")]
    Courses,
    #[sea_orm(has_many = "super::credits::Entity")]
    Credits,
    #[sea_orm(has_many = "super::clients::Entity")]
    Clients,
}

impl Related<super::courses::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Courses.def()
    }
}

impl Related<super::credits::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Credits.def()
    }
}

impl Related<super::clients::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Clients.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
