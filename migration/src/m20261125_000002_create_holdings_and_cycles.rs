//! Certifications held by professionals and their renewal cycles.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_util::create_table;

use crate::m20261125_000001_create_schemes_and_people::{Professionals, SchemeVersions};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Holdings {
    Table,
    Id,
    ProfessionalId,
    SchemeId,
    RegistrationNumber,
    CertifiedOn,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Cycles {
    Table,
    Id,
    HoldingId,
    SchemeVersionId,
    StartsOn,
    EndsOn,
    Outcome,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                create_table(manager, Holdings::Table)
                    .col(pk_uuid(Holdings::Id))
                    .col(uuid(Holdings::ProfessionalId))
                    .col(string_len(Holdings::SchemeId, 64))
                    .col(string_len(Holdings::RegistrationNumber, 64))
                    .col(date(Holdings::CertifiedOn))
                    .col(string_len(Holdings::Status, 16))
                    .col(timestamp_with_time_zone_default_now(Holdings::CreatedAt))
                    .col(timestamp_with_time_zone_default_now(Holdings::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_holdings_professional")
                            .from(Holdings::Table, Holdings::ProfessionalId)
                            .to(Professionals::Table, Professionals::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_holdings_scheme_regno")
                    .table(Holdings::Table)
                    .col(Holdings::SchemeId)
                    .col(Holdings::RegistrationNumber)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_holdings_professional")
                    .table(Holdings::Table)
                    .col(Holdings::ProfessionalId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                create_table(manager, Cycles::Table)
                    .col(pk_uuid(Cycles::Id))
                    .col(uuid(Cycles::HoldingId))
                    .col(uuid(Cycles::SchemeVersionId))
                    .col(date(Cycles::StartsOn))
                    .col(date(Cycles::EndsOn))
                    .col(string_len_null(Cycles::Outcome, 16))
                    .col(timestamp_with_time_zone_default_now(Cycles::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_cycles_holding")
                            .from(Cycles::Table, Cycles::HoldingId)
                            .to(Holdings::Table, Holdings::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_cycles_scheme_version")
                            .from(Cycles::Table, Cycles::SchemeVersionId)
                            .to(SchemeVersions::Table, SchemeVersions::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_cycles_holding_starts")
                    .table(Cycles::Table)
                    .col(Cycles::HoldingId)
                    .col(Cycles::StartsOn)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_cycles_scheme_version")
                    .table(Cycles::Table)
                    .col(Cycles::SchemeVersionId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Cycles::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Holdings::Table).to_owned())
            .await
    }
}
