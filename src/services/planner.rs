//! A holding's renewal plan: the catalogue courses that close its gaps with the fewest hours
//! or the lowest fee, judged by [`crate::domain::planner`].
//!
//! The candidates are the courses of approved providers still in the catalogue that award
//! something in a scheme the professional holds, on a day after today and no later than the
//! holding's deadline, where the provider's accreditation covers the award on that day. A
//! course with dated sessions is a candidate on the first of them in each cycle year; one
//! without (on demand) tomorrow and on the first day of each later cycle year. A course that
//! awards points is planned at most once; one that only fills a yearly required course (the
//! RISS online course) may be planned once a year. Credits still pending review are assumed to
//! be approved.

use std::collections::HashMap;

use chrono::{Days, Months, NaiveDate};
use entity::{course_awards, courses, holdings, providers as provider_rows};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::allocation::{HoldingCycle, SchemeClaim};
use crate::domain::planner::{self, Candidate, Gaps, PlanInput};
use crate::domain::points::Points;
use crate::domain::standing::{Claim, CreditState, deadline};
use crate::services::courses::{Award, Delivery, Fee, awards_of, delivery_of, fee_of, sessions_of};
use crate::services::providers::{Accreditation, ProviderStatus, award_refusal};
use crate::services::schemes::SchemeCatalog;
use crate::services::standing::{LedgerSlice, StandingError, today_for};

/// What a plan minimises.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanBy {
    /// The hours of the courses.
    #[default]
    Hours,
    /// Their fees, in one currency; courses without a fee in it are left out.
    Fee,
}

/// A course title in both languages.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CourseTitle {
    pub en: String,
    pub ja: Option<String>,
}

/// What a proposed course does for one of the professional's holdings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlannedEffect {
    pub holding_id: Uuid,
    pub scheme_id: String,
    pub registration_number: String,
    /// Points it would count there, after caps.
    #[schema(value_type = f64)]
    pub points: Points,
    /// Required courses (slots) it would fill there.
    pub fills_slots: Vec<String>,
}

/// One course of a plan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlannedCourse {
    pub course_id: Uuid,
    pub code: String,
    pub title: CourseTitle,
    pub provider_id: Uuid,
    pub provider_name: String,
    /// The day it is planned for: a session, or for a course on demand, a day it can be taken.
    pub on: NaiveDate,
    pub delivery: Delivery,
    #[schema(value_type = f64)]
    pub hours: Points,
    pub fee: Option<Fee>,
    /// Every holding of the professional it would count toward (one course may close gaps in
    /// several).
    pub counts_toward: Vec<PlannedEffect>,
}

/// A holding's renewal plan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RenewalPlan {
    pub holding_id: Uuid,
    pub scheme_id: String,
    pub by: PlanBy,
    /// The currency of the fees, for a plan by fee.
    pub currency: Option<String>,
    /// What the holding still needs today.
    pub gaps: Gaps,
    /// What it would still need after the plan: gaps no catalogue course can close.
    pub left_open: Gaps,
    pub courses: Vec<PlannedCourse>,
    #[schema(value_type = f64)]
    pub total_hours: Points,
    /// The sum of the fees, for a plan by fee, or when every proposed course has a fee in one
    /// currency.
    pub total_fee: Option<Fee>,
    /// No set of the candidate courses closes more gaps or costs less.
    pub optimal: bool,
    /// How many course sessions were weighed.
    pub candidates: usize,
}

/// A course of the catalogue as the planner weighs it.
struct Offer {
    course: courses::Model,
    provider_name: String,
    accreditations: Vec<Accreditation>,
    awards: Vec<Award>,
}

fn fee_in_hundredths(amount: &str) -> Option<i64> {
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        2 => fraction.parse().ok()?,
        _ => return None,
    };
    whole.checked_mul(100)?.checked_add(fraction)
}

fn fee_text(hundredths: i64) -> String {
    match hundredths % 100 {
        0 => (hundredths / 100).to_string(),
        cents => format!("{}.{cents:02}", hundredths / 100),
    }
}

/// The courses of approved providers, still in the catalogue, that award in one of `schemes`.
async fn offers(db: &impl ConnectionTrait, schemes: &[String]) -> Result<Vec<Offer>, DbErr> {
    let mut course_ids: Vec<Uuid> = course_awards::Entity::find()
        .filter(course_awards::Column::SchemeId.is_in(schemes.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.course_id)
        .collect();
    course_ids.sort_unstable();
    course_ids.dedup();
    let mut found = Vec::new();
    for chunk in course_ids.chunks(500) {
        found.extend(
            courses::Entity::find()
                .filter(courses::Column::Id.is_in(chunk.to_vec()))
                .filter(courses::Column::RetiredAt.is_null())
                .all(db)
                .await?,
        );
    }
    let mut provider_ids: Vec<Uuid> = found.iter().map(|c| c.provider_id).collect();
    provider_ids.sort_unstable();
    provider_ids.dedup();
    let providers: HashMap<Uuid, provider_rows::Model> = provider_rows::Entity::find()
        .filter(provider_rows::Column::Id.is_in(provider_ids))
        .filter(provider_rows::Column::Status.eq(ProviderStatus::Approved))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let ids: Vec<Uuid> = found.iter().map(|c| c.id).collect();
    let mut awards = awards_of(db, &ids).await?;
    Ok(found
        .into_iter()
        .filter_map(|course| {
            let provider = providers.get(&course.provider_id)?;
            // Only the awards the provider is accredited for at all; the day is checked later.
            let awards: Vec<Award> = awards
                .remove(&course.id)
                .unwrap_or_default()
                .into_iter()
                .filter(|a| {
                    award_refusal(
                        &provider.accreditations.0,
                        &a.scheme,
                        &a.activity_type,
                        a.category.as_deref(),
                        None,
                    )
                    .is_none()
                })
                .collect();
            Some(Offer {
                provider_name: provider.name.clone(),
                accreditations: provider.accreditations.0.clone(),
                course,
                awards,
            })
        })
        .filter(|o| !o.awards.is_empty())
        .collect())
}

/// The first day of each cycle year of `cycle`.
fn year_starts(target: &HoldingCycle) -> Vec<NaiveDate> {
    (0..)
        .map_while(|k| {
            let start = target
                .cycle
                .starts_on
                .checked_add_months(Months::new(12 * k))?;
            (start < target.cycle.ends_on).then_some(start)
        })
        .collect()
}

/// The days `offer` can be planned for: after `today`, on or before `last`, the first
/// session (or for a course on demand, the first possible day) of each cycle year.
fn planned_days(
    offer: &Offer,
    target: &HoldingCycle,
    today: NaiveDate,
    last: NaiveDate,
) -> Vec<NaiveDate> {
    let tomorrow = today.checked_add_days(Days::new(1)).unwrap_or(today);
    let sessions = sessions_of(&offer.course);
    let days: Vec<NaiveDate> =
        if sessions.is_empty() && delivery_of(&offer.course) == Delivery::OnDemand {
            std::iter::once(tomorrow)
                .chain(year_starts(target).into_iter().filter(|d| *d > tomorrow))
                .collect()
        } else {
            sessions
        };
    let starts = year_starts(target);
    let year_of = |day: NaiveDate| starts.iter().rposition(|s| *s <= day);
    let mut out: Vec<NaiveDate> = Vec::new();
    for day in days.into_iter().filter(|d| *d > today && *d <= last) {
        if !out.iter().any(|o| year_of(*o) == year_of(day)) {
            out.push(day);
        }
    }
    out
}

/// The plan for `holding`, by hours or by fee (in `currency`, `JPY` when not given).
pub async fn for_holding(
    db: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    holding: &holdings::Model,
    by: PlanBy,
    currency: Option<&str>,
) -> Result<RenewalPlan, StandingError> {
    let professional = entity::professionals::Entity::find_by_id(holding.professional_id)
        .one(db)
        .await?
        .ok_or_else(|| {
            DbErr::RecordNotFound(format!("professional {}", holding.professional_id))
        })?;
    let today = today_for(&professional);
    let slice = LedgerSlice::load(db, &[professional.id]).await?;
    let mut inputs = slice.placement_inputs(catalog, professional.id, today)?;
    let target_id = holding.id.to_string();
    let target = inputs
        .holdings
        .iter()
        .find(|h| h.holding_id == target_id)
        .cloned()
        .ok_or(StandingError::NoCycle(holding.id))?;
    let scheme = inputs
        .schemes
        .iter()
        .find(|s| s.id == target.scheme_id && s.version == target.scheme_version)
        .copied()
        .ok_or_else(|| StandingError::UnknownVersion {
            scheme: target.scheme_id.clone(),
            version: target.scheme_version.clone(),
        })?;
    let last = deadline(scheme, target.cycle);
    for credit in &mut inputs.credits {
        if credit.state == CreditState::Pending {
            credit.state = CreditState::Approved;
        }
    }
    let held: Vec<String> = inputs
        .holdings
        .iter()
        .map(|h| h.scheme_id.clone())
        .collect();
    let currency = (by == PlanBy::Fee).then(|| currency.unwrap_or("JPY").to_ascii_uppercase());

    let offers = offers(db, &held).await?;
    let mut candidates = Vec::new();
    let mut origin = Vec::new();
    for (index, offer) in offers.iter().enumerate() {
        let cost = match &currency {
            None => offer.course.hours,
            Some(currency) => match (&offer.course.fee_amount, &offer.course.fee_currency) {
                (Some(amount), Some(c)) if c == currency => match fee_in_hundredths(amount) {
                    Some(fee) => fee,
                    None => continue,
                },
                _ => continue,
            },
        };
        let awards_points = offer.awards.iter().any(|a| a.category.is_some());
        for day in planned_days(offer, &target, today, last) {
            let schemes: Vec<SchemeClaim> = offer
                .awards
                .iter()
                // The accreditation must cover the award on the day itself.
                .filter(|a| {
                    award_refusal(
                        &offer.accreditations,
                        &a.scheme,
                        &a.activity_type,
                        a.category.as_deref(),
                        Some(day),
                    )
                    .is_none()
                })
                .map(|a| SchemeClaim {
                    scheme_id: a.scheme.clone(),
                    activity_type: a.activity_type.clone(),
                    claims: match (&a.category, a.points) {
                        (Some(category), Some(points)) => vec![Claim {
                            category: category.clone(),
                            points,
                        }],
                        _ => Vec::new(),
                    },
                })
                .collect();
            if schemes.is_empty() {
                continue;
            }
            candidates.push(Candidate {
                group: awards_points.then(|| offer.course.id.to_string()),
                on: day,
                cost,
                schemes,
            });
            origin.push(index);
        }
    }

    let targets = [target_id.clone()];
    let plan = planner::plan(&PlanInput {
        holdings: &inputs.holdings,
        schemes: &inputs.schemes,
        credits: &inputs.credits,
        targets: &targets,
        candidates: &candidates,
        today,
    });
    let by_id: HashMap<String, &holdings::Model> = slice
        .holdings_of(professional.id)
        .into_iter()
        .map(|h| (h.id.to_string(), h))
        .collect();
    let courses: Vec<PlannedCourse> = plan
        .chosen
        .iter()
        .zip(&plan.effects)
        .map(|(&i, effects)| {
            let offer = &offers[origin[i]];
            let c = &offer.course;
            PlannedCourse {
                course_id: c.id,
                code: c.code.clone(),
                title: CourseTitle {
                    en: c.title.clone(),
                    ja: c.title_ja.clone(),
                },
                provider_id: c.provider_id,
                provider_name: offer.provider_name.clone(),
                on: candidates[i].on,
                delivery: delivery_of(c),
                hours: Points::from_hundredths(c.hours),
                fee: fee_of(c),
                counts_toward: effects
                    .iter()
                    .filter_map(|e| {
                        let h = by_id.get(&e.holding_id)?;
                        Some(PlannedEffect {
                            holding_id: h.id,
                            scheme_id: h.scheme_id.clone(),
                            registration_number: h.registration_number.clone(),
                            points: e.counted,
                            fills_slots: e.fills_slots.clone(),
                        })
                    })
                    .collect(),
            }
        })
        .collect();
    let total_hours = courses.iter().map(|c| c.hours).sum();
    let total_fee = total_fee(&courses, currency.as_deref());
    Ok(RenewalPlan {
        holding_id: holding.id,
        scheme_id: target.scheme_id,
        by,
        currency,
        gaps: plan.before.get(&target_id).cloned().unwrap_or_default(),
        left_open: plan.after.get(&target_id).cloned().unwrap_or_default(),
        courses,
        total_hours,
        total_fee,
        optimal: plan.optimal,
        candidates: candidates.len(),
    })
}

/// The fees summed, when every course has one in a single currency (`currency` if given).
fn total_fee(courses: &[PlannedCourse], currency: Option<&str>) -> Option<Fee> {
    let mut sum = 0i64;
    let mut seen: Option<&str> = currency;
    for course in courses {
        let fee = course.fee.as_ref()?;
        if seen.is_some_and(|c| c != fee.currency) {
            return None;
        }
        seen = Some(&fee.currency);
        sum = sum.checked_add(fee_in_hundredths(&fee.amount)?)?;
    }
    Some(Fee {
        amount: fee_text(sum),
        currency: seen?.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_are_summed_in_hundredths_and_written_back_as_decimals() {
        assert_eq!(fee_in_hundredths("12000"), Some(1_200_000));
        assert_eq!(fee_in_hundredths("49.5"), Some(4950));
        assert_eq!(fee_in_hundredths("49.50"), Some(4950));
        assert_eq!(fee_text(4950 + 1_200_000), "12049.50");
        assert_eq!(fee_text(1_200_000), "12000");
    }
}
