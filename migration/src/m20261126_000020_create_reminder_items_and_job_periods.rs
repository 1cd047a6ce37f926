//! Reminders and the scheduler's record of periods.
//!
//! `reminder_items`: one row per reminder reason ever queued, keyed by its dedupe key
//! (holding, cycle, reason, threshold), pointing at the notification (one digest email per
//! person per sweep) that carried it. The key is what makes a second sweep queue nothing.
//!
//! `job_periods`: one row per job and period that some instance started; the primary key on
//! (job, period) lets exactly one of several instances claim a period, on every backend.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_util::create_table;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ReminderItems {
    Table,
    DedupeKey,
    NotificationId,
    HoldingId,
    Reason,
    CreatedAt,
}

#[derive(DeriveIden)]
enum JobPeriods {
    Table,
    Job,
    Period,
    StartedAt,
    FinishedAt,
    Error,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
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
                create_table(manager, ReminderItems::Table)
                    .col(string_len(ReminderItems::DedupeKey, 254).primary_key())
                    .col(uuid(ReminderItems::NotificationId))
                    .col(uuid(ReminderItems::HoldingId))
                    .col(string_len(ReminderItems::Reason, 32))
                    .col(timestamp_with_time_zone_default_now(
                        ReminderItems::CreatedAt,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_reminder_items_notification")
                            .from(ReminderItems::Table, ReminderItems::NotificationId)
                            .to(Notifications::Table, Notifications::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_reminder_items_holding")
                            .from(ReminderItems::Table, ReminderItems::HoldingId)
                            .to(Holdings::Table, Holdings::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_reminder_items_notification")
                    .table(ReminderItems::Table)
                    .col(ReminderItems::NotificationId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                create_table(manager, JobPeriods::Table)
                    .col(string_len(JobPeriods::Job, 64))
                    .col(string_len(JobPeriods::Period, 32))
                    .col(timestamp_with_time_zone_default_now(JobPeriods::StartedAt))
                    .col(timestamp_with_time_zone_null(JobPeriods::FinishedAt))
                    .col(text_null(JobPeriods::Error))
                    .primary_key(
                        Index::create()
                            .name("pk_job_periods")
                            .col(JobPeriods::Job)
                            .col(JobPeriods::Period),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(JobPeriods::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ReminderItems::Table).to_owned())
            .await
    }
}
