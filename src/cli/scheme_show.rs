//! `schemes show <id>`: one scheme's rules as the engine reads them, in ja and en.

use std::fmt::Write as _;

use serde::Serialize;

use crate::domain::points::Points;
use crate::domain::scheme::{SchemeDefinition, SlotPeriod};

/// How every date of a standing is read; printed with each scheme so nobody has to guess.
pub const DATE_CONVENTION: &str = "Dates: the expiry date is the cycle's last valid day; the \
deadline is counted back from it; grace days are added to the deadline and never end before \
the expiry date.";

/// The JSON form: the definition as its TOML has it, with the date convention beside it.
#[derive(Serialize)]
pub struct Shown<'a> {
    #[serde(flatten)]
    pub definition: &'a SchemeDefinition,
    pub date_convention: &'static str,
}

fn caps(parts: &[(&str, Option<Points>)]) -> String {
    let named: Vec<String> = parts
        .iter()
        .filter_map(|(label, value)| value.map(|v| format!("{label} {v}")))
        .collect();
    if named.is_empty() {
        String::new()
    } else {
        format!("; {}", named.join(", "))
    }
}

pub fn render_text(d: &SchemeDefinition) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} version {} (from {})",
        d.id, d.version, d.effective_from
    );
    let _ = writeln!(out, "  en: {}", d.name.en);
    let _ = writeln!(out, "  ja: {}", d.name.ja);
    let _ = writeln!(
        out,
        "Cycle: {} months; {} points required{}",
        d.cycle_months,
        d.required_points,
        caps(&[
            ("counted in steps of", d.point_step),
            ("at most per activity", d.activity_cap),
        ])
    );
    if let Some(minimum) = &d.per_year_minimum {
        let _ = writeln!(
            out,
            "Per year: at least {} points ({})",
            minimum.points,
            if minimum.hard { "required" } else { "advised" }
        );
    }
    let _ = writeln!(
        out,
        "Deadline: {} days before the expiry date; grace: {} days after the deadline",
        d.renewal_deadline_days_before_end, d.grace_days
    );
    let _ = writeln!(out, "{DATE_CONVENTION}");
    if !d.activity_types.is_empty() {
        let _ = writeln!(out, "\nActivity types:");
        for t in &d.activity_types {
            let _ = writeln!(
                out,
                "  {}{}{}",
                t.id,
                t.category
                    .as_deref()
                    .map(|c| format!(" (counts in {c})"))
                    .unwrap_or_default(),
                caps(&[
                    ("at most per activity", t.cap_per_activity),
                    ("per cycle", t.cap_per_cycle),
                    ("per year", t.cap_per_year),
                ])
            );
            let _ = writeln!(out, "    en: {}\n    ja: {}", t.name.en, t.name.ja);
        }
    }
    if !d.categories.is_empty() {
        let _ = writeln!(out, "\nCategories:");
        for c in &d.categories {
            let limits = caps(&[
                ("at least per cycle", c.min_per_cycle),
                ("at most per cycle", c.cap_per_cycle),
                ("at most per year", c.cap_per_year),
            ]);
            let _ = writeln!(out, "  {}{}", c.id, limits);
            let _ = writeln!(out, "    en: {}\n    ja: {}", c.name.en, c.name.ja);
        }
    }
    if !d.slots.is_empty() {
        let _ = writeln!(out, "\nSlots:");
        for s in &d.slots {
            let per = match s.per {
                SlotPeriod::Cycle => "per cycle",
                SlotPeriod::CycleYear => "in every year of the cycle",
            };
            let alternative = s
                .or_points
                .as_ref()
                .map(|a| format!(", or {} points in {}", a.points, a.category))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {}: {} of {} {per}{alternative}",
                s.id,
                s.count,
                s.activity_types.join(" or "),
            );
            let _ = writeln!(out, "    en: {}\n    ja: {}", s.name.en, s.name.ja);
        }
    }
    if let Some(r) = &d.rollover {
        let _ = writeln!(
            out,
            "\nRollover: up to {} points in {} from the last {} months of a cycle",
            r.cap, r.category, r.window_months
        );
    }
    out
}
