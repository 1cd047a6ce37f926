//! A login account (a professional's, or an administrator's).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    #[sea_orm(string_value = "professional")]
    Professional,
    #[sea_orm(string_value = "admin")]
    Admin,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(254))", unique)]
    pub email: String,
    /// argon2id PHC string; `None` until the account is activated.
    #[sea_orm(column_type = "String(StringLen::N(254))", nullable)]
    #[serde(skip_serializing)]
    pub password_hash: Option<String>,
    pub role: UserRole,
    #[sea_orm(nullable, unique)]
    pub professional_id: Option<Uuid>,
    pub activated_at: Option<DateTimeUtc>,
    pub disabled_at: Option<DateTimeUtc>,
    /// Tokens issued at or before this instant are void (logout, password change).
    pub sessions_revoked_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// The language of a staff account (`ja` or `en`); `None`: not chosen. A professional's
    /// language is `professionals.locale`.
    #[sea_orm(column_type = "String(StringLen::N(8))", nullable)]
    pub locale: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::professionals::Entity",
        from = "Column::ProfessionalId",
        to = "super::professionals::Column::Id",
        on_update = "NoAction",
        on_delete = "Restrict"
    )]
    Professionals,
}

impl Related<super::professionals::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Professionals.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
