//! A revision on each standing projection row: a new random id every time the row is judged
//! again, so a reader can tell that the ledger behind it has changed (the professional's
//! dashboard is kept in memory while it has not). `updated_at` cannot say so on every engine:
//! MariaDB keeps whole seconds, and two writes within one second would look like none.
//! Rows written before have none, and count as changed on their next read.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum StandingProjection {
    Table,
    Revision,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(StandingProjection::Table)
                    .add_column(ColumnDef::new(StandingProjection::Revision).uuid().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(StandingProjection::Table)
                    .drop_column(StandingProjection::Revision)
                    .to_owned(),
            )
            .await
    }
}
