//! Connections that never speak, keep-alive connections left idle, and a flood of them from one
//! host against a server whose open-file limit is low.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{Backend, TestApp};

/// The open-file limit the flooded server runs under.
const OPEN_FILE_LIMIT: u32 = 256;

/// `cpe-ledger serve` in its own process, under a lowered open-file limit; killed on drop.
struct Server {
    child: Child,
    address: SocketAddr,
    log: mpsc::Receiver<String>,
    _data_dir: tempfile::TempDir,
}

impl Server {
    fn start(env: &[(&str, &str)]) -> Self {
        let data_dir = tempfile::tempdir().unwrap();
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -n {OPEN_FILE_LIMIT} && exec \"$0\" serve"))
            .arg(env!("CARGO_BIN_EXE_cpe-ledger"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("CPE_LEDGER_DATA_DIR", data_dir.path())
            .env("CPE_LEDGER_LISTEN", "127.0.0.1:0")
            .env("CPE_LEDGER_LOG_JSON", "true")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start cpe-ledger serve");
        let stderr = child.stderr.take().unwrap();
        let (lines, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            child,
            address: "0.0.0.0:0".parse().unwrap(),
            log,
            _data_dir: data_dir,
        };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            let Ok(line) = server.log.recv_timeout(Duration::from_secs(60)) else {
                break;
            };
            let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if entry["fields"]["message"] == "serving" {
                server.address = entry["fields"]["address"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                return server;
            }
        }
        panic!("the server did not report its address");
    }

    /// Log lines written so far.
    fn log_so_far(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until the peer closes `stream`; `Err` with the time waited if it stays open past `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Result<(), Duration> {
    let started = Instant::now();
    let mut buffer = [0u8; 1024];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Err(_) => return Err(started.elapsed()),
            // End of stream or a reset: closed either way.
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(()),
            // Response bytes (none are expected, but they are not a reason to fail here).
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_silent_connections_are_closed_within_the_head_timeout_while_another_host_is_served()
 {
    let server = Server::start(&[
        ("CPE_LEDGER_REQUEST_HEAD_TIMEOUT", "1"),
        ("CPE_LEDGER_MAX_CONNECTIONS_PER_ADDRESS", "150"),
    ]);

    // More silent connections than the server has file descriptors.
    let mut silent = Vec::new();
    for _ in 0..300 {
        silent.push(TcpStream::connect(server.address).await.unwrap());
    }

    // Another host (127.0.0.2 is loopback too) is still served while they are open.
    let other_host = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let live = other_host
        .get(format!("http://{}/health/live", server.address))
        .send()
        .await
        .expect("/health/live answers while 300 silent connections are open");
    assert_eq!(live.status(), 200);

    // Every silent connection is closed: the excess at once, the rest at the head deadline.
    let deadline = Duration::from_secs(6);
    let mut still_open = 0;
    for stream in &mut silent {
        if closed_within(stream, deadline).await.is_err() {
            still_open += 1;
        }
    }
    assert_eq!(
        still_open, 0,
        "silent connections still open after {deadline:?}"
    );

    let warnings = server
        .log_so_far()
        .into_iter()
        .filter(|line| line.contains("\"WARN\""))
        .count();
    assert!(warnings <= 5, "{warnings} warnings logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_file_descriptors_run_out_the_accept_loop_pauses_warns_rarely_and_recovers() {
    // Caps above the open-file limit, so `accept` itself runs out of descriptors (the head
    // deadline is long enough that 300 connections are open at once even on a busy machine).
    let server = Server::start(&[
        ("CPE_LEDGER_REQUEST_HEAD_TIMEOUT", "3"),
        ("CPE_LEDGER_MAX_CONNECTIONS", "1000"),
        ("CPE_LEDGER_MAX_CONNECTIONS_PER_ADDRESS", "1000"),
    ]);
    let mut silent = Vec::new();
    for _ in 0..300 {
        silent.push(TcpStream::connect(server.address).await.unwrap());
    }
    tokio::time::sleep(Duration::from_secs(4)).await;

    // Once the silent connections have been timed out, the server answers again.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let started = Instant::now();
    let mut answered = false;
    while started.elapsed() < Duration::from_secs(15) {
        if let Ok(response) = client
            .get(format!("http://{}/health/live", server.address))
            .send()
            .await
        {
            assert_eq!(response.status(), 200);
            answered = true;
            break;
        }
    }
    assert!(answered, "the server never recovered");

    let warnings = server
        .log_so_far()
        .into_iter()
        .filter(|line| line.contains("\"WARN\""))
        .count();
    assert!(
        warnings <= 4,
        "{warnings} warnings logged in {:?}",
        started.elapsed() + Duration::from_secs(4)
    );
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_alive_connection_left_idle_after_a_response_is_closed_within_the_idle_timeout() {
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.idle_timeout = Some("1".into());
    })
    .await
    else {
        return;
    };
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
        .await
        .expect("a response")
        .unwrap();
    assert!(
        buffer[..read].starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buffer[..read])
    );
    closed_within(&mut stream, Duration::from_secs(4))
        .await
        .expect("the idle keep-alive connection is closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_half_a_request_head_is_closed_at_the_head_deadline() {
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.request_head_timeout = Some("1".into());
    })
    .await
    else {
        return;
    };
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: loc")
        .await
        .unwrap();
    closed_within(&mut stream, Duration::from_secs(4))
        .await
        .expect("the half-sent request is cut off");
}
