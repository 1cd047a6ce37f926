//! Bookkeeping for bulk imports and the scheduler's heartbeat per job.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_util::create_table;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum ImportRuns {
    Table,
    Id,
    Kind,
    FileName,
    StartedAt,
    FinishedAt,
    RowsTotal,
    RowsInserted,
    RowsUpdated,
    RowsUnchanged,
    RowsRejected,
    Report,
}

#[derive(DeriveIden)]
pub enum JobRuns {
    Table,
    Job,
    LastStartedAt,
    LastFinishedAt,
    LastError,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                create_table(manager, ImportRuns::Table)
                    .col(pk_uuid(ImportRuns::Id))
                    .col(string_len(ImportRuns::Kind, 32))
                    .col(string_len(ImportRuns::FileName, 254))
                    .col(timestamp_with_time_zone_default_now(ImportRuns::StartedAt))
                    .col(timestamp_with_time_zone_null(ImportRuns::FinishedAt))
                    .col(integer(ImportRuns::RowsTotal).default(0))
                    .col(integer(ImportRuns::RowsInserted).default(0))
                    .col(integer(ImportRuns::RowsUpdated).default(0))
                    .col(integer(ImportRuns::RowsUnchanged).default(0))
                    .col(integer(ImportRuns::RowsRejected).default(0))
                    .col(json_null(ImportRuns::Report))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_import_runs_started")
                    .table(ImportRuns::Table)
                    .col(ImportRuns::StartedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                create_table(manager, JobRuns::Table)
                    .col(string_len(JobRuns::Job, 64).primary_key())
                    .col(timestamp_with_time_zone_null(JobRuns::LastStartedAt))
                    .col(timestamp_with_time_zone_null(JobRuns::LastFinishedAt))
                    .col(text_null(JobRuns::LastError))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(JobRuns::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ImportRuns::Table).to_owned())
            .await
    }
}
