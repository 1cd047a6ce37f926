//! `cpe-ledger serve` as its own process, for tests that must kill it or read its logs.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A serving process; killed (and reaped) when dropped.
pub struct Served {
    child: Child,
    pub address: String,
    pub lines: Arc<Mutex<Vec<String>>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// `serve` on a free loopback port with `env` (JSON logs, so the address can be read).
    pub fn start(env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cpe-ledger"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("CPE_LEDGER_LISTEN", "127.0.0.1:0")
            .env("CPE_LEDGER_LOG_JSON", "true")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start cpe-ledger serve");
        let stderr = child.stderr.take().expect("stderr piped");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        // Held before waiting, so that a server that never starts is still killed and reaped.
        let mut served = Served {
            child,
            address: String::new(),
            lines,
        };
        let started = Instant::now();
        loop {
            let address = served.lines.lock().unwrap().iter().find_map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).ok()?;
                (value["fields"]["message"] == "serving")
                    .then(|| value["fields"]["address"].as_str().map(str::to_owned))
                    .flatten()
            });
            if let Some(address) = address {
                served.address = address;
                return served;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "serve did not start: {:?}",
                served.lines.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// SIGKILL: no shutdown, no cleanup, as a crash or an OOM kill.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
