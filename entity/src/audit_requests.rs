//! A sample audit's request for the evidence behind one self-reported credit.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// Asked; no evidence yet, and not yet due.
    #[sea_orm(string_value = "open")]
    Open,
    /// The professional named an evidence file in time.
    #[sea_orm(string_value = "answered")]
    Answered,
    /// Due and unanswered: the credit was voided.
    #[sea_orm(string_value = "expired")]
    Expired,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "audit_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub credit_id: Uuid,
    #[sea_orm(indexed)]
    pub professional_id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub scheme_id: String,
    /// The sample's seed, in decimal.
    #[sea_orm(column_type = "String(StringLen::N(20))")]
    pub seed: String,
    pub requested_at: DateTimeUtc,
    /// The last day on which evidence answers the request.
    pub due_on: Date,
    pub evidence_id: Option<Uuid>,
    pub answered_at: Option<DateTimeUtc>,
    pub outcome: AuditOutcome,
    /// When it was answered or expired.
    pub closed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
