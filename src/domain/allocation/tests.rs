#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use chrono::NaiveDate;

use super::*;
use crate::domain::points::Points;
use crate::domain::standing::{StandingInput, StandingState, evaluate};

fn d(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn schemes() -> Vec<SchemeDefinition> {
    crate::domain::scheme::builtin_schemes().unwrap()
}

fn holding(id: &str, scheme_id: &str, starts_on: &str, ends_on: &str) -> HoldingCycle {
    HoldingCycle {
        holding_id: id.to_owned(),
        scheme_id: scheme_id.to_owned(),
        scheme_version: "2024".to_owned(),
        cycle: CyclePeriod {
            starts_on: d(starts_on),
            ends_on: d(ends_on),
        },
        previous_cycle: None,
    }
}

fn claim(scheme_id: &str, activity_type: &str, category: &str, points: i64) -> SchemeClaim {
    SchemeClaim {
        scheme_id: scheme_id.to_owned(),
        activity_type: activity_type.to_owned(),
        claims: vec![Claim {
            category: category.to_owned(),
            points: Points::whole(points),
        }],
    }
}

fn logged(id: &str, on: &str, schemes: Vec<SchemeClaim>) -> MultiCredit {
    MultiCredit {
        id: id.to_owned(),
        completed_on: d(on),
        state: CreditState::Approved,
        schemes,
    }
}

fn ids(entries: &[CreditEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.id.as_str()).collect()
}

/// Two GIAC certifications: GCIH expires first, GPEN later.
fn two_giac_holdings() -> Vec<HoldingCycle> {
    vec![
        holding("gpen", "giac", "2023-06-01", "2027-06-01"),
        holding("gcih", "giac", "2022-01-01", "2026-01-01"),
    ]
}

#[test]
fn other_infosec_training_counts_for_one_giac_holding_the_one_expiring_first() {
    let credits = [logged(
        "sans",
        "2024-03-01",
        vec![claim("giac", "other_infosec_training", "cpe", 18)],
    )];
    let allocated = allocate(&two_giac_holdings(), &credits, &schemes());
    assert_eq!(ids(&allocated["gcih"]), ["sans"]);
    assert!(allocated["gpen"].is_empty());
}

#[test]
fn a_graduate_course_counts_for_two_giac_holdings() {
    let credits = [logged(
        "grad",
        "2024-03-01",
        vec![claim("giac", "graduate_course", "cpe", 12)],
    )];
    let allocated = allocate(&two_giac_holdings(), &credits, &schemes());
    assert_eq!(ids(&allocated["gcih"]), ["grad"]);
    assert_eq!(ids(&allocated["gpen"]), ["grad"]);
}

#[test]
fn a_gold_paper_counts_for_three_of_four_giac_holdings_earliest_deadline_first() {
    let mut holdings = two_giac_holdings();
    holdings.push(holding("gcfa", "giac", "2023-01-01", "2027-01-01"));
    holdings.push(holding("gsec", "giac", "2024-01-01", "2028-01-01"));
    let credits = [logged(
        "gold",
        "2024-03-01",
        vec![claim("giac", "gold_paper", "cpe", 36)],
    )];
    let allocated = allocate(&holdings, &credits, &schemes());
    let receiving: Vec<&str> = allocated
        .iter()
        .filter(|(_, entries)| !entries.is_empty())
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(receiving, ["gcfa", "gcih", "gpen"]);
}

#[test]
fn holdings_with_the_same_deadline_are_chosen_by_id() {
    let holdings = [
        holding("b", "giac", "2022-01-01", "2026-01-01"),
        holding("a", "giac", "2022-01-01", "2026-01-01"),
    ];
    let credits = [logged(
        "sans",
        "2024-03-01",
        vec![claim("giac", "other_infosec_training", "cpe", 10)],
    )];
    let allocated = allocate(&holdings, &credits, &schemes());
    assert_eq!(ids(&allocated["a"]), ["sans"]);
    assert!(allocated["b"].is_empty());
}

#[test]
fn a_holding_whose_cycle_does_not_contain_the_date_gets_nothing() {
    let credits = [logged(
        "sans",
        "2023-03-01",
        vec![claim("giac", "other_infosec_training", "cpe", 10)],
    )];
    let holdings = [
        holding("gpen", "giac", "2023-06-01", "2027-06-01"),
        holding("gcih", "giac", "2022-01-01", "2026-01-01"),
    ];
    let allocated = allocate(&holdings, &credits, &schemes());
    assert_eq!(ids(&allocated["gcih"]), ["sans"]);
    assert!(allocated["gpen"].is_empty());
}

#[test]
fn one_course_counts_for_cissp_and_cisa_alike() {
    let holdings = [
        holding("isc2", "cissp", "2024-01-01", "2027-01-01"),
        holding("isaca", "cisa", "2024-01-01", "2027-01-01"),
        holding("other", "giac", "2024-01-01", "2028-01-01"),
    ];
    let credits = [logged(
        "course",
        "2024-05-01",
        vec![
            claim("cissp", "education", "group_a", 8),
            claim("cisa", "training", "cpe", 8),
        ],
    )];
    let allocated = allocate(&holdings, &credits, &schemes());
    assert_eq!(allocated["isc2"][0].activity_type, "education");
    assert_eq!(allocated["isc2"][0].claims[0].category, "group_a");
    assert_eq!(allocated["isaca"][0].activity_type, "training");
    assert!(allocated["other"].is_empty());
}

#[test]
fn credits_reach_a_previous_cycle_for_rollover() {
    let mut isc2 = holding("isc2", "cissp", "2024-01-01", "2027-01-01");
    isc2.previous_cycle = Some(CyclePeriod {
        starts_on: d("2021-01-01"),
        ends_on: d("2024-01-01"),
    });
    let credits = [logged(
        "old",
        "2023-10-01",
        vec![claim("cissp", "education", "group_a", 8)],
    )];
    let allocated = allocate(&[isc2], &credits, &schemes());
    assert_eq!(ids(&allocated["isc2"]), ["old"]);
}

#[test]
fn allocated_credits_give_each_giac_holding_its_own_standing() {
    let holdings = two_giac_holdings();
    let credits = [
        logged(
            "sans",
            "2024-03-01",
            vec![claim("giac", "other_infosec_training", "cpe", 18)],
        ),
        logged(
            "grad",
            "2024-04-01",
            vec![claim("giac", "graduate_course", "cpe", 12)],
        ),
        logged(
            "blog",
            "2024-05-01",
            vec![claim("giac", "blog_article", "cpe", 6)],
        ),
    ];
    let all = schemes();
    let giac = all.iter().find(|s| s.id == "giac").unwrap();
    let allocated = allocate(&holdings, &credits, &all);
    let counted = |h: &HoldingCycle| {
        evaluate(&StandingInput {
            scheme: giac,
            cycle: h.cycle,
            previous_cycle: None,
            credits: &allocated[&h.holding_id],
            as_of: d("2025-06-01"),
        })
    };
    let gcih = counted(&holdings[1]);
    let gpen = counted(&holdings[0]);
    assert_eq!(gcih.counted, Points::whole(36));
    assert_eq!(gcih.state, StandingState::Complete);
    assert_eq!(gpen.counted, Points::whole(18));
}
