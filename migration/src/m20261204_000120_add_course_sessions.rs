//! The days a course is next held, so that a renewal plan can propose courses a professional
//! can still attend. A JSON array of dates (`["2027-01-15", "2027-03-10"]`); `NULL` for a
//! course without dated sessions (an on-demand course can be taken any day).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Courses {
    Table,
    Sessions,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Courses::Table)
                    .add_column(ColumnDef::new(Courses::Sessions).json().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Courses::Table)
                    .drop_column(Courses::Sessions)
                    .to_owned(),
            )
            .await
    }
}
