//! One xAPI statement a provider stored, with the facts the query form filters on.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "xapi_statements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub provider_id: Uuid,
    /// The statement's own `id`, unique per provider.
    pub statement_id: Uuid,
    /// The statement as the LRS returns it: `id`, `stored`, `authority`, `version` filled.
    #[sea_orm(column_type = "Json")]
    pub statement: Json,
    /// SHA-256 (hex) of the statement as sent, to tell a repeat from a conflicting reuse of
    /// its id.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub fingerprint: String,
    #[sea_orm(column_type = "Text")]
    pub verb_id: String,
    /// The object's id when the object is an Activity.
    #[sea_orm(column_type = "Text", nullable)]
    pub activity_id: Option<String>,
    /// The actor's identifier as one string (`mbox mailto:…`, `account <homePage> <name>`).
    #[sea_orm(column_type = "Text", nullable)]
    pub actor_key: Option<String>,
    /// The object's identifier when the object is an Agent or identified Group.
    #[sea_orm(column_type = "Text", nullable)]
    pub object_agent_key: Option<String>,
    pub registration: Option<Uuid>,
    /// The statement a voiding statement voids.
    pub voids_statement_id: Option<Uuid>,
    /// `stored`, in milliseconds since the Unix epoch.
    pub stored_ms: i64,
    /// Voided by a later voiding statement: kept, but out of the query form.
    pub voided: bool,
    /// The provider reference of the credit this statement became, if it became one.
    #[sea_orm(column_type = "String(StringLen::N(128))", nullable)]
    pub credit_reference: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::providers::Entity",
        from = "Column::ProviderId",
        to = "super::providers::Column::Id"
    )]
    Provider,
}

impl Related<super::providers::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Provider.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
