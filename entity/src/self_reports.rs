//! What a self-reported credit says beyond its ledger entry: the provider's name as the
//! professional wrote it, and the evidence file attached.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "self_reports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub credit_id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(200))")]
    pub provider_name: String,
    pub evidence_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
