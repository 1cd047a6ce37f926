//! What each professional chose to receive, per reminder reason.
//!
//! `reminder_preferences`: one row per (professional, reason) that someone has chosen for,
//! by a one-click unsubscribe (RFC 8058) or its confirmation page. No row means the default:
//! the reason is sent. The sweep reads it before queueing; the lapse notice ignores it.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_util::create_table;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ReminderPreferences {
    Table,
    ProfessionalId,
    Reason,
    Subscribed,
    UpdatedAt,
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
                create_table(manager, ReminderPreferences::Table)
                    .col(uuid(ReminderPreferences::ProfessionalId))
                    .col(string_len(ReminderPreferences::Reason, 32))
                    .col(boolean(ReminderPreferences::Subscribed))
                    .col(timestamp_with_time_zone_default_now(
                        ReminderPreferences::UpdatedAt,
                    ))
                    .primary_key(
                        Index::create()
                            .name("pk_reminder_preferences")
                            .col(ReminderPreferences::ProfessionalId)
                            .col(ReminderPreferences::Reason),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_reminder_preferences_professional")
                            .from(
                                ReminderPreferences::Table,
                                ReminderPreferences::ProfessionalId,
                            )
                            .to(Professionals::Table, Professionals::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ReminderPreferences::Table).to_owned())
            .await
    }
}
