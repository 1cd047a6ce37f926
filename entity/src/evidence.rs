//! An evidence file a professional uploaded for a self-reported credit (a certificate of
//! completion, an attendance record). The bytes live in the database, so every instance reads
//! them and a database backup keeps them.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "evidence")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The owner: only they (and the certification body's staff) may read the file.
    #[sea_orm(indexed)]
    pub professional_id: Uuid,
    /// The type read from the content itself: `application/pdf`, `image/png` or `image/jpeg`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub media_type: String,
    pub size_bytes: i64,
    /// Lowercase hex SHA-256 of the content.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub sha256: String,
    /// The name the file had on the uploader's machine, when it was sent.
    #[sea_orm(column_type = "String(StringLen::N(255))", nullable)]
    pub file_name: Option<String>,
    #[serde(skip)]
    #[sea_orm(column_type = "Blob")]
    pub content: Vec<u8>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
