//! The disclosure log: every procurement read of a holding, so its owner can see who looked.
//!
//! `disclosures`: append-only, one row per holding per answer: the client that asked, the
//! holding, the fields the answer carried (comma-separated names, e.g.
//! `scheme,registration_number,status,valid_until,name`) and when. Read newest first per
//! holding, so it is indexed by (holding, time).

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_util::create_table;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Disclosures {
    Table,
    Id,
    ClientId,
    HoldingId,
    Fields,
    DisclosedAt,
}

#[derive(DeriveIden)]
enum Holdings {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                create_table(manager, Disclosures::Table)
                    .col(pk_uuid(Disclosures::Id))
                    .col(string_len(Disclosures::ClientId, 64))
                    .col(uuid(Disclosures::HoldingId))
                    .col(string_len(Disclosures::Fields, 254))
                    .col(timestamp_with_time_zone(Disclosures::DisclosedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_disclosures_holding")
                            .from(Disclosures::Table, Disclosures::HoldingId)
                            .to(Holdings::Table, Holdings::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_disclosures_holding_time")
                    .table(Disclosures::Table)
                    .col(Disclosures::HoldingId)
                    .col(Disclosures::DisclosedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Disclosures::Table).to_owned())
            .await
    }
}
