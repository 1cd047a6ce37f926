//! Repeated audit events counted on one row: `token.refused` and `login.throttled` can be
//! caused by anyone at line rate, so the first of a window is a row as before and each repeat
//! within that window adds one to its `repeat_count` and moves `last_occurred_at`.
//!
//! The count is a column, not a field of the `after` JSON, because a repeat must add to it in
//! one statement that every engine runs atomically (`SET repeat_count = repeat_count + 1`);
//! JSON arithmetic has no portable form across SQLite, PostgreSQL and MariaDB. `repeat_key`
//! names the window's row (a SHA-256 of what the row says and the window); its unique index
//! makes two instances racing to write the first row end with one row and one increment.
//! Rows that are never aggregated keep a `NULL` key, which a unique index allows many times
//! on every engine.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    RepeatCount,
    LastOccurredAt,
    RepeatKey,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .add_column(
                        ColumnDef::new(AuditEvents::RepeatCount)
                            .integer()
                            .not_null()
                            .default(1),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .add_column(
                        ColumnDef::new(AuditEvents::LastOccurredAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AuditEvents::Table)
                    .add_column(ColumnDef::new(AuditEvents::RepeatKey).string_len(64).null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_audit_events_repeat_key")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::RepeatKey)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ux_audit_events_repeat_key")
                    .table(AuditEvents::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            AuditEvents::RepeatKey,
            AuditEvents::LastOccurredAt,
            AuditEvents::RepeatCount,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AuditEvents::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
