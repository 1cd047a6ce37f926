//! The signed-in landing page as a dashboard: one card per certification, built from the same
//! answer `GET /v1/me/holdings/{id}/standing` gives, with its words in the reader's language.
//!
//! The chart of points over the cycle is inline SVG drawn by the template from coordinates
//! computed here (no script, no external asset; the page's CSP allows both), so text in it
//! is escaped like every other value the template prints.

use chrono::NaiveDate;
use minijinja::{Value, context};

use crate::domain::dashboard::ProgressPoint;
use crate::domain::points::Points;
use crate::domain::scheme::LocalizedName;
use crate::services::holdings::Holding;
use crate::services::planner::RenewalPlan;
use crate::services::renewal_history::{HoldingHistory, Outcome, RecordedBy};
use crate::services::schemes::SchemeCatalog;
use crate::services::standing::HoldingDashboard;

/// The chart's drawing area, in SVG user units (the SVG scales to its box).
pub const CHART_WIDTH: f64 = 600.0;
pub const CHART_HEIGHT: f64 = 160.0;

fn pick<'a>(name: &'a LocalizedName, locale: &str) -> &'a str {
    if locale == "en" { &name.en } else { &name.ja }
}

fn opt(points: Option<Points>) -> Option<String> {
    points.map(|p| p.to_string())
}

/// The template's context of one card: a holding with its dashboard, or with `None` when no
/// standing can be computed for it (the card then says so).
pub fn card(holding: &Holding, found: Option<&HoldingDashboard>, locale: &str) -> Value {
    let base = context! {
        id => holding.id.to_string(),
        scheme => holding.scheme_id.clone(),
        registration_number => holding.registration_number.clone(),
        status => holding.status,
    };
    let Some(found) = found else {
        return context! { scheme_name => holding.scheme_id.clone(), standing => false, ..base };
    };
    let s = &found.holding.standing;
    let d = &found.dashboard;
    let slots_done = s.slots.iter().filter(|slot| slot.satisfied).count();
    let has_points = s.required.is_positive();
    let reasons: Vec<&str> = s
        .reasons
        .iter()
        .map(|r| if locale == "en" { r.en } else { r.ja })
        .collect();
    let categories: Vec<Value> = d
        .categories
        .iter()
        .map(|c| {
            context! {
                name => pick(&c.name, locale),
                counted => c.counted.to_string(),
                minimum => opt(c.minimum),
                cap => opt(c.cap),
                cap_per_year => opt(c.cap_per_year),
                short => c.minimum.is_some_and(|m| c.counted < m),
            }
        })
        .collect();
    let years: Vec<Value> = s
        .by_year
        .iter()
        .map(|y| {
            context! {
                year => y.year,
                starts_on => y.starts_on.to_string(),
                last_day => y.last_day.to_string(),
                counted => y.counted.to_string(),
                minimum => opt(y.minimum),
                met => y.met,
            }
        })
        .collect();
    let open_slots: Vec<Value> = d
        .open_slots
        .iter()
        .map(|o| {
            context! {
                slot => o.slot.clone(),
                name => pick(&o.name, locale),
                year => o.year,
                due_by => o.due_by.to_string(),
            }
        })
        .collect();
    let credits: Vec<Value> = d
        .recent_credits
        .iter()
        .map(|c| {
            context! {
                title => c.title.clone(),
                completed_on => c.completed_on.to_string(),
                points => c.points.to_string(),
                state => c.state,
                source => c.source,
            }
        })
        .collect();
    let chart = (has_points || s.counted.is_positive())
        .then(|| chart(&d.progress, s.starts_on, s.expires_on, s.as_of, s.required));
    context! {
        standing => true,
        scheme_name => pick(&d.scheme_name, locale),
        state => s.state,
        reasons => reasons,
        has_points => has_points,
        required => s.required.to_string(),
        counted => s.counted.to_string(),
        pending => s.pending.is_positive().then(|| s.pending.to_string()),
        carried_in => s.carried_in.is_positive().then(|| s.carried_in.to_string()),
        // A bar toward the points required, or toward the slots for a scheme of slots only.
        progress_value => if has_points { s.counted.min(s.required).to_string() } else { slots_done.to_string() },
        progress_max => if has_points { s.required.to_string() } else { s.slots.len().to_string() },
        slots_done => slots_done,
        slots_total => s.slots.len(),
        categories => categories,
        per_year_minimum => d.per_year_minimum.map(|m| context! { points => m.points.to_string(), hard => m.hard }),
        years => years,
        open_slots => open_slots,
        expires_on => s.expires_on.to_string(),
        deadline => s.deadline.to_string(),
        days_left => s.days_to_deadline,
        grace_until => (s.grace_until > s.expires_on).then(|| s.grace_until.to_string()),
        chart => chart,
        credits => credits,
        ..base
    }
}

/// The template's context of a holding's renewal plan: each course in the reader's language
/// with every holding it would count toward, and whether gaps stay open whatever is taken.
pub fn plan(plan: &RenewalPlan, catalog: &SchemeCatalog, locale: &str) -> Value {
    let slot_name = |scheme: &str, slot: &str| -> String {
        catalog
            .all()
            .filter(|s| s.definition.id == scheme)
            .flat_map(|s| &s.definition.slots)
            .find(|s| s.id == slot)
            .map_or_else(|| slot.to_owned(), |s| pick(&s.name, locale).to_owned())
    };
    let courses: Vec<Value> = plan
        .courses
        .iter()
        .map(|c| {
            let title = match (&c.title.ja, locale) {
                (Some(ja), "ja") => ja.clone(),
                _ => c.title.en.clone(),
            };
            let counts_toward: Vec<String> = c
                .counts_toward
                .iter()
                .map(|e| {
                    let scheme = e.scheme_id.to_uppercase();
                    let mut parts = Vec::new();
                    if e.points.is_positive() {
                        parts.push(format!("+{}", e.points));
                    }
                    parts.extend(
                        e.fills_slots
                            .iter()
                            .map(|slot| slot_name(&e.scheme_id, slot)),
                    );
                    format!("{scheme} {}", parts.join(", "))
                })
                .collect();
            context! {
                code => c.code.clone(),
                title => title,
                provider => c.provider_name.clone(),
                on => c.on.to_string(),
                hours => c.hours.to_string(),
                fee => c.fee.as_ref().map(|f| format!("{} {}", f.amount, f.currency)),
                counts_toward => counts_toward,
            }
        })
        .collect();
    context! {
        courses => courses,
        total_hours => plan.total_hours.to_string(),
        total_fee => plan.total_fee.as_ref().map(|f| format!("{} {}", f.amount, f.currency)),
        left_open => !plan.left_open.is_empty(),
        gaps => !plan.gaps.is_empty(),
    }
}

/// Cycles the card's renewal history lists, newest first.
pub const HISTORY_SHOWN: usize = 5;

/// `card` with its holding's renewal history: the newest cycles with their dates and outcome
/// (`open` while a cycle runs), and whether the certification body's registry recorded it.
pub fn with_history(card: Value, history: Option<&HoldingHistory>) -> Value {
    let cycles: Vec<Value> = history
        .map(|h| h.cycles.as_slice())
        .unwrap_or_default()
        .iter()
        .take(HISTORY_SHOWN)
        .map(|c| {
            context! {
                starts_on => c.starts_on.to_string(),
                expires_on => c.expires_on.to_string(),
                outcome => match c.outcome {
                    Some(Outcome::Renewed) => "renewed",
                    Some(Outcome::Lapsed) => "lapsed",
                    None => "open",
                },
                by_registry => c.events.iter().any(|e| e.recorded_by == RecordedBy::CertificationBody),
            }
        })
        .collect();
    context! { history => cycles, ..card }
}

/// Coordinates of the chart: a step line of counted points from the cycle's first day to its
/// last valid day, a dashed line at the requirement and a mark for today.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Chart {
    pub width: f64,
    pub height: f64,
    /// SVG path data of the step line.
    pub path: String,
    /// Height of the requirement's line; `None` for a scheme without a points total.
    pub required_y: Option<f64>,
    pub today_x: f64,
    /// How the "today" label hangs from its mark, so it stays inside the chart.
    pub today_anchor: &'static str,
    /// The largest value on the vertical axis.
    pub top: String,
    pub starts_on: String,
    pub expires_on: String,
    pub counted: String,
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// Lays the series out on the chart's drawing area.
pub fn chart(
    series: &[ProgressPoint],
    starts_on: NaiveDate,
    expires_on: NaiveDate,
    as_of: NaiveDate,
    required: Points,
) -> Value {
    Value::from_serialize(layout(series, starts_on, expires_on, as_of, required))
}

pub fn layout(
    series: &[ProgressPoint],
    starts_on: NaiveDate,
    expires_on: NaiveDate,
    as_of: NaiveDate,
    required: Points,
) -> Chart {
    let span = (expires_on - starts_on).num_days().max(1) as f64;
    let x_of = |date: NaiveDate| {
        let days = (date - starts_on).num_days().clamp(0, span as i64) as f64;
        round1(days / span * CHART_WIDTH)
    };
    let last = series.last().map_or(Points::ZERO, |p| p.counted);
    let top = required.max(last).max(Points::whole(1));
    let y_of = |points: Points| {
        let share = points.hundredths() as f64 / top.hundredths() as f64;
        round1(CHART_HEIGHT - share * CHART_HEIGHT)
    };
    let mut path = String::new();
    for (i, point) in series.iter().enumerate() {
        let (x, y) = (x_of(point.date), y_of(point.counted));
        if i == 0 {
            path.push_str(&format!("M{x} {y}"));
        } else {
            path.push_str(&format!(" H{x} V{y}"));
        }
    }
    let today_x = x_of(as_of);
    Chart {
        today_anchor: if today_x < CHART_WIDTH * 0.1 {
            "start"
        } else if today_x > CHART_WIDTH * 0.9 {
            "end"
        } else {
            "middle"
        },
        width: CHART_WIDTH,
        height: CHART_HEIGHT,
        path,
        required_y: required.is_positive().then(|| y_of(required)),
        today_x,
        top: top.to_string(),
        starts_on: starts_on.to_string(),
        expires_on: expires_on.to_string(),
        counted: last.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("a date")
    }

    #[test]
    fn the_chart_steps_up_on_each_day_points_counted_and_scales_to_the_requirement() {
        let series = [
            ProgressPoint {
                date: date("2024-01-01"),
                counted: Points::ZERO,
            },
            ProgressPoint {
                date: date("2024-01-06"),
                counted: Points::whole(60),
            },
            ProgressPoint {
                date: date("2024-01-11"),
                counted: Points::whole(60),
            },
        ];
        let chart = layout(
            &series,
            date("2024-01-01"),
            date("2024-01-11"),
            date("2024-01-11"),
            Points::whole(120),
        );
        // Half way through the cycle, half way up to 120.
        assert_eq!(chart.path, "M0 160 H300 V80 H600 V80");
        assert_eq!(chart.required_y, Some(0.0));
        assert_eq!(chart.today_x, 600.0);
        assert_eq!(chart.top, "120");
    }

    #[test]
    fn points_beyond_the_requirement_raise_the_top_of_the_chart() {
        let series = [
            ProgressPoint {
                date: date("2024-01-01"),
                counted: Points::ZERO,
            },
            ProgressPoint {
                date: date("2024-01-01"),
                counted: Points::whole(150),
            },
        ];
        let chart = layout(
            &series,
            date("2024-01-01"),
            date("2026-12-31"),
            date("2025-01-01"),
            Points::whole(120),
        );
        assert_eq!(chart.top, "150");
        assert_eq!(chart.required_y, Some(32.0));
        assert!(chart.path.ends_with("V0"), "{}", chart.path);
    }
}
