//! Per-client request budgets: each machine client's `rate_limit_per_minute`, spent by its
//! token requests and by every request its tokens make.
//!
//! One GCRA limiter per client (governor), kept in memory: a client may burst up to its whole
//! minute's budget, then gets one request per `60 / limit` seconds. The budget is per instance;
//! behind a load balancer with several instances a client gets up to that many times its limit.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

#[derive(Default)]
pub struct ClientLimits {
    limiters: Mutex<HashMap<String, (u32, Arc<DefaultDirectRateLimiter>)>>,
}

impl ClientLimits {
    /// Spends one request of `client_id`'s budget; `Err(seconds)` says how long to wait.
    /// A changed limit takes effect with a fresh budget.
    pub fn check(&self, client_id: &str, per_minute: i32) -> Result<(), u64> {
        let per_minute = u32::try_from(per_minute)
            .ok()
            .and_then(NonZeroU32::new)
            .unwrap_or(NonZeroU32::MIN);
        let limiter = {
            let mut map = self
                .limiters
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            match map.get(client_id) {
                Some((limit, limiter)) if *limit == per_minute.get() => Arc::clone(limiter),
                _ => {
                    let limiter = Arc::new(RateLimiter::direct(Quota::per_minute(per_minute)));
                    map.insert(
                        client_id.to_owned(),
                        (per_minute.get(), Arc::clone(&limiter)),
                    );
                    limiter
                }
            }
        };
        limiter.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_budget_then_waits() {
        let limits = ClientLimits::default();
        for _ in 0..3 {
            assert_eq!(limits.check("cl_a", 3), Ok(()));
        }
        let wait = limits.check("cl_a", 3).expect_err("the fourth is refused");
        assert!((1..=20).contains(&wait), "{wait}");
        // Another client has its own budget.
        assert_eq!(limits.check("cl_b", 3), Ok(()));
    }
}
