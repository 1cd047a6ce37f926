//! Sample audits of self-reported credits: one request for evidence per sampled credit.
//!
//! `audit_requests`: the credit asked about (at most one request each, so drawing the same
//! sample again asks nobody twice), whose it is, the scheme and seed of the sample that drew
//! it, when it was asked and by which day the evidence is due, the evidence file that answered
//! it, and the outcome: `open`, `answered`, or `expired` (no evidence in time; the credit was
//! voided through the ledger).

use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_util::create_table;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditRequests {
    Table,
    Id,
    CreditId,
    ProfessionalId,
    SchemeId,
    Seed,
    RequestedAt,
    DueOn,
    EvidenceId,
    AnsweredAt,
    Outcome,
    ClosedAt,
}

#[derive(DeriveIden)]
enum Credits {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Professionals {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Evidence {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                create_table(manager, AuditRequests::Table)
                    .col(pk_uuid(AuditRequests::Id))
                    .col(uuid_uniq(AuditRequests::CreditId))
                    .col(uuid(AuditRequests::ProfessionalId))
                    .col(string_len(AuditRequests::SchemeId, 64))
                    // The seed as its decimal text: a u64 does not fit every backend's bigint.
                    .col(string_len(AuditRequests::Seed, 20))
                    .col(timestamp_with_time_zone(AuditRequests::RequestedAt))
                    .col(date(AuditRequests::DueOn))
                    .col(uuid_null(AuditRequests::EvidenceId))
                    .col(timestamp_with_time_zone_null(AuditRequests::AnsweredAt))
                    .col(string_len(AuditRequests::Outcome, 16))
                    .col(timestamp_with_time_zone_null(AuditRequests::ClosedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_audit_requests_credit")
                            .from(AuditRequests::Table, AuditRequests::CreditId)
                            .to(Credits::Table, Credits::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_audit_requests_professional")
                            .from(AuditRequests::Table, AuditRequests::ProfessionalId)
                            .to(Professionals::Table, Professionals::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_audit_requests_evidence")
                            .from(AuditRequests::Table, AuditRequests::EvidenceId)
                            .to(Evidence::Table, Evidence::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_requests_professional")
                    .table(AuditRequests::Table)
                    .col(AuditRequests::ProfessionalId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_requests_outcome_due")
                    .table(AuditRequests::Table)
                    .col(AuditRequests::Outcome)
                    .col(AuditRequests::DueOn)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditRequests::Table).to_owned())
            .await
    }
}
