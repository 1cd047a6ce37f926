//! Worked examples, one scheme at a time, against the scheme files that ship.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use chrono::NaiveDate;

use super::*;
use crate::domain::scheme::SchemeDefinition;

const RISS: &str = include_str!("../../../schemes/riss.toml");
const RISS_POINTS: &str = include_str!("../../../schemes/riss-points.toml");
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

fn p(text: &str) -> Points {
    text.parse().unwrap()
}

fn cycle(starts_on: &str, ends_on: &str) -> CyclePeriod {
    CyclePeriod {
        starts_on: d(starts_on),
        ends_on: d(ends_on),
    }
}

fn credit(
    id: &str,
    on: &str,
    kind: &str,
    state: CreditState,
    claims: &[(&str, &str)],
) -> CreditEntry {
    CreditEntry {
        id: id.to_owned(),
        completed_on: d(on),
        activity_type: kind.to_owned(),
        state,
        claims: claims
            .iter()
            .map(|(category, points)| Claim {
                category: (*category).to_owned(),
                points: p(points),
            })
            .collect(),
    }
}

fn approved(id: &str, on: &str, kind: &str, claims: &[(&str, &str)]) -> CreditEntry {
    credit(id, on, kind, CreditState::Approved, claims)
}

fn standing_of(
    scheme: &SchemeDefinition,
    cycle: CyclePeriod,
    previous_cycle: Option<CyclePeriod>,
    credits: &[CreditEntry],
    as_of: &str,
) -> Standing {
    evaluate(&StandingInput {
        scheme,
        cycle,
        previous_cycle,
        credits,
        as_of: d(as_of),
    })
}

fn category<'s>(standing: &'s Standing, id: &str) -> &'s CategoryStanding {
    standing
        .by_category
        .iter()
        .find(|c| c.category == id)
        .unwrap()
}

// ---------------------------------------------------------------- CISSP

fn cissp_cycle() -> CyclePeriod {
    cycle("2024-01-01", "2027-01-01")
}

#[test]
fn a_cissp_holder_with_100_group_a_and_35_group_b_counts_130_and_is_complete() {
    let cissp = scheme(CISSP);
    let credits = [
        approved("a1", "2024-03-01", "education", &[("group_a", "40")]),
        approved("a2", "2025-03-01", "education", &[("group_a", "40")]),
        approved("a3", "2026-03-01", "contribution", &[("group_a", "20")]),
        approved(
            "b1",
            "2024-06-01",
            "professional_development",
            &[("group_b", "20")],
        ),
        approved(
            "b2",
            "2025-06-01",
            "professional_development",
            &[("group_b", "15")],
        ),
    ];
    let standing = standing_of(&cissp, cissp_cycle(), None, &credits, "2026-06-01");
    assert_eq!(standing.counted, Points::whole(130));
    assert_eq!(category(&standing, "group_a").counted, Points::whole(100));
    assert_eq!(category(&standing, "group_b").counted, Points::whole(30));
    assert_eq!(category(&standing, "group_b").claimed, Points::whole(35));
    assert_eq!(standing.remaining, Points::ZERO);
    assert_eq!(standing.state, StandingState::Complete);
}

#[test]
fn a_cissp_holder_with_120_points_but_only_80_group_a_is_not_complete() {
    let cissp = scheme(CISSP);
    let credits = [
        approved("a1", "2024-03-01", "education", &[("group_a", "40")]),
        approved("a2", "2025-03-01", "education", &[("group_a", "40")]),
        approved(
            "b1",
            "2025-06-01",
            "professional_development",
            &[("group_b", "30")],
        ),
        approved("b2", "2026-06-01", "education", &[("group_b", "10")]),
    ];
    let standing = standing_of(&cissp, cissp_cycle(), None, &credits, "2026-07-01");
    assert_eq!(standing.counted, Points::whole(110));
    assert_ne!(standing.state, StandingState::Complete);
}

#[test]
fn cissp_claims_are_rounded_down_to_quarter_points() {
    let cissp = scheme(CISSP);
    let credits = [
        approved("a1", "2024-03-01", "education", &[("group_a", "1.9")]),
        approved("a2", "2024-03-02", "education", &[("group_a", "2.6")]),
    ];
    let standing = standing_of(&cissp, cissp_cycle(), None, &credits, "2024-04-01");
    assert_eq!(standing.counted, p("4.25"));
    assert_eq!(category(&standing, "group_a").claimed, p("4.5"));
}

#[test]
fn one_cissp_activity_counts_at_most_40_across_its_claims() {
    let cissp = scheme(CISSP);
    let credits = [
        approved("big", "2024-03-01", "education", &[("group_a", "50")]),
        approved(
            "split",
            "2024-04-01",
            "education",
            &[("group_a", "30"), ("group_b", "20")],
        ),
    ];
    let standing = standing_of(&cissp, cissp_cycle(), None, &credits, "2024-05-01");
    assert_eq!(standing.counted, Points::whole(80));
    assert_eq!(category(&standing, "group_a").counted, Points::whole(70));
    assert_eq!(category(&standing, "group_b").counted, Points::whole(10));
    let split: Vec<Points> = standing
        .counted_claims
        .iter()
        .filter(|c| c.credit_id == "split")
        .map(|c| c.counted)
        .collect();
    assert_eq!(split, [Points::whole(30), Points::whole(10)]);
}

#[test]
fn cissp_group_a_earned_in_the_last_six_months_beyond_120_rolls_into_the_next_cycle() {
    let cissp = scheme(CISSP);
    let previous = cycle("2021-01-01", "2024-01-01");
    let credits = [
        approved("p1", "2021-05-01", "education", &[("group_a", "40")]),
        approved("p2", "2022-05-01", "education", &[("group_a", "40")]),
        approved("p3", "2023-05-01", "education", &[("group_a", "40")]),
        // The window is 2023-07-01 .. 2024-01-01: 30 beyond the 120 required.
        approved("p4", "2023-09-01", "education", &[("group_a", "30")]),
        approved("c1", "2024-02-01", "education", &[("group_a", "10")]),
    ];
    let standing = standing_of(
        &cissp,
        cissp_cycle(),
        Some(previous),
        &credits,
        "2024-03-01",
    );
    assert_eq!(standing.carried_in, Points::whole(30));
    assert_eq!(standing.counted, Points::whole(40));
    assert_eq!(category(&standing, "group_a").counted, Points::whole(40));
    // Carried-in points belong to no cycle year.
    assert_eq!(standing.by_year[0].counted, Points::whole(10));
}

#[test]
fn cissp_rollover_is_capped_at_40_and_ignores_points_earned_before_the_window() {
    let cissp = scheme(CISSP);
    let previous = cycle("2021-01-01", "2024-01-01");
    let credits = [
        // 200 earned early in the cycle: excess, but outside the window.
        approved("p1", "2021-05-01", "education", &[("group_a", "40")]),
        approved("p2", "2021-06-01", "education", &[("group_a", "40")]),
        approved("p3", "2022-05-01", "education", &[("group_a", "40")]),
        approved("p4", "2022-06-01", "education", &[("group_a", "40")]),
        approved("p5", "2023-01-01", "education", &[("group_a", "40")]),
        // 60 in the window.
        approved("p6", "2023-08-01", "education", &[("group_a", "30")]),
        approved("p7", "2023-12-31", "education", &[("group_a", "30")]),
    ];
    let standing = standing_of(
        &cissp,
        cissp_cycle(),
        Some(previous),
        &credits,
        "2024-03-01",
    );
    assert_eq!(standing.carried_in, Points::whole(40));

    let window_only_b = [approved(
        "p1",
        "2023-08-01",
        "professional_development",
        &[("group_b", "30")],
    )];
    let standing = standing_of(
        &cissp,
        cissp_cycle(),
        Some(previous),
        &window_only_b,
        "2024-03-01",
    );
    assert_eq!(standing.carried_in, Points::ZERO, "only Group A rolls over");
}

#[test]
fn cissp_reports_what_would_roll_out_of_the_current_cycle() {
    let cissp = scheme(CISSP);
    let credits = [
        approved("a1", "2024-03-01", "education", &[("group_a", "40")]),
        approved("a2", "2025-03-01", "education", &[("group_a", "40")]),
        approved("a3", "2026-03-01", "education", &[("group_a", "40")]),
        approved("a4", "2026-09-01", "education", &[("group_a", "25")]),
    ];
    let standing = standing_of(&cissp, cissp_cycle(), None, &credits, "2026-10-01");
    assert_eq!(standing.rollover_out, Points::whole(25));
}

#[test]
fn pending_cissp_credits_are_reported_but_do_not_count() {
    let cissp = scheme(CISSP);
    let credits = [
        approved("a1", "2024-03-01", "education", &[("group_a", "10")]),
        credit(
            "a2",
            "2024-03-02",
            "education",
            CreditState::Pending,
            &[("group_a", "5.1")],
        ),
        credit(
            "a3",
            "2024-03-03",
            "education",
            CreditState::Rejected,
            &[("group_a", "5")],
        ),
        credit(
            "a4",
            "2024-03-04",
            "education",
            CreditState::Voided,
            &[("group_a", "5")],
        ),
    ];
    let standing = standing_of(&cissp, cissp_cycle(), None, &credits, "2024-04-01");
    assert_eq!(standing.counted, Points::whole(10));
    assert_eq!(standing.pending, Points::whole(5));
}

#[test]
fn cissp_advises_40_a_year_but_a_short_year_does_not_block_completion() {
    let cissp = scheme(CISSP);
    let credits = [
        approved("a1", "2024-03-01", "education", &[("group_a", "40")]),
        approved("a2", "2024-04-01", "education", &[("group_a", "40")]),
        approved("a3", "2024-05-01", "education", &[("group_a", "40")]),
    ];
    let standing = standing_of(&cissp, cissp_cycle(), None, &credits, "2025-06-01");
    assert_eq!(standing.by_year[0].met, Some(true));
    assert_eq!(standing.by_year[1].met, None, "year two is still open");
    assert!(!standing.by_year[1].hard);
    assert_eq!(standing.state, StandingState::Complete);
}

#[test]
fn a_cissp_holder_at_half_pace_is_on_track_and_behind_it_at_risk() {
    let cissp = scheme(CISSP);
    let on_pace = [
        approved("a1", "2024-03-01", "education", &[("group_a", "40")]),
        approved("a2", "2025-03-01", "education", &[("group_a", "20")]),
    ];
    let standing = standing_of(&cissp, cissp_cycle(), None, &on_pace, "2025-07-01");
    assert_eq!(standing.state, StandingState::OnTrack);

    let behind = &on_pace[..1];
    let standing = standing_of(&cissp, cissp_cycle(), None, behind, "2025-07-01");
    assert_eq!(standing.state, StandingState::AtRisk);
}

#[test]
fn a_short_cissp_holder_is_due_in_the_90_day_grace_and_lapsed_after_it() {
    let cissp = scheme(CISSP);
    let credits = [approved(
        "a1",
        "2024-03-01",
        "education",
        &[("group_a", "40")],
    )];
    let standing = standing_of(&cissp, cissp_cycle(), None, &credits, "2027-01-31");
    assert_eq!(standing.expires_on, d("2026-12-31"));
    assert_eq!(standing.deadline, d("2026-12-31"));
    assert_eq!(standing.grace_until, d("2027-03-31"));
    assert_eq!(standing.days_to_deadline, -31);
    assert_eq!(standing.state, StandingState::Due);

    let standing = standing_of(&cissp, cissp_cycle(), None, &credits, "2027-04-01");
    assert_eq!(standing.state, StandingState::Lapsed);
}

#[test]
fn cissp_credits_after_the_cycle_or_after_today_do_not_count() {
    let cissp = scheme(CISSP);
    let credits = [
        approved("before", "2023-12-31", "education", &[("group_a", "10")]),
        approved("future", "2024-06-01", "education", &[("group_a", "10")]),
        approved("unknown", "2024-02-01", "gardening", &[("group_a", "10")]),
        approved("typo", "2024-02-02", "education", &[("group_x", "10")]),
    ];
    let standing = standing_of(&cissp, cissp_cycle(), None, &credits, "2024-03-01");
    assert_eq!(standing.counted, Points::ZERO);
    let reasons: Vec<IgnoredReason> = standing.ignored.iter().map(|i| i.reason).collect();
    assert_eq!(
        reasons,
        [
            IgnoredReason::UnknownActivityType,
            IgnoredReason::UnknownCategory,
            IgnoredReason::CompletedAfterAsOf
        ]
    );
}

#[test]
fn professional_development_may_only_be_claimed_as_group_b() {
    let cissp = scheme(CISSP);
    let credits = [approved(
        "x",
        "2024-02-01",
        "professional_development",
        &[("group_a", "10")],
    )];
    let standing = standing_of(&cissp, cissp_cycle(), None, &credits, "2024-03-01");
    assert_eq!(standing.counted, Points::ZERO);
    assert_eq!(
        standing.ignored[0].reason,
        IgnoredReason::CategoryNotAllowed
    );
}

#[test]
fn a_standing_serializes_with_snake_case_state_and_numeric_points() {
    let cissp = scheme(CISSP);
    let credits = [approved(
        "a1",
        "2024-03-01",
        "education",
        &[("group_a", "12.25")],
    )];
    let standing = standing_of(&cissp, cissp_cycle(), None, &credits, "2024-03-02");
    let json = serde_json::to_value(&standing).unwrap();
    assert_eq!(json["state"], "on_track");
    assert_eq!(json["counted"], serde_json::json!(12.25));
    assert_eq!(json["expires_on"], "2026-12-31");
    assert_eq!(json["deadline"], "2026-12-31");
    assert_eq!(json["by_year"][0]["last_day"], "2024-12-31");
    assert!(
        json.get("ends_on").is_none(),
        "the exclusive end stays inside the engine: {json}"
    );
}

// ---------------------------------------------------------------- Dates as people read them

#[test]
fn a_riss_registration_of_2023_10_01_expires_on_2026_09_30_and_is_due_on_2026_08_01() {
    let riss = scheme(RISS);
    let cycle = cycle("2023-10-01", "2026-10-01");
    assert_eq!(cycle.expires_on(), d("2026-09-30"));
    assert_eq!(deadline(&riss, cycle), d("2026-08-01"));
    assert_eq!(grace_until(&riss, cycle), d("2026-09-30"));

    let on_the_day = standing_of(&riss, cycle, None, &[], "2026-08-01");
    assert_eq!(on_the_day.expires_on, d("2026-09-30"));
    assert_eq!(on_the_day.deadline, d("2026-08-01"));
    assert_eq!(on_the_day.days_to_deadline, 0);
    assert_eq!(on_the_day.state, StandingState::AtRisk);
    let practical = on_the_day
        .slots
        .iter()
        .find(|s| s.slot == "practical")
        .map(|s| s.due_by);
    assert_eq!(practical, Some(d("2026-08-01")));
    assert_eq!(
        standing_of(&riss, cycle, None, &[], "2026-08-02").state,
        StandingState::Due
    );
    assert_eq!(
        standing_of(&riss, cycle, None, &[], "2026-09-30").state,
        StandingState::Due
    );
    assert_eq!(
        standing_of(&riss, cycle, None, &[], "2026-10-01").state,
        StandingState::Lapsed
    );
}

#[test]
fn ipas_own_example_registered_2021_10_01_applies_by_2024_08_01() {
    // IPA's renewal page: registrations of 2018-10-01 and 2021-10-01 expire on 2024-09-30 and
    // apply by 2024-08-01.
    let riss = scheme(RISS);
    let cycle = cycle("2021-10-01", "2024-10-01");
    assert_eq!(cycle.expires_on(), d("2024-09-30"));
    assert_eq!(deadline(&riss, cycle), d("2024-08-01"));
}

#[test]
fn a_practical_course_on_the_riss_application_deadline_counts_and_the_day_after_does_not() {
    let riss = scheme(RISS);
    let cycle = cycle("2023-10-01", "2026-10-01");
    let on_time = [approved("p", "2026-08-01", "ipa_practical_course", &[])];
    let s = standing_of(&riss, cycle, None, &on_time, "2026-09-01");
    assert_eq!(
        s.slots
            .iter()
            .find(|x| x.slot == "practical")
            .and_then(|x| x.filled_by.as_deref()),
        Some("p")
    );
    let late = [approved("p", "2026-08-02", "ipa_practical_course", &[])];
    let s = standing_of(&riss, cycle, None, &late, "2026-09-01");
    assert_eq!(s.ignored[0].reason, IgnoredReason::CompletedAfterDeadline);
}

#[test]
fn a_cissp_cycle_from_2023_06_01_ends_on_2026_05_31_with_grace_until_2026_08_29() {
    let cissp = scheme(CISSP);
    let cycle = cycle("2023-06-01", "2026-06-01");
    let short = [approved(
        "a",
        "2024-03-01",
        "education",
        &[("group_a", "40")],
    )];
    let on_expiry = standing_of(&cissp, cycle, None, &short, "2026-05-31");
    assert_eq!(on_expiry.expires_on, d("2026-05-31"));
    assert_eq!(on_expiry.deadline, d("2026-05-31"));
    assert_eq!(
        on_expiry.grace_until,
        d("2026-08-29"),
        "90 days after the expiry date"
    );
    assert_eq!(on_expiry.state, StandingState::AtRisk);
    let states: Vec<StandingState> = ["2026-06-01", "2026-08-29", "2026-08-30"]
        .iter()
        .map(|on| standing_of(&cissp, cycle, None, &short, on).state)
        .collect();
    assert_eq!(
        states,
        [
            StandingState::Due,
            StandingState::Due,
            StandingState::Lapsed
        ]
    );
    // CPEs earned on the last day of the cycle count; the next day belongs to the next cycle.
    let last_day = [approved(
        "z",
        "2026-05-31",
        "education",
        &[("group_a", "120")],
    )];
    assert_eq!(
        standing_of(&cissp, cycle, None, &last_day, "2026-06-01").counted,
        p("40")
    );
}

#[test]
fn schemes_without_an_offset_are_due_on_the_expiry_date() {
    for (text, starts_on, ends_on, expires_on) in [
        (CISA, "2024-01-01", "2027-01-01", "2026-12-31"),
        (COMPTIA, "2023-05-10", "2026-05-10", "2026-05-09"),
        (GIAC, "2022-03-15", "2026-03-15", "2026-03-14"),
    ] {
        let rules = scheme(text);
        let cycle = cycle(starts_on, ends_on);
        assert_eq!(cycle.expires_on(), d(expires_on), "{}", rules.id);
        assert_eq!(deadline(&rules, cycle), d(expires_on), "{}", rules.id);
        assert_eq!(grace_until(&rules, cycle), d(expires_on), "{}", rules.id);
    }
}

#[test]
fn a_claim_its_scheme_cannot_place_is_listed_as_ignored_with_the_activity_type_and_reason() {
    let cissp = scheme(CISSP);
    let credits = [
        approved("t", "2024-02-01", "training", &[("group_a", "8")]),
        approved("c", "2024-03-01", "education", &[("cpe", "8")]),
    ];
    let s = standing_of(&cissp, cissp_cycle(), None, &credits, "2024-04-01");
    assert_eq!(s.counted, Points::ZERO);
    let ignored: Vec<(&str, &str, Option<&str>, IgnoredReason)> = s
        .ignored
        .iter()
        .map(|i| {
            (
                i.credit_id.as_str(),
                i.activity_type.as_str(),
                i.category.as_deref(),
                i.reason,
            )
        })
        .collect();
    assert_eq!(
        ignored,
        [
            ("t", "training", None, IgnoredReason::UnknownActivityType),
            (
                "c",
                "education",
                Some("cpe"),
                IgnoredReason::UnknownCategory
            ),
        ]
    );
}

// ---------------------------------------------------------------- CISA

#[test]
fn a_cisa_holder_missing_20_hours_in_year_one_is_at_risk_even_when_ahead_overall() {
    let cisa = scheme(CISA);
    let credits = [
        approved("y1", "2024-05-01", "training", &[("cpe", "15")]),
        approved("y2", "2025-01-15", "training", &[("cpe", "60")]),
    ];
    let standing = standing_of(&cisa, cissp_cycle(), None, &credits, "2025-03-01");
    assert_eq!(standing.by_year[0].met, Some(false));
    assert!(standing.by_year[0].hard);
    assert_eq!(standing.by_year[1].met, Some(true));
    assert_eq!(standing.state, StandingState::AtRisk);
}

#[test]
fn cisa_mentoring_counts_at_most_10_hours_a_year() {
    let cisa = scheme(CISA);
    let credits = [
        approved("m1", "2024-02-01", "mentoring", &[("cpe", "8")]),
        approved("m2", "2024-09-01", "mentoring", &[("cpe", "8")]),
        approved("m3", "2025-02-01", "mentoring", &[("cpe", "12")]),
    ];
    let standing = standing_of(&cisa, cissp_cycle(), None, &credits, "2025-03-01");
    assert_eq!(standing.by_year[0].counted, Points::whole(10));
    assert_eq!(standing.by_year[1].counted, Points::whole(10));
    assert_eq!(standing.counted, Points::whole(20));
}

#[test]
fn a_cisa_holder_with_120_hours_in_two_years_still_needs_20_in_year_three() {
    let cisa = scheme(CISA);
    let mut credits = vec![
        approved("y1", "2024-05-01", "training", &[("cpe", "60")]),
        approved("y2", "2025-05-01", "training", &[("cpe", "60")]),
    ];
    let standing = standing_of(&cisa, cissp_cycle(), None, &credits, "2026-02-01");
    assert_eq!(standing.counted, Points::whole(120));
    assert_eq!(standing.by_year[2].met, None);
    assert_eq!(standing.state, StandingState::OnTrack);

    credits.push(approved("y3", "2026-03-01", "training", &[("cpe", "20")]));
    let standing = standing_of(&cisa, cissp_cycle(), None, &credits, "2026-03-02");
    assert_eq!(standing.state, StandingState::Complete);
}

#[test]
fn a_cisa_holder_without_a_grace_period_lapses_right_after_expiry() {
    let cisa = scheme(CISA);
    let on_expiry = standing_of(&cisa, cissp_cycle(), None, &[], "2026-12-31");
    assert_eq!(on_expiry.grace_until, d("2026-12-31"));
    assert_eq!(on_expiry.state, StandingState::AtRisk);
    let standing = standing_of(&cisa, cissp_cycle(), None, &[], "2027-01-01");
    assert_eq!(standing.state, StandingState::Lapsed);
}

// ---------------------------------------------------------------- RISS

fn riss_cycle() -> CyclePeriod {
    cycle("2023-04-01", "2026-04-01")
}

fn riss_courses() -> Vec<CreditEntry> {
    vec![
        approved("online-1", "2023-06-10", "ipa_online_course", &[]),
        approved("online-2", "2024-06-10", "ipa_online_course", &[]),
    ]
}

#[test]
fn a_riss_holder_with_three_online_courses_and_a_specified_course_is_complete() {
    let riss = scheme(RISS);
    let mut credits = riss_courses();
    credits.push(approved("online-3", "2025-06-10", "ipa_online_course", &[]));
    credits.push(approved("tokutei", "2025-09-01", "tokutei_koshu", &[]));
    let standing = standing_of(&riss, riss_cycle(), None, &credits, "2025-10-01");
    assert_eq!(standing.state, StandingState::Complete);
    let filled: Vec<Option<&str>> = standing
        .slots
        .iter()
        .map(|s| s.filled_by.as_deref())
        .collect();
    assert_eq!(
        filled,
        [
            Some("online-1"),
            Some("online-2"),
            Some("online-3"),
            Some("tokutei")
        ]
    );

    let after_expiry = standing_of(&riss, riss_cycle(), None, &credits, "2026-06-01");
    assert_eq!(
        after_expiry.state,
        StandingState::Complete,
        "complete stays complete"
    );
}

#[test]
fn a_riss_holder_in_year_two_with_both_online_courses_so_far_is_on_track() {
    let riss = scheme(RISS);
    let standing = standing_of(&riss, riss_cycle(), None, &riss_courses(), "2024-08-01");
    assert_eq!(standing.state, StandingState::OnTrack);
    assert_eq!(
        standing.unmet_slots.len(),
        2,
        "year three's course and the practical course"
    );
}

#[test]
fn a_riss_holder_with_two_of_three_online_courses_and_no_practical_course_in_year_three_is_at_risk()
{
    let riss = scheme(RISS);
    let standing = standing_of(&riss, riss_cycle(), None, &riss_courses(), "2025-05-01");
    assert_eq!(standing.state, StandingState::AtRisk);
    let unmet: Vec<(&str, Option<u32>)> = standing
        .unmet_slots
        .iter()
        .map(|s| (s.slot.as_str(), s.year))
        .collect();
    assert_eq!(unmet, [("ipa_online_course", Some(3)), ("practical", None)]);
    assert_eq!(standing.unmet_slots[1].due_by, d("2026-01-30"));
}

#[test]
fn a_riss_holder_who_skipped_the_year_one_online_course_is_at_risk_in_year_two() {
    let riss = scheme(RISS);
    let credits = [approved("online-2", "2024-06-10", "ipa_online_course", &[])];
    let standing = standing_of(&riss, riss_cycle(), None, &credits, "2024-08-01");
    assert_eq!(standing.state, StandingState::AtRisk);
}

#[test]
fn two_online_courses_in_one_year_fill_only_that_year() {
    let riss = scheme(RISS);
    let credits = [
        approved("a", "2023-06-10", "ipa_online_course", &[]),
        approved("b", "2023-12-10", "ipa_online_course", &[]),
    ];
    let standing = standing_of(&riss, riss_cycle(), None, &credits, "2024-08-01");
    assert_eq!(standing.slots[0].filled_by.as_deref(), Some("a"));
    assert_eq!(standing.slots[1].filled_by, None);
}

#[test]
fn a_riss_holder_short_after_the_deadline_is_due_and_lapses_at_expiry() {
    let riss = scheme(RISS);
    let mut credits = riss_courses();
    credits.push(approved("online-3", "2025-06-10", "ipa_online_course", &[]));
    // A practical course taken after the application deadline is too late.
    credits.push(approved("late", "2026-02-10", "ipa_practical_course", &[]));

    let standing = standing_of(&riss, riss_cycle(), None, &credits, "2026-02-15");
    assert_eq!(standing.expires_on, d("2026-03-31"));
    assert_eq!(standing.deadline, d("2026-01-30"));
    assert_eq!(standing.grace_until, d("2026-03-31"));
    assert_eq!(standing.state, StandingState::Due);
    assert_eq!(
        standing.ignored[0].reason,
        IgnoredReason::CompletedAfterDeadline
    );

    let standing = standing_of(&riss, riss_cycle(), None, &credits, "2026-04-01");
    assert_eq!(standing.state, StandingState::Lapsed);
}

#[test]
fn a_riss_holder_is_at_risk_within_90_days_of_the_deadline() {
    let riss = scheme(RISS);
    let mut credits = riss_courses();
    credits.push(approved("online-3", "2025-06-10", "ipa_online_course", &[]));
    let standing = standing_of(&riss, riss_cycle(), None, &credits, "2025-11-15");
    assert!(standing.days_to_deadline < 90);
    assert_eq!(standing.state, StandingState::AtRisk);
}

#[test]
fn under_the_point_proposal_30_external_training_points_replace_the_practical_course() {
    let proposal = scheme(RISS_POINTS);
    assert_eq!(proposal.status, SchemeStatus::Proposal);
    let mut credits = riss_courses();
    credits.push(approved("online-3", "2025-06-10", "ipa_online_course", &[]));
    credits.push(approved(
        "t1",
        "2023-09-01",
        "external_training",
        &[("external_training", "20")],
    ));
    credits.push(approved(
        "t2",
        "2024-09-01",
        "external_training",
        &[("external_training", "15")],
    ));
    let standing = standing_of(&proposal, riss_cycle(), None, &credits, "2025-07-01");
    // 15 a year counts: 30 in all.
    assert_eq!(standing.counted, Points::whole(30));
    assert_eq!(standing.scheme_status, SchemeStatus::Proposal);
    let practical = standing
        .slots
        .iter()
        .find(|s| s.slot == "practical")
        .unwrap();
    assert!(practical.satisfied);
    assert_eq!(practical.filled_by, None);
    assert_eq!(standing.state, StandingState::Complete);
}

// ---------------------------------------------------------------- CompTIA

#[test]
fn comptia_work_experience_counts_3_ceus_a_year_and_webinars_are_capped() {
    let comptia = scheme(COMPTIA);
    let credits = [
        approved("w1", "2024-12-31", "work_experience", &[("ceu", "5")]),
        approved("w2", "2025-12-31", "work_experience", &[("ceu", "3")]),
        approved("w3", "2026-12-31", "work_experience", &[("ceu", "3")]),
        approved("web", "2025-01-10", "webinar", &[("ceu", "20")]),
    ];
    let standing = standing_of(&comptia, cissp_cycle(), None, &credits, "2026-12-31");
    let years: Vec<Points> = standing.by_year.iter().map(|y| y.counted).collect();
    assert_eq!(
        years,
        [Points::whole(3), Points::whole(15), Points::whole(3)]
    );
    assert_eq!(standing.counted, Points::whole(21));
    assert_eq!(standing.state, StandingState::AtRisk);
}

#[test]
fn a_comptia_holder_with_50_ceus_is_complete() {
    let comptia = scheme(COMPTIA);
    let credits = [
        approved("course", "2024-05-01", "training_course", &[("ceu", "41")]),
        approved("w1", "2024-12-31", "work_experience", &[("ceu", "3")]),
        approved("w2", "2025-12-31", "work_experience", &[("ceu", "3")]),
        approved("w3", "2026-06-30", "work_experience", &[("ceu", "3")]),
    ];
    let standing = standing_of(&comptia, cissp_cycle(), None, &credits, "2026-07-01");
    assert_eq!(standing.counted, Points::whole(50));
    assert_eq!(standing.state, StandingState::Complete);
}

// ---------------------------------------------------------------- GIAC

#[test]
fn a_giac_graduate_course_counts_12_and_blogs_at_most_12_in_a_cycle() {
    let giac = scheme(GIAC);
    let credits = [
        approved("grad", "2024-05-01", "graduate_course", &[("cpe", "15")]),
        approved("blog1", "2025-05-01", "blog_article", &[("cpe", "8")]),
        approved("blog2", "2026-05-01", "blog_article", &[("cpe", "8")]),
        approved(
            "sans",
            "2027-05-01",
            "other_infosec_training",
            &[("cpe", "30")],
        ),
    ];
    let standing = standing_of(
        &giac,
        cycle("2024-01-01", "2028-01-01"),
        None,
        &credits,
        "2027-06-01",
    );
    assert_eq!(standing.by_year.len(), 4);
    assert_eq!(standing.counted, Points::whole(12 + 12 + 18));
    assert_eq!(standing.state, StandingState::Complete);
}

#[test]
fn a_riss_standing_in_year_three_reads_like_this_as_json() {
    let riss = scheme(RISS);
    let standing = standing_of(&riss, riss_cycle(), None, &riss_courses(), "2025-05-01");
    insta::assert_json_snapshot!(standing);
}

#[test]
fn a_cissp_standing_with_rollover_reads_like_this_as_json() {
    let cissp = scheme(CISSP);
    let previous = cycle("2021-01-01", "2024-01-01");
    let credits = [
        approved("p1", "2021-05-01", "education", &[("group_a", "40")]),
        approved("p2", "2022-05-01", "education", &[("group_a", "40")]),
        approved("p3", "2023-05-01", "education", &[("group_a", "40")]),
        approved("p4", "2023-09-01", "education", &[("group_a", "12.5")]),
        approved("c1", "2024-02-01", "education", &[("group_a", "10.3")]),
        approved(
            "c2",
            "2024-03-01",
            "professional_development",
            &[("group_b", "35")],
        ),
        credit(
            "c3",
            "2024-04-01",
            "education",
            CreditState::Pending,
            &[("group_a", "4")],
        ),
    ];
    let standing = standing_of(
        &cissp,
        cissp_cycle(),
        Some(previous),
        &credits,
        "2024-05-01",
    );
    insta::assert_json_snapshot!(standing);
}

#[test]
fn every_state_reads_as_the_api_spells_it() {
    for state in [
        StandingState::Complete,
        StandingState::OnTrack,
        StandingState::AtRisk,
        StandingState::Due,
        StandingState::Lapsed,
    ] {
        let json = serde_json::to_value(state).unwrap();
        assert_eq!(json.as_str(), Some(state.as_str()));
        assert_eq!(state.to_string(), state.as_str());
    }
}

// ---------------------------------------------------------------- reasons

fn codes(standing: &Standing) -> Vec<ReasonCode> {
    standing.reasons.iter().map(|r| r.code).collect()
}

#[test]
fn a_standing_behind_pace_says_so_and_one_on_track_or_complete_gives_no_reason() {
    let cissp = scheme(CISSP);
    let on_pace = [
        approved("a1", "2024-03-01", "education", &[("group_a", "40")]),
        approved("a2", "2025-03-01", "education", &[("group_a", "20")]),
    ];
    let standing = standing_of(&cissp, cissp_cycle(), None, &on_pace, "2025-07-01");
    assert_eq!(standing.state, StandingState::OnTrack);
    assert!(standing.reasons.is_empty());

    let standing = standing_of(&cissp, cissp_cycle(), None, &on_pace[..1], "2025-07-01");
    assert_eq!(codes(&standing), [ReasonCode::BehindPace]);
    assert_eq!(
        standing.reasons[0].en,
        "counted points are behind the pace the cycle needs"
    );
    assert!(!standing.reasons[0].ja.is_empty());
}

#[test]
fn a_riss_practical_course_still_open_in_the_final_year_is_a_reason_to_be_at_risk() {
    let riss = scheme(RISS);
    let mut credits = riss_courses();
    credits.push(approved("online-3", "2025-04-10", "ipa_online_course", &[]));
    let standing = standing_of(&riss, riss_cycle(), None, &credits, "2025-05-01");
    assert_eq!(standing.state, StandingState::AtRisk);
    assert_eq!(codes(&standing), [ReasonCode::CycleSlotOpenInFinalYear]);
    assert_eq!(
        standing.reasons[0].ja,
        "更新期間に1回の必須講習が、最終年度に入っても未受講です"
    );
}

#[test]
fn under_ninety_days_to_the_deadline_the_reason_names_the_deadline() {
    let riss = scheme(RISS);
    let mut credits = riss_courses();
    credits.push(approved("online-3", "2025-06-10", "ipa_online_course", &[]));
    let standing = standing_of(&riss, riss_cycle(), None, &credits, "2025-11-15");
    assert!(
        codes(&standing).contains(&ReasonCode::DeadlineNear),
        "{:?}",
        codes(&standing)
    );
}

#[test]
fn due_is_explained_by_the_passed_deadline_and_lapsed_by_the_passed_grace() {
    let cissp = scheme(CISSP);
    let credits = [approved(
        "a1",
        "2024-03-01",
        "education",
        &[("group_a", "40")],
    )];
    let due = standing_of(&cissp, cissp_cycle(), None, &credits, "2027-01-31");
    assert_eq!(codes(&due), [ReasonCode::DeadlinePassed]);
    let lapsed = standing_of(&cissp, cissp_cycle(), None, &credits, "2027-04-01");
    assert_eq!(codes(&lapsed), [ReasonCode::GracePassed]);
    let json = serde_json::to_value(&lapsed).unwrap();
    assert_eq!(json["reasons"][0]["code"], "grace_passed");
    assert_eq!(
        json["reasons"][0]["en"],
        "the deadline and the grace period have passed"
    );
}
