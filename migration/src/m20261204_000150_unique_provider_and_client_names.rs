//! Provider and client names are unique: the services check before they insert, and these
//! indexes make two creations racing past that check end with one row and one conflict.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Providers {
    Table,
    Name,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    Name,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("ux_providers_name")
                    .table(Providers::Table)
                    .col(Providers::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_clients_name")
                    .table(Clients::Table)
                    .col(Clients::Name)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ux_clients_name")
                    .table(Clients::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ux_providers_name")
                    .table(Providers::Table)
                    .to_owned(),
            )
            .await
    }
}
