//! One entry of the append-only credit ledger.
//!
//! Entries are never updated in place or deleted: a correction sets
//! `voided_at`/`void_reason` on the old entry (state `voided`) and records a
//! new entry whose `replaces_credit_id` points at it.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Who reported a credit. Stored as `provider`, `self` or `admin`.
///
/// `ActiveEnum` is implemented by hand below rather than derived: the derive
/// in sea-orm-macros 2.0.4 turns each string value into an identifier, and
/// the value `self` becomes the keyword `Self`, which does not compile. The
/// impls mirror what `DeriveActiveEnum` generates for a `String` enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreditSource {
    /// Reported by an accredited provider.
    Provider,
    /// Self-reported by the professional (stored as `self`).
    #[serde(rename = "self")]
    SelfReported,
    /// Recorded by the certification body.
    Admin,
}

impl CreditSource {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Provider => "provider",
            Self::SelfReported => "self",
            Self::Admin => "admin",
        }
    }
}

impl ActiveEnum for CreditSource {
    type Value = String;
    type ValueVec = Vec<String>;

    fn name() -> DynIden {
        "credit_source".into()
    }

    fn to_value(&self) -> String {
        self.as_str().to_owned()
    }

    fn try_from_value(v: &String) -> Result<Self, DbErr> {
        match v.as_str() {
            "provider" => Ok(Self::Provider),
            "self" => Ok(Self::SelfReported),
            "admin" => Ok(Self::Admin),
            other => Err(DbErr::Type(format!(
                "unexpected value for CreditSource enum: {other}"
            ))),
        }
    }

    fn db_type() -> ColumnDef {
        ColumnType::String(StringLen::N(16)).def()
    }
}

impl From<CreditSource> for Value {
    fn from(source: CreditSource) -> Self {
        source.to_value().into()
    }
}

impl sea_orm::TryGetable for CreditSource {
    fn try_get_by<I: sea_orm::ColIdx>(
        res: &QueryResult,
        idx: I,
    ) -> Result<Self, sea_orm::TryGetError> {
        let value = <String as sea_orm::TryGetable>::try_get_by(res, idx)?;
        Self::try_from_value(&value).map_err(sea_orm::TryGetError::DbErr)
    }
}

impl sea_orm::sea_query::ValueType for CreditSource {
    fn try_from(v: Value) -> Result<Self, sea_orm::sea_query::ValueTypeErr> {
        let value = <String as sea_orm::sea_query::ValueType>::try_from(v)?;
        Self::try_from_value(&value).map_err(|_| sea_orm::sea_query::ValueTypeErr)
    }

    fn type_name() -> String {
        "CreditSource".to_owned()
    }

    fn array_type() -> sea_orm::sea_query::ArrayType {
        <String as sea_orm::sea_query::ValueType>::array_type()
    }

    fn column_type() -> ColumnType {
        Self::db_type().get_column_type().to_owned()
    }

    fn enum_type_name() -> Option<&'static str> {
        None
    }
}

impl sea_orm::sea_query::Nullable for CreditSource {
    fn null() -> Value {
        <String as sea_orm::sea_query::Nullable>::null()
    }
}

impl sea_orm::IntoActiveValue<CreditSource> for CreditSource {
    fn into_active_value(self) -> sea_orm::ActiveValue<CreditSource> {
        sea_orm::ActiveValue::Set(self)
    }
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum CreditState {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "approved")]
    Approved,
    #[sea_orm(string_value = "rejected")]
    Rejected,
    #[sea_orm(string_value = "voided")]
    Voided,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "credits")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub professional_id: Uuid,
    pub course_id: Option<Uuid>,
    /// Unique together with `provider_reference` (NULLs may repeat).
    pub provider_id: Option<Uuid>,
    /// The provider's own id for this attendance, so a retry is recognised.
    #[sea_orm(column_type = "String(StringLen::N(128))", nullable)]
    pub provider_reference: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub activity_type: String,
    #[sea_orm(column_type = "Text")]
    pub title: String,
    pub completed_on: Date,
    /// The instant of completion, when the provider reported one (`completed_on` is its day in
    /// the professional's time zone).
    pub completed_at: Option<DateTimeUtc>,
    /// Hundredths of an hour.
    pub hours: i64,
    pub source: CreditSource,
    /// Hundredths of a point: the partial points a provider reported for a half-attended
    /// course, in place of the course's full award.
    pub reported_points: Option<i64>,
    pub state: CreditState,
    #[sea_orm(column_type = "Json", nullable)]
    pub evidence: Option<Json>,
    /// The voided entry this one corrects.
    pub replaces_credit_id: Option<Uuid>,
    pub voided_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub void_reason: Option<String>,
    /// Who recorded it (user id, client id, or `system`).
    #[sea_orm(column_type = "String(StringLen::N(128))", nullable)]
    pub recorded_by: Option<String>,
    pub created_at: DateTimeUtc,
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
    #[sea_orm(
        belongs_to = "super::courses::Entity",
        from = "Column::CourseId",
        to = "super::courses::Column::Id",
        on_update = "NoAction",
        on_delete = "Restrict"
    )]
    Courses,
    #[sea_orm(
        belongs_to = "super::providers::Entity",
        from = "Column::ProviderId",
        to = "super::providers::Column::Id",
        on_update = "NoAction",
        on_delete = "Restrict"
    )]
    Providers,
    /// The voided entry this one replaces.
    #[sea_orm(
        belongs_to = "Entity",
        from = "Column::ReplacesCreditId",
        to = "Column::Id",
        on_update = "NoAction",
        on_delete = "Restrict"
    )]
    ReplacesCredit,
    #[sea_orm(has_many = "super::credit_claims::Entity")]
    CreditClaims,
}

impl Related<super::professionals::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Professionals.def()
    }
}

impl Related<super::courses::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Courses.def()
    }
}

impl Related<super::providers::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Providers.def()
    }
}

impl Related<super::credit_claims::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CreditClaims.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
