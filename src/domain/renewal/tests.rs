//! The renewal decision on each scheme's edge dates, from standings the engine computes over
//! the scheme files that ship.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use chrono::NaiveDate;

use super::*;
use crate::domain::points::Points;
use crate::domain::scheme::SchemeDefinition;
use crate::domain::standing::{Claim, CreditEntry, CreditState, StandingInput, evaluate};

const RISS: &str = include_str!("../../../schemes/riss.toml");
const CISSP: &str = include_str!("../../../schemes/cissp.toml");
const CISA: &str = include_str!("../../../schemes/cisa.toml");
const COMPTIA: &str = include_str!("../../../schemes/comptia-secplus.toml");
const GIAC: &str = include_str!("../../../schemes/giac.toml");

fn scheme(text: &str) -> SchemeDefinition {
    SchemeDefinition::parse(text, "test").unwrap()
}

fn d(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn cycle(starts_on: &str, ends_on: &str) -> CyclePeriod {
    CyclePeriod {
        starts_on: d(starts_on),
        ends_on: d(ends_on),
    }
}

fn credit(id: &str, on: &str, kind: &str, claims: &[(&str, u32)]) -> CreditEntry {
    CreditEntry {
        id: id.to_owned(),
        completed_on: d(on),
        activity_type: kind.to_owned(),
        state: CreditState::Approved,
        claims: claims
            .iter()
            .map(|(category, points)| Claim {
                category: (*category).to_owned(),
                points: Points::whole(i64::from(*points)),
            })
            .collect(),
    }
}

/// The decision on `as_of` for `cycle` of `definition` with `credits`, the next cycle as long
/// as this one's rules say.
fn decision(
    definition: &SchemeDefinition,
    cycle: CyclePeriod,
    credits: &[CreditEntry],
    as_of: &str,
) -> Decision {
    let standing = evaluate(&StandingInput {
        scheme: definition,
        cycle,
        previous_cycle: None,
        credits,
        as_of: d(as_of),
    });
    decide(&standing, definition.cycle_months)
}

const RUNNING: Decision = Decision::Wait {
    because: Waiting::Running,
};
const IN_GRACE: Decision = Decision::Wait {
    because: Waiting::InGrace,
};

fn renew(starts_on: &str, ends_on: &str) -> Decision {
    Decision::Renew {
        next: cycle(starts_on, ends_on),
    }
}

/// CISSP 2022-07-01 (expires 2025-06-30): 120 Group A, 40 in each cycle year.
fn cissp_complete() -> Vec<CreditEntry> {
    vec![
        credit("a", "2022-09-01", "education", &[("group_a", 40)]),
        credit("b", "2023-09-01", "education", &[("group_a", 40)]),
        credit("c", "2024-09-01", "education", &[("group_a", 40)]),
    ]
}

#[test]
fn a_complete_cissp_cycle_waits_through_its_expiry_date_and_renews_the_day_after() {
    let cissp = scheme(CISSP);
    let c = cycle("2022-07-01", "2025-07-01");
    let credits = cissp_complete();
    // Complete a year early: still running, so late credits still count for it.
    assert_eq!(decision(&cissp, c, &credits, "2024-09-01"), RUNNING);
    assert_eq!(decision(&cissp, c, &credits, "2025-06-30"), RUNNING);
    assert_eq!(
        decision(&cissp, c, &credits, "2025-07-01"),
        renew("2025-07-01", "2028-07-01")
    );
    // A renewal run late (the server was down) opens the same next cycle.
    assert_eq!(
        decision(&cissp, c, &credits, "2025-08-15"),
        renew("2025-07-01", "2028-07-01")
    );
}

#[test]
fn a_short_cissp_cycle_is_in_grace_for_ninety_days_after_its_expiry_date_then_lapses() {
    let cissp = scheme(CISSP);
    let c = cycle("2022-07-01", "2025-07-01");
    let short = &cissp_complete()[..2];
    assert_eq!(decision(&cissp, c, short, "2025-06-30"), RUNNING);
    assert_eq!(decision(&cissp, c, short, "2025-07-01"), IN_GRACE);
    // Expires 2025-06-30: grace until 2025-09-28, lapsed from 2025-09-29.
    assert_eq!(decision(&cissp, c, short, "2025-09-28"), IN_GRACE);
    assert_eq!(decision(&cissp, c, short, "2025-09-29"), Decision::Lapse);
}

#[test]
fn a_cissp_cycle_completed_in_grace_by_a_late_approval_renews_from_its_old_end() {
    let cissp = scheme(CISSP);
    let c = cycle("2022-07-01", "2025-07-01");
    let mut credits = cissp_complete();
    credits[2].state = CreditState::Pending;
    assert_eq!(decision(&cissp, c, &credits, "2025-08-01"), IN_GRACE);
    credits[2].state = CreditState::Approved;
    assert_eq!(
        decision(&cissp, c, &credits, "2025-08-01"),
        renew("2025-07-01", "2028-07-01")
    );
}

#[test]
fn a_renewed_cissp_cycle_carries_its_rollover_into_the_next() {
    let cissp = scheme(CISSP);
    let c = cycle("2022-07-01", "2025-07-01");
    let mut credits = cissp_complete();
    // 40 more Group A in the last six months (from 2025-01-01): beyond 120, carried.
    credits.push(credit("d", "2025-03-01", "education", &[("group_a", 40)]));
    let Decision::Renew { next } = decision(&cissp, c, &credits, "2025-07-01") else {
        panic!("a complete cycle renews");
    };
    let standing = evaluate(&StandingInput {
        scheme: &cissp,
        cycle: next,
        previous_cycle: Some(c),
        credits: &credits,
        as_of: d("2025-07-01"),
    });
    assert_eq!(standing.starts_on, d("2025-07-01"));
    assert_eq!(standing.expires_on, d("2028-06-30"));
    assert_eq!(standing.carried_in, Points::whole(40));
    assert_eq!(standing.counted, Points::whole(40));
}

#[test]
fn a_cisa_cycle_has_no_grace_a_short_one_lapses_the_day_after_its_expiry_date() {
    let cisa = scheme(CISA);
    let c = cycle("2023-01-01", "2026-01-01");
    let credits = vec![
        credit("a", "2023-06-01", "training", &[("cpe", 40)]),
        credit("b", "2024-06-01", "training", &[("cpe", 40)]),
        credit("c", "2025-06-01", "training", &[("cpe", 40)]),
    ];
    assert_eq!(decision(&cisa, c, &credits, "2025-12-31"), RUNNING);
    assert_eq!(
        decision(&cisa, c, &credits, "2026-01-01"),
        renew("2026-01-01", "2029-01-01")
    );
    // 120 in all but nothing in the last year: the hard 20-a-year minimum is missed.
    let missed_year = vec![
        credit("a", "2023-06-01", "training", &[("cpe", 60)]),
        credit("b", "2024-06-01", "training", &[("cpe", 60)]),
    ];
    assert_eq!(decision(&cisa, c, &missed_year, "2025-12-31"), RUNNING);
    assert_eq!(
        decision(&cisa, c, &missed_year, "2026-01-01"),
        Decision::Lapse
    );
}

#[test]
fn a_riss_cycle_is_due_after_its_deadline_and_lapses_the_day_after_its_expiry_date() {
    let riss = scheme(RISS);
    // Registered 2023-10-01: expires 2026-09-30, application due 2026-08-01.
    let c = cycle("2023-10-01", "2026-10-01");
    let all_courses = vec![
        credit("y1", "2024-01-10", "ipa_online_course", &[]),
        credit("y2", "2025-01-10", "ipa_online_course", &[]),
        credit("y3", "2026-01-10", "ipa_online_course", &[]),
        credit("p", "2025-05-10", "ipa_practical_course", &[]),
    ];
    assert_eq!(decision(&riss, c, &all_courses, "2026-09-30"), RUNNING);
    assert_eq!(
        decision(&riss, c, &all_courses, "2026-10-01"),
        renew("2026-10-01", "2029-10-01")
    );
    let no_practical = &all_courses[..3];
    let due = evaluate(&StandingInput {
        scheme: &riss,
        cycle: c,
        previous_cycle: None,
        credits: no_practical,
        as_of: d("2026-08-02"),
    });
    assert_eq!(due.state, StandingState::Due);
    assert_eq!(decide(&due, riss.cycle_months), RUNNING);
    assert_eq!(decision(&riss, c, no_practical, "2026-09-30"), RUNNING);
    assert_eq!(
        decision(&riss, c, no_practical, "2026-10-01"),
        Decision::Lapse
    );
    assert_eq!(lapses_on(&due), Some(d("2026-10-01")));
}

#[test]
fn comptia_and_giac_cycles_renew_for_their_own_lengths() {
    let comptia = scheme(COMPTIA);
    let c = cycle("2024-03-15", "2027-03-15");
    let credits = vec![credit("a", "2025-03-15", "training_course", &[("ceu", 50)])];
    assert_eq!(decision(&comptia, c, &credits, "2027-03-14"), RUNNING);
    assert_eq!(
        decision(&comptia, c, &credits, "2027-03-15"),
        renew("2027-03-15", "2030-03-15")
    );
    assert_eq!(decision(&comptia, c, &[], "2027-03-15"), Decision::Lapse);

    let giac = scheme(GIAC);
    let c = cycle("2024-05-01", "2028-05-01");
    let credits = vec![credit("a", "2025-05-01", "published_work", &[("cpe", 36)])];
    assert_eq!(
        decision(&giac, c, &credits, "2028-05-01"),
        renew("2028-05-01", "2032-05-01")
    );
    assert_eq!(decision(&giac, c, &[], "2028-04-30"), RUNNING);
    assert_eq!(decision(&giac, c, &[], "2028-05-01"), Decision::Lapse);
}

#[test]
fn a_cycle_that_ends_on_a_leap_day_or_a_month_end_renews_from_that_exclusive_end() {
    assert_eq!(
        next_cycle(cycle("2021-02-28", "2024-02-29"), 36),
        Some(cycle("2024-02-29", "2027-02-28"))
    );
    assert_eq!(
        next_cycle(cycle("2023-01-31", "2026-01-31"), 36),
        Some(cycle("2026-01-31", "2029-01-31"))
    );
}

#[test]
fn the_next_cycle_takes_the_length_the_rules_in_force_then_give_it() {
    let cissp = scheme(CISSP);
    let c = cycle("2022-07-01", "2025-07-01");
    let standing = evaluate(&StandingInput {
        scheme: &cissp,
        cycle: c,
        previous_cycle: None,
        credits: &cissp_complete(),
        as_of: d("2025-07-01"),
    });
    assert_eq!(
        decide(&standing, 48),
        renew("2025-07-01", "2029-07-01"),
        "a new version of the rules with four-year cycles"
    );
}
