//! What a course awards in one scheme: an activity type in that scheme's words, and points
//! toward one of its categories where the scheme counts points.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "course_awards")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Unique together with `scheme_id`: a course awards once per scheme.
    pub course_id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub scheme_id: String,
    /// The activity type in this scheme's own words.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub activity_type: String,
    /// `None` where the scheme counts courses rather than points (RISS).
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub category: Option<String>,
    /// Hundredths of a point; 0 without a category.
    pub points: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::courses::Entity",
        from = "Column::CourseId",
        to = "super::courses::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Courses,
}

impl Related<super::courses::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Courses.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
