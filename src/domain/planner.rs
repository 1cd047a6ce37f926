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
//! of an hour, or of a currency). The search is a branch and bound over the candidates, best
//! value (cost per point) first: a branch is cut when the candidates left cannot close the
//! gaps it needs (by the points they claim, an upper bound on what they can add) or cannot
//! beat the best plan's cost, even buying fractions of courses at their best value. The search is exact within its budget of evaluations; `optimal` says whether
//! it finished.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::allocation::{HoldingCycle, MultiCredit, SchemeClaim, allocate};
use super::points::Points;
use super::scheme::SchemeDefinition;
use super::standing::{CreditState, Standing, StandingInput, deadline, evaluate};

/// Evaluations the search may spend before it settles for the best plan found (about 0.1 ms
/// each for a holder with 200 credits, so a plan answers within a few hundred milliseconds).
pub const SEARCH_BUDGET: usize = 3_000;

/// Candidates the search weighs at most. Beyond it, each gap keeps the few candidates that
/// close it most cheaply per point, and the plan is no longer claimed optimal.
pub const MAX_CANDIDATES: usize = 30;

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

mod reach;
use reach::{Reach, by_value, cheapest_per_gap, fractional_cover, reach, unclosable};

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
    /// The most any one open gap needs spent on the candidates `left` to close it, allowing
    /// fractions of a course: a lower bound on what closing them all costs.
    fn cover_floor(&self, gaps: &BTreeMap<String, Gaps>, left: &[usize]) -> i64 {
        let candidates = self.judge.input.candidates;
        let mut floor = 0;
        for (t, id) in self.targets.iter().enumerate() {
            let Some(g) = gaps.get(id) else { continue };
            let cover = |need: Points, amount: &dyn Fn(&Reach) -> Points| {
                fractional_cover(
                    need,
                    left.iter()
                        .map(|&i| (amount(&self.reaches[i][t]), candidates[i].cost)),
                )
            };
            if g.total.is_positive() {
                floor = floor.max(cover(g.total, &|r| r.total));
            }
            for c in &g.categories {
                floor = floor.max(cover(c.short, &|r| {
                    r.categories.get(&c.category).copied().unwrap_or_default()
                }));
            }
            for y in &g.years {
                floor = floor.max(cover(y.short, &|r| {
                    r.years.get(&y.year).copied().unwrap_or_default()
                }));
            }
            for slot in &g.slots {
                let key = (slot.slot.clone(), slot.year);
                let cheapest = left
                    .iter()
                    .filter(|&&i| self.reaches[i][t].slots.contains(&key))
                    .map(|&i| candidates[i].cost)
                    .min()
                    .unwrap_or(0);
                floor = floor.max(cheapest);
            }
        }
        floor
    }

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
            // When the best closes everything, so must any extension that beats it: each
            // open gap then costs at least its cheapest fractional cover by what is left.
            if best_open == 0 && cost + self.cover_floor(&gaps, &left) >= best_cost {
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
    by_value(&mut order, &reaches, input.candidates);

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
