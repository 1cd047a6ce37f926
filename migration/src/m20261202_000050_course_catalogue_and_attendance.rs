//! The course catalogue as providers publish it, and attendance as they report it.
//!
//! A course awards, per scheme, one activity type in that scheme's words, with a category and
//! points where the scheme counts points (RISS counts courses, not points, so its award has
//! neither). Nothing wrote `course_awards` before this migration (no route or command did), so
//! the table is recreated with one award per scheme instead of being altered column by column.
//! Courses gain the optional fee and language, and a retirement date (a course withdrawn from
//! the catalogue stays, because credits name it). Credits gain what the provider reported
//! beyond the day: the instant of completion when it gave one, and the partial points of a
//! half-attended course, so that a re-sent row can be compared field by field.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000003_create_providers_and_courses::{CourseAwards, Courses};
use crate::m20261125_000004_create_credits::Credits;
use crate::schema_util::create_table;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Catalogue {
    ActivityType,
    FeeAmount,
    FeeCurrency,
    Language,
    RetiredAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Reported {
    CompletedAt,
    ReportedPoints,
}

async fn add_column(
    manager: &SchemaManager<'_>,
    table: impl IntoIden,
    column: ColumnDef,
) -> Result<(), DbErr> {
    // One column per statement: SQLite's ALTER TABLE adds one at a time.
    manager
        .alter_table(
            Table::alter()
                .table(table)
                .add_column(column.to_owned())
                .to_owned(),
        )
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CourseAwards::Table).to_owned())
            .await?;
        manager
            .create_table(
                create_table(manager, CourseAwards::Table)
                    .col(pk_uuid(CourseAwards::Id))
                    .col(uuid(CourseAwards::CourseId))
                    .col(string_len(CourseAwards::SchemeId, 64))
                    .col(string_len(Catalogue::ActivityType, 64))
                    .col(string_len_null(CourseAwards::Category, 64))
                    .col(big_integer(CourseAwards::Points))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_course_awards_course")
                            .from(CourseAwards::Table, CourseAwards::CourseId)
                            .to(Courses::Table, Courses::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_course_awards_course_scheme")
                    .table(CourseAwards::Table)
                    .col(CourseAwards::CourseId)
                    .col(CourseAwards::SchemeId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        add_column(
            manager,
            Courses::Table,
            string_len_null(Catalogue::FeeAmount, 32),
        )
        .await?;
        add_column(
            manager,
            Courses::Table,
            string_len_null(Catalogue::FeeCurrency, 3),
        )
        .await?;
        add_column(
            manager,
            Courses::Table,
            string_len_null(Catalogue::Language, 35),
        )
        .await?;
        add_column(
            manager,
            Courses::Table,
            timestamp_with_time_zone_null(Catalogue::RetiredAt),
        )
        .await?;
        add_column(
            manager,
            Courses::Table,
            timestamp_with_time_zone_null(Catalogue::UpdatedAt),
        )
        .await?;
        add_column(
            manager,
            Credits::Table,
            timestamp_with_time_zone_null(Reported::CompletedAt),
        )
        .await?;
        add_column(
            manager,
            Credits::Table,
            big_integer_null(Reported::ReportedPoints),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in [
            (
                Credits::Table.into_iden(),
                Reported::ReportedPoints.into_iden(),
            ),
            (
                Credits::Table.into_iden(),
                Reported::CompletedAt.into_iden(),
            ),
            (Courses::Table.into_iden(), Catalogue::UpdatedAt.into_iden()),
            (Courses::Table.into_iden(), Catalogue::RetiredAt.into_iden()),
            (Courses::Table.into_iden(), Catalogue::Language.into_iden()),
            (
                Courses::Table.into_iden(),
                Catalogue::FeeCurrency.into_iden(),
            ),
            (Courses::Table.into_iden(), Catalogue::FeeAmount.into_iden()),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        manager
            .drop_table(Table::drop().table(CourseAwards::Table).to_owned())
            .await?;
        // Back to the shape of the migration that created it: one award per category.
        manager
            .create_table(
                create_table(manager, CourseAwards::Table)
                    .col(pk_uuid(CourseAwards::Id))
                    .col(uuid(CourseAwards::CourseId))
                    .col(string_len(CourseAwards::SchemeId, 64))
                    .col(string_len(CourseAwards::Category, 64))
                    .col(big_integer(CourseAwards::Points))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_course_awards_course")
                            .from(CourseAwards::Table, CourseAwards::CourseId)
                            .to(Courses::Table, Courses::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_course_awards_course_scheme_cat")
                    .table(CourseAwards::Table)
                    .col(CourseAwards::CourseId)
                    .col(CourseAwards::SchemeId)
                    .col(CourseAwards::Category)
                    .unique()
                    .to_owned(),
            )
            .await
    }
}
