//! The address a request came from, as rate limits and the audit log should see it.
//!
//! Behind a load balancer every connection comes from the balancer, so its address would
//! throttle everyone at once. When the peer is one of `CPE_LEDGER_TRUSTED_PROXIES`, the client
//! is the right-most `X-Forwarded-For` entry that is not itself a trusted proxy (entries further
//! left are the client's own claims and could be forged). Without trusted proxies the header is
//! ignored.
//!
//! An entry is an address, `ip:port`, `[v6]` or `[v6]:port` (forms proxies are known to send).
//! Anything else stops the walk: the client is then the last hop that could be trusted, never an
//! entry further left, which whoever wrote the bad entry may have chosen. IPv4-mapped IPv6
//! addresses (`::ffff:a.b.c.d`, as a dual-stack listener reports IPv4 peers) are compared and
//! returned as plain IPv4.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::app::AppState;
use crate::http::problem::Problem;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .ok_or_else(|| {
                Problem::internal(&std::io::Error::other("the server did not record the peer"))
            })?;
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Ok(Self(resolve(
            peer,
            &forwarded,
            &state.config.trusted_proxies,
        )))
    }
}

/// The client behind `peer`, given the `X-Forwarded-For` header lines in order.
pub fn resolve(peer: IpAddr, forwarded: &[&str], trusted: &[IpAddr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|t| canonical(*t) == ip);
    let mut client = canonical(peer);
    if !is_trusted(client) {
        return client;
    }
    let hops: Vec<&str> = forwarded
        .iter()
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.into_iter().rev() {
        let Some(hop) = parse_hop(hop) else {
            // Written by someone we cannot vouch for: keep the last hop we could.
            return client;
        };
        client = hop;
        if !is_trusted(hop) {
            return hop;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: `ip`, `ipv4:port`, `[ipv6]` or `[ipv6]:port`.
fn parse_hop(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(with_port) = text.parse::<SocketAddr>() {
        return Some(canonical(with_port.ip()));
    }
    let bracketed = text.strip_prefix('[')?.strip_suffix(']')?;
    bracketed
        .parse::<std::net::Ipv6Addr>()
        .ok()
        .map(|v6| canonical(IpAddr::V6(v6)))
}

/// IPv4-mapped IPv6 addresses as the IPv4 address they carry.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn a_direct_client_is_its_peer_whatever_it_claims() {
        assert_eq!(
            resolve(ip("203.0.113.9"), &["198.51.100.1"], &[]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client() {
        let trusted = [ip("10.0.0.2"), ip("10.0.0.3")];
        assert_eq!(
            resolve(
                ip("10.0.0.2"),
                &["198.51.100.1, 203.0.113.9, 10.0.0.3"],
                &trusted
            ),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_malformed_entry_stops_the_walk_at_the_last_trusted_hop() {
        let trusted = [ip("10.0.0.2"), ip("10.0.0.3")];
        // The attacker wrote "10.66.1.1" and then junk; the trusted proxy 10.0.0.3 appended nothing usable.
        assert_eq!(
            resolve(
                ip("10.0.0.2"),
                &["10.66.1.1, not-an-address, 10.0.0.3"],
                &trusted
            ),
            ip("10.0.0.3")
        );
        assert_eq!(
            resolve(ip("10.0.0.2"), &["10.66.1.1, unknown"], &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(
            resolve(ip("10.0.0.2"), &["10.66.1.1, "], &trusted),
            ip("10.0.0.2"),
            "an empty entry is malformed too"
        );
    }

    #[test]
    fn entries_with_ports_and_brackets_are_read_as_their_address() {
        let trusted = [ip("10.0.0.2")];
        for (entry, client) in [
            ("203.0.113.7:51234", "203.0.113.7"),
            ("[2001:db8::7]:443", "2001:db8::7"),
            ("[2001:db8::7]", "2001:db8::7"),
            ("2001:db8::7", "2001:db8::7"),
        ] {
            let line = format!("10.66.1.1, {entry}");
            assert_eq!(
                resolve(ip("10.0.0.2"), &[line.as_str()], &trusted),
                ip(client),
                "{entry}"
            );
        }
    }

    #[test]
    fn an_ipv4_mapped_peer_matches_its_trusted_ipv4_address() {
        assert_eq!(
            resolve(ip("::ffff:127.0.0.1"), &["203.0.113.7"], &[ip("127.0.0.1")]),
            ip("203.0.113.7")
        );
        assert_eq!(
            resolve(ip("::ffff:198.51.100.1"), &[], &[]),
            ip("198.51.100.1"),
            "a direct mapped peer is reported as IPv4"
        );
    }

    #[test]
    fn a_trusted_proxy_without_a_header_is_taken_as_the_client() {
        assert_eq!(
            resolve(ip("10.0.0.2"), &[], &[ip("10.0.0.2")]),
            ip("10.0.0.2")
        );
    }
}
