//! The laws of the standing engine and of allocation, checked on random ledgers against
//! every shipped scheme.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{Days, Months, NaiveDate};
use proptest::prelude::*;

use super::*;
use crate::domain::allocation::{HoldingCycle, MultiCredit, SchemeClaim, allocate};
use crate::domain::scheme::{SchemeDefinition, builtin_schemes};

static SCHEMES: LazyLock<Vec<SchemeDefinition>> = LazyLock::new(|| builtin_schemes().unwrap());

fn base() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 7, 1).unwrap()
}

#[derive(Debug, Clone)]
struct RawCredit {
    day: u64,
    kind: usize,
    state: u8,
    claims: Vec<(usize, i64)>,
}

fn raw_credit() -> impl Strategy<Value = RawCredit> {
    (
        0u64..2400,
        0usize..9,
        0u8..8,
        prop::collection::vec((0usize..3, 0i64..6000), 0..3),
    )
        .prop_map(|(day, kind, state, claims)| RawCredit {
            day,
            kind,
            state,
            claims,
        })
}

fn entry(scheme: &SchemeDefinition, id: String, raw: &RawCredit) -> CreditEntry {
    let kinds = &scheme.activity_types;
    let activity_type = if raw.kind == 8 || kinds.is_empty() {
        "not_a_type".to_owned()
    } else {
        kinds[raw.kind % kinds.len()].id.clone()
    };
    let state = match raw.state {
        0..=4 => CreditState::Approved,
        5 => CreditState::Pending,
        6 => CreditState::Rejected,
        _ => CreditState::Voided,
    };
    let claims = raw
        .claims
        .iter()
        .map(|(category, hundredths)| Claim {
            category: scheme
                .categories
                .get(category % scheme.categories.len().max(1))
                .map_or_else(|| "none".to_owned(), |c| c.id.clone()),
            points: Points::from_hundredths(*hundredths),
        })
        .collect();
    CreditEntry {
        id,
        completed_on: base() + Days::new(raw.day),
        activity_type,
        state,
        claims,
    }
}

fn entries(scheme: &SchemeDefinition, raws: &[RawCredit]) -> Vec<CreditEntry> {
    raws.iter()
        .enumerate()
        .map(|(i, raw)| entry(scheme, format!("c{i:03}"), raw))
        .collect()
}

fn cycles(scheme: &SchemeDefinition) -> (CyclePeriod, CyclePeriod) {
    let start = NaiveDate::from_ymd_opt(2021, 1, 1).unwrap();
    let months = Months::new(scheme.cycle_months);
    let previous = CyclePeriod {
        starts_on: start,
        ends_on: start + months,
    };
    let current = CyclePeriod {
        starts_on: previous.ends_on,
        ends_on: previous.ends_on + months,
    };
    (previous, current)
}

fn standing(scheme: &SchemeDefinition, credits: &[CreditEntry], as_of: u64) -> Standing {
    let (previous, current) = cycles(scheme);
    evaluate(&StandingInput {
        scheme,
        cycle: current,
        previous_cycle: Some(previous),
        credits,
        as_of: base() + Days::new(as_of),
    })
}

fn scheme_index() -> impl Strategy<Value = usize> {
    0..SCHEMES.len()
}

/// Checks every cap the scheme states against what the standing counted.
fn assert_caps_hold(scheme: &SchemeDefinition, s: &Standing) -> Result<(), TestCaseError> {
    let mut by_credit: BTreeMap<&str, (Points, &str)> = BTreeMap::new();
    let mut by_type_year: BTreeMap<(&str, u32), Points> = BTreeMap::new();
    let mut by_type: BTreeMap<&str, Points> = BTreeMap::new();
    let mut by_category_year: BTreeMap<(&str, u32), Points> = BTreeMap::new();
    let step = scheme.point_step.unwrap_or(Points::from_hundredths(1));
    for line in &s.counted_claims {
        prop_assert!(line.counted >= Points::ZERO);
        prop_assert!(line.counted <= line.claimed.round_down_to_step(step));
        let c = by_credit
            .entry(&line.credit_id)
            .or_insert((Points::ZERO, &line.activity_type));
        c.0 += line.counted;
        *by_type_year
            .entry((&line.activity_type, line.year))
            .or_default() += line.counted;
        *by_type.entry(&line.activity_type).or_default() += line.counted;
        *by_category_year
            .entry((&line.category, line.year))
            .or_default() += line.counted;
    }
    for (credit, (counted, kind)) in &by_credit {
        if let Some(cap) = scheme.activity_cap {
            prop_assert!(
                *counted <= cap,
                "credit {credit} counted {counted} over {cap}"
            );
        }
        if let Some(cap) = scheme.activity_type(kind).and_then(|k| k.cap_per_activity) {
            prop_assert!(
                *counted <= cap,
                "credit {credit} counted {counted} over {cap}"
            );
        }
    }
    for ((kind, year), counted) in &by_type_year {
        if let Some(cap) = scheme.activity_type(kind).and_then(|k| k.cap_per_year) {
            prop_assert!(*counted <= cap, "{kind} year {year}: {counted} over {cap}");
        }
    }
    for (kind, counted) in &by_type {
        if let Some(cap) = scheme.activity_type(kind).and_then(|k| k.cap_per_cycle) {
            prop_assert!(*counted <= cap, "{kind}: {counted} over {cap}");
        }
    }
    for ((category, year), counted) in &by_category_year {
        if let Some(cap) = scheme.category(category).and_then(|c| c.cap_per_year) {
            prop_assert!(
                *counted <= cap,
                "{category} year {year}: {counted} over {cap}"
            );
        }
    }
    for category in &s.by_category {
        if let Some(cap) = category.cap {
            prop_assert!(
                category.counted <= cap,
                "{}: over its cap",
                category.category
            );
        }
    }
    if let Some(rollover) = &scheme.rollover {
        prop_assert!(s.carried_in <= rollover.cap);
        prop_assert!(s.rollover_out <= rollover.cap);
    }
    let by_category_total: Points = s.by_category.iter().map(|c| c.counted).sum();
    prop_assert_eq!(by_category_total, s.counted);
    let by_year_total: Points = s.by_year.iter().map(|y| y.counted).sum();
    prop_assert_eq!(by_year_total + s.carried_in, s.counted);
    Ok(())
}

proptest! {
    #[test]
    fn adding_an_approved_credit_never_lowers_counted_points(
        which in scheme_index(),
        raws in prop::collection::vec(raw_credit(), 0..20),
        mut extra in raw_credit(),
        position in 0usize..25,
        as_of in 0u64..3800,
    ) {
        let scheme = &SCHEMES[which];
        let credits = entries(scheme, &raws);
        let before = standing(scheme, &credits, as_of);
        extra.state = 0;
        let mut more = credits.clone();
        // The suffix places the new credit among same-day credits at a random position.
        more.push(entry(scheme, format!("c{position:03}+"), &extra));
        let after = standing(scheme, &more, as_of);
        prop_assert!(
            after.counted >= before.counted,
            "{}: {} fell to {}", scheme.key(), before.counted, after.counted
        );
        prop_assert!(after.carried_in >= before.carried_in);
    }

    #[test]
    fn counted_points_never_exceed_a_cap(
        which in scheme_index(),
        raws in prop::collection::vec(raw_credit(), 0..30),
        as_of in 0u64..3800,
    ) {
        let scheme = &SCHEMES[which];
        let s = standing(scheme, &entries(scheme, &raws), as_of);
        assert_caps_hold(scheme, &s)?;
    }

    #[test]
    fn voiding_a_credit_and_adding_it_back_gives_the_same_standing(
        which in scheme_index(),
        raws in prop::collection::vec(raw_credit(), 1..20),
        pick in any::<prop::sample::Index>(),
        as_of in 0u64..3800,
    ) {
        let scheme = &SCHEMES[which];
        let credits = entries(scheme, &raws);
        let original = standing(scheme, &credits, as_of);
        let i = pick.index(credits.len());

        let mut voided = credits.clone();
        voided[i].state = CreditState::Voided;
        let mut without = credits.clone();
        without.remove(i);
        prop_assert_eq!(standing(scheme, &voided, as_of), standing(scheme, &without, as_of));

        let mut corrected = voided.clone();
        let mut again = credits[i].clone();
        again.id = format!("{}-r", credits[i].id);
        corrected.push(again);
        let restored = serde_json::to_string(&standing(scheme, &corrected, as_of))
            .unwrap()
            .replace(&format!("\"{}-r\"", credits[i].id), &format!("\"{}\"", credits[i].id));
        prop_assert_eq!(restored, serde_json::to_string(&original).unwrap());
    }

    #[test]
    fn the_order_credits_arrive_in_does_not_matter(
        which in scheme_index(),
        raws in prop::collection::vec(raw_credit(), 0..20),
        as_of in 0u64..3800,
    ) {
        let scheme = &SCHEMES[which];
        let credits = entries(scheme, &raws);
        let mut reversed = credits.clone();
        reversed.reverse();
        prop_assert_eq!(standing(scheme, &credits, as_of), standing(scheme, &reversed, as_of));
    }

    #[test]
    fn a_complete_standing_meets_the_points_requirement(
        which in scheme_index(),
        raws in prop::collection::vec(raw_credit(), 0..30),
        as_of in 0u64..3800,
    ) {
        let scheme = &SCHEMES[which];
        let s = standing(scheme, &entries(scheme, &raws), as_of);
        if s.state == StandingState::Complete {
            prop_assert!(s.counted >= s.required);
            prop_assert!(s.unmet_slots.is_empty());
        }
        if s.state == StandingState::Lapsed || s.state == StandingState::Due {
            prop_assert!(s.days_to_deadline < 0);
        }
    }

    #[test]
    fn allocation_never_counts_an_activity_toward_more_holdings_than_allowed(
        holdings in prop::collection::vec((0u64..1500, 0usize..2), 1..5),
        raws in prop::collection::vec(raw_credit(), 0..20),
    ) {
        let giac = SCHEMES.iter().find(|s| s.id == "giac").unwrap();
        let holdings: Vec<HoldingCycle> = holdings
            .iter()
            .enumerate()
            .map(|(i, (offset, version))| {
                let starts_on = base() + Days::new(*offset);
                HoldingCycle {
                    holding_id: format!("h{i}"),
                    scheme_id: "giac".to_owned(),
                    scheme_version: ["2024", "unknown-version"][*version].to_owned(),
                    cycle: CyclePeriod { starts_on, ends_on: starts_on + Months::new(48) },
                    previous_cycle: None,
                }
            })
            .collect();
        let credits: Vec<MultiCredit> = entries(giac, &raws)
            .into_iter()
            .map(|e| MultiCredit {
                id: e.id,
                completed_on: e.completed_on,
                state: e.state,
                schemes: vec![SchemeClaim {
                    scheme_id: "giac".to_owned(),
                    activity_type: e.activity_type,
                    claims: e.claims,
                }],
            })
            .collect();
        let allocated = allocate(&holdings, &credits, std::slice::from_ref(giac));
        for credit in &credits {
            let kind = &credit.schemes[0].activity_type;
            let receivers: Vec<&HoldingCycle> = holdings
                .iter()
                .filter(|h| allocated[&h.holding_id].iter().any(|e| e.id == credit.id))
                .collect();
            let limit = giac.activity_type(kind).and_then(|k| k.max_holdings);
            if let Some(limit) = limit {
                prop_assert!(receivers.len() <= limit as usize, "{} went to {} holdings", credit.id, receivers.len());
            }
            for h in &receivers {
                prop_assert!(h.cycle.contains(credit.completed_on));
            }
            let eligible = holdings.iter().filter(|h| h.cycle.contains(credit.completed_on)).count();
            prop_assert_eq!(receivers.len(), eligible.min(limit.map_or(usize::MAX, |l| l as usize)));
        }
    }
}
