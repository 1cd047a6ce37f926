//! xAPI statements that providers' systems send to `/xapi/statements`.
//!
//! `xapi_statements`: one row per statement a provider stored, as the LRS returns it (with
//! `id`, `stored`, `authority` and `version` filled). Statement ids are unique per provider:
//! each provider sees its own learning record store, and nothing about another's. The columns
//! beside the JSON are what the query form filters on. `stored_ms` is the `stored` instant in
//! milliseconds since the Unix epoch, because the query form pages and filters by it to the
//! millisecond and MySQL/MariaDB `timestamp` columns keep whole seconds only.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_util::create_table;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum XapiStatements {
    Table,
    Id,
    ProviderId,
    StatementId,
    Statement,
    Fingerprint,
    VerbId,
    ActivityId,
    ActorKey,
    ObjectAgentKey,
    Registration,
    VoidsStatementId,
    StoredMs,
    Voided,
    CreditReference,
}

#[derive(DeriveIden)]
enum Providers {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                create_table(manager, XapiStatements::Table)
                    .col(pk_uuid(XapiStatements::Id))
                    .col(uuid(XapiStatements::ProviderId))
                    .col(uuid(XapiStatements::StatementId))
                    .col(json(XapiStatements::Statement))
                    .col(string_len(XapiStatements::Fingerprint, 64))
                    .col(text(XapiStatements::VerbId))
                    .col(text_null(XapiStatements::ActivityId))
                    .col(text_null(XapiStatements::ActorKey))
                    .col(text_null(XapiStatements::ObjectAgentKey))
                    .col(uuid_null(XapiStatements::Registration))
                    .col(uuid_null(XapiStatements::VoidsStatementId))
                    .col(big_integer(XapiStatements::StoredMs))
                    .col(boolean(XapiStatements::Voided).default(false))
                    .col(string_len_null(XapiStatements::CreditReference, 128))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_xapi_statements_provider")
                            .from(XapiStatements::Table, XapiStatements::ProviderId)
                            .to(Providers::Table, Providers::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_xapi_statements_provider_statement")
                    .table(XapiStatements::Table)
                    .col(XapiStatements::ProviderId)
                    .col(XapiStatements::StatementId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_xapi_statements_provider_stored")
                    .table(XapiStatements::Table)
                    .col(XapiStatements::ProviderId)
                    .col(XapiStatements::StoredMs)
                    .col(XapiStatements::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(XapiStatements::Table).to_owned())
            .await
    }
}
