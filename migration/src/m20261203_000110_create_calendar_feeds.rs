//! A professional's personal calendar feed: the SHA-256 of the secret in its URL.
//!
//! `calendar_feeds`: at most one row per professional. Creating a feed again replaces the
//! digest, so the old URL stops working; revoking deletes the row. The secret itself is shown
//! once and never stored.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_util::create_table;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CalendarFeeds {
    Table,
    ProfessionalId,
    SecretSha256,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Professionals {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                create_table(manager, CalendarFeeds::Table)
                    .col(uuid(CalendarFeeds::ProfessionalId).primary_key())
                    .col(string_len_uniq(CalendarFeeds::SecretSha256, 64))
                    .col(timestamp_with_time_zone_default_now(
                        CalendarFeeds::CreatedAt,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_calendar_feeds_professional")
                            .from(CalendarFeeds::Table, CalendarFeeds::ProfessionalId)
                            .to(Professionals::Table, Professionals::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CalendarFeeds::Table).to_owned())
            .await
    }
}
