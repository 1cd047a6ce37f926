//! Sign-in support: single-use emailed links, failed-login counters, and a per-user instant
//! before which every issued token is void (logout, password change).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000001_create_schemes_and_people::Users;
use crate::schema_util::create_table;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum OneTimeTokens {
    Table,
    Id,
    UserId,
    Purpose,
    TokenHash,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum LoginFailures {
    Table,
    Id,
    ScopeKey,
    OccurredAt,
}

#[derive(DeriveIden)]
enum UsersExtra {
    SessionsRevokedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(timestamp_with_time_zone_null(UsersExtra::SessionsRevokedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                create_table(manager, OneTimeTokens::Table)
                    .col(pk_uuid(OneTimeTokens::Id))
                    .col(uuid(OneTimeTokens::UserId))
                    .col(string_len(OneTimeTokens::Purpose, 16))
                    .col(string_len(OneTimeTokens::TokenHash, 64))
                    .col(timestamp_with_time_zone(OneTimeTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(OneTimeTokens::UsedAt))
                    .col(timestamp_with_time_zone_default_now(
                        OneTimeTokens::CreatedAt,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_one_time_tokens_user")
                            .from(OneTimeTokens::Table, OneTimeTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_one_time_tokens_hash")
                    .table(OneTimeTokens::Table)
                    .col(OneTimeTokens::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_one_time_tokens_user")
                    .table(OneTimeTokens::Table)
                    .col(OneTimeTokens::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                create_table(manager, LoginFailures::Table)
                    .col(pk_uuid(LoginFailures::Id))
                    .col(string_len(LoginFailures::ScopeKey, 254))
                    .col(timestamp_with_time_zone(LoginFailures::OccurredAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_login_failures_key_time")
                    .table(LoginFailures::Table)
                    .col(LoginFailures::ScopeKey)
                    .col(LoginFailures::OccurredAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LoginFailures::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(OneTimeTokens::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(UsersExtra::SessionsRevokedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
