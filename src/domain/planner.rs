//! The renewal planner: the set of courses that closes a holding's gaps at the lowest cost.
//!
//! A *gap* is one requirement of the cycle still unmet: the total, a category's minimum, a
//! cycle year's minimum (for years not yet over), or a required course slot (not yet past
//! its due date). The planner adds hypothetical credits, one per proposed course, to what the
//! ledger already holds, hands them out with [`allocate`] (so counts-for-N limits hold and a
//! course counts toward every holding it may) and judges each target holding with
//! [`evaluate`] at its deadline (so caps, rounding and per-activity limits hold). The standing
//! engine is the only judge of whether a gap is closed.
//!
//! The plan is the set that leaves the fewest gaps open (every gap the candidates can close
//! is closed) and, among those, costs least. Costs are whole numbers in one unit (hundredths
//! of an hour, or of a currency). The search is a branch and bound over the candidates,
//! cheapest first: a branch is cut when the candidates left cannot close the gaps it needs
//! (by the points they claim, an upper bound on what they can add) or cannot beat the best
//! plan's cost. The search is exact within its budget of evaluations; `optimal` says whether
//! it finished.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::allocation::{HoldingCycle, MultiCredit, SchemeClaim, allocate};
use super::points::Points;
use super::scheme::{SchemeDefinition, SlotPeriod};
use super::standing::{CreditState, Standing, StandingInput, deadline, evaluate};

/// Evaluations the search may spend before it settles for the best plan found.
pub const SEARCH_BUDGET: usize = 20_000;

/// Candidates the search weighs at most. Beyond it, each gap keeps the few candidates that
/// close it most cheaply per point, and the plan is no longer claimed optimal.
pub const MAX_CANDIDATES: usize = 40;

/// How many candidates each gap keeps when the candidates are too many.
const PER_GAP: usize = 8;

/// A course the professional could take, on one day, with what it would claim per scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// At most one candidate of a group is chosen (the sessions of one course in one cycle
    /// year are alternatives); `None` for a candidate that stands alone.
    pub group: Option<String>,
    pub on: NaiveDate,
    /// In the plan's unit; never negative.
    pub cost: i64,
    /// What it claims in each scheme, as a credit recorded from it would.
    pub schemes: Vec<SchemeClaim>,
}

/// What the planner judges.
pub struct PlanInput<'a, S> {
    pub holdings: &'a [HoldingCycle],
    pub schemes: &'a [S],
    /// What the ledger already holds.
    pub credits: &'a [MultiCredit],
    /// The holdings whose gaps the plan closes.
    pub targets: &'a [String],
    pub candidates: &'a [Candidate],
    pub today: NaiveDate,
}

/// A category short of its minimum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CategoryGap {
    pub category: String,
    pub short: Points,
}

/// A cycle year short of its required (hard) minimum, for a year not yet over. A soft
/// minimum (ISC2's 40 a year) is advice, not a gap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct YearGap {
    pub year: u32,
    pub last_day: NaiveDate,
    pub short: Points,
}

/// A required course not yet taken, for a slot not yet past its due date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SlotGap {
    pub slot: String,
    /// The cycle year of a yearly slot.
    pub year: Option<u32>,
    pub due_by: NaiveDate,
}

/// What a holding still needs in its cycle.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Gaps {
    /// Points still short of the cycle's requirement.
    pub total: Points,
    pub categories: Vec<CategoryGap>,
    pub years: Vec<YearGap>,
    pub slots: Vec<SlotGap>,
}

impl Gaps {
    /// The gaps of a standing judged at the deadline, as of `today`.
    pub fn of(standing: &Standing, today: NaiveDate) -> Self {
        Self {
            total: standing.remaining,
            categories: standing
                .by_category
                .iter()
                .filter_map(|c| {
                    let short = c.minimum?.saturating_sub(c.counted);
                    short.is_positive().then(|| CategoryGap {
                        category: c.category.clone(),
                        short,
                    })
                })
                .collect(),
            years: standing
                .by_year
                .iter()
                .filter(|y| y.hard && y.last_day >= today)
                .filter_map(|y| {
                    let short = y.minimum?.saturating_sub(y.counted);
                    short.is_positive().then_some(YearGap {
                        year: y.year,
                        last_day: y.last_day,
                        short,
                    })
                })
                .collect(),
            slots: standing
                .unmet_slots
                .iter()
                .filter(|s| s.due_by >= today)
                .map(|s| SlotGap {
                    slot: s.slot.clone(),
                    year: s.year,
                    due_by: s.due_by,
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// How many requirements are open.
    pub fn count(&self) -> usize {
        usize::from(self.total.is_positive())
            + self.categories.len()
            + self.years.len()
            + self.slots.len()
    }
}

/// What one proposed course does for one holding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Effect {
    pub holding_id: String,
    /// Points it counts there after caps.
    pub counted: Points,
    /// The required course slots it fills there.
    pub fills_slots: Vec<String>,
}

/// The planner's proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Indices into the candidates, cheapest first.
    pub chosen: Vec<usize>,
    pub cost: i64,
    /// Each target's gaps without the plan, and with it (what no candidate could close).
    pub before: BTreeMap<String, Gaps>,
    pub after: BTreeMap<String, Gaps>,
    /// Per chosen candidate (in `chosen` order), its effect on every holding it counts toward.
    pub effects: Vec<Vec<Effect>>,
    /// The search finished within its budget: no set of these candidates does better.
    pub optimal: bool,
}

const PLANNED: &str = "plan:";

/// Judges the target holdings with the given candidates added.
struct Judge<'a, S> {
    input: &'a PlanInput<'a, S>,
    schemes: Vec<&'a SchemeDefinition>,
}

impl<'a, S: Borrow<SchemeDefinition>> Judge<'a, S> {
    fn new(input: &'a PlanInput<'a, S>) -> Self {
        Self {
            input,
            schemes: input.schemes.iter().map(Borrow::borrow).collect(),
        }
    }

    fn scheme_of(&self, holding: &HoldingCycle) -> Option<&'a SchemeDefinition> {
        let same = |s: &&&SchemeDefinition| s.id == holding.scheme_id;
        self.schemes
            .iter()
            .filter(same)
            .find(|s| s.version == holding.scheme_version)
            .or_else(|| self.schemes.iter().find(same))
            .copied()
    }

    /// The standing of each listed holding (all when `only` is `None`) with `chosen` added.
    fn standings(&self, chosen: &[usize], only: Option<&[String]>) -> BTreeMap<String, Standing> {
        let mut credits: Vec<MultiCredit> = self.input.credits.to_vec();
        for &i in chosen {
            let candidate = &self.input.candidates[i];
            credits.push(MultiCredit {
                id: format!("{PLANNED}{i}"),
                completed_on: candidate.on,
                state: CreditState::Approved,
                schemes: candidate.schemes.clone(),
            });
        }
        let mut allocated = allocate(self.input.holdings, &credits, &self.schemes);
        let mut out = BTreeMap::new();
        for holding in self.input.holdings {
            if only.is_some_and(|ids| !ids.contains(&holding.holding_id)) {
                continue;
            }
            let Some(scheme) = self.scheme_of(holding) else {
                continue;
            };
            let entries = allocated.remove(&holding.holding_id).unwrap_or_default();
            let as_of = deadline(scheme, holding.cycle).max(self.input.today);
            let standing = evaluate(&StandingInput {
                scheme,
                cycle: holding.cycle,
                previous_cycle: holding.previous_cycle,
                credits: &entries,
                as_of,
            });
            out.insert(holding.holding_id.clone(), standing);
        }
        out
    }

    fn gaps(&self, chosen: &[usize]) -> BTreeMap<String, Gaps> {
        self.standings(chosen, Some(self.input.targets))
            .into_iter()
            .map(|(id, standing)| (id, Gaps::of(&standing, self.input.today)))
            .collect()
    }
}

/// The most a candidate can add to each kind of gap of one target: the points it claims
/// there, by category and by cycle year, and the slots its activity type fills. Caps can
/// only lower what counts, so these bound what adding it can do.
#[derive(Debug, Default, Clone)]
struct Reach {
    total: Points,
    categories: BTreeMap<String, Points>,
    years: BTreeMap<u32, Points>,
    slots: BTreeSet<(String, Option<u32>)>,
}

fn reach(
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
    fn touches(&self, gaps: &Gaps) -> bool {
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
    fn matters(&self, scheme: &SchemeDefinition) -> bool {
        (scheme.required_points.is_positive() && self.total.is_positive())
            || scheme.per_year_minimum.as_ref().is_some_and(|m| m.hard) && !self.years.is_empty()
            || scheme
                .categories
                .iter()
                .any(|c| c.min_per_cycle.is_some() && self.categories.contains_key(&c.id))
            || !self.slots.is_empty()
    }
}

/// Open gaps that the given reaches cannot close together, however they count.
fn unclosable(gaps: &Gaps, reaches: &[&Reach]) -> usize {
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
/// course, for a slot); then the cheapest others, up to [`MAX_CANDIDATES`] in all, cheapest
/// first.
fn cheapest_per_gap(
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
    out.sort_by_key(|&i| (candidates[i].cost, i));
    out
}

struct Search<'a, S> {
    judge: Judge<'a, S>,
    /// Candidate indices worth trying, cheapest first.
    order: Vec<usize>,
    /// Per candidate, its reach in each target (in `targets` order).
    reaches: Vec<Vec<Reach>>,
    targets: Vec<String>,
    best: (usize, i64, Vec<usize>),
    spent: usize,
}

impl<S: Borrow<SchemeDefinition>> Search<'_, S> {
    fn open(&mut self, chosen: &[usize]) -> (usize, BTreeMap<String, Gaps>) {
        self.spent += 1;
        let gaps = self.judge.gaps(chosen);
        (gaps.values().map(Gaps::count).sum(), gaps)
    }

    fn offer(&mut self, open: usize, chosen: &[usize]) {
        let cost = self.cost(chosen);
        if (open, cost) < (self.best.0, self.best.1) {
            self.best = (open, cost, chosen.to_vec());
        }
    }

    fn cost(&self, chosen: &[usize]) -> i64 {
        chosen
            .iter()
            .map(|&i| self.judge.input.candidates[i].cost)
            .sum()
    }

    fn blocked(&self, chosen: &[usize], i: usize) -> bool {
        let group = &self.judge.input.candidates[i].group;
        group.is_some()
            && chosen
                .iter()
                .any(|&c| self.judge.input.candidates[c].group == *group)
    }

    /// Depth first from position `from` of `order`, with `chosen` taken so far.
    fn explore(&mut self, from: usize, chosen: &mut Vec<usize>) {
        if self.spent >= SEARCH_BUDGET {
            return;
        }
        let (open, gaps) = self.open(chosen);
        self.offer(open, chosen);
        if open == 0 {
            return;
        }
        let cost = self.cost(chosen);
        let left: Vec<usize> = self.order[from..]
            .iter()
            .copied()
            .filter(|&i| !self.blocked(chosen, i))
            .collect();
        // Gaps that no choice of the candidates left can close: a floor for every extension.
        let floor: usize = self
            .targets
            .iter()
            .enumerate()
            .map(|(t, id)| {
                let reaches: Vec<&Reach> = left.iter().map(|&i| &self.reaches[i][t]).collect();
                gaps.get(id).map_or(0, |g| unclosable(g, &reaches))
            })
            .sum();
        let helpful: Vec<bool> = (0..self.reaches.len())
            .map(|i| {
                self.targets
                    .iter()
                    .enumerate()
                    .any(|(t, id)| gaps.get(id).is_some_and(|g| self.reaches[i][t].touches(g)))
            })
            .collect();
        let cheapest_help = left
            .iter()
            .copied()
            .filter(|&i| helpful[i])
            .map(|i| self.judge.input.candidates[i].cost)
            .min();
        let (best_open, best_cost) = (self.best.0, self.best.1);
        if floor > best_open {
            return;
        }
        if floor == best_open {
            // Matching the best's gaps needs at least one more helpful course when this
            // branch leaves more open; it can then only tie or lose on cost.
            let lowest = if open > best_open {
                match cheapest_help {
                    Some(c) => cost + c,
                    None => return,
                }
            } else {
                cost
            };
            if lowest >= best_cost {
                return;
            }
        }
        for k in from..self.order.len() {
            let i = self.order[k];
            if self.spent >= SEARCH_BUDGET {
                return;
            }
            if self.blocked(chosen, i) || !helpful[i] {
                continue;
            }
            chosen.push(i);
            self.explore(k + 1, chosen);
            chosen.pop();
        }
    }
}

/// Proposes the courses that close the targets' gaps: every gap the candidates can close,
/// at the lowest cost.
pub fn plan<S: Borrow<SchemeDefinition>>(input: &PlanInput<'_, S>) -> Plan {
    let judge = Judge::new(input);
    let now = judge.standings(&[], Some(input.targets));
    let targets: Vec<String> = input
        .targets
        .iter()
        .filter(|t| now.contains_key(*t))
        .cloned()
        .collect();
    let target_holdings: Vec<(&HoldingCycle, &SchemeDefinition, &Standing)> = targets
        .iter()
        .filter_map(|id| {
            let holding = input.holdings.iter().find(|h| &h.holding_id == id)?;
            Some((holding, judge.scheme_of(holding)?, now.get(id)?))
        })
        .collect();
    let reaches: Vec<Vec<Reach>> = input
        .candidates
        .iter()
        .map(|c| {
            target_holdings
                .iter()
                .map(|(h, s, st)| reach(c, s, h, st))
                .collect()
        })
        .collect();
    let mut order: Vec<usize> = (0..input.candidates.len())
        .filter(|&i| {
            input.candidates[i].cost >= 0
                && reaches[i]
                    .iter()
                    .zip(&target_holdings)
                    .any(|(r, (_, s, _))| r.matters(s))
        })
        .collect();
    order.sort_by_key(|&i| (input.candidates[i].cost, i));

    let before: BTreeMap<String, Gaps> = now
        .iter()
        .map(|(id, s)| (id.clone(), Gaps::of(s, input.today)))
        .collect();
    let trimmed = order.len() > MAX_CANDIDATES;
    if trimmed {
        order = cheapest_per_gap(&order, &reaches, &targets, &before, input.candidates);
    }
    let open_now = before.values().map(Gaps::count).sum();
    let mut search = Search {
        judge,
        order,
        reaches,
        targets,
        best: (open_now, 0, Vec::new()),
        spent: 0,
    };
    search.explore(0, &mut Vec::new());
    let optimal = !trimmed && search.spent < SEARCH_BUDGET;
    let (_, cost, mut chosen) = search.best.clone();
    chosen.sort_by_key(|&i| (input.candidates[i].cost, i));
    let after = search.judge.gaps(&chosen);
    let all = search.judge.standings(&chosen, None);
    let effects = chosen
        .iter()
        .map(|&i| {
            let id = format!("{PLANNED}{i}");
            all.iter()
                .filter_map(|(holding_id, standing)| {
                    let counted: Points = standing
                        .counted_claims
                        .iter()
                        .filter(|c| c.credit_id == id)
                        .map(|c| c.counted)
                        .sum();
                    let fills_slots: Vec<String> = standing
                        .slots
                        .iter()
                        .filter(|s| s.filled_by.as_deref() == Some(id.as_str()))
                        .map(|s| s.slot.clone())
                        .collect();
                    (counted.is_positive() || !fills_slots.is_empty()).then(|| Effect {
                        holding_id: holding_id.clone(),
                        counted,
                        fills_slots,
                    })
                })
                .collect()
        })
        .collect();
    Plan {
        chosen,
        cost,
        before,
        after,
        effects,
        optimal,
    }
}

#[cfg(test)]
mod tests;
