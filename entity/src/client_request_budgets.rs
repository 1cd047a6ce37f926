//! A machine client's request budget as every instance of the app spends it: a GCRA cell per
//! client and budget (see `auth::client_limits`).
//!
//! Unlike the other tables' instants, `full_at` is an integer (microseconds since the Unix
//! epoch): instances add to it in one upsert, and integer arithmetic is the same in SQL on
//! every engine, where timestamp arithmetic is not.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "client_request_budgets")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub client_id: String,
    /// The budget this row counts against: the client's `rate_limit_per_minute`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub per_minute: i32,
    /// When the budget is whole again if the client makes no more requests (µs since the
    /// epoch).
    pub full_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
