//! Machine clients' request budgets, shared by every instance of the app.
//!
//! `client_request_budgets`: one row per client and budget (`per_minute`, the client's
//! `rate_limit_per_minute` when the row was written; a changed limit starts a fresh row). The
//! budget is a GCRA cell: `full_at` is the instant, in microseconds since the Unix epoch, at
//! which the client's budget is whole again if it makes no more requests. Each request pushes
//! it one request's share of the minute (`60 s / per_minute`) further, from now if it lies in
//! the past; a request is allowed while `full_at` stays within one minute of now. Instances
//! add their requests in batches with one upsert (see `auth::client_limits`); a row whose
//! `full_at` has passed says nothing a missing row would not, so old rows are deleted freely.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_util::create_table;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ClientRequestBudgets {
    Table,
    ClientId,
    PerMinute,
    FullAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                create_table(manager, ClientRequestBudgets::Table)
                    .col(string_len(ClientRequestBudgets::ClientId, 64))
                    .col(integer(ClientRequestBudgets::PerMinute))
                    .col(big_integer(ClientRequestBudgets::FullAt))
                    .primary_key(
                        Index::create()
                            .name("pk_client_request_budgets")
                            .col(ClientRequestBudgets::ClientId)
                            .col(ClientRequestBudgets::PerMinute),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ClientRequestBudgets::Table).to_owned())
            .await
    }
}
