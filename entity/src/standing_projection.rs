//! A holding's standing verdict as the engine last computed it (a projection, never the
//! truth: the engine over the ledger is).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

use super::holdings::HoldingStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "standing_projection")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub holding_id: Uuid,
    #[sea_orm(indexed)]
    pub professional_id: Uuid,
    /// Unique together with `registration_number`, as on the holding.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub scheme_id: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub registration_number: String,
    pub status: HoldingStatus,
    /// The standing state's snake_case name; `None` when there is no cycle to judge.
    #[sea_orm(column_type = "String(StringLen::N(16))", nullable)]
    pub state: Option<String>,
    /// The judged cycle's last valid day.
    pub valid_until: Option<Date>,
    /// The day (in the holder's time zone) the verdict is for.
    pub judged_on: Date,
    /// From this instant the verdict may be out of date and is recomputed on read.
    pub recheck_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// A new id each time the row is judged again: the ledger behind it changed.
    pub revision: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::holdings::Entity",
        from = "Column::HoldingId",
        to = "super::holdings::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Holdings,
}

impl Related<super::holdings::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Holdings.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
