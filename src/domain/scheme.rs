//! Scheme definitions: a certification's renewal rules as versioned data.
//!
//! A definition is read from TOML (`schemes/*.toml`) and is only ever handed out after
//! [`SchemeDefinition::parse`] has both deserialized and validated it, so the standing engine
//! can trust every reference and every cap it finds. Every rule section carries a `source`: a
//! URL or citation of the public text the rule was taken from, so that anyone reading a
//! standing can check where a number came from.

use std::collections::BTreeSet;
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::points::Points;

/// The scheme files that ship with the application, as `(file name, TOML text)`.
pub const BUILTIN_SCHEME_FILES: [(&str, &str); 6] = [
    ("schemes/riss.toml", include_str!("../../schemes/riss.toml")),
    (
        "schemes/riss-points.toml",
        include_str!("../../schemes/riss-points.toml"),
    ),
    (
        "schemes/cissp.toml",
        include_str!("../../schemes/cissp.toml"),
    ),
    ("schemes/cisa.toml", include_str!("../../schemes/cisa.toml")),
    (
        "schemes/comptia-secplus.toml",
        include_str!("../../schemes/comptia-secplus.toml"),
    ),
    ("schemes/giac.toml", include_str!("../../schemes/giac.toml")),
];

/// A scheme id as people and systems type it, in the form definitions use: without
/// surrounding spaces and in lower case, so `RISS` in a registry file and `riss` on the command
/// line name the same scheme. Every place that reads a scheme id from outside goes through it.
pub fn normalise_scheme_id(text: &str) -> String {
    text.trim().to_ascii_lowercase()
}

/// Parses and validates every built-in scheme file.
pub fn builtin_schemes() -> Result<Vec<SchemeDefinition>, SchemeError> {
    BUILTIN_SCHEME_FILES
        .iter()
        .map(|(file, text)| SchemeDefinition::parse(text, file))
        .collect()
}

/// One version of a scheme's renewal rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemeDefinition {
    /// Lowercase slug, e.g. `cissp`.
    pub id: String,
    /// Version label of this rule set, e.g. `2024`. A cycle is judged by the version in force
    /// when it began.
    pub version: String,
    /// The first day on which cycles may be judged by this version. A TOML date
    /// (`2024-01-01`) or a `"YYYY-MM-DD"` string.
    #[serde(deserialize_with = "date::deserialize")]
    pub effective_from: NaiveDate,
    #[serde(default)]
    pub status: SchemeStatus,
    pub name: LocalizedName,
    /// The certification body.
    pub owner: String,
    pub source: String,
    /// Length of one renewal cycle.
    pub cycle_months: u32,
    /// Points required per cycle; zero for schemes made only of slots (RISS).
    pub required_points: Points,
    /// Claims are rounded down to a multiple of this step (ISC2: 0.25).
    #[serde(default)]
    pub point_step: Option<Points>,
    /// Largest number of points one activity (one credit) may count for.
    #[serde(default)]
    pub activity_cap: Option<Points>,
    #[serde(default)]
    pub per_year_minimum: Option<PerYearMinimum>,
    #[serde(default)]
    pub categories: Vec<Category>,
    #[serde(default)]
    pub activity_types: Vec<ActivityType>,
    #[serde(default)]
    pub slots: Vec<Slot>,
    #[serde(default)]
    pub rollover: Option<Rollover>,
    /// The deadline falls this many days before the expiry date, the cycle's last valid day
    /// (RISS: an application is due 60 days before the expiry date). Zero: the deadline is the
    /// expiry date itself.
    #[serde(default)]
    pub renewal_deadline_days_before_end: u32,
    /// Days after the deadline (or the expiry date, whichever is later) during which a holding
    /// that is short is `due` rather than `lapsed` (ISC2: 90 days after the expiry date).
    #[serde(default)]
    pub grace_days: u32,
    /// Citation for `renewal_deadline_days_before_end` and `grace_days`, when either is set.
    #[serde(default)]
    pub deadline_source: Option<String>,
    /// Days before the deadline at which a holder who is still short is reminded; unset means
    /// [`crate::domain::reminders::DEFAULT_THRESHOLDS`] (180, 90, 30 and 7).
    #[serde(default)]
    pub reminder_days_before_deadline: Option<Vec<u32>>,
    /// How the scheme's owner treats activities its holders report themselves. Unset: every
    /// self-reported credit waits for review.
    #[serde(default)]
    pub self_report: Option<SelfReport>,
}

/// How a scheme's owner treats self-reported activities, and what the ledger proposes for one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelfReport {
    pub review: Review,
    /// The activity type a self-reported course is proposed as when the professional names
    /// none (CISSP `education`). Unset: the professional must name one (RISS, whose slots only
    /// specific courses fill).
    #[serde(default)]
    pub activity_type: Option<String>,
    /// The category proposed when the professional names none and the activity type is bound
    /// to none (CISSP `group_a`).
    #[serde(default)]
    pub category: Option<String>,
    pub source: String,
}

/// Whether a self-reported credit counts at once or waits for the owner's staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Review {
    /// Pending until staff approve it.
    Required,
    /// Approved on entry; the owner checks a random sample afterwards.
    Audit,
}

impl SchemeDefinition {
    /// Whether a self-reported credit claiming toward this scheme waits for review.
    pub fn self_report_review(&self) -> Review {
        self.self_report
            .as_ref()
            .map_or(Review::Required, |s| s.review)
    }

    /// The reminder thresholds in force for this scheme.
    pub fn reminder_thresholds(&self) -> &[u32] {
        self.reminder_days_before_deadline
            .as_deref()
            .unwrap_or(&crate::domain::reminders::DEFAULT_THRESHOLDS)
    }
}

/// Whether a definition is the body's current rule set or a published proposal that the
/// product can model ("what if") but must not present as the law.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SchemeStatus {
    #[default]
    InForce,
    Proposal,
}

/// A name in English and Japanese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocalizedName {
    pub en: String,
    pub ja: String,
}

/// Points to earn in every cycle year. `hard = false` is advice (ISC2's 40 a year); a hard
/// minimum missed in an elapsed year puts the holding at risk and keeps it from completing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerYearMinimum {
    pub points: Points,
    pub hard: bool,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub id: String,
    pub name: LocalizedName,
    #[serde(default)]
    pub min_per_cycle: Option<Points>,
    #[serde(default)]
    pub cap_per_cycle: Option<Points>,
    #[serde(default)]
    pub cap_per_year: Option<Points>,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityType {
    pub id: String,
    pub name: LocalizedName,
    /// When set, claims for this activity type may only be in this category.
    #[serde(default)]
    pub category: Option<String>,
    /// Largest number of points one activity of this type may count for (GIAC: a graduate
    /// course is worth 12). Applies together with the scheme-wide `activity_cap`.
    #[serde(default)]
    pub cap_per_activity: Option<Points>,
    #[serde(default)]
    pub cap_per_cycle: Option<Points>,
    #[serde(default)]
    pub cap_per_year: Option<Points>,
    /// Counts-for-N: how many holdings of this scheme one activity may count toward
    /// (GIAC: a graduate course counts for at most two certifications). `None` = all.
    #[serde(default)]
    pub max_holdings: Option<u32>,
    /// Whether a self-reported activity of this type needs an evidence file.
    #[serde(default)]
    pub evidence: Evidence,
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    Required,
    #[default]
    Optional,
}

/// A required activity: `count` completions of one of `activity_types` in each period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slot {
    pub id: String,
    pub name: LocalizedName,
    pub activity_types: Vec<String>,
    pub per: SlotPeriod,
    pub count: u32,
    /// The slot is also satisfied once this many points count in a category (a per-cycle slot
    /// only). Models the proposal to let external training stand in for a course.
    #[serde(default)]
    pub or_points: Option<SlotPointsAlternative>,
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlotPeriod {
    Cycle,
    CycleYear,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotPointsAlternative {
    pub category: String,
    pub points: Points,
}

/// Points earned in the last `window_months` of a cycle beyond its requirement carry into the
/// next cycle, up to `cap`, in `category`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rollover {
    pub window_months: u32,
    pub cap: Points,
    pub category: String,
    pub source: String,
}

/// Why a scheme's rules cannot place a claim (see [`SchemeDefinition::place`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unplaceable {
    /// The scheme has no activity type of that name.
    UnknownActivityType,
    /// The scheme has no category of that name.
    UnknownCategory,
    /// The activity type counts only in the category `allowed`.
    CategoryNotAllowed { allowed: String },
}

/// A scheme file that cannot be used, naming the file and the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemeError {
    pub file: String,
    /// Path of the offending field, e.g. `categories[1].cap_per_cycle`; empty when the file
    /// is not TOML at all.
    pub field: String,
    pub message: String,
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
}

impl fmt::Display for SchemeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for SchemeError {}

impl SchemeDefinition {
    /// Deserializes and validates one scheme file. `file_name` is only used in errors.
    pub fn parse(toml_text: &str, file_name: &str) -> Result<SchemeDefinition, SchemeError> {
        let definition: SchemeDefinition =
            toml::from_str(toml_text).map_err(|error| toml_error(toml_text, file_name, &error))?;
        definition
            .validate()
            .map_err(|(field, message)| SchemeError {
                file: file_name.to_owned(),
                field,
                message,
                line: None,
            })?;
        Ok(definition)
    }

    /// `id@version`, e.g. `cissp@2024`: the name a cycle records of the rules that judge it.
    pub fn key(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }

    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }

    pub fn activity_type(&self, id: &str) -> Option<&ActivityType> {
        self.activity_types.iter().find(|t| t.id == id)
    }

    /// Whether this scheme's rules can place a claim of `points` in `category` for an activity
    /// of `activity_type` (both in this scheme's own words). The ledger refuses a claim this
    /// refuses; the standing engine ignores one, naming the same reason.
    pub fn place(&self, activity_type: &str, category: &str) -> Result<(), Unplaceable> {
        let kind = self.activity_type(activity_type);
        if kind.is_none() && !self.activity_types.is_empty() {
            return Err(Unplaceable::UnknownActivityType);
        }
        let Some(category) = self.category(category) else {
            return Err(Unplaceable::UnknownCategory);
        };
        match kind.and_then(|k| k.category.as_deref()) {
            Some(bound) if bound != category.id => Err(Unplaceable::CategoryNotAllowed {
                allowed: bound.to_owned(),
            }),
            _ => Ok(()),
        }
    }

    fn validate(&self) -> Result<(), (String, String)> {
        let fail = |field: &str, message: &str| Err((field.to_owned(), message.to_owned()));
        slug("id", &self.id)?;
        non_empty("version", &self.version)?;
        non_empty("name.en", &self.name.en)?;
        non_empty("name.ja", &self.name.ja)?;
        non_empty("owner", &self.owner)?;
        non_empty("source", &self.source)?;
        if self.cycle_months == 0 {
            return fail("cycle_months", "must be greater than zero");
        }
        if let Some(step) = self.point_step {
            positive("point_step", step)?;
        }
        if let Some(cap) = self.activity_cap {
            positive("activity_cap", cap)?;
        }
        if let Some(minimum) = &self.per_year_minimum {
            positive("per_year_minimum.points", minimum.points)?;
            non_empty("per_year_minimum.source", &minimum.source)?;
        }
        if (self.renewal_deadline_days_before_end > 0 || self.grace_days > 0)
            && self
                .deadline_source
                .as_deref()
                .is_none_or(|s| s.trim().is_empty())
        {
            return fail(
                "deadline_source",
                "must cite the source of renewal_deadline_days_before_end / grace_days",
            );
        }
        if i64::from(self.renewal_deadline_days_before_end) >= i64::from(self.cycle_months) * 28 {
            return fail(
                "renewal_deadline_days_before_end",
                "must be shorter than the cycle",
            );
        }

        let mut seen = BTreeSet::new();
        let mut minimums = Points::ZERO;
        for (i, category) in self.categories.iter().enumerate() {
            let at = |field: &str| format!("categories[{i}].{field}");
            slug(&at("id"), &category.id)?;
            if !seen.insert(category.id.as_str()) {
                return fail(&at("id"), &format!("duplicate category {:?}", category.id));
            }
            non_empty(&at("name.en"), &category.name.en)?;
            non_empty(&at("name.ja"), &category.name.ja)?;
            non_empty(&at("source"), &category.source)?;
            if let Some(cap) = category.cap_per_cycle {
                positive(&at("cap_per_cycle"), cap)?;
            }
            if let Some(cap) = category.cap_per_year {
                positive(&at("cap_per_year"), cap)?;
            }
            if let Some(min) = category.min_per_cycle {
                if let Some(cap) = category.cap_per_cycle
                    && min > cap
                {
                    return fail(
                        &at("min_per_cycle"),
                        &format!("{min} is more than cap_per_cycle {cap}"),
                    );
                }
                if min > self.required_points {
                    return fail(
                        &at("min_per_cycle"),
                        &format!(
                            "{min} is more than required_points {}",
                            self.required_points
                        ),
                    );
                }
                minimums += min;
            }
        }
        if minimums > self.required_points {
            return fail(
                "categories",
                &format!(
                    "category minimums add up to {minimums}, more than required_points {}",
                    self.required_points
                ),
            );
        }
        let any_category_cap = self
            .categories
            .iter()
            .any(|c| c.cap_per_cycle.is_some() || c.cap_per_year.is_some());

        let mut seen = BTreeSet::new();
        for (i, kind) in self.activity_types.iter().enumerate() {
            let at = |field: &str| format!("activity_types[{i}].{field}");
            slug(&at("id"), &kind.id)?;
            if !seen.insert(kind.id.as_str()) {
                return fail(&at("id"), &format!("duplicate activity type {:?}", kind.id));
            }
            non_empty(&at("name.en"), &kind.name.en)?;
            non_empty(&at("name.ja"), &kind.name.ja)?;
            non_empty(&at("source"), &kind.source)?;
            let category = match &kind.category {
                Some(id) => Some(
                    self.category(id)
                        .ok_or_else(|| (at("category"), format!("unknown category {id:?}")))?,
                ),
                None => None,
            };
            if let Some(cap) = kind.cap_per_activity {
                positive(&at("cap_per_activity"), cap)?;
            }
            if let Some(cap) = kind.cap_per_cycle {
                positive(&at("cap_per_cycle"), cap)?;
            }
            if let Some(cap) = kind.cap_per_year {
                positive(&at("cap_per_year"), cap)?;
            }
            if kind.max_holdings == Some(0) {
                return fail(&at("max_holdings"), "must be greater than zero");
            }
            // Caps must nest (activity type inside one category, year inside cycle) so that
            // applying them in date order never lets an extra credit lower the total.
            let capped = kind.cap_per_cycle.is_some() || kind.cap_per_year.is_some();
            if capped && any_category_cap && category.is_none() {
                return fail(
                    &at("category"),
                    "an activity type with a cap must name its category when categories have caps",
                );
            }
            if kind.cap_per_cycle.is_some() && category.is_some_and(|c| c.cap_per_year.is_some()) {
                return fail(
                    &at("cap_per_cycle"),
                    "cannot be combined with a per-year cap on its category",
                );
            }
        }

        let mut seen = BTreeSet::new();
        for (i, slot) in self.slots.iter().enumerate() {
            let at = |field: &str| format!("slots[{i}].{field}");
            slug(&at("id"), &slot.id)?;
            if !seen.insert(slot.id.as_str()) {
                return fail(&at("id"), &format!("duplicate slot {:?}", slot.id));
            }
            non_empty(&at("name.en"), &slot.name.en)?;
            non_empty(&at("name.ja"), &slot.name.ja)?;
            non_empty(&at("source"), &slot.source)?;
            if slot.count == 0 {
                return fail(&at("count"), "must be greater than zero");
            }
            if slot.activity_types.is_empty() {
                return fail(
                    &at("activity_types"),
                    "must name at least one activity type",
                );
            }
            for (j, kind) in slot.activity_types.iter().enumerate() {
                if self.activity_type(kind).is_none() {
                    return fail(
                        &at(&format!("activity_types[{j}]")),
                        &format!("unknown activity type {kind:?}"),
                    );
                }
            }
            if let Some(alternative) = &slot.or_points {
                if slot.per != SlotPeriod::Cycle {
                    return fail(&at("or_points"), "is only supported on a per-cycle slot");
                }
                if self.category(&alternative.category).is_none() {
                    return fail(
                        &at("or_points.category"),
                        &format!("unknown category {:?}", alternative.category),
                    );
                }
                positive(&at("or_points.points"), alternative.points)?;
            }
        }

        if let Some(report) = &self.self_report {
            non_empty("self_report.source", &report.source)?;
            if let Some(kind) = &report.activity_type
                && self.activity_type(kind).is_none()
            {
                return fail(
                    "self_report.activity_type",
                    &format!("unknown activity type {kind:?}"),
                );
            }
            if let Some(category) = &report.category {
                let placed = match &report.activity_type {
                    Some(kind) => self.place(kind, category).is_ok(),
                    None => self.category(category).is_some(),
                };
                if !placed {
                    return fail(
                        "self_report.category",
                        &format!(
                            "{category:?} is not a category the proposed activity type counts in"
                        ),
                    );
                }
            }
        }

        if let Some(rollover) = &self.rollover {
            non_empty("rollover.source", &rollover.source)?;
            if rollover.window_months == 0 || rollover.window_months > self.cycle_months {
                return fail(
                    "rollover.window_months",
                    "must be greater than zero and at most cycle_months",
                );
            }
            positive("rollover.cap", rollover.cap)?;
            if self.category(&rollover.category).is_none() {
                return fail(
                    "rollover.category",
                    &format!("unknown category {:?}", rollover.category),
                );
            }
        }
        Ok(())
    }
}

/// Reads a calendar date from a TOML date literal or a `YYYY-MM-DD` string.
mod date {
    use std::fmt;

    use chrono::NaiveDate;
    use serde::Deserializer;
    use serde::de::{self, MapAccess, Visitor};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        d.deserialize_any(DateVisitor)
    }

    struct DateVisitor;

    impl<'de> Visitor<'de> for DateVisitor {
        type Value = NaiveDate;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a date such as 2024-01-01")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<NaiveDate, E> {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| E::custom(format!("{v:?} is not a date such as 2024-01-01")))
        }

        // TOML hands its date literals to serde as a one-entry map holding the text.
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NaiveDate, A::Error> {
            let Some((_, text)) = map.next_entry::<String, String>()? else {
                return Err(de::Error::custom("expected a date"));
            };
            self.visit_str(&text)
        }
    }
}

fn slug(field: &str, value: &str) -> Result<(), (String, String)> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && value.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && !value.ends_with(['-', '_']);
    if ok {
        Ok(())
    } else {
        Err((
            field.to_owned(),
            format!(
                "{value:?} is not a lowercase slug (a-z, 0-9, '-', '_', starting with a letter)"
            ),
        ))
    }
}

fn non_empty(field: &str, value: &str) -> Result<(), (String, String)> {
    if value.trim().is_empty() {
        Err((field.to_owned(), "must not be empty".to_owned()))
    } else {
        Ok(())
    }
}

fn positive(field: &str, value: Points) -> Result<(), (String, String)> {
    if value.is_positive() {
        Ok(())
    } else {
        Err((field.to_owned(), "must be greater than zero".to_owned()))
    }
}

/// Turns a TOML error into a [`SchemeError`] that names the field and line: the error's span
/// is looked up in a spanned parse of the same text to recover the key path.
fn toml_error(text: &str, file: &str, error: &toml::de::Error) -> SchemeError {
    let message = error.message().trim().to_owned();
    let Some(span) = error.span() else {
        return SchemeError {
            file: file.to_owned(),
            field: String::new(),
            message,
            line: None,
        };
    };
    let line = text
        .get(..span.start.min(text.len()))
        .map_or(1, |before| before.matches('\n').count() + 1);
    let mut field = match toml::de::DeTable::parse(text) {
        Ok(document) => path_at(document.get_ref(), span.start).unwrap_or_default(),
        Err(_) => String::new(),
    };
    if let Some(missing) = quoted_after(&message, "missing field") {
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(missing);
    }
    SchemeError {
        file: file.to_owned(),
        field,
        message,
        line: Some(line),
    }
}

/// The text between backticks after `prefix` in a serde message (`missing field `source``).
fn quoted_after<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = message
        .strip_prefix(prefix)?
        .trim_start()
        .strip_prefix('`')?;
    rest.split('`').next()
}

/// The key path of the entry at `offset`: the key or scalar value containing it, or else the
/// `[table]` / `[[array]]` header containing it. A table's own span covers only its header,
/// so every branch is searched rather than pruned by span.
fn path_at(table: &toml::de::DeTable<'_>, offset: usize) -> Option<String> {
    for (key, value) in table {
        let name = key.get_ref().to_string();
        if key.span().contains(&offset) {
            return Some(name);
        }
        match value_path_at(value.get_ref(), offset) {
            Some(rest) if rest.starts_with('[') => return Some(format!("{name}{rest}")),
            Some(rest) => return Some(format!("{name}.{rest}")),
            None if value.span().contains(&offset) => return Some(name),
            None => {}
        }
    }
    None
}

fn value_path_at(value: &toml::de::DeValue<'_>, offset: usize) -> Option<String> {
    match value {
        toml::de::DeValue::Table(table) => path_at(table, offset),
        toml::de::DeValue::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            match value_path_at(item.get_ref(), offset) {
                Some(rest) if rest.starts_with('[') => Some(format!("[{i}]{rest}")),
                Some(rest) => Some(format!("[{i}].{rest}")),
                None if item.span().contains(&offset) => Some(format!("[{i}]")),
                None => None,
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;

    const CISSP: &str = include_str!("../../schemes/cissp.toml");

    fn cissp_with(from: &str, to: &str) -> String {
        assert!(CISSP.contains(from), "fixture text {from:?} not found");
        CISSP.replacen(from, to, 1)
    }

    fn error_of(text: &str) -> SchemeError {
        SchemeDefinition::parse(text, "schemes/cissp.toml").unwrap_err()
    }

    #[test]
    fn scheme_ids_typed_in_any_case_name_the_lower_case_id_of_the_definitions() {
        assert_eq!(normalise_scheme_id(" RISS "), "riss");
        assert_eq!(normalise_scheme_id("Riss-Points"), "riss-points");
        for scheme in builtin_schemes().unwrap() {
            assert_eq!(normalise_scheme_id(&scheme.id), scheme.id);
        }
    }

    #[test]
    fn every_shipped_scheme_file_parses_and_validates() {
        let schemes = builtin_schemes().unwrap();
        let keys: Vec<String> = schemes.iter().map(SchemeDefinition::key).collect();
        assert_eq!(
            keys,
            [
                "riss@2020-05",
                "riss-points@proposal-illustrative-1",
                "cissp@2024",
                "cisa@2024",
                "comptia-secplus@2024",
                "giac@2024"
            ]
        );
        for scheme in &schemes {
            assert!(
                !scheme.name.ja.is_empty(),
                "{} needs a Japanese name",
                scheme.id
            );
        }
    }

    #[test]
    fn only_the_point_based_riss_variant_is_a_proposal() {
        let schemes = builtin_schemes().unwrap();
        let proposals: Vec<&str> = schemes
            .iter()
            .filter(|s| s.status == SchemeStatus::Proposal)
            .map(|s| s.id.as_str())
            .collect();
        assert_eq!(proposals, ["riss-points"]);
    }

    #[test]
    fn the_cissp_file_states_isc2_rules() {
        let cissp = SchemeDefinition::parse(CISSP, "schemes/cissp.toml").unwrap();
        assert_eq!(cissp.required_points, Points::whole(120));
        assert_eq!(cissp.point_step, Some(Points::from_hundredths(25)));
        assert_eq!(cissp.activity_cap, Some(Points::whole(40)));
        assert_eq!(cissp.grace_days, 90);
        assert_eq!(
            cissp.category("group_b").unwrap().cap_per_cycle,
            Some(Points::whole(30))
        );
        let rollover = cissp.rollover.unwrap();
        assert_eq!(
            (rollover.window_months, rollover.cap),
            (6, Points::whole(40))
        );
    }

    #[test]
    fn an_unknown_category_reference_is_named() {
        let error = error_of(&cissp_with(
            "category = \"group_a\"\nsource",
            "category = \"group_c\"\nsource",
        ));
        assert_eq!(error.field, "rollover.category");
        assert!(error.message.contains("group_c"), "{error}");
    }

    #[test]
    fn an_activity_type_naming_an_unknown_category_is_named_by_index() {
        let error = error_of(&cissp_with(
            "category = \"group_b\"",
            "category = \"group_z\"",
        ));
        assert_eq!(error.field, "activity_types[3].category");
    }

    #[test]
    fn a_missing_source_is_an_error_naming_the_field() {
        let text = cissp_with(
            "cap_per_cycle = 30\nsource = \"https://www.isc2.org/policies-procedures/member-policies\"\n",
            "cap_per_cycle = 30\n",
        );
        let error = error_of(&text);
        assert_eq!(error.field, "categories[1].source", "{error}");
        assert!(error.message.contains("missing field"), "{error}");
        assert!(error.line.is_some());
    }

    #[test]
    fn an_empty_source_is_an_error_naming_the_field() {
        let text = cissp_with(
            "source = \"https://www.isc2.org/Frequently-Asked-Questions/\"",
            "source = \" \"",
        );
        assert_eq!(
            error_of(&text).to_string(),
            "schemes/cissp.toml: rollover.source: must not be empty"
        );
    }

    #[test]
    fn a_zero_cap_must_be_greater_than_zero() {
        let error = error_of(&cissp_with("cap_per_cycle = 30", "cap_per_cycle = 0"));
        assert_eq!(
            error.to_string(),
            "schemes/cissp.toml: categories[1].cap_per_cycle: must be greater than zero"
        );
    }

    #[test]
    fn a_negative_cap_is_rejected_naming_the_field_and_line() {
        let text = cissp_with("cap_per_cycle = 30", "cap_per_cycle = -30");
        let error = error_of(&text);
        assert_eq!(error.field, "categories[1].cap_per_cycle", "{error}");
        assert!(error.message.contains("negative"), "{error}");
        let line = text.lines().position(|l| l.contains("-30")).unwrap() + 1;
        assert_eq!(error.line, Some(line));
        assert!(
            error
                .to_string()
                .starts_with(&format!("schemes/cissp.toml:{line}: "))
        );
    }

    #[test]
    fn a_syntax_error_reports_its_line() {
        let text = cissp_with("cycle_months = 36", "cycle_months = = 36");
        let error = error_of(&text);
        let line = text.lines().position(|l| l.contains("= = 36")).unwrap() + 1;
        assert_eq!(error.line, Some(line), "{error}");
    }

    #[test]
    fn an_unknown_field_is_rejected_naming_it() {
        let error = error_of(&cissp_with(
            "cycle_months = 36",
            "cycle_months = 36\ncycle_years = 3",
        ));
        assert!(error.field.contains("cycle_years"), "{error}");
        assert!(error.message.contains("unknown field"), "{error}");
    }

    #[test]
    fn a_wrong_type_names_the_field() {
        let error = error_of(&cissp_with("grace_days = 90", "grace_days = \"ninety\""));
        assert_eq!(error.field, "grace_days", "{error}");
    }

    #[test]
    fn an_unknown_status_is_rejected() {
        let error = error_of(&cissp_with("status = \"in_force\"", "status = \"draft\""));
        assert_eq!(error.field, "status", "{error}");
    }

    #[test]
    fn an_upper_case_id_is_not_a_slug() {
        let error = error_of(&cissp_with("id = \"cissp\"", "id = \"CISSP\""));
        assert_eq!(error.field, "id");
    }

    #[test]
    fn a_zero_cycle_length_is_rejected() {
        let error = error_of(&cissp_with("cycle_months = 36", "cycle_months = 0"));
        assert_eq!(error.field, "cycle_months");
    }

    #[test]
    fn a_category_minimum_above_the_requirement_is_rejected() {
        let error = error_of(&cissp_with("min_per_cycle = 90", "min_per_cycle = 130"));
        assert_eq!(error.field, "categories[0].min_per_cycle");
    }

    #[test]
    fn category_minimums_adding_up_above_the_requirement_are_rejected() {
        let error = error_of(&cissp_with("cap_per_cycle = 30", "min_per_cycle = 40"));
        assert_eq!(error.field, "categories");
    }

    #[test]
    fn a_minimum_above_its_cap_is_rejected() {
        let error = error_of(&cissp_with(
            "cap_per_cycle = 30",
            "cap_per_cycle = 30\nmin_per_cycle = 31",
        ));
        assert_eq!(error.field, "categories[1].min_per_cycle");
    }

    #[test]
    fn a_zero_point_step_is_rejected() {
        let error = error_of(&cissp_with("point_step = 0.25", "point_step = 0"));
        assert_eq!(error.field, "point_step");
    }

    #[test]
    fn a_slot_naming_an_unknown_activity_type_is_named() {
        let riss = include_str!("../../schemes/riss.toml").replace(
            "[\"ipa_practical_course\", \"tokutei_koshu\"]",
            "[\"ipa_practical_course\", \"tokutei\"]",
        );
        let error = SchemeDefinition::parse(&riss, "schemes/riss.toml").unwrap_err();
        assert_eq!(
            error.to_string(),
            "schemes/riss.toml: slots[1].activity_types[1]: unknown activity type \"tokutei\""
        );
    }

    #[test]
    fn a_grace_period_without_a_source_is_rejected() {
        let text = cissp_with(
            "deadline_source = \"https://isc2kenya.com/2024/05/13/managing-your-isc2-cpe-credits-and-activities\"",
            "",
        );
        assert_eq!(error_of(&text).field, "deadline_source");
    }

    #[test]
    fn a_capped_activity_type_outside_a_capped_category_is_rejected() {
        let text = cissp_with(
            "id = \"self_study\"",
            "id = \"self_study\"\ncap_per_cycle = 10",
        );
        assert_eq!(error_of(&text).field, "activity_types[2].category");
    }

    #[test]
    fn a_definition_round_trips_through_json() {
        let cissp = SchemeDefinition::parse(CISSP, "schemes/cissp.toml").unwrap();
        let json = serde_json::to_string(&cissp).unwrap();
        assert_eq!(
            serde_json::from_str::<SchemeDefinition>(&json).unwrap(),
            cissp
        );
    }

    #[test]
    fn cissp_places_education_in_group_a_and_refuses_cisas_words() {
        let cissp = SchemeDefinition::parse(CISSP, "schemes/cissp.toml").unwrap();
        assert_eq!(cissp.place("education", "group_a"), Ok(()));
        assert_eq!(
            cissp.place("training", "group_a"),
            Err(Unplaceable::UnknownActivityType)
        );
        assert_eq!(
            cissp.place("education", "cpe"),
            Err(Unplaceable::UnknownCategory)
        );
        assert_eq!(
            cissp.place("professional_development", "group_a"),
            Err(Unplaceable::CategoryNotAllowed {
                allowed: "group_b".into()
            })
        );
        assert_eq!(cissp.place("professional_development", "group_b"), Ok(()));
    }
}
