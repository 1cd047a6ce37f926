//! What each professional lets others see beyond the always-public fields of a holding.
//!
//! `consents`: one row per (professional, audience) that the professional has chosen for;
//! the audience is who reads (`procurement` systems, or the `public_registry` page). No row
//! means the default: nothing beyond scheme, registration number, status and valid-until.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_util::create_table;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Consents {
    Table,
    ProfessionalId,
    Audience,
    Name,
    Employer,
    CourseHistory,
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
                create_table(manager, Consents::Table)
                    .col(uuid(Consents::ProfessionalId))
                    .col(string_len(Consents::Audience, 32))
                    .col(boolean(Consents::Name))
                    .col(boolean(Consents::Employer))
                    .col(boolean(Consents::CourseHistory))
                    .col(timestamp_with_time_zone_default_now(Consents::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .name("pk_consents")
                            .col(Consents::ProfessionalId)
                            .col(Consents::Audience),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_consents_professional")
                            .from(Consents::Table, Consents::ProfessionalId)
                            .to(Professionals::Table, Professionals::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Consents::Table).to_owned())
            .await
    }
}
