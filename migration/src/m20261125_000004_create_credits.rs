//! The append-only credit ledger and the points each entry claims.

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_util::create_table;

use crate::m20261125_000001_create_schemes_and_people::Professionals;
use crate::m20261125_000003_create_providers_and_courses::{Courses, Providers};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Credits {
    Table,
    Id,
    ProfessionalId,
    CourseId,
    ProviderId,
    ProviderReference,
    ActivityType,
    Title,
    CompletedOn,
    Hours,
    Source,
    State,
    Evidence,
    ReplacesCreditId,
    VoidedAt,
    VoidReason,
    RecordedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum CreditClaims {
    Table,
    Id,
    CreditId,
    SchemeId,
    Category,
    Points,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                create_table(manager, Credits::Table)
                    .col(pk_uuid(Credits::Id))
                    .col(uuid(Credits::ProfessionalId))
                    .col(uuid_null(Credits::CourseId))
                    .col(uuid_null(Credits::ProviderId))
                    .col(string_len_null(Credits::ProviderReference, 128))
                    .col(string_len(Credits::ActivityType, 64))
                    .col(text(Credits::Title))
                    .col(date(Credits::CompletedOn))
                    .col(big_integer(Credits::Hours))
                    .col(string_len(Credits::Source, 16))
                    .col(string_len(Credits::State, 16))
                    .col(json_null(Credits::Evidence))
                    .col(uuid_null(Credits::ReplacesCreditId))
                    .col(timestamp_with_time_zone_null(Credits::VoidedAt))
                    .col(text_null(Credits::VoidReason))
                    .col(string_len_null(Credits::RecordedBy, 128))
                    .col(timestamp_with_time_zone_default_now(Credits::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_credits_professional")
                            .from(Credits::Table, Credits::ProfessionalId)
                            .to(Professionals::Table, Professionals::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_credits_course")
                            .from(Credits::Table, Credits::CourseId)
                            .to(Courses::Table, Courses::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_credits_provider")
                            .from(Credits::Table, Credits::ProviderId)
                            .to(Providers::Table, Providers::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_credits_replaces")
                            .from(Credits::Table, Credits::ReplacesCreditId)
                            .to(Credits::Table, Credits::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        // NULL provider_reference (self-reported or admin entries) may repeat:
        // PostgreSQL (NULLS DISTINCT by default), MariaDB and SQLite all treat
        // NULLs as distinct in a unique index.
        manager
            .create_index(
                Index::create()
                    .name("ux_credits_provider_ref")
                    .table(Credits::Table)
                    .col(Credits::ProviderId)
                    .col(Credits::ProviderReference)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_credits_prof_completed")
                    .table(Credits::Table)
                    .col(Credits::ProfessionalId)
                    .col(Credits::CompletedOn)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_credits_course")
                    .table(Credits::Table)
                    .col(Credits::CourseId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_credits_replaces")
                    .table(Credits::Table)
                    .col(Credits::ReplacesCreditId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_credits_state")
                    .table(Credits::Table)
                    .col(Credits::State)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                create_table(manager, CreditClaims::Table)
                    .col(pk_uuid(CreditClaims::Id))
                    .col(uuid(CreditClaims::CreditId))
                    .col(string_len(CreditClaims::SchemeId, 64))
                    .col(string_len(CreditClaims::Category, 64))
                    .col(big_integer(CreditClaims::Points))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_credit_claims_credit")
                            .from(CreditClaims::Table, CreditClaims::CreditId)
                            .to(Credits::Table, Credits::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_credit_claims_credit_scheme_cat")
                    .table(CreditClaims::Table)
                    .col(CreditClaims::CreditId)
                    .col(CreditClaims::SchemeId)
                    .col(CreditClaims::Category)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_credit_claims_scheme")
                    .table(CreditClaims::Table)
                    .col(CreditClaims::SchemeId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CreditClaims::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Credits::Table).to_owned())
            .await
    }
}
