//! Course providers, their catalogue and the points each course awards.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_util::create_table;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Providers {
    Table,
    Id,
    Name,
    ContactEmail,
    Status,
    Accreditations,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum Courses {
    Table,
    Id,
    ProviderId,
    Code,
    Title,
    TitleJa,
    Hours,
    Delivery,
    ActivityType,
    Tags,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum CourseAwards {
    Table,
    Id,
    CourseId,
    SchemeId,
    Category,
    Points,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                create_table(manager, Providers::Table)
                    .col(pk_uuid(Providers::Id))
                    .col(string_len(Providers::Name, 254))
                    .col(string_len_null(Providers::ContactEmail, 254))
                    .col(string_len(Providers::Status, 16))
                    .col(json(Providers::Accreditations))
                    .col(timestamp_with_time_zone_default_now(Providers::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                create_table(manager, Courses::Table)
                    .col(pk_uuid(Courses::Id))
                    .col(uuid(Courses::ProviderId))
                    .col(string_len(Courses::Code, 128))
                    .col(text(Courses::Title))
                    .col(text_null(Courses::TitleJa))
                    .col(big_integer(Courses::Hours))
                    .col(string_len(Courses::Delivery, 32))
                    .col(string_len(Courses::ActivityType, 64))
                    .col(json(Courses::Tags))
                    .col(timestamp_with_time_zone_default_now(Courses::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_courses_provider")
                            .from(Courses::Table, Courses::ProviderId)
                            .to(Providers::Table, Providers::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_courses_provider_code")
                    .table(Courses::Table)
                    .col(Courses::ProviderId)
                    .col(Courses::Code)
                    .unique()
                    .to_owned(),
            )
            .await?;

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

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CourseAwards::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Courses::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Providers::Table).to_owned())
            .await
    }
}
