//! The app as the benchmarks serve it: started by `startup::Application::build` on a fresh
//! database of the chosen backend, listening on a loopback port, stopped and its database
//! dropped at the end.

use cpe_ledger::app::AppState;
use cpe_ledger::config::{Config, Settings};
use cpe_ledger::startup::Application;

use super::databases::{create_database, drop_database};

pub struct Served {
    pub address: std::net::SocketAddr,
    pub state: AppState,
    url: Option<String>,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Served {
    /// Serves the app on `backend` (`sqlite` or `postgres`), with the scheduler off and the
    /// settings `adjust` changes.
    pub async fn start(backend: &str, adjust: impl FnOnce(&mut Settings)) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let url = match backend {
            "postgres" => {
                Some(create_database("postgres://postgres@127.0.0.1:5432", "postgres").await?)
            }
            _ => None,
        };
        let mut settings = Settings {
            database_url: url.clone(),
            data_dir: Some(dir.path().display().to_string()),
            listen: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
            scheduler: Some(false),
            ..Default::default()
        };
        adjust(&mut settings);
        let app = Application::build(Config::from_settings(&settings)?).await?;
        let address = app.local_addr()?;
        let state = app.state();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        Ok(Self {
            address,
            state,
            url,
            stop,
            server,
            _dir: dir,
        })
    }

    /// Stops the server, closes its pool and drops its PostgreSQL database.
    pub async fn finish(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.server.await??;
        self.state.db.clone().close().await?;
        if let Some(url) = self.url {
            drop_database(&url).await?;
        }
        Ok(())
    }
}
