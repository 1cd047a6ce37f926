//! Helpers shared by the migrations.
//!
//! Migrations never change after they land, so neither may what these
//! helpers produce: add a new helper instead of changing an existing one.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// `CREATE TABLE` with the same string semantics on every backend.
///
/// On MySQL/MariaDB the table is InnoDB, `utf8mb4` whatever the server's
/// default character set, with the binary collation `utf8mb4_bin`: unique
/// keys such as registration numbers, provider references, client ids and
/// dedupe keys then compare exactly (case-sensitively), as they do on
/// PostgreSQL and SQLite, instead of case- and accent-insensitively as the
/// MariaDB default `utf8mb4_general_ci` would. The options are MySQL-only
/// syntax, so other backends get a plain `CREATE TABLE`.
pub(crate) fn create_table<T>(manager: &SchemaManager, table: T) -> TableCreateStatement
where
    T: IntoIden + 'static,
{
    let mut statement = Table::create();
    statement.table(table);
    if manager.get_database_backend() == DbBackend::MySql {
        statement
            .engine("InnoDB")
            .character_set("utf8mb4")
            .collate("utf8mb4_bin");
    }
    statement
}
