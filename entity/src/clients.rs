//! A machine identity (OAuth2 client credentials).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    #[sea_orm(string_value = "provider")]
    Provider,
    #[sea_orm(string_value = "procurement")]
    Procurement,
    #[sea_orm(string_value = "admin")]
    Admin,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "clients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The public OAuth2 `client_id`.
    #[sea_orm(column_type = "String(StringLen::N(64))", unique)]
    pub client_id: String,
    /// argon2id PHC string of the client secret; never serialized.
    #[sea_orm(column_type = "String(StringLen::N(254))")]
    #[serde(skip_serializing, default)]
    pub secret_hash: String,
    #[sea_orm(column_type = "String(StringLen::N(254))")]
    pub name: String,
    pub kind: ClientKind,
    /// Set when `kind` is `provider`.
    pub provider_id: Option<Uuid>,
    /// Set when the client acts for an organisation (e.g. a procurement system).
    pub organisation_id: Option<Uuid>,
    /// Space-separated OAuth2 scopes.
    #[sea_orm(column_type = "String(StringLen::N(254))")]
    pub scopes: String,
    pub rate_limit_per_minute: i32,
    pub disabled_at: Option<DateTimeUtc>,
    pub secret_rotated_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::providers::Entity",
        from = "Column::ProviderId",
        to = "super::providers::Column::Id",
        on_update = "NoAction",
        on_delete = "Restrict"
    )]
    Providers,
    #[sea_orm(
        belongs_to = "super::organisations::Entity",
        from = "Column::OrganisationId",
        to = "super::organisations::Column::Id",
        on_update = "NoAction",
        on_delete = "Restrict"
    )]
    Organisations,
}

impl Related<super::providers::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Providers.def()
    }
}

impl Related<super::organisations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organisations.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
