//! A status credential that was signed and handed out; revocable by its holder.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "issued_credentials")]
pub struct Model {
    /// The credential's `jti` is `urn:uuid:<id>`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub holding_id: Uuid,
    /// The holder; a professional lists and revokes their own.
    #[sea_orm(indexed)]
    pub professional_id: Uuid,
    /// `professional:<user id>` or `client:<client id>`.
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub requested_by: String,
    /// The signing key's thumbprint.
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub kid: String,
    pub issued_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
