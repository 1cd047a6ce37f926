//! The standing projection: each holding's standing verdict as the engine last computed it,
//! kept current by every ledger, cycle and holding write, so procurement reads one indexed
//! row instead of recomputing from the ledger.
//!
//! `standing_projection`: one row per holding, keyed by it, with the holding's scheme and
//! registration number (unique together, the procurement lookup) and status copied beside
//! the verdict: the state (`NULL` when the holding has no cycle to judge), the cycle's last
//! valid day, the day the verdict was computed for (`judged_on`, in the holder's time zone)
//! and the instant from which it may be out of date (`recheck_at`, the holder's next
//! midnight), after which a read recomputes it.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_util::create_table;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum StandingProjection {
    Table,
    HoldingId,
    ProfessionalId,
    SchemeId,
    RegistrationNumber,
    Status,
    State,
    ValidUntil,
    JudgedOn,
    RecheckAt,
    UpdatedAt,
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
                create_table(manager, StandingProjection::Table)
                    .col(pk_uuid(StandingProjection::HoldingId))
                    .col(uuid(StandingProjection::ProfessionalId))
                    .col(string_len(StandingProjection::SchemeId, 64))
                    .col(string_len(StandingProjection::RegistrationNumber, 64))
                    .col(string_len(StandingProjection::Status, 16))
                    .col(string_len_null(StandingProjection::State, 16))
                    .col(date_null(StandingProjection::ValidUntil))
                    .col(date(StandingProjection::JudgedOn))
                    .col(timestamp_with_time_zone(StandingProjection::RecheckAt))
                    .col(timestamp_with_time_zone(StandingProjection::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_standing_projection_holding")
                            .from(StandingProjection::Table, StandingProjection::HoldingId)
                            .to(Holdings::Table, Holdings::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_standing_projection_registration")
                    .table(StandingProjection::Table)
                    .col(StandingProjection::SchemeId)
                    .col(StandingProjection::RegistrationNumber)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_standing_projection_professional")
                    .table(StandingProjection::Table)
                    .col(StandingProjection::ProfessionalId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(StandingProjection::Table).to_owned())
            .await
    }
}
