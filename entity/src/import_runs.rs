//! One run of a bulk import (holders registry, attendance CSV, ...).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "import_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// What was imported, e.g. `holders`, `attendance`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub kind: String,
    #[sea_orm(column_type = "String(StringLen::N(254))")]
    pub file_name: String,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub rows_total: i32,
    pub rows_inserted: i32,
    pub rows_updated: i32,
    pub rows_unchanged: i32,
    pub rows_rejected: i32,
    /// Per-row results (rejections with reasons).
    #[sea_orm(column_type = "Json", nullable)]
    pub report: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
