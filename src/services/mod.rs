//! Business operations over the database. Services take a connection and return domain values
//! and errors; they know nothing of HTTP.

pub mod account_settings;
pub mod accounts;
pub mod attendance;
pub mod audit;
pub mod bulk_write;
pub mod calendar_feed;
pub mod clients;
pub mod consents;
pub mod course_history;
pub mod courses;
pub mod credential_disclosure;
pub mod credentials;
pub mod credit_review;
pub mod csv_text;
pub mod dashboard_cache;
pub mod demo_data;
pub mod disclosures;
pub mod evidence;
pub mod holding_facts;
pub mod holdings;
pub mod ledger;
pub mod links;
pub mod notifications;
pub mod organisations;
pub mod outbox_status;
pub mod planner;
pub mod procurement;
pub mod providers;
pub mod registry_import;
pub mod reminder_preferences;
pub mod reminders;
pub mod renewal;
pub mod renewal_history;
pub mod sample_audit;
pub mod schemes;
pub mod self_report;
pub mod sign_in;
pub mod standing;
pub mod standing_projection;
pub mod throttle;
pub mod transcript;
pub mod users;
pub mod webhooks;
pub mod xapi;

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, TransactionOptions, TransactionTrait,
};

/// Starts a transaction that will write. On SQLite it takes the write lock at `BEGIN`
/// (`BEGIN IMMEDIATE`), so it waits on `busy_timeout` instead of failing when a read
/// transaction would later need to upgrade; other engines ignore the option.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Ends `txn` by the outcome of an insert guarded by a unique key: commits it and answers
/// `true` when the insert went in, rolls it back and answers `false` when the key was already
/// there (someone else got there first), and passes on any other error.
pub async fn commit_unless_duplicate<T>(
    txn: impl sea_orm::TransactionSession,
    inserted: Result<T, DbErr>,
) -> Result<bool, DbErr> {
    match inserted {
        Ok(_) => {
            txn.commit().await?;
            Ok(true)
        }
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            txn.rollback().await?;
            Ok(false)
        }
        Err(e) => Err(e),
    }
}
