//! Which reminders a holding's standing calls for, as pure decisions.
//!
//! Each reminder is identified by its dedupe key: (holding, cycle, reason, threshold). The
//! sweep records every key it queues, so running it again on the same day queues nothing, and
//! the next threshold (say 90 days after 180) is a new key and a new reminder.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::standing::{Standing, StandingState};

/// Days before the deadline at which a holding that is still short is reminded, unless its
/// scheme file sets `reminder_days_before_deadline`.
pub const DEFAULT_THRESHOLDS: [u32; 4] = [180, 90, 30, 7];
/// A per-year minimum still open this many days before its cycle year ends is reminded.
pub const YEAR_END_WINDOW_DAYS: i64 = 60;
/// A required course (slot) still open this many days before its own due date is reminded.
pub const SLOT_WINDOW_DAYS: i64 = 90;

/// Why a holding needs attention. The order is the order of the sections in the email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The cycle has lapsed: the grace period is over and it is not complete.
    Lapsed,
    /// The deadline has passed; the holding is in its grace period.
    Due,
    /// The deadline is near and the holding is still short.
    Approaching,
    /// A cycle year is about to end without its minimum.
    YearMinimum,
    /// A required course (RISS: this year's online course, the cycle's practical course) is
    /// not yet taken and its due date is near.
    Slot,
    /// Every requirement of the cycle is met.
    Complete,
}

impl Reason {
    pub const ALL: [Reason; 6] = [
        Reason::Lapsed,
        Reason::Due,
        Reason::Approaching,
        Reason::YearMinimum,
        Reason::Slot,
        Reason::Complete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lapsed => "lapsed",
            Self::Due => "due",
            Self::Approaching => "approaching",
            Self::YearMinimum => "year_minimum",
            Self::Slot => "slot",
            Self::Complete => "complete",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// One reminder a standing calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueReminder {
    pub reason: Reason,
    /// What distinguishes repeated reminders of one reason within a cycle: the threshold in
    /// days (`90`), the cycle year (`year2`), the slot (`practical`, `ipa_online_course:3`),
    /// or the reason itself when it happens once a cycle.
    pub threshold: String,
}

/// Days from the standing's date to its deadline (counted from the last valid day, as the
/// scheme's owner counts it); negative once past.
pub fn days_left(standing: &Standing) -> i64 {
    (standing.deadline - standing.as_of).num_days()
}

/// The dedupe key of one reminder: holding, cycle (by its first day), reason, threshold.
pub fn dedupe_key(holding: &str, cycle_starts_on: NaiveDate, item: &DueReminder) -> String {
    format!(
        "{holding}:{cycle_starts_on}:{}:{}",
        item.reason.as_str(),
        item.threshold
    )
}

/// The reminders `standing` calls for on its `as_of` date.
///
/// - complete: a congratulation, when `congratulate`;
/// - lapsed, or due (in grace): one reminder per cycle;
/// - otherwise, while short: the smallest threshold (days before the deadline) already
///   reached; each cycle year whose minimum is still open within [`YEAR_END_WINDOW_DAYS`] of
///   its end; each unmet slot within [`SLOT_WINDOW_DAYS`] of its due date.
pub fn due(standing: &Standing, thresholds: &[u32], congratulate: bool) -> Vec<DueReminder> {
    let once = |reason: Reason| DueReminder {
        reason,
        threshold: reason.as_str().to_owned(),
    };
    match standing.state {
        StandingState::Complete => {
            return if congratulate {
                vec![once(Reason::Complete)]
            } else {
                Vec::new()
            };
        }
        StandingState::Lapsed => return vec![once(Reason::Lapsed)],
        StandingState::Due => return vec![once(Reason::Due)],
        StandingState::OnTrack | StandingState::AtRisk => {}
    }
    let as_of = standing.as_of;
    let mut items = Vec::new();
    let days_left = days_left(standing);
    if days_left >= 0
        && let Some(threshold) = thresholds
            .iter()
            .copied()
            .filter(|t| days_left <= i64::from(*t))
            .min()
    {
        items.push(DueReminder {
            reason: Reason::Approaching,
            threshold: threshold.to_string(),
        });
    }
    for year in &standing.by_year {
        let Some(minimum) = year.minimum else {
            continue;
        };
        // The year's last day is the day before its exclusive end.
        let days_left = (year.last_day - as_of).num_days();
        if year.met.is_none()
            && year.counted < minimum
            && year.starts_on <= as_of
            && (0..=YEAR_END_WINDOW_DAYS).contains(&days_left)
        {
            items.push(DueReminder {
                reason: Reason::YearMinimum,
                threshold: format!("year{}", year.year),
            });
        }
    }
    for slot in &standing.unmet_slots {
        let days_left = (slot.due_by - as_of).num_days();
        if (0..=SLOT_WINDOW_DAYS).contains(&days_left) {
            let threshold = match slot.year {
                Some(year) => format!("{}:{year}", slot.slot),
                None => slot.slot.clone(),
            };
            items.push(DueReminder {
                reason: Reason::Slot,
                threshold,
            });
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::points::Points;
    use crate::domain::scheme::SchemeStatus;
    use crate::domain::standing::{SlotStanding, YearStanding};

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("a date")
    }

    /// A CISSP-like standing on `as_of`: 120 required, deadline 2026-09-30.
    fn standing(as_of: &str, counted: i64, state: StandingState) -> Standing {
        let as_of = date(as_of);
        let deadline = date("2026-09-30");
        Standing {
            scheme_id: "cissp".into(),
            scheme_version: "2024".into(),
            scheme_status: SchemeStatus::InForce,
            as_of,
            starts_on: date("2023-10-01"),
            expires_on: date("2026-09-30"),
            deadline,
            grace_until: date("2026-12-29"),
            days_to_deadline: (deadline - as_of).num_days(),
            required: Points::whole(120),
            counted: Points::whole(counted),
            carried_in: Points::ZERO,
            remaining: Points::whole(120).saturating_sub(Points::whole(counted)),
            pending: Points::ZERO,
            by_category: Vec::new(),
            by_year: Vec::new(),
            slots: Vec::new(),
            unmet_slots: Vec::new(),
            rollover_out: Points::ZERO,
            counted_claims: Vec::new(),
            ignored: Vec::new(),
            state,
            reasons: Vec::new(),
        }
    }

    fn thresholds_of(items: &[DueReminder]) -> Vec<(Reason, &str)> {
        items
            .iter()
            .map(|i| (i.reason, i.threshold.as_str()))
            .collect()
    }

    #[test]
    fn a_holding_short_200_days_before_its_deadline_is_not_reminded_yet() {
        let s = standing("2026-03-14", 40, StandingState::OnTrack);
        assert_eq!(s.days_to_deadline, 200);
        assert!(due(&s, &DEFAULT_THRESHOLDS, true).is_empty());
    }

    #[test]
    fn a_holding_short_reaches_each_threshold_in_turn_and_only_the_nearest_counts() {
        let at = |as_of: &str| {
            thresholds_of(&due(
                &standing(as_of, 40, StandingState::AtRisk),
                &DEFAULT_THRESHOLDS,
                true,
            ))
            .into_iter()
            .map(|(r, t)| (r, t.to_owned()))
            .collect::<Vec<_>>()
        };
        assert_eq!(at("2026-04-03"), [(Reason::Approaching, "180".to_owned())]);
        assert_eq!(at("2026-07-02"), [(Reason::Approaching, "90".to_owned())]);
        assert_eq!(at("2026-08-31"), [(Reason::Approaching, "30".to_owned())]);
        assert_eq!(at("2026-09-30"), [(Reason::Approaching, "7".to_owned())]);
    }

    #[test]
    fn a_scheme_may_set_its_own_thresholds() {
        let s = standing("2026-04-03", 40, StandingState::AtRisk);
        assert!(due(&s, &[60, 14], true).is_empty());
        let s = standing("2026-08-01", 40, StandingState::AtRisk);
        assert_eq!(
            thresholds_of(&due(&s, &[60, 14], true)),
            [(Reason::Approaching, "60")]
        );
    }

    #[test]
    fn a_scheme_file_may_name_its_thresholds_and_otherwise_gets_the_defaults() {
        use crate::domain::scheme::SchemeDefinition;
        let text = include_str!("../../schemes/cissp.toml");
        let plain = SchemeDefinition::parse(text, "cissp.toml").expect("the built-in file");
        assert_eq!(plain.reminder_thresholds(), &DEFAULT_THRESHOLDS);
        let own = text.replacen(
            "id = \"cissp\"\n",
            "id = \"cissp\"\nreminder_days_before_deadline = [60, 14]\n",
            1,
        );
        let own = SchemeDefinition::parse(&own, "cissp.toml").expect("with thresholds");
        assert_eq!(own.reminder_thresholds(), &[60, 14]);
    }

    #[test]
    fn complete_is_congratulated_once_unless_turned_off_and_never_reminded_of_thresholds() {
        let s = standing("2026-09-01", 120, StandingState::Complete);
        assert_eq!(
            thresholds_of(&due(&s, &DEFAULT_THRESHOLDS, true)),
            [(Reason::Complete, "complete")]
        );
        assert!(due(&s, &DEFAULT_THRESHOLDS, false).is_empty());
    }

    #[test]
    fn due_and_lapsed_are_each_one_reminder_per_cycle() {
        let s = standing("2026-10-15", 40, StandingState::Due);
        assert_eq!(
            thresholds_of(&due(&s, &DEFAULT_THRESHOLDS, true)),
            [(Reason::Due, "due")]
        );
        let s = standing("2027-01-15", 40, StandingState::Lapsed);
        assert_eq!(
            thresholds_of(&due(&s, &DEFAULT_THRESHOLDS, true)),
            [(Reason::Lapsed, "lapsed")]
        );
    }

    #[test]
    fn a_year_minimum_still_open_near_the_year_end_is_reminded_by_year() {
        let mut s = standing("2024-08-15", 10, StandingState::OnTrack);
        s.by_year = vec![YearStanding {
            year: 1,
            starts_on: date("2023-10-01"),
            last_day: date("2024-09-30"),
            counted: Points::whole(10),
            minimum: Some(Points::whole(40)),
            hard: false,
            met: None,
        }];
        assert_eq!(
            thresholds_of(&due(&s, &DEFAULT_THRESHOLDS, true)),
            [(Reason::YearMinimum, "year1")]
        );
        s.as_of = date("2024-07-01");
        assert!(due(&s, &DEFAULT_THRESHOLDS, true).is_empty(), "too early");
        s.as_of = date("2024-08-15");
        s.by_year[0].counted = Points::whole(40);
        assert!(due(&s, &DEFAULT_THRESHOLDS, true).is_empty(), "met");
    }

    #[test]
    fn an_unmet_slot_near_its_due_date_is_reminded_by_slot_and_year() {
        let mut s = standing("2025-01-10", 0, StandingState::AtRisk);
        s.unmet_slots = vec![
            SlotStanding {
                slot: "ipa_online_course".into(),
                year: Some(2),
                due_by: date("2025-03-31"),
                filled_by: None,
                satisfied: false,
            },
            SlotStanding {
                slot: "practical".into(),
                year: None,
                due_by: date("2026-07-31"),
                filled_by: None,
                satisfied: false,
            },
        ];
        assert_eq!(
            thresholds_of(&due(&s, &DEFAULT_THRESHOLDS, true)),
            [(Reason::Slot, "ipa_online_course:2")]
        );
    }

    #[test]
    fn a_dedupe_key_names_holding_cycle_reason_and_threshold() {
        let item = DueReminder {
            reason: Reason::Approaching,
            threshold: "90".into(),
        };
        assert_eq!(
            dedupe_key("h1", date("2023-10-01"), &item),
            "h1:2023-10-01:approaching:90"
        );
        for reason in Reason::ALL {
            assert_eq!(Reason::parse(reason.as_str()), Some(reason));
        }
    }
}
