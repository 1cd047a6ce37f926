//! Status credentials issued, so that each can be revoked.
//!
//! `issued_credentials`: one row per signed credential (its `jti` is `urn:uuid:<id>`), naming
//! the holding it speaks about, who asked for it (the professional, or a procurement client),
//! its lifetime and, once revoked, when. The signed token itself is not kept: whoever holds it
//! shows it, and the row answers whether it still stands.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_util::create_table;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IssuedCredentials {
    Table,
    Id,
    HoldingId,
    ProfessionalId,
    RequestedBy,
    Kid,
    IssuedAt,
    ExpiresAt,
    RevokedAt,
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
                create_table(manager, IssuedCredentials::Table)
                    .col(pk_uuid(IssuedCredentials::Id))
                    .col(uuid(IssuedCredentials::HoldingId))
                    .col(uuid(IssuedCredentials::ProfessionalId))
                    .col(string_len(IssuedCredentials::RequestedBy, 128))
                    .col(string_len(IssuedCredentials::Kid, 128))
                    .col(timestamp_with_time_zone(IssuedCredentials::IssuedAt))
                    .col(timestamp_with_time_zone(IssuedCredentials::ExpiresAt))
                    .col(timestamp_with_time_zone_null(IssuedCredentials::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_issued_credentials_holding")
                            .from(IssuedCredentials::Table, IssuedCredentials::HoldingId)
                            .to(Holdings::Table, Holdings::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_issued_credentials_professional")
                    .table(IssuedCredentials::Table)
                    .col(IssuedCredentials::ProfessionalId)
                    .col(IssuedCredentials::IssuedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IssuedCredentials::Table).to_owned())
            .await
    }
}
