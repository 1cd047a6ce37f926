//! The address a request came from, as rate limits and the audit log should see it.
//!
//! Behind a load balancer every connection comes from the balancer, so its address would
//! throttle everyone at once. When the peer is one of `CPE_LEDGER_TRUSTED_PROXIES`, the client
//! is the right-most `X-Forwarded-For` entry that is not itself a trusted proxy (entries further
//! left are the client's own claims and could be forged). Without trusted proxies the header is
//! ignored.

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
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = forwarded
        .iter()
        .flat_map(|line| line.split(','))
        .filter_map(|hop| hop.trim().parse().ok())
        .collect();
    hops.into_iter()
        .rev()
        .find(|hop| !trusted.contains(hop))
        .unwrap_or(peer)
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
    fn a_trusted_proxy_without_a_header_is_taken_as_the_client() {
        assert_eq!(
            resolve(ip("10.0.0.2"), &[], &[ip("10.0.0.2")]),
            ip("10.0.0.2")
        );
    }
}
