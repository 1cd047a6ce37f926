//! What a candidate course can do for a target's gaps, as upper bounds the search prunes
//! with, and the orders it tries candidates in.

use std::collections::{BTreeMap, BTreeSet};

use super::{Candidate, Gaps, MAX_CANDIDATES};
use crate::domain::allocation::HoldingCycle;
use crate::domain::points::Points;
use crate::domain::scheme::{SchemeDefinition, SlotPeriod};
use crate::domain::standing::Standing;

/// How many candidates each gap keeps when the candidates are too many.
const PER_GAP: usize = 8;

/// The most a candidate can add to each kind of gap of one target: the points it claims
/// there, by category and by cycle year, and the slots its activity type fills. Caps can
/// only lower what counts, so these bound what adding it can do.
#[derive(Debug, Default, Clone)]
pub(super) struct Reach {
    pub(super) total: Points,
    pub(super) categories: BTreeMap<String, Points>,
    pub(super) years: BTreeMap<u32, Points>,
    pub(super) slots: BTreeSet<(String, Option<u32>)>,
}

pub(super) fn reach(
    candidate: &Candidate,
    scheme: &SchemeDefinition,
    holding: &HoldingCycle,
    standing: &Standing,
) -> Reach {
    let mut out = Reach::default();
    let Some(claim) = candidate
        .schemes
        .iter()
        .find(|s| s.scheme_id == holding.scheme_id)
    else {
        return out;
    };
    if !holding.cycle.contains(candidate.on) {
        return out;
    }
    let year = standing
        .by_year
        .iter()
        .find(|y| y.starts_on <= candidate.on && candidate.on <= y.last_day)
        .map(|y| y.year);
    for c in &claim.claims {
        out.total += c.points;
        *out.categories.entry(c.category.clone()).or_default() += c.points;
        if let Some(year) = year {
            *out.years.entry(year).or_default() += c.points;
        }
    }
    for slot in &scheme.slots {
        let by_points = slot
            .or_points
            .as_ref()
            .is_some_and(|alt| out.categories.contains_key(&alt.category));
        if slot.activity_types.contains(&claim.activity_type) || by_points {
            let slot_year = match slot.per {
                SlotPeriod::Cycle => None,
                SlotPeriod::CycleYear => year,
            };
            if slot.per == SlotPeriod::Cycle || slot_year.is_some() {
                out.slots.insert((slot.id.clone(), slot_year));
            }
        }
    }
    out
}

impl Reach {
    pub(super) fn touches(&self, gaps: &Gaps) -> bool {
        (gaps.total.is_positive() && self.total.is_positive())
            || gaps
                .categories
                .iter()
                .any(|g| self.categories.contains_key(&g.category))
            || gaps.years.iter().any(|g| self.years.contains_key(&g.year))
            || gaps
                .slots
                .iter()
                .any(|g| self.slots.contains(&(g.slot.clone(), g.year)))
    }

    /// Touches any requirement a cycle can have: the total, a category with a minimum, a
    /// year with a minimum, or a slot.
    pub(super) fn matters(&self, scheme: &SchemeDefinition) -> bool {
        (scheme.required_points.is_positive() && self.total.is_positive())
            || scheme.per_year_minimum.as_ref().is_some_and(|m| m.hard) && !self.years.is_empty()
            || scheme
                .categories
                .iter()
                .any(|c| c.min_per_cycle.is_some() && self.categories.contains_key(&c.id))
            || !self.slots.is_empty()
    }
}

/// The least that reaching `need` costs when any fraction of each `(amount, cost)` may be
/// bought: the cheapest per point first. Rounded down, so it never exceeds a real cover.
pub(super) fn fractional_cover(need: Points, offers: impl Iterator<Item = (Points, i64)>) -> i64 {
    let mut offers: Vec<(i64, i64)> = offers
        .filter(|(amount, _)| amount.is_positive())
        .map(|(amount, cost)| (amount.hundredths(), cost))
        .collect();
    // a/b before c/d when a·d < c·b (cost per hundredth of a point).
    offers.sort_by(|x, y| {
        (i128::from(x.1) * i128::from(y.0)).cmp(&(i128::from(y.1) * i128::from(x.0)))
    });
    let mut left = need.hundredths();
    let mut total: i128 = 0;
    for (amount, cost) in offers {
        if left <= 0 {
            break;
        }
        if amount <= left {
            total += i128::from(cost);
            left -= amount;
        } else {
            total += i128::from(cost) * i128::from(left) / i128::from(amount);
            left = 0;
        }
    }
    i64::try_from(total).unwrap_or(i64::MAX)
}

/// Candidates best value first: the lowest cost per point (or per slot, counted as a point)
/// they reach in the targets, then the lowest cost. The first branch the search takes is then
/// a greedy plan, a good bound for the rest.
pub(super) fn by_value(order: &mut [usize], reaches: &[Vec<Reach>], candidates: &[Candidate]) {
    let value = |i: usize| -> i64 {
        reaches[i]
            .iter()
            .map(|r| r.total.hundredths() + 100 * i64::try_from(r.slots.len()).unwrap_or(0))
            .sum::<i64>()
            .max(1)
    };
    order.sort_by(|&a, &b| {
        let (ca, cb) = (
            i128::from(candidates[a].cost),
            i128::from(candidates[b].cost),
        );
        (ca * i128::from(value(b)))
            .cmp(&(cb * i128::from(value(a))))
            .then(ca.cmp(&cb))
            .then(a.cmp(&b))
    });
}

/// Open gaps that the given reaches cannot close together, however they count.
pub(super) fn unclosable(gaps: &Gaps, reaches: &[&Reach]) -> usize {
    let sum = |f: &dyn Fn(&Reach) -> Points| reaches.iter().map(|r| f(r)).sum::<Points>();
    usize::from(gaps.total.is_positive() && sum(&|r| r.total) < gaps.total)
        + gaps
            .categories
            .iter()
            .filter(|g| {
                sum(&|r| r.categories.get(&g.category).copied().unwrap_or_default()) < g.short
            })
            .count()
        + gaps
            .years
            .iter()
            .filter(|g| sum(&|r| r.years.get(&g.year).copied().unwrap_or_default()) < g.short)
            .count()
        + gaps
            .slots
            .iter()
            .filter(|g| {
                !reaches
                    .iter()
                    .any(|r| r.slots.contains(&(g.slot.clone(), g.year)))
            })
            .count()
}

/// For each gap, the [`PER_GAP`] candidates that reach it at the lowest cost per point (per
/// course, for a slot); then the others in `order`, up to [`MAX_CANDIDATES`] in all, best
/// value first.
pub(super) fn cheapest_per_gap(
    order: &[usize],
    reaches: &[Vec<Reach>],
    targets: &[String],
    gaps: &BTreeMap<String, Gaps>,
    candidates: &[Candidate],
) -> Vec<usize> {
    let mut kept: BTreeSet<usize> = BTreeSet::new();
    let mut keep_best = |t: usize, amount: &dyn Fn(&Reach) -> Points| {
        let mut ranked: Vec<(i128, usize)> = order
            .iter()
            .filter_map(|&i| {
                let reached = amount(&reaches[i][t]);
                reached.is_positive().then(|| {
                    let per_point =
                        i128::from(candidates[i].cost) * 10_000 / i128::from(reached.hundredths());
                    (per_point, i)
                })
            })
            .collect();
        ranked.sort_unstable();
        kept.extend(ranked.into_iter().take(PER_GAP).map(|(_, i)| i));
    };
    for (t, id) in targets.iter().enumerate() {
        let Some(g) = gaps.get(id) else { continue };
        if g.total.is_positive() {
            keep_best(t, &|r| r.total);
        }
        for c in &g.categories {
            keep_best(t, &|r| {
                r.categories.get(&c.category).copied().unwrap_or_default()
            });
        }
        for y in &g.years {
            keep_best(t, &|r| r.years.get(&y.year).copied().unwrap_or_default());
        }
        for slot in &g.slots {
            let key = (slot.slot.clone(), slot.year);
            keep_best(t, &|r| {
                if r.slots.contains(&key) {
                    Points::whole(1)
                } else {
                    Points::ZERO
                }
            });
        }
    }
    for &i in order {
        if kept.len() >= MAX_CANDIDATES {
            break;
        }
        kept.insert(i);
    }
    let mut out: Vec<usize> = kept.into_iter().collect();
    by_value(&mut out, reaches, candidates);
    out
}
