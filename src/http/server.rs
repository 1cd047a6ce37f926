//! The accept loop. `axum::serve` installs no timer and no connection cap; this loop gives
//! every connection a deadline, caps how many are open, and drains in-flight requests on
//! shutdown.
//!
//! - **Request-head deadline.** From accept until a complete request head has arrived, a
//!   connection has `request_head_timeout`. hyper's own header-read timeout only starts at the
//!   first byte, so a connection that never speaks would otherwise be held for ever.
//! - **Idle deadline.** Once a request has been served, an HTTP/1 keep-alive or HTTP/2
//!   connection with nothing in flight is closed after `idle_timeout`. HTTP/2 also pings an
//!   idle peer and drops it when the ping goes unanswered.
//! - **Caps.** At most `max_connections` open connections, and `max_connections_per_address`
//!   from one peer address (one /64 for IPv6). A connection beyond a cap is closed at once, so
//!   one host cannot use up the open-file limit.
//! - **Out of files.** When `accept` fails because the process or system is out of file
//!   descriptors, the loop backs off (up to a second) and warns at most once per interval.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::config::ConnectionLimits;

/// How often at most the accept loop repeats one kind of warning.
const WARNING_INTERVAL: Duration = Duration::from_secs(10);
/// The longest pause after `accept` failed for want of file descriptors.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);
/// HTTP/2 pings a connection this long without frames, and drops it if the ping goes unanswered
/// within `HTTP2_KEEP_ALIVE_TIMEOUT`.
const HTTP2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(20);
const HTTP2_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` resolves, then waits for open connections.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    trusted_proxies: &[IpAddr],
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    // A trusted proxy carries many clients: only the overall cap applies to it.
    let proxies: Vec<IpAddr> = trusted_proxies.iter().map(|ip| address_key(*ip)).collect();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let slots = Arc::new(Slots::new(
        limits.max_connections,
        limits.max_connections_per_address,
    ));
    let mut out_of_files = Warning::new();
    let mut shed = Warning::new();
    let mut backoff = Duration::from_millis(10);
    tokio::pin!(shutdown);

    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, remote) = match accepted {
                    Ok(pair) => pair,
                    Err(e) if is_out_of_resources(&e) => {
                        if let Some(repeats) = out_of_files.due() {
                            tracing::warn!(
                                error = %e,
                                repeats,
                                pause_ms = backoff.as_millis() as u64,
                                "accept failed for want of file descriptors; pausing"
                            );
                        }
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
                        continue;
                    }
                    Err(e) => {
                        // The peer went away between the handshake and accept: nothing to do.
                        tracing::debug!(error = %e, "accept failed");
                        continue;
                    }
                };
                backoff = Duration::from_millis(10);
                let shared = proxies.contains(&address_key(remote.ip()));
                let Some(slot) = Slots::take(&slots, remote.ip(), shared) else {
                    if let Some(repeats) = shed.due() {
                        tracing::warn!(
                            %remote,
                            repeats,
                            "connection limit reached; closing new connections"
                        );
                    }
                    drop(stream);
                    continue;
                };
                let router = router.clone();
                let mut stop_rx = stop_rx.clone();
                connections.spawn(async move {
                    serve_connection(stream, remote, router, limits, &mut stop_rx).await;
                    drop(slot);
                });
            }
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }

    let _ = stop_tx.send(true);
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// `accept` failures that mean "no file descriptors or buffers now", not "this peer left".
fn is_out_of_resources(error: &std::io::Error) -> bool {
    // EMFILE 24, ENFILE 23, ENOBUFS 105, ENOMEM 12 on Linux; other platforms report them as
    // `Other`/`OutOfMemory` kinds, caught below.
    matches!(error.raw_os_error(), Some(23 | 24 | 105 | 12))
        || matches!(error.kind(), std::io::ErrorKind::OutOfMemory)
}

/// A warning that is logged at most once per [`WARNING_INTERVAL`].
struct Warning {
    last: Option<Instant>,
    repeats: u64,
}

impl Warning {
    fn new() -> Self {
        Self {
            last: None,
            repeats: 0,
        }
    }

    /// `Some(times it happened since the last warning)` when a warning is due now.
    fn due(&mut self) -> Option<u64> {
        self.repeats += 1;
        let now = Instant::now();
        match self.last {
            Some(last) if now.duration_since(last) < WARNING_INTERVAL => None,
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.repeats))
            }
        }
    }
}

/// Open connections, overall and per peer address.
struct Slots {
    max_total: usize,
    max_per_address: usize,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// One open connection's place in [`Slots`]; dropping it frees the place.
struct Slot {
    slots: Arc<Slots>,
    key: IpAddr,
}

impl Slots {
    fn new(max_total: usize, max_per_address: usize) -> Self {
        Self {
            max_total,
            max_per_address,
            open: Mutex::new((0, HashMap::new())),
        }
    }

    /// A place for a connection from `peer`; `shared` (a trusted proxy) skips the per-address cap.
    fn take(slots: &Arc<Self>, peer: IpAddr, shared: bool) -> Option<Slot> {
        let key = address_key(peer);
        let mut open = slots.open.lock().unwrap_or_else(PoisonError::into_inner);
        let (total, per_address) = &mut *open;
        let mine = per_address.entry(key).or_insert(0);
        if *total >= slots.max_total || (!shared && *mine >= slots.max_per_address) {
            if *mine == 0 {
                per_address.remove(&key);
            }
            return None;
        }
        *mine += 1;
        *total += 1;
        Some(Slot {
            slots: Arc::clone(slots),
            key,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .slots
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (total, per_address) = &mut *open;
        *total = total.saturating_sub(1);
        if let Some(mine) = per_address.get_mut(&self.key) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                per_address.remove(&self.key);
            }
        }
    }
}

/// The address a per-address cap counts: IPv4 (also when mapped into IPv6), or an IPv6 /64,
/// since one host usually holds a whole /64.
fn address_key(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(
                u128::from(v6) & 0xffff_ffff_ffff_ffff_0000_0000_0000_0000,
            )),
        },
    }
}

/// Counts the requests in flight on one connection.
#[derive(Clone)]
struct InFlight(Arc<watch::Sender<usize>>);

struct Request(Arc<watch::Sender<usize>>);

impl InFlight {
    fn begin(&self) -> Request {
        self.0.send_modify(|n| *n += 1);
        Request(Arc::clone(&self.0))
    }
}

impl Drop for Request {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    remote: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    stop: &mut watch::Receiver<bool>,
) {
    let (in_flight_tx, mut in_flight) = watch::channel(0usize);
    let counter = InFlight(Arc::new(in_flight_tx));
    let service =
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let request_guard = counter.begin();
            let mut request = request.map(axum::body::Body::new);
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(remote));
            let router = router.clone();
            async move {
                let response = router.oneshot(request).await;
                drop(request_guard);
                response
            }
        });
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.request_head_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(HTTP2_KEEP_ALIVE_INTERVAL))
        .keep_alive_timeout(HTTP2_KEEP_ALIVE_TIMEOUT);
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(connection);

    // Before the first request the deadline is the request-head timeout, counted from accept;
    // afterwards it is the idle timeout, counted from the moment nothing is in flight.
    let mut served_any = false;
    let mut idle_since = tokio::time::Instant::now();
    loop {
        let busy = *in_flight.borrow_and_update() > 0;
        let deadline = if served_any {
            idle_since + limits.idle_timeout
        } else {
            idle_since + limits.request_head_timeout
        };
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, %remote, "connection ended with an error");
                }
                return;
            }
            changed = in_flight.changed() => {
                if changed.is_err() {
                    // The service (and its counter) is gone: the connection is ending.
                    continue;
                }
                served_any = true;
                if *in_flight.borrow() == 0 {
                    idle_since = tokio::time::Instant::now();
                }
            }
            () = tokio::time::sleep_until(deadline), if !busy => {
                tracing::debug!(%remote, served_any, "closing an idle connection");
                break;
            }
            () = async {
                // The guard `wait_for` returns must not live across the drain below.
                let _ = stop.wait_for(|stopped| *stopped).await;
            } => break,
        }
    }
    connection.as_mut().graceful_shutdown();
    // A connection with a half-sent request head is bounded by hyper's header-read timeout; this
    // bound covers anything else that would keep the drain waiting.
    let drain = limits.request_head_timeout + limits.idle_timeout;
    let _ = tokio::time::timeout(drain, connection).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_is_shed_beyond_its_per_address_cap_but_another_peer_is_not() {
        let slots = Arc::new(Slots::new(10, 2));
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        let b: IpAddr = "192.0.2.2".parse().expect("ip");
        let first = Slots::take(&slots, a, false).expect("first");
        let _second = Slots::take(&slots, a, false).expect("second");
        assert!(
            Slots::take(&slots, a, false).is_none(),
            "third from a is shed"
        );
        assert!(
            Slots::take(&slots, b, false).is_some(),
            "b has its own share"
        );
        drop(first);
        assert!(
            Slots::take(&slots, a, false).is_some(),
            "a freed slot is reusable"
        );
    }

    #[test]
    fn a_trusted_proxy_is_held_only_to_the_overall_cap() {
        let slots = Arc::new(Slots::new(4, 1));
        let proxy: IpAddr = "10.0.0.2".parse().expect("ip");
        let held: Vec<_> = (0..4)
            .map(|_| Slots::take(&slots, proxy, true).expect("within the overall cap"))
            .collect();
        assert!(Slots::take(&slots, proxy, true).is_none());
        drop(held);
    }

    #[test]
    fn the_overall_cap_sheds_every_peer_once_reached() {
        let slots = Arc::new(Slots::new(2, 5));
        let held: Vec<_> = ["192.0.2.1", "192.0.2.2"]
            .iter()
            .map(|ip| Slots::take(&slots, ip.parse().expect("ip"), false).expect("slot"))
            .collect();
        assert!(Slots::take(&slots, "192.0.2.3".parse().expect("ip"), false).is_none());
        drop(held);
        assert!(Slots::take(&slots, "192.0.2.3".parse().expect("ip"), false).is_some());
    }

    #[test]
    fn ipv4_mapped_peers_count_as_their_ipv4_address_and_ipv6_peers_by_their_64() {
        assert_eq!(
            address_key("::ffff:192.0.2.1".parse().expect("ip")),
            "192.0.2.1".parse::<IpAddr>().expect("ip")
        );
        assert_eq!(
            address_key("2001:db8:1:2:aaaa::1".parse().expect("ip")),
            address_key("2001:db8:1:2:bbbb::9".parse().expect("ip"))
        );
    }

    #[test]
    fn a_repeated_warning_is_logged_once_per_interval_with_its_count() {
        let mut warning = Warning::new();
        assert_eq!(warning.due(), Some(1));
        for _ in 0..1000 {
            assert_eq!(warning.due(), None);
        }
    }
}
