//! What a professional's dashboard shows of one holding beside its standing: the names of the
//! scheme, its categories and its open slots in both languages, the points counted over the
//! cycle as a series for a chart, and the recent credits with what each one counted here.
//!
//! Pure, like the engine it reads: built from a scheme definition, a standing the engine
//! computed, and the ledger's facts about the credits that standing names. Nothing here
//! decides whether a credit counts; it only arranges what the engine decided.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::points::Points;
use super::scheme::{LocalizedName, SchemeDefinition};
use super::standing::{CreditState, Standing};

/// How many credits the dashboard lists, newest first.
pub const RECENT_CREDITS: usize = 10;

/// Who put a credit on the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CreditSource {
    /// Reported by a course provider.
    Provider,
    /// Reported by the professional, with evidence where the scheme asks for it.
    #[serde(rename = "self")]
    SelfReported,
    /// Recorded by the certification body's staff.
    Admin,
}

/// What the ledger says of one credit that a standing names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditFacts {
    pub id: String,
    pub title: String,
    pub completed_on: NaiveDate,
    pub source: CreditSource,
    pub state: CreditState,
    /// The points the credit claims in this holding's scheme, before rounding and caps.
    pub claimed: Points,
}

/// A category of the scheme with its name, its rules and what counted in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CategoryProgress {
    pub category: String,
    pub name: LocalizedName,
    /// Points that count in the category after caps.
    pub counted: Points,
    /// Approved points claimed in the category before rounding and caps.
    pub claimed: Points,
    /// The least the cycle needs in the category.
    pub minimum: Option<Points>,
    /// The most that counts in the category over the cycle.
    pub cap: Option<Points>,
    /// The most that counts in the category in one cycle year.
    pub cap_per_year: Option<Points>,
}

/// The points every cycle year should earn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct YearMinimum {
    pub points: Points,
    /// `true`: a year that ends below it keeps the cycle from completing; `false`: advice.
    pub hard: bool,
}

/// A required slot that is not met yet, with its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OpenSlot {
    pub slot: String,
    pub name: LocalizedName,
    /// The cycle year of a per-year slot; `None` for a once-per-cycle slot.
    pub year: Option<u32>,
    /// The last day on which a completion fills it.
    pub due_by: NaiveDate,
}

/// One step of the chart: the points counted from the start of the cycle through `date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct ProgressPoint {
    pub date: NaiveDate,
    pub counted: Points,
}

/// A credit as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RecentCredit {
    pub credit_id: String,
    pub title: String,
    pub completed_on: NaiveDate,
    /// What it counts toward this holding: the counted points of an approved credit (after
    /// caps; 0 when it only fills a slot), the claimed points of a pending one.
    pub points: Points,
    #[schema(value_type = String)]
    pub state: CreditState,
    pub source: CreditSource,
    /// The slot it fills, if any.
    pub fills_slot: Option<String>,
}

/// Everything the dashboard shows of a holding beyond the standing itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Dashboard {
    /// The scheme's name in English and Japanese.
    pub scheme_name: LocalizedName,
    /// Every category of the scheme, named, with its minimum and caps.
    pub categories: Vec<CategoryProgress>,
    /// The per-year minimum of the scheme, if it has one (each year's progress is in
    /// `by_year`).
    pub per_year_minimum: Option<YearMinimum>,
    /// The unmet required slots, named (RISS: this year's online course, the cycle's
    /// practical course).
    pub open_slots: Vec<OpenSlot>,
    /// Counted points over the cycle, for a chart: the first day (with any carried-in
    /// points), then each day something counted, then the day of this standing.
    pub progress: Vec<ProgressPoint>,
    /// The newest credits this standing names (at most ten), newest first.
    pub recent_credits: Vec<RecentCredit>,
}

/// Arranges a standing for the dashboard. `credits` are the facts of the credits the
/// standing names; a credit it names that is missing there is left out of the list.
pub fn dashboard(
    scheme: &SchemeDefinition,
    standing: &Standing,
    credits: &[CreditFacts],
) -> Dashboard {
    let categories = standing
        .by_category
        .iter()
        .map(|c| {
            let rules = scheme.category(&c.category);
            CategoryProgress {
                category: c.category.clone(),
                name: rules.map_or_else(|| unnamed(&c.category), |r| r.name.clone()),
                counted: c.counted,
                claimed: c.claimed,
                minimum: c.minimum,
                cap: c.cap,
                cap_per_year: rules.and_then(|r| r.cap_per_year),
            }
        })
        .collect();
    let open_slots = standing
        .unmet_slots
        .iter()
        .map(|s| OpenSlot {
            slot: s.slot.clone(),
            name: scheme
                .slots
                .iter()
                .find(|rule| rule.id == s.slot)
                .map_or_else(|| unnamed(&s.slot), |rule| rule.name.clone()),
            year: s.year,
            due_by: s.due_by,
        })
        .collect();
    let by_id: HashMap<&str, &CreditFacts> = credits.iter().map(|c| (c.id.as_str(), c)).collect();
    Dashboard {
        scheme_name: scheme.name.clone(),
        categories,
        per_year_minimum: scheme.per_year_minimum.as_ref().map(|m| YearMinimum {
            points: m.points,
            hard: m.hard,
        }),
        open_slots,
        progress: progress(standing, &by_id),
        recent_credits: recent_credits(standing, credits),
    }
}

fn unnamed(id: &str) -> LocalizedName {
    LocalizedName {
        en: id.to_owned(),
        ja: id.to_owned(),
    }
}

/// The cumulative counted points, one step per day on which something counted.
fn progress(standing: &Standing, credits: &HashMap<&str, &CreditFacts>) -> Vec<ProgressPoint> {
    let mut per_day: Vec<(NaiveDate, Points)> = standing
        .counted_claims
        .iter()
        .filter(|c| c.counted.is_positive())
        .filter_map(|c| {
            credits
                .get(c.credit_id.as_str())
                .map(|f| (f.completed_on, c.counted))
        })
        .collect();
    per_day.sort_by_key(|(date, _)| *date);
    let mut series = vec![ProgressPoint {
        date: standing.starts_on,
        counted: standing.carried_in,
    }];
    let mut total = standing.carried_in;
    for (date, points) in per_day {
        total += points;
        match series.last_mut() {
            Some(last) if last.date == date => last.counted = total,
            _ => series.push(ProgressPoint {
                date,
                counted: total,
            }),
        }
    }
    let end = standing.as_of.min(standing.expires_on);
    if series.last().is_some_and(|last| last.date < end) {
        series.push(ProgressPoint {
            date: end,
            counted: total,
        });
    }
    series
}

fn recent_credits(standing: &Standing, credits: &[CreditFacts]) -> Vec<RecentCredit> {
    let mut counted: HashMap<&str, Points> = HashMap::new();
    for claim in &standing.counted_claims {
        *counted
            .entry(claim.credit_id.as_str())
            .or_insert(Points::ZERO) += claim.counted;
    }
    let mut listed: Vec<&CreditFacts> = credits.iter().collect();
    listed.sort_by(|a, b| (b.completed_on, &b.id).cmp(&(a.completed_on, &a.id)));
    listed
        .into_iter()
        .take(RECENT_CREDITS)
        .map(|c| RecentCredit {
            credit_id: c.id.clone(),
            title: c.title.clone(),
            completed_on: c.completed_on,
            points: match c.state {
                CreditState::Approved => {
                    counted.get(c.id.as_str()).copied().unwrap_or(Points::ZERO)
                }
                CreditState::Pending => c.claimed,
                CreditState::Rejected | CreditState::Voided => Points::ZERO,
            },
            state: c.state,
            source: c.source,
            fills_slot: standing
                .slots
                .iter()
                .find(|s| s.filled_by.as_deref() == Some(c.id.as_str()))
                .map(|s| s.slot.clone()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::scheme::builtin_schemes;
    use crate::domain::standing::{Claim, CreditEntry, CyclePeriod, StandingInput, evaluate};

    fn scheme(id: &str) -> SchemeDefinition {
        builtin_schemes()
            .expect("built-in schemes parse")
            .into_iter()
            .find(|s| s.id == id)
            .expect("scheme present")
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("a date")
    }

    fn credit(id: &str, on: &str, category: &str, points: i64) -> CreditEntry {
        CreditEntry {
            id: id.to_owned(),
            completed_on: date(on),
            activity_type: "education".to_owned(),
            state: CreditState::Approved,
            claims: vec![Claim {
                category: category.to_owned(),
                points: Points::whole(points),
            }],
        }
    }

    trait OfType {
        fn of_type(self, activity_type: &str) -> Self;
    }

    impl OfType for CreditEntry {
        fn of_type(mut self, activity_type: &str) -> Self {
            self.activity_type = activity_type.to_owned();
            self
        }
    }

    fn facts(entry: &CreditEntry) -> CreditFacts {
        CreditFacts {
            id: entry.id.clone(),
            title: format!("course {}", entry.id),
            completed_on: entry.completed_on,
            source: CreditSource::Provider,
            state: entry.state,
            claimed: entry.claims.iter().map(|c| c.points).sum(),
        }
    }

    #[test]
    fn the_series_climbs_by_what_counted_and_ends_on_the_day_of_the_standing() {
        let cissp = scheme("cissp");
        let credits = vec![
            credit("a", "2024-03-01", "group_a", 40),
            credit("b", "2024-03-01", "group_a", 10),
            // Group B is capped at 30: the second 20 counts only 10.
            credit("c", "2025-01-10", "group_b", 20).of_type("professional_development"),
            credit("d", "2025-06-10", "group_b", 20).of_type("professional_development"),
        ];
        let standing = evaluate(&StandingInput {
            scheme: &cissp,
            cycle: CyclePeriod {
                starts_on: date("2024-01-01"),
                ends_on: date("2027-01-01"),
            },
            previous_cycle: None,
            credits: &credits,
            as_of: date("2025-12-01"),
        });
        let all: Vec<CreditFacts> = credits.iter().map(facts).collect();
        let view = dashboard(&cissp, &standing, &all);
        let series: Vec<(String, String)> = view
            .progress
            .iter()
            .map(|p| (p.date.to_string(), p.counted.to_string()))
            .collect();
        let expected = [
            ("2024-01-01", "0"),
            ("2024-03-01", "50"),
            ("2025-01-10", "70"),
            ("2025-06-10", "80"),
            ("2025-12-01", "80"),
        ];
        assert_eq!(series, expected.map(|(d, p)| (d.to_owned(), p.to_owned())));
        assert_eq!(
            view.progress.last().map(|p| p.counted),
            Some(standing.counted)
        );
        let d = view
            .recent_credits
            .iter()
            .find(|c| c.credit_id == "d")
            .expect("listed");
        assert_eq!(
            d.points,
            Points::whole(10),
            "what counted here, after the cap"
        );
        assert_eq!(view.recent_credits[0].credit_id, "d", "newest first");
        let group_b = view
            .categories
            .iter()
            .find(|c| c.category == "group_b")
            .expect("group b");
        assert_eq!(group_b.cap, Some(Points::whole(30)));
        assert_eq!(group_b.counted, Points::whole(30));
        assert!(!group_b.name.en.is_empty() && !group_b.name.ja.is_empty());
    }

    #[test]
    fn an_open_riss_slot_carries_its_names_in_both_languages() {
        let riss = scheme("riss");
        let standing = evaluate(&StandingInput {
            scheme: &riss,
            cycle: CyclePeriod {
                starts_on: date("2024-04-01"),
                ends_on: date("2027-04-01"),
            },
            previous_cycle: None,
            credits: &[],
            as_of: date("2024-05-01"),
        });
        let view = dashboard(&riss, &standing, &[]);
        let online = view
            .open_slots
            .iter()
            .find(|s| s.slot == "ipa_online_course" && s.year == Some(1))
            .expect("this year's online course is open");
        assert!(
            online.name.ja.contains("IPAオンライン講習"),
            "{:?}",
            online.name
        );
        assert!(
            online.name.en.contains("IPA online course"),
            "{:?}",
            online.name
        );
        assert_eq!(view.scheme_name.ja, "情報処理安全確保支援士");
        assert_eq!(view.progress.len(), 2, "start and today, nothing counted");
    }

    #[test]
    fn a_pending_credit_is_listed_with_the_points_it_claims() {
        let cissp = scheme("cissp");
        let mut pending = credit("p", "2024-05-01", "group_a", 12);
        pending.state = CreditState::Pending;
        let standing = evaluate(&StandingInput {
            scheme: &cissp,
            cycle: CyclePeriod {
                starts_on: date("2024-01-01"),
                ends_on: date("2027-01-01"),
            },
            previous_cycle: None,
            credits: std::slice::from_ref(&pending),
            as_of: date("2024-06-01"),
        });
        let view = dashboard(&cissp, &standing, &[facts(&pending)]);
        assert_eq!(view.recent_credits.len(), 1);
        assert_eq!(view.recent_credits[0].points, Points::whole(12));
        assert_eq!(view.recent_credits[0].state, CreditState::Pending);
        assert_eq!(view.progress.last().map(|p| p.counted), Some(Points::ZERO));
    }
}
