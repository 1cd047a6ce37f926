//! Self-reported credits: the evidence files professionals upload, what a self-report says
//! beyond the ledger entry (the provider's name, the evidence), and staff's review decisions.
//!
//! `evidence` keeps the file's bytes in the database, so every instance reads the same file
//! and a database backup holds it. The content column is `LONGBLOB` on MySQL/MariaDB (its
//! `BLOB` stops at 64 KiB), `bytea` on PostgreSQL and `BLOB` on SQLite; files are at most
//! 5 MB, which MariaDB's default 16 MiB packet carries.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use crate::schema_util::create_table;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Evidence {
    Table,
    Id,
    ProfessionalId,
    MediaType,
    SizeBytes,
    Sha256,
    FileName,
    Content,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SelfReports {
    Table,
    CreditId,
    ProviderName,
    EvidenceId,
}

#[derive(DeriveIden)]
enum CreditReviews {
    Table,
    Id,
    CreditId,
    Decision,
    Reason,
    ReviewedBy,
    ReviewedAt,
}

#[derive(DeriveIden)]
enum Professionals {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Credits {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut content = ColumnDef::new(Evidence::Content);
        if manager.get_database_backend() == DbBackend::MySql {
            content.custom(Alias::new("LONGBLOB"));
        } else {
            content.blob();
        }
        content.not_null();
        manager
            .create_table(
                create_table(manager, Evidence::Table)
                    .col(pk_uuid(Evidence::Id))
                    .col(uuid(Evidence::ProfessionalId))
                    .col(string_len(Evidence::MediaType, 32))
                    .col(big_integer(Evidence::SizeBytes))
                    .col(string_len(Evidence::Sha256, 64))
                    .col(string_len_null(Evidence::FileName, 255))
                    .col(content)
                    .col(timestamp_with_time_zone(Evidence::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_evidence_professional")
                            .from(Evidence::Table, Evidence::ProfessionalId)
                            .to(Professionals::Table, Professionals::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_evidence_professional")
                    .table(Evidence::Table)
                    .col(Evidence::ProfessionalId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                create_table(manager, SelfReports::Table)
                    .col(pk_uuid(SelfReports::CreditId))
                    .col(string_len(SelfReports::ProviderName, 200))
                    .col(uuid_null(SelfReports::EvidenceId))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_self_reports_credit")
                            .from(SelfReports::Table, SelfReports::CreditId)
                            .to(Credits::Table, Credits::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_self_reports_evidence")
                            .from(SelfReports::Table, SelfReports::EvidenceId)
                            .to(Evidence::Table, Evidence::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                create_table(manager, CreditReviews::Table)
                    .col(pk_uuid(CreditReviews::Id))
                    .col(uuid(CreditReviews::CreditId))
                    .col(string_len(CreditReviews::Decision, 16))
                    .col(text_null(CreditReviews::Reason))
                    .col(string_len(CreditReviews::ReviewedBy, 128))
                    .col(timestamp_with_time_zone(CreditReviews::ReviewedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_credit_reviews_credit")
                            .from(CreditReviews::Table, CreditReviews::CreditId)
                            .to(Credits::Table, Credits::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_credit_reviews_credit")
                    .table(CreditReviews::Table)
                    .col(CreditReviews::CreditId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            CreditReviews::Table.into_iden(),
            SelfReports::Table.into_iden(),
            Evidence::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
