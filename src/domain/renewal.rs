//! Renewal: what becomes of a holding's open cycle on a day, decided from its standing.
//!
//! # The rule
//!
//! A cycle is `[starts_on, ends_on)` (see [`crate::domain::standing`]): `expires_on`, the last
//! valid day, is the day before `ends_on`.
//!
//! * **Renew** once the cycle has ended (`as_of ≥ ends_on`, the day after the expiry date) and
//!   its standing is `complete`. The next cycle starts on the old `ends_on` (the day after the
//!   old expiry date), is judged by the scheme version in force on that day, and lasts that
//!   version's `cycle_months` (the same length, unless a new rule version changed it). A cycle
//!   completed early is not renewed early: it keeps running to its end, so credits earned in its
//!   last months still count for it, and count toward rollover (ISC2: the last six months).
//!   A holding that completes during its grace period (a credit completed before the deadline
//!   and approved late) is renewed on the day the renewal runs, with the same next cycle.
//! * **Lapse** once the standing is not complete and `as_of` is after `grace_until`: the day
//!   after the last day of grace (ISC2: 91 days after the expiry date; RISS and ISACA, without
//!   grace, the day after the expiry date). The holding's status becomes `lapsed`.
//! * Otherwise **wait**: the cycle is still running (complete or not), or it has ended short
//!   and is `due` in its grace period.
//!
//! The decision reads only the standing (which carries `as_of`, the cycle's dates and
//! `grace_until`) and the length of the next cycle, so it can never disagree with the verdict
//! the ledger shows.

use chrono::{Days, Months, NaiveDate};
use serde::Serialize;

use super::standing::{CyclePeriod, Standing, StandingState};

/// Why nothing is recorded yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Waiting {
    /// The cycle has not ended: `as_of` is on or before its expiry date.
    Running,
    /// The cycle ended short and is `due`: `as_of` is in the grace period.
    InGrace,
}

/// What to record for a holding's open cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "decision")]
pub enum Decision {
    /// Nothing yet.
    Wait { because: Waiting },
    /// Close the cycle as renewed and open `next`.
    Renew { next: CyclePeriod },
    /// Close the cycle as lapsed; the holding lapses.
    Lapse,
}

/// The cycle a standing judges, in the engine's terms (exclusive end).
pub fn judged_cycle(standing: &Standing) -> CyclePeriod {
    CyclePeriod {
        starts_on: standing.starts_on,
        ends_on: standing
            .expires_on
            .checked_add_days(Days::new(1))
            .unwrap_or(standing.expires_on),
    }
}

/// The cycle after `cycle`: from its exclusive end, `cycle_months` long. `None` only for a
/// date beyond the calendar chrono can represent.
pub fn next_cycle(cycle: CyclePeriod, cycle_months: u32) -> Option<CyclePeriod> {
    let starts_on = cycle.ends_on;
    let ends_on = starts_on.checked_add_months(Months::new(cycle_months))?;
    Some(CyclePeriod { starts_on, ends_on })
}

/// Decides what becomes of the cycle `standing` judges, on `standing.as_of`.
/// `next_cycle_months` is the length of the next cycle: the `cycle_months` of the scheme
/// version in force on the day it would start ([`judged_cycle`]`.ends_on`).
pub fn decide(standing: &Standing, next_cycle_months: u32) -> Decision {
    let cycle = judged_cycle(standing);
    let as_of = standing.as_of;
    let ended = as_of >= cycle.ends_on;
    if standing.state == StandingState::Complete {
        if !ended {
            return Decision::Wait {
                because: Waiting::Running,
            };
        }
        return match next_cycle(cycle, next_cycle_months) {
            Some(next) => Decision::Renew { next },
            // Unreachable with real dates; waiting records nothing wrong.
            None => Decision::Wait {
                because: Waiting::Running,
            },
        };
    }
    if as_of > standing.grace_until {
        Decision::Lapse
    } else if ended {
        Decision::Wait {
            because: Waiting::InGrace,
        }
    } else {
        Decision::Wait {
            because: Waiting::Running,
        }
    }
}

/// The first day on which a cycle that stays short lapses: the day after `grace_until`.
pub fn lapses_on(standing: &Standing) -> Option<NaiveDate> {
    standing.grace_until.succ_opt()
}

#[cfg(test)]
mod tests;
