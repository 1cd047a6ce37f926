//! Status webhooks: a procurement client's subscriptions and the holdings each watches.
//!
//! - `webhook_subscriptions`: the client (by its `client_id`), the target URL, and the secret
//!   that signs every delivery (HMAC-SHA256). The secret must be readable to sign with, so it is
//!   stored as issued; it is shown to the client once, at creation.
//! - `webhook_watches`: one row per (subscription, holding), with the last state, status and
//!   valid-until that was announced and how many changes were announced so far. A change bumps
//!   `changes`, and the delivery's dedupe key carries that number, so each change is queued once.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_util::create_table;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookSubscriptions {
    Table,
    Id,
    ClientId,
    TargetUrl,
    Secret,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookWatches {
    Table,
    SubscriptionId,
    HoldingId,
    LastStatus,
    LastState,
    LastValidUntil,
    Changes,
    CheckedAt,
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
                create_table(manager, WebhookSubscriptions::Table)
                    .col(pk_uuid(WebhookSubscriptions::Id))
                    .col(string_len(WebhookSubscriptions::ClientId, 64))
                    .col(text(WebhookSubscriptions::TargetUrl))
                    .col(string_len(WebhookSubscriptions::Secret, 128))
                    .col(timestamp_with_time_zone_default_now(
                        WebhookSubscriptions::CreatedAt,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_subscriptions_client")
                    .table(WebhookSubscriptions::Table)
                    .col(WebhookSubscriptions::ClientId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                create_table(manager, WebhookWatches::Table)
                    .col(uuid(WebhookWatches::SubscriptionId))
                    .col(uuid(WebhookWatches::HoldingId))
                    .col(string_len(WebhookWatches::LastStatus, 16))
                    .col(string_len_null(WebhookWatches::LastState, 16))
                    .col(date_null(WebhookWatches::LastValidUntil))
                    .col(integer(WebhookWatches::Changes))
                    .col(timestamp_with_time_zone(WebhookWatches::CheckedAt))
                    .primary_key(
                        Index::create()
                            .name("pk_webhook_watches")
                            .col(WebhookWatches::SubscriptionId)
                            .col(WebhookWatches::HoldingId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_watches_subscription")
                            .from(WebhookWatches::Table, WebhookWatches::SubscriptionId)
                            .to(WebhookSubscriptions::Table, WebhookSubscriptions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_watches_holding")
                            .from(WebhookWatches::Table, WebhookWatches::HoldingId)
                            .to(Holdings::Table, Holdings::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_watches_holding")
                    .table(WebhookWatches::Table)
                    .col(WebhookWatches::HoldingId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookWatches::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(WebhookSubscriptions::Table).to_owned())
            .await
    }
}
