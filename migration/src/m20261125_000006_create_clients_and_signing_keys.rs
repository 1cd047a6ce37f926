//! Machine identities (OAuth2 clients) and the keys tokens are signed with.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_util::create_table;

use crate::m20261125_000003_create_providers_and_courses::Providers;
use crate::m20261125_000005_create_organisations::Organisations;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Clients {
    Table,
    Id,
    ClientId,
    SecretHash,
    Name,
    Kind,
    ProviderId,
    OrganisationId,
    Scopes,
    RateLimitPerMinute,
    DisabledAt,
    SecretRotatedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum SigningKeys {
    Table,
    Id,
    Kid,
    Algorithm,
    PrivateKeyPem,
    PublicJwk,
    CreatedAt,
    RetiredAt,
    PublishUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                create_table(manager, Clients::Table)
                    .col(pk_uuid(Clients::Id))
                    .col(string_len(Clients::ClientId, 64))
                    .col(string_len(Clients::SecretHash, 254))
                    .col(string_len(Clients::Name, 254))
                    .col(string_len(Clients::Kind, 16))
                    .col(uuid_null(Clients::ProviderId))
                    .col(uuid_null(Clients::OrganisationId))
                    .col(string_len(Clients::Scopes, 254))
                    .col(integer(Clients::RateLimitPerMinute))
                    .col(timestamp_with_time_zone_null(Clients::DisabledAt))
                    .col(timestamp_with_time_zone_null(Clients::SecretRotatedAt))
                    .col(timestamp_with_time_zone_default_now(Clients::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_clients_provider")
                            .from(Clients::Table, Clients::ProviderId)
                            .to(Providers::Table, Providers::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_clients_organisation")
                            .from(Clients::Table, Clients::OrganisationId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_clients_client_id")
                    .table(Clients::Table)
                    .col(Clients::ClientId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_clients_provider")
                    .table(Clients::Table)
                    .col(Clients::ProviderId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_clients_organisation")
                    .table(Clients::Table)
                    .col(Clients::OrganisationId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                create_table(manager, SigningKeys::Table)
                    .col(pk_uuid(SigningKeys::Id))
                    .col(string_len(SigningKeys::Kid, 128))
                    .col(string_len(SigningKeys::Algorithm, 16))
                    .col(text(SigningKeys::PrivateKeyPem))
                    .col(json(SigningKeys::PublicJwk))
                    .col(timestamp_with_time_zone_default_now(SigningKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(SigningKeys::RetiredAt))
                    .col(timestamp_with_time_zone_null(SigningKeys::PublishUntil))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_signing_keys_kid")
                    .table(SigningKeys::Table)
                    .col(SigningKeys::Kid)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SigningKeys::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Clients::Table).to_owned())
            .await
    }
}
