//! Organisations (employers, vendors) and the professionals who belong to them.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_util::create_table;

use crate::m20261125_000001_create_schemes_and_people::Professionals;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Organisations {
    Table,
    Id,
    Name,
    CorporateNumber,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum Memberships {
    Table,
    Id,
    OrganisationId,
    ProfessionalId,
    ConfirmedByProfessionalAt,
    ConfirmedByOrganisationAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                create_table(manager, Organisations::Table)
                    .col(pk_uuid(Organisations::Id))
                    .col(string_len(Organisations::Name, 254))
                    .col(string_len_null(Organisations::CorporateNumber, 32))
                    .col(timestamp_with_time_zone_default_now(
                        Organisations::CreatedAt,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_organisations_corporate_number")
                    .table(Organisations::Table)
                    .col(Organisations::CorporateNumber)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                create_table(manager, Memberships::Table)
                    .col(pk_uuid(Memberships::Id))
                    .col(uuid(Memberships::OrganisationId))
                    .col(uuid(Memberships::ProfessionalId))
                    .col(timestamp_with_time_zone_null(
                        Memberships::ConfirmedByProfessionalAt,
                    ))
                    .col(timestamp_with_time_zone_null(
                        Memberships::ConfirmedByOrganisationAt,
                    ))
                    .col(timestamp_with_time_zone_default_now(Memberships::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_memberships_organisation")
                            .from(Memberships::Table, Memberships::OrganisationId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_memberships_professional")
                            .from(Memberships::Table, Memberships::ProfessionalId)
                            .to(Professionals::Table, Professionals::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_memberships_org_prof")
                    .table(Memberships::Table)
                    .col(Memberships::OrganisationId)
                    .col(Memberships::ProfessionalId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_memberships_professional")
                    .table(Memberships::Table)
                    .col(Memberships::ProfessionalId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Memberships::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Organisations::Table).to_owned())
            .await
    }
}
