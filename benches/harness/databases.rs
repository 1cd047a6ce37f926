//! Databases the benchmarks make on the servers this machine runs, and drop after.

use sea_orm::{ConnectionTrait, Database};
use uuid::Uuid;

/// Drops a database `create_database` made, so repeated runs leave nothing behind.
pub async fn drop_database(url: &str) -> anyhow::Result<()> {
    let (server, name) = url
        .rsplit_once('/')
        .ok_or_else(|| anyhow::anyhow!("no database name in {url}"))?;
    let (admin, sql) = if server.starts_with("postgres") {
        (
            format!("{server}/postgres"),
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        )
    } else {
        (
            format!("{server}/"),
            format!("DROP DATABASE IF EXISTS {name}"),
        )
    };
    let admin = Database::connect(admin).await?;
    admin.execute_unprepared(&sql).await?;
    admin.close().await?;
    Ok(())
}

/// A new, empty database on `server`, reached through its `admin_db`; answers its URL.
pub async fn create_database(server: &str, admin_db: &str) -> anyhow::Result<String> {
    let admin = Database::connect(format!("{server}/{admin_db}")).await?;
    let name = format!("cpe_bench_{}", Uuid::new_v4().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    admin.close().await?;
    Ok(format!("{server}/{name}"))
}
