//! `job_runs` (a heartbeat per job) was never written: the scheduler records each period it runs
//! in `job_periods`, which also tells when a job last started, finished or failed. One table for
//! one fact.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000008_create_import_and_job_runs::JobRuns;
use crate::schema_util::create_table;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(JobRuns::Table).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
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
}
