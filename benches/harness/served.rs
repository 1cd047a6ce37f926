//! The app as the harness serves it: started by `startup::Application::build` on a fresh
//! database of the chosen backend, listening on a loopback port, stopped and its database
//! dropped at the end. Child processes (`cpe-ledger serve`, the sweep) reach the same
//! database through [`Served::env`].

use cpe_ledger::app::AppState;
use cpe_ledger::config::{Config, Settings};
use cpe_ledger::startup::Application;

use crate::databases::{create_database, drop_database};

pub struct Served {
    pub backend: &'static str,
    pub address: std::net::SocketAddr,
    pub state: AppState,
    url: Option<String>,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    dir: tempfile::TempDir,
}

impl Served {
    /// Serves the app on `backend` (`sqlite` or `postgres`) with the scheduler off.
    pub async fn start(backend: &'static str) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let url = match backend {
            "postgres" => {
                Some(create_database("postgres://postgres@127.0.0.1:5432", "postgres").await?)
            }
            _ => None,
        };
        let settings = Settings {
            database_url: url.clone(),
            data_dir: Some(dir.path().display().to_string()),
            listen: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
            scheduler: Some(false),
            max_connections_per_address: Some("100000".to_owned()),
            ..Default::default()
        };
        let app = Application::build(Config::from_settings(&settings)?).await?;
        let address = app.local_addr()?;
        let state = app.state();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        Ok(Self {
            backend,
            address,
            state,
            url,
            stop,
            server,
            dir,
        })
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The settings that point another process at this database and data folder.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![(
            "CPE_LEDGER_DATA_DIR".to_owned(),
            self.dir.path().display().to_string(),
        )];
        if let Some(url) = &self.url {
            env.push(("CPE_LEDGER_DATABASE_URL".to_owned(), url.clone()));
        }
        // The same issuer, so that each process accepts the tokens the other signs.
        env.push((
            "CPE_LEDGER_PUBLIC_URL".to_owned(),
            self.state.config.public_url.to_string(),
        ));
        env
    }

    /// The same, as the harness's own `Settings` (for a child process of the harness).
    pub fn settings(env: &[(String, String)]) -> Settings {
        let find = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        Settings {
            data_dir: find("CPE_LEDGER_DATA_DIR"),
            database_url: find("CPE_LEDGER_DATABASE_URL"),
            scheduler: Some(false),
            ..Default::default()
        }
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

/// `cpe-ledger serve` in a process of its own on the harness's database, killed when dropped.
pub struct Child {
    pub process: std::process::Child,
    pub address: std::net::SocketAddr,
}

impl Child {
    /// Starts `serve` with `env` on a free loopback port; answers at once (see `ready`).
    pub fn spawn(env: &[(String, String)]) -> anyhow::Result<Self> {
        let address = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let process = std::process::Command::new(env!("CARGO_BIN_EXE_cpe-ledger"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("CPE_LEDGER_LISTEN", address.to_string())
            .env("CPE_LEDGER_MAX_CONNECTIONS_PER_ADDRESS", "100000")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        Ok(Self { process, address })
    }

    /// Whether `GET /health/ready` answers 200 now (one plain HTTP/1.1 exchange).
    pub fn ready(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(self.address) else {
            return false;
        };
        let asked = stream.write_all(
            b"GET /health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        );
        let mut head = [0u8; 12];
        asked.is_ok() && stream.read_exact(&mut head).is_ok() && head.ends_with(b"200")
    }

    /// Waits until ready, or fails once the process has ended or `limit` has passed.
    pub fn wait_ready(&mut self, limit: std::time::Duration) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        while !self.ready() {
            if let Some(status) = self.process.try_wait()? {
                anyhow::bail!("cpe-ledger serve ended before it was ready: {status}");
            }
            anyhow::ensure!(
                started.elapsed() < limit,
                "cpe-ledger serve not ready in time"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        Ok(())
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
