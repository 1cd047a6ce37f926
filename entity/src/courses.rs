//! A provider's catalogue entry.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "courses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Unique together with `code`.
    pub provider_id: Uuid,
    /// The provider's own course code.
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub code: String,
    #[sea_orm(column_type = "Text")]
    pub title: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub title_ja: Option<String>,
    /// Hundredths of an hour.
    pub hours: i64,
    /// `online`, `classroom` or `on_demand`.
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub delivery: String,
    /// The activity type credits of this course are recorded with: the one of its award in a
    /// scheme that counts courses (it fills that scheme's slots), else of its first award.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub activity_type: String,
    /// JSON array of tags (NICE Framework work role ids).
    #[sea_orm(column_type = "Json")]
    pub tags: Json,
    /// A decimal amount, e.g. `12000` or `49.50`, in `fee_currency`.
    #[sea_orm(column_type = "String(StringLen::N(32))", nullable)]
    pub fee_amount: Option<String>,
    /// ISO 4217 code, e.g. `JPY`.
    #[sea_orm(column_type = "String(StringLen::N(3))", nullable)]
    pub fee_currency: Option<String>,
    /// The language it is taught in (a BCP 47 tag such as `ja` or `en`).
    #[sea_orm(column_type = "String(StringLen::N(35))", nullable)]
    pub language: Option<String>,
    /// JSON array of the days the course is next held (`"2027-01-15"`); `None` without dated
    /// sessions (on demand).
    #[sea_orm(column_type = "Json", nullable)]
    pub sessions: Option<Json>,
    /// Withdrawn from the catalogue; the row stays because credits name it.
    pub retired_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::providers::Entity",
        from = "Column::ProviderId",
        to = "super::providers::Column::Id",
        on_update = "NoAction",
        on_delete = "Restrict"
    )]
    Providers,
    #[sea_orm(has_many = "super::course_awards::Entity")]
    CourseAwards,
    #[sea_orm(has_many = "super::credits::Entity")]
    Credits,
}

impl Related<super::providers::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Providers.def()
    }
}

impl Related<super::course_awards::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::CourseAwards.def()
    }
}

impl Related<super::credits::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Credits.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
