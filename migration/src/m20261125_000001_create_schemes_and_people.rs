//! Scheme rule versions, professionals and their login accounts.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_util::create_table;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum SchemeVersions {
    Table,
    Id,
    SchemeId,
    Version,
    Status,
    EffectiveFrom,
    Definition,
    SourceFile,
    Sha256,
    LoadedAt,
}

#[derive(DeriveIden)]
pub enum Professionals {
    Table,
    Id,
    Email,
    LegalName,
    LegalNameKana,
    DisplayName,
    Locale,
    TimeZone,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Users {
    Table,
    Id,
    Email,
    PasswordHash,
    Role,
    ProfessionalId,
    ActivatedAt,
    DisabledAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                create_table(manager, SchemeVersions::Table)
                    .col(pk_uuid(SchemeVersions::Id))
                    .col(string_len(SchemeVersions::SchemeId, 64))
                    .col(string_len(SchemeVersions::Version, 64))
                    .col(string_len(SchemeVersions::Status, 16))
                    .col(date(SchemeVersions::EffectiveFrom))
                    .col(json(SchemeVersions::Definition))
                    .col(string_len(SchemeVersions::SourceFile, 254))
                    .col(string_len(SchemeVersions::Sha256, 64))
                    .col(timestamp_with_time_zone_default_now(
                        SchemeVersions::LoadedAt,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_scheme_versions_scheme_version")
                    .table(SchemeVersions::Table)
                    .col(SchemeVersions::SchemeId)
                    .col(SchemeVersions::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                create_table(manager, Professionals::Table)
                    .col(pk_uuid(Professionals::Id))
                    .col(string_len_null(Professionals::Email, 254))
                    .col(string_len(Professionals::LegalName, 254))
                    .col(string_len_null(Professionals::LegalNameKana, 254))
                    .col(string_len_null(Professionals::DisplayName, 254))
                    .col(string_len(Professionals::Locale, 8).default("ja"))
                    .col(string_len(Professionals::TimeZone, 64).default("Asia/Tokyo"))
                    .col(timestamp_with_time_zone_default_now(
                        Professionals::CreatedAt,
                    ))
                    .col(timestamp_with_time_zone_default_now(
                        Professionals::UpdatedAt,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_professionals_email")
                    .table(Professionals::Table)
                    .col(Professionals::Email)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                create_table(manager, Users::Table)
                    .col(pk_uuid(Users::Id))
                    .col(string_len(Users::Email, 254))
                    .col(string_len_null(Users::PasswordHash, 254))
                    .col(string_len(Users::Role, 16))
                    .col(uuid_null(Users::ProfessionalId))
                    .col(timestamp_with_time_zone_null(Users::ActivatedAt))
                    .col(timestamp_with_time_zone_null(Users::DisabledAt))
                    .col(timestamp_with_time_zone_default_now(Users::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_users_professional")
                            .from(Users::Table, Users::ProfessionalId)
                            .to(Professionals::Table, Professionals::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_users_email")
                    .table(Users::Table)
                    .col(Users::Email)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_users_professional")
                    .table(Users::Table)
                    .col(Users::ProfessionalId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Professionals::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SchemeVersions::Table).to_owned())
            .await
    }
}
