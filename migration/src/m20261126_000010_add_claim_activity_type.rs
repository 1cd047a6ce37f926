//! Each claim names the activity type in its own scheme's words.
//!
//! One course may be `education` for CISSP and `training` for CISA, so the activity type moves
//! from the credit alone onto each of its claims. Existing claims are backfilled with their
//! credit's activity type, which is what the standing engine read for them until now, so every
//! credit keeps its meaning. The credit's own `activity_type` stays: it is the type in the
//! scheme of the holding the credit was recorded against, and fills that scheme's slots.

use sea_orm_migration::prelude::*;

use crate::m20261125_000004_create_credits::{CreditClaims, Credits};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ClaimActivity {
    ActivityType,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite can only add a NOT NULL column with a default; the backfill below replaces
        // it in every existing row, and the ledger always writes the column.
        manager
            .alter_table(
                Table::alter()
                    .table(CreditClaims::Table)
                    .add_column(
                        ColumnDef::new(ClaimActivity::ActivityType)
                            .string_len(64)
                            .not_null()
                            .default(""),
                    )
                    .to_owned(),
            )
            .await?;
        // UPDATE credit_claims SET activity_type =
        //   (SELECT activity_type FROM credits WHERE credits.id = credit_claims.credit_id)
        let backfill = Query::update()
            .table(CreditClaims::Table)
            .value(
                ClaimActivity::ActivityType,
                SimpleExpr::SubQuery(
                    None,
                    Box::new(
                        Query::select()
                            .column((Credits::Table, Credits::ActivityType))
                            .from(Credits::Table)
                            .and_where(
                                Expr::col((Credits::Table, Credits::Id))
                                    .equals((CreditClaims::Table, CreditClaims::CreditId)),
                            )
                            .to_owned()
                            .into_sub_query_statement(),
                    ),
                ),
            )
            .to_owned();
        manager.exec_stmt(backfill).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CreditClaims::Table)
                    .drop_column(ClaimActivity::ActivityType)
                    .to_owned(),
            )
            .await
    }
}
