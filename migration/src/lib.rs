//! Database migrations for cpe-ledger.
//!
//! Each migration lives in its own file and is never edited after it lands;
//! a change to the schema is a new migration. Every migration runs on SQLite,
//! PostgreSQL and MySQL/MariaDB, so only portable column types are used:
//! `uuid` keys, `varchar(n)` for anything indexed, `text` for free text,
//! `json` (not `jsonb`), `date`, `timestamp with time zone` for instants and
//! `bigint` for points and hours (hundredths).

pub use sea_orm_migration::prelude::*;

mod schema_util;

mod m20261125_000001_create_schemes_and_people;
mod m20261125_000002_create_holdings_and_cycles;
mod m20261125_000003_create_providers_and_courses;
mod m20261125_000004_create_credits;
mod m20261125_000005_create_organisations;
mod m20261125_000006_create_clients_and_signing_keys;
mod m20261125_000007_create_notifications_and_audit;
mod m20261125_000008_create_import_and_job_runs;
mod m20261125_000009_create_identity_tables;
mod m20261126_000010_add_claim_activity_type;
mod m20261126_000020_create_reminder_items_and_job_periods;
mod m20261126_000030_drop_job_runs;
mod m20261201_000040_create_reminder_preferences;
mod m20261202_000050_course_catalogue_and_attendance;
mod m20261202_000060_create_xapi_statements;
mod m20261202_000070_create_consents;
mod m20261202_000071_create_disclosures;
mod m20261202_000072_create_standing_projection;
mod m20261202_000080_create_issued_credentials;
mod m20261202_000081_create_webhooks;
mod m20261203_000090_create_evidence_and_self_reports;
mod m20261203_000100_add_user_locale;
mod m20261203_000110_create_calendar_feeds;
mod m20261204_000120_add_course_sessions;
mod m20261204_000140_create_audit_requests;
mod m20261204_000150_unique_provider_and_client_names;
mod m20261205_000200_audit_event_repeats;
mod m20261206_000300_create_client_request_budgets;
mod m20261206_000310_add_standing_projection_revision;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261125_000001_create_schemes_and_people::Migration),
            Box::new(m20261125_000002_create_holdings_and_cycles::Migration),
            Box::new(m20261125_000003_create_providers_and_courses::Migration),
            Box::new(m20261125_000004_create_credits::Migration),
            Box::new(m20261125_000005_create_organisations::Migration),
            Box::new(m20261125_000006_create_clients_and_signing_keys::Migration),
            Box::new(m20261125_000007_create_notifications_and_audit::Migration),
            Box::new(m20261125_000008_create_import_and_job_runs::Migration),
            Box::new(m20261125_000009_create_identity_tables::Migration),
            Box::new(m20261126_000010_add_claim_activity_type::Migration),
            Box::new(m20261126_000020_create_reminder_items_and_job_periods::Migration),
            Box::new(m20261126_000030_drop_job_runs::Migration),
            Box::new(m20261201_000040_create_reminder_preferences::Migration),
            Box::new(m20261202_000050_course_catalogue_and_attendance::Migration),
            Box::new(m20261202_000060_create_xapi_statements::Migration),
            Box::new(m20261202_000070_create_consents::Migration),
            Box::new(m20261202_000071_create_disclosures::Migration),
            Box::new(m20261202_000072_create_standing_projection::Migration),
            Box::new(m20261202_000080_create_issued_credentials::Migration),
            Box::new(m20261202_000081_create_webhooks::Migration),
            Box::new(m20261203_000090_create_evidence_and_self_reports::Migration),
            Box::new(m20261203_000100_add_user_locale::Migration),
            Box::new(m20261203_000110_create_calendar_feeds::Migration),
            Box::new(m20261204_000120_add_course_sessions::Migration),
            Box::new(m20261204_000140_create_audit_requests::Migration),
            Box::new(m20261204_000150_unique_provider_and_client_names::Migration),
            Box::new(m20261205_000200_audit_event_repeats::Migration),
            Box::new(m20261206_000300_create_client_request_budgets::Migration),
            Box::new(m20261206_000310_add_standing_projection_revision::Migration),
        ]
    }
}
