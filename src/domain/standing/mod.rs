//! Standing: where a holding stands in its cycle, computed from the rules, the cycle, the
//! credits and a date. Never stored as truth; recomputed whenever it is needed.
//!
//! # Dates
//!
//! Every date the engine hands out is a day people read as written: the first or the last day
//! of something, both included.
//!
//! * Inside the engine a cycle is `[starts_on, ends_on)`, `ends_on` exclusive (the first day
//!   the certification is no longer valid unless renewed). That end never leaves the engine:
//!   a standing shows `expires_on = ends_on - 1 day`, the last valid day, the expiry date
//!   printed on a certificate.
//! * `deadline = expires_on - renewal_deadline_days_before_end`, counted back from the expiry
//!   date the way the scheme's owner counts it (RISS registered 2023-10-01: expires
//!   2026-09-30, application due 60 days earlier, 2026-08-01). Without an offset it is the
//!   expiry date itself. It is the last day on which an activity still counts for this
//!   cycle; credits completed after it, or after `as_of`, do not count.
//! * `grace_until = max(deadline + grace_days, expires_on)`: the last day on which a holding
//!   that is short is `due` rather than `lapsed`. For a scheme with a deadline offset and no
//!   grace (RISS) that is the expiry date; for ISC2 it is 90 days after the expiry date
//!   (expires 2026-05-31, grace until 2026-08-29).
//! * Cycle year k runs from `starts_on + 12(k-1) months` through the day before
//!   `starts_on + 12k months` (`last_day`), clipped to the cycle.
//!
//! # Counting
//!
//! Credits are processed in `(completed_on, id)` order; only approved credits in the cycle
//! count. Each claim is rounded down to the scheme's step, then limited in this order by the
//! per-activity cap (the scheme's and the activity type's, shared by all claims of one credit), the activity type's per-year and
//! per-cycle caps, and the category's per-year and per-cycle caps. What is left counts.
//! Points carried in by rollover occupy room in their category first and count toward the
//! total and the category, but not toward any cycle year.

#[cfg(test)]
mod examples;
#[cfg(test)]
mod laws;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::points::Points;
use super::scheme::{SchemeDefinition, SchemeStatus, SlotPeriod, Unplaceable};

/// Days before the deadline from which anything still unmet puts a holding at risk.
pub const AT_RISK_WINDOW_DAYS: i64 = 90;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CyclePeriod {
    pub starts_on: NaiveDate,
    /// The exclusive end of the cycle: the first day it no longer covers. Internal to the
    /// engine; what people read is [`CyclePeriod::expires_on`].
    pub ends_on: NaiveDate,
}

impl CyclePeriod {
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.starts_on <= date && date < self.ends_on
    }

    /// The expiry date: the cycle's last valid day.
    pub fn expires_on(&self) -> NaiveDate {
        last_day_before(self.ends_on)
    }
}

/// The last day of a period whose exclusive end is `end`.
pub fn last_day_before(end: NaiveDate) -> NaiveDate {
    end.pred_opt().unwrap_or(end)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreditState {
    Pending,
    Approved,
    Rejected,
    Voided,
}

/// Points a credit claims in one category of one scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub category: String,
    pub points: Points,
}

/// A credit as one scheme sees it: its claims are for that scheme only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditEntry {
    pub id: String,
    pub completed_on: NaiveDate,
    pub activity_type: String,
    pub state: CreditState,
    pub claims: Vec<Claim>,
}

#[derive(Debug, Clone, Copy)]
pub struct StandingInput<'a> {
    pub scheme: &'a SchemeDefinition,
    pub cycle: CyclePeriod,
    /// Needed for rollover; the engine finds the previous cycle's credits in `credits`.
    pub previous_cycle: Option<CyclePeriod>,
    pub credits: &'a [CreditEntry],
    pub as_of: NaiveDate,
}

/// The one-word verdict on a holding's cycle, checked top to bottom (first match wins).
///
/// | state | holds when |
/// |---|---|
/// | `complete` | every requirement of the cycle is met: counted ≥ required, every category minimum, every slot (each cycle year's and the cycle's), and every hard per-year minimum for every cycle year. Stays `complete` after the deadline. |
/// | `lapsed` | not complete and `as_of` is after `grace_until`. |
/// | `due` | not complete, `as_of` is after the deadline and on or before `grace_until`. |
/// | `at_risk` | not complete, on or before the deadline, and at least one of: counted is behind a linear pace (counted < required × days elapsed since `starts_on` ÷ days from `starts_on` through the deadline); an elapsed cycle year missed its hard minimum or a per-year slot; fewer than 90 days to the deadline; a slot unmet with fewer than 90 days to its own due date; a per-cycle slot still unmet once the cycle's final year has begun. |
/// | `on_track` | not complete, on or before the deadline, and none of the `at_risk` conditions. |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StandingState {
    Complete,
    OnTrack,
    AtRisk,
    Due,
    Lapsed,
}

impl StandingState {
    /// The state as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            StandingState::Complete => "complete",
            StandingState::OnTrack => "on_track",
            StandingState::AtRisk => "at_risk",
            StandingState::Due => "due",
            StandingState::Lapsed => "lapsed",
        }
    }
}

impl std::fmt::Display for StandingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Standing {
    pub scheme_id: String,
    pub scheme_version: String,
    pub scheme_status: SchemeStatus,
    pub as_of: NaiveDate,
    /// First day of the cycle.
    pub starts_on: NaiveDate,
    /// The expiry date: the cycle's last valid day.
    pub expires_on: NaiveDate,
    /// Last day on which an activity counts for this cycle (and on which a renewal is due).
    pub deadline: NaiveDate,
    /// Last day on which a holding that is short is `due` rather than `lapsed`.
    pub grace_until: NaiveDate,
    /// `deadline - as_of` in days: 0 on the deadline itself, negative once past.
    pub days_to_deadline: i64,
    pub required: Points,
    /// Points that count toward the requirement: after caps, including `carried_in`.
    pub counted: Points,
    pub carried_in: Points,
    /// `required - counted`, never below zero.
    pub remaining: Points,
    /// Rounded points of pending credits in the cycle; they count once approved.
    pub pending: Points,
    pub by_category: Vec<CategoryStanding>,
    pub by_year: Vec<YearStanding>,
    pub slots: Vec<SlotStanding>,
    pub unmet_slots: Vec<SlotStanding>,
    /// What this cycle would carry into the next one if it ended today.
    pub rollover_out: Points,
    /// How much of each approved claim in the cycle counted, in processing order, so a
    /// transcript can show why a claim counted less than it asked for.
    pub counted_claims: Vec<CountedClaim>,
    /// Claims in the cycle that cannot count, with the reason, so a holder can fix them.
    pub ignored: Vec<IgnoredClaim>,
    pub state: StandingState,
    /// Why the state is what it is, in the order the rules are checked: empty for `complete`
    /// and `on_track`; one or more for `at_risk`; `deadline_passed` for `due`;
    /// `grace_passed` for `lapsed`.
    pub reasons: Vec<StandingReason>,
}

/// One reason for a standing's state: a code for programs, words for people in ja and en.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct StandingReason {
    pub code: ReasonCode,
    /// The reason in English.
    #[schema(value_type = String)]
    pub en: &'static str,
    /// The reason in Japanese.
    #[schema(value_type = String)]
    pub ja: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// `at_risk`: counted points are behind a linear pace toward the requirement.
    BehindPace,
    /// `at_risk`: an elapsed cycle year ended below its hard minimum.
    MissedYearMinimum,
    /// `at_risk`: an elapsed cycle year's slot was not filled.
    MissedYearSlot,
    /// `at_risk`: fewer than 90 days to the deadline with something unmet.
    DeadlineNear,
    /// `at_risk`: a slot is unmet with fewer than 90 days to its own due date.
    SlotDueSoon,
    /// `at_risk`: a per-cycle slot is still unmet once the cycle's final year has begun.
    CycleSlotOpenInFinalYear,
    /// `due`: the deadline passed; the grace period has not.
    DeadlinePassed,
    /// `lapsed`: the deadline and the grace period passed.
    GracePassed,
}

impl ReasonCode {
    /// The code as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BehindPace => "behind_pace",
            Self::MissedYearMinimum => "missed_year_minimum",
            Self::MissedYearSlot => "missed_year_slot",
            Self::DeadlineNear => "deadline_near",
            Self::SlotDueSoon => "slot_due_soon",
            Self::CycleSlotOpenInFinalYear => "cycle_slot_open_in_final_year",
            Self::DeadlinePassed => "deadline_passed",
            Self::GracePassed => "grace_passed",
        }
    }

    /// The reason with its words in English and Japanese.
    pub fn reason(self) -> StandingReason {
        let (en, ja) = match self {
            Self::BehindPace => (
                "counted points are behind the pace the cycle needs",
                "獲得ポイントが更新に必要なペースを下回っています",
            ),
            Self::MissedYearMinimum => (
                "a past cycle year ended below its required minimum",
                "終了した年度が年間の最低ポイントに届いていません",
            ),
            Self::MissedYearSlot => (
                "a past cycle year's required course was not taken",
                "終了した年度の必須講習を受講していません",
            ),
            Self::DeadlineNear => (
                "fewer than 90 days remain before the deadline",
                "期限まで90日を切っています",
            ),
            Self::SlotDueSoon => (
                "a required course is due within 90 days",
                "必須講習の受講期限まで90日を切っています",
            ),
            Self::CycleSlotOpenInFinalYear => (
                "a once-per-cycle requirement is still open in the cycle's final year",
                "更新期間に1回の必須講習が、最終年度に入っても未受講です",
            ),
            Self::DeadlinePassed => (
                "the deadline has passed; the grace period has not",
                "期限を過ぎました（猶予期間中）",
            ),
            Self::GracePassed => (
                "the deadline and the grace period have passed",
                "期限と猶予期間を過ぎました",
            ),
        };
        StandingReason { code: self, en, ja }
    }
}

impl std::fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CountedClaim {
    pub credit_id: String,
    pub activity_type: String,
    pub category: String,
    pub year: u32,
    pub claimed: Points,
    pub counted: Points,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CategoryStanding {
    pub category: String,
    pub counted: Points,
    pub minimum: Option<Points>,
    pub cap: Option<Points>,
    /// Approved points claimed in the category before rounding and caps.
    pub claimed: Points,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct YearStanding {
    pub year: u32,
    pub starts_on: NaiveDate,
    /// The year's last day.
    pub last_day: NaiveDate,
    pub counted: Points,
    pub minimum: Option<Points>,
    pub hard: bool,
    /// `Some(true)` once the minimum is reached, `Some(false)` once the year is over (or the
    /// deadline passed) without it, `None` while it is open or when there is no minimum.
    pub met: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SlotStanding {
    pub slot: String,
    /// Cycle year for a per-year slot; `None` for a per-cycle slot.
    pub year: Option<u32>,
    /// Last day on which a completion fills this slot.
    pub due_by: NaiveDate,
    /// The credit that fills the slot.
    pub filled_by: Option<String>,
    /// Filled, or met by the slot's points alternative.
    pub satisfied: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct IgnoredClaim {
    pub credit_id: String,
    /// The activity type the credit names in this scheme.
    pub activity_type: String,
    /// The claim's category; `None` when the whole credit is ignored.
    pub category: Option<String>,
    pub reason: IgnoredReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IgnoredReason {
    /// The scheme has no such activity type.
    UnknownActivityType,
    /// The scheme has no such category.
    UnknownCategory,
    /// The activity type is bound to another category.
    CategoryNotAllowed,
    /// Completed after the cycle's deadline: too late for this cycle.
    CompletedAfterDeadline,
    /// Completed after the date the standing is computed for.
    CompletedAfterAsOf,
}

impl IgnoredReason {
    /// The reason in a sentence, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Self::UnknownActivityType => "the scheme has no such activity type",
            Self::UnknownCategory => "the scheme has no such category",
            Self::CategoryNotAllowed => "the activity type counts in another category",
            Self::CompletedAfterDeadline => "completed after the deadline",
            Self::CompletedAfterAsOf => "completed after the date of this standing",
        }
    }
}

impl From<Unplaceable> for IgnoredReason {
    fn from(reason: Unplaceable) -> Self {
        match reason {
            Unplaceable::UnknownActivityType => Self::UnknownActivityType,
            Unplaceable::UnknownCategory => Self::UnknownCategory,
            Unplaceable::CategoryNotAllowed { .. } => Self::CategoryNotAllowed,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct CycleYear {
    year: u32,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
}

/// The cycle years of a cycle, the last one clipped to the cycle's end.
fn cycle_years(cycle: CyclePeriod) -> Vec<CycleYear> {
    let mut years = Vec::new();
    for k in 1u32..=1000 {
        let Some(starts_on) = cycle
            .starts_on
            .checked_add_months(Months::new(12 * (k - 1)))
        else {
            break;
        };
        if starts_on >= cycle.ends_on {
            break;
        }
        let ends_on = cycle
            .starts_on
            .checked_add_months(Months::new(12 * k))
            .map_or(cycle.ends_on, |end| end.min(cycle.ends_on));
        years.push(CycleYear {
            year: k,
            starts_on,
            ends_on,
        });
    }
    years
}

/// The deadline of a cycle under a scheme's rules: the expiry date less
/// `renewal_deadline_days_before_end`, the last day on which an activity still counts (see the
/// module documentation).
pub fn deadline(scheme: &SchemeDefinition, cycle: CyclePeriod) -> NaiveDate {
    let expires_on = cycle.expires_on();
    expires_on
        .checked_sub_days(Days::new(u64::from(
            scheme.renewal_deadline_days_before_end,
        )))
        .unwrap_or(expires_on)
}

/// The last day on which a holding that is short is `due` rather than `lapsed`:
/// `max(deadline + grace_days, expires_on)`.
pub fn grace_until(scheme: &SchemeDefinition, cycle: CyclePeriod) -> NaiveDate {
    let deadline = self::deadline(scheme, cycle);
    deadline
        .checked_add_days(Days::new(u64::from(scheme.grace_days)))
        .unwrap_or(deadline)
        .max(cycle.expires_on())
}

/// Points after caps, per category and year, for one cycle.
struct Tally {
    counted: Points,
    carried_in: Points,
    pending: Points,
    by_category: BTreeMap<String, (Points, Points)>,
    by_year: Vec<Points>,
    in_rollover_window: Points,
    counted_claims: Vec<CountedClaim>,
    ignored: Vec<IgnoredClaim>,
}

impl Tally {
    /// Excess over the requirement earned in the rollover window, up to the cap. Carried-in
    /// points never roll over a second time.
    fn rollover_out(&self, scheme: &SchemeDefinition) -> Points {
        let Some(rollover) = &scheme.rollover else {
            return Points::ZERO;
        };
        let earned = self.counted - self.carried_in;
        earned
            .saturating_sub(scheme.required_points)
            .min(self.in_rollover_window)
            .min(rollover.cap)
    }
}

#[derive(Default)]
struct Room {
    used: BTreeMap<(String, Option<u32>), Points>,
}

impl Room {
    fn left(&self, key: &str, year: Option<u32>, cap: Option<Points>) -> Option<Points> {
        let cap = cap?;
        let used = self
            .used
            .get(&(key.to_owned(), year))
            .copied()
            .unwrap_or(Points::ZERO);
        Some(cap.saturating_sub(used))
    }

    fn take(&mut self, key: &str, year: Option<u32>, amount: Points) {
        *self
            .used
            .entry((key.to_owned(), year))
            .or_insert(Points::ZERO) += amount;
    }
}

fn sorted_credits(credits: &[CreditEntry]) -> Vec<&CreditEntry> {
    let mut sorted: Vec<&CreditEntry> = credits.iter().collect();
    sorted.sort_by(|a, b| (a.completed_on, &a.id).cmp(&(b.completed_on, &b.id)));
    sorted
}

fn tally(
    scheme: &SchemeDefinition,
    cycle: CyclePeriod,
    credits: &[&CreditEntry],
    as_of: NaiveDate,
    carry_in: Points,
) -> Tally {
    let years = cycle_years(cycle);
    let deadline = self::deadline(scheme, cycle);
    let step = scheme.point_step.unwrap_or(Points::from_hundredths(1));
    let window_start = scheme.rollover.as_ref().and_then(|r| {
        cycle
            .ends_on
            .checked_sub_months(Months::new(r.window_months))
    });

    let mut t = Tally {
        counted: Points::ZERO,
        carried_in: Points::ZERO,
        pending: Points::ZERO,
        by_category: scheme
            .categories
            .iter()
            .map(|c| (c.id.clone(), (Points::ZERO, Points::ZERO)))
            .collect(),
        by_year: vec![Points::ZERO; years.len()],
        in_rollover_window: Points::ZERO,
        counted_claims: Vec::new(),
        ignored: Vec::new(),
    };
    let mut type_room = Room::default();
    let mut category_room = Room::default();

    if let Some(rollover) = &scheme.rollover
        && let Some(category) = scheme.category(&rollover.category)
    {
        let carried = category
            .cap_per_cycle
            .map_or(carry_in, |cap| carry_in.min(cap));
        if carried.is_positive() {
            category_room.take(&category.id, None, carried);
            t.counted += carried;
            t.carried_in = carried;
            if let Some(entry) = t.by_category.get_mut(&category.id) {
                entry.0 += carried;
            }
        }
    }

    for credit in credits {
        let counts = match credit.state {
            CreditState::Approved => true,
            CreditState::Pending => false,
            CreditState::Rejected | CreditState::Voided => continue,
        };
        if !cycle.contains(credit.completed_on) {
            continue;
        }
        let mut ignore = |category: Option<&str>, reason| {
            t.ignored.push(IgnoredClaim {
                credit_id: credit.id.clone(),
                activity_type: credit.activity_type.clone(),
                category: category.map(str::to_owned),
                reason,
            });
        };
        if credit.completed_on > as_of {
            ignore(None, IgnoredReason::CompletedAfterAsOf);
            continue;
        }
        if credit.completed_on > deadline {
            ignore(None, IgnoredReason::CompletedAfterDeadline);
            continue;
        }
        let kind = scheme.activity_type(&credit.activity_type);
        if kind.is_none() && !scheme.activity_types.is_empty() {
            ignore(None, IgnoredReason::UnknownActivityType);
            continue;
        }
        let Some(year) = years
            .iter()
            .find(|y| y.starts_on <= credit.completed_on && credit.completed_on < y.ends_on)
            .map(|y| y.year)
        else {
            continue;
        };
        let mut activity_left = match (scheme.activity_cap, kind.and_then(|k| k.cap_per_activity)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        for claim in &credit.claims {
            if let Err(reason) = scheme.place(&credit.activity_type, &claim.category) {
                ignore(Some(&claim.category), reason.into());
                continue;
            }
            let Some(category) = scheme.category(&claim.category) else {
                continue;
            };
            let rounded = claim.points.round_down_to_step(step);
            if !counts {
                t.pending += rounded;
                continue;
            }
            if let Some(entry) = t.by_category.get_mut(&category.id) {
                entry.1 += claim.points;
            }
            let mut allowed = rounded;
            let mut limit = |left: Option<Points>| {
                if let Some(left) = left {
                    allowed = allowed.min(left);
                }
            };
            limit(activity_left);
            if let Some(k) = kind {
                limit(type_room.left(&k.id, Some(year), k.cap_per_year));
                limit(type_room.left(&k.id, None, k.cap_per_cycle));
            }
            limit(category_room.left(&category.id, Some(year), category.cap_per_year));
            limit(category_room.left(&category.id, None, category.cap_per_cycle));
            let allowed = allowed.max(Points::ZERO);
            t.counted_claims.push(CountedClaim {
                credit_id: credit.id.clone(),
                activity_type: credit.activity_type.clone(),
                category: category.id.clone(),
                year,
                claimed: claim.points,
                counted: allowed,
            });
            if !allowed.is_positive() {
                continue;
            }
            if let Some(left) = activity_left.as_mut() {
                *left -= allowed;
            }
            if let Some(k) = kind {
                type_room.take(&k.id, Some(year), allowed);
                type_room.take(&k.id, None, allowed);
            }
            category_room.take(&category.id, Some(year), allowed);
            category_room.take(&category.id, None, allowed);
            t.counted += allowed;
            if let Some(entry) = t.by_category.get_mut(&category.id) {
                entry.0 += allowed;
            }
            if let Some(slot) = t.by_year.get_mut((year - 1) as usize) {
                *slot += allowed;
            }
            if let (Some(rollover), Some(start)) = (&scheme.rollover, window_start)
                && rollover.category == category.id
                && credit.completed_on >= start
            {
                t.in_rollover_window += allowed;
            }
        }
    }
    t
}

/// Computes a holding's standing. Pure: the same input always gives the same standing.
pub fn evaluate(input: &StandingInput<'_>) -> Standing {
    let scheme = input.scheme;
    let cycle = input.cycle;
    let as_of = input.as_of;
    let credits = sorted_credits(input.credits);

    let deadline = self::deadline(scheme, cycle);
    let grace_until = self::grace_until(scheme, cycle);
    let days_to_deadline = (deadline - as_of).num_days();
    let years = cycle_years(cycle);

    let carry_in = match (&scheme.rollover, input.previous_cycle) {
        (Some(_), Some(previous)) => {
            tally(scheme, previous, &credits, as_of, Points::ZERO).rollover_out(scheme)
        }
        _ => Points::ZERO,
    };
    let t = tally(scheme, cycle, &credits, as_of, carry_in);

    let by_category: Vec<CategoryStanding> = scheme
        .categories
        .iter()
        .map(|c| {
            let (counted, claimed) = t
                .by_category
                .get(&c.id)
                .copied()
                .unwrap_or((Points::ZERO, Points::ZERO));
            CategoryStanding {
                category: c.id.clone(),
                counted,
                minimum: c.min_per_cycle,
                cap: c.cap_per_cycle,
                claimed,
            }
        })
        .collect();
    let counted_in = |category: &str| {
        by_category
            .iter()
            .find(|c| c.category == category)
            .map_or(Points::ZERO, |c| c.counted)
    };

    let minimum = scheme.per_year_minimum.as_ref();
    let by_year: Vec<YearStanding> = years
        .iter()
        .zip(&t.by_year)
        .map(|(y, counted)| {
            let over = as_of >= y.ends_on || as_of > deadline;
            let met = minimum.and_then(|m| {
                if *counted >= m.points {
                    Some(true)
                } else if over {
                    Some(false)
                } else {
                    None
                }
            });
            YearStanding {
                year: y.year,
                starts_on: y.starts_on,
                last_day: last_day_before(y.ends_on),
                counted: *counted,
                minimum: minimum.map(|m| m.points),
                hard: minimum.is_some_and(|m| m.hard),
                met,
            }
        })
        .collect();

    let slots = fill_slots(
        scheme,
        cycle,
        &years,
        deadline,
        &credits,
        as_of,
        &counted_in,
    );
    let unmet_slots: Vec<SlotStanding> = slots.iter().filter(|s| !s.satisfied).cloned().collect();

    // Years that begin after the deadline cannot be required of anyone.
    let required_years = || by_year.iter().filter(|y| y.starts_on <= deadline);
    let complete = t.counted >= scheme.required_points
        && by_category
            .iter()
            .all(|c| c.minimum.is_none_or(|m| c.counted >= m))
        && unmet_slots.is_empty()
        && required_years().all(|y| !y.hard || y.minimum.is_none_or(|m| y.counted >= m));

    let (state, reasons) = if complete {
        (StandingState::Complete, Vec::new())
    } else if as_of > grace_until {
        (StandingState::Lapsed, vec![ReasonCode::GracePassed])
    } else if as_of > deadline {
        (StandingState::Due, vec![ReasonCode::DeadlinePassed])
    } else {
        let total_days = i128::from((deadline - cycle.starts_on).num_days() + 1).max(1);
        let elapsed_days = i128::from((as_of - cycle.starts_on).num_days()).clamp(0, total_days);
        let behind_pace = i128::from(t.counted.hundredths()) * total_days
            < i128::from(scheme.required_points.hundredths()) * elapsed_days;
        let missed_year_minimum = required_years().any(|y| y.hard && y.met == Some(false));
        let missed_year_slot = unmet_slots
            .iter()
            .any(|s| s.year.is_some() && s.due_by < as_of);
        let slot_due_soon = unmet_slots
            .iter()
            .any(|s| (s.due_by - as_of).num_days() < AT_RISK_WINDOW_DAYS);
        let final_year_began = years.last().is_some_and(|y| as_of >= y.starts_on);
        let cycle_slot_late = final_year_began && unmet_slots.iter().any(|s| s.year.is_none());
        let reasons: Vec<ReasonCode> = [
            (behind_pace, ReasonCode::BehindPace),
            (missed_year_minimum, ReasonCode::MissedYearMinimum),
            (missed_year_slot, ReasonCode::MissedYearSlot),
            (
                days_to_deadline < AT_RISK_WINDOW_DAYS,
                ReasonCode::DeadlineNear,
            ),
            (slot_due_soon, ReasonCode::SlotDueSoon),
            (cycle_slot_late, ReasonCode::CycleSlotOpenInFinalYear),
        ]
        .into_iter()
        .filter_map(|(holds, code)| holds.then_some(code))
        .collect();
        if reasons.is_empty() {
            (StandingState::OnTrack, reasons)
        } else {
            (StandingState::AtRisk, reasons)
        }
    };

    Standing {
        scheme_id: scheme.id.clone(),
        scheme_version: scheme.version.clone(),
        scheme_status: scheme.status,
        as_of,
        starts_on: cycle.starts_on,
        expires_on: cycle.expires_on(),
        deadline,
        grace_until,
        days_to_deadline,
        required: scheme.required_points,
        counted: t.counted,
        carried_in: t.carried_in,
        remaining: scheme.required_points.saturating_sub(t.counted),
        pending: t.pending,
        by_category,
        by_year,
        slots,
        unmet_slots,
        rollover_out: t.rollover_out(scheme),
        counted_claims: t.counted_claims,
        ignored: t.ignored,
        state,
        reasons: reasons.into_iter().map(ReasonCode::reason).collect(),
    }
}

/// Fills slot instances with approved credits in date order; one credit fills at most one
/// slot instance.
fn fill_slots(
    scheme: &SchemeDefinition,
    cycle: CyclePeriod,
    years: &[CycleYear],
    deadline: NaiveDate,
    credits: &[&CreditEntry],
    as_of: NaiveDate,
    counted_in: &dyn Fn(&str) -> Points,
) -> Vec<SlotStanding> {
    let last_day = |end: NaiveDate| last_day_before(end).min(deadline);
    let mut used: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();
    for slot in &scheme.slots {
        let periods: Vec<(Option<u32>, NaiveDate, NaiveDate)> = match slot.per {
            SlotPeriod::Cycle => vec![(None, cycle.starts_on, last_day(cycle.ends_on))],
            SlotPeriod::CycleYear => years
                .iter()
                .filter(|y| y.starts_on <= deadline)
                .map(|y| (Some(y.year), y.starts_on, last_day(y.ends_on)))
                .collect(),
        };
        let by_points = slot
            .or_points
            .as_ref()
            .is_some_and(|alt| counted_in(&alt.category) >= alt.points);
        for (year, from, due_by) in periods {
            for _ in 0..slot.count {
                let filler = credits.iter().find(|c| {
                    c.state == CreditState::Approved
                        && from <= c.completed_on
                        && c.completed_on <= due_by
                        && c.completed_on <= as_of
                        && slot.activity_types.contains(&c.activity_type)
                        && !used.contains(c.id.as_str())
                });
                if let Some(filler) = filler {
                    used.insert(filler.id.as_str());
                }
                out.push(SlotStanding {
                    slot: slot.id.clone(),
                    year,
                    due_by,
                    filled_by: filler.map(|c| c.id.clone()),
                    satisfied: filler.is_some() || by_points,
                });
            }
        }
    }
    out
}
