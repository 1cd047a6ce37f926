//! A holding's transcript for one cycle: every credit that claims points in the holding's
//! scheme during the cycle, what it claimed and what counted, with the cycle's totals. Written
//! out as CSV (for spreadsheets, Excel in Japan included) or PDF (for attaching to a renewal).

use chrono::{DateTime, NaiveDate, Utc};
use entity::credits::{CreditSource, CreditState};
use entity::{credit_claims, credits, cycles, holdings, professionals, providers, self_reports};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::points::Points;
use crate::domain::scheme::{LocalizedName, SchemeDefinition};
use crate::domain::standing::{StandingState, last_day_before};
use crate::services::schemes::SchemeCatalog;
use crate::services::standing::{self, StandingError};
use crate::templates::Templates;

mod csv;
mod pdf;

pub use csv::to_csv;
pub use pdf::to_pdf;

#[derive(Debug, thiserror::Error)]
pub enum TranscriptError {
    /// The holding has no cycle that starts on the date asked for.
    #[error("the holding has no cycle starting on {0}")]
    UnknownCycle(NaiveDate),
    #[error(transparent)]
    Standing(#[from] StandingError),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// One claim of one credit in the holding's scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TranscriptRow {
    pub completed_on: NaiveDate,
    pub title: String,
    /// The provider's name: the accredited provider of a report, or the one a self-report
    /// names; `None` for a staff entry.
    pub provider: Option<String>,
    pub source: CreditSource,
    pub state: CreditState,
    pub activity_type: String,
    pub category: String,
    pub claimed: Points,
    /// What counted toward the cycle after caps and rounding; zero while pending.
    pub counted: Points,
}

/// One category's total in the cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryTotal {
    pub category: String,
    pub counted: Points,
    pub minimum: Option<Points>,
    pub cap: Option<Points>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transcript {
    pub holder_name: String,
    pub holder_name_kana: Option<String>,
    pub scheme_id: String,
    pub registration_number: String,
    pub starts_on: NaiveDate,
    /// The cycle's last valid day.
    pub expires_on: NaiveDate,
    pub deadline: NaiveDate,
    pub as_of: NaiveDate,
    pub state: StandingState,
    pub required: Points,
    pub counted: Points,
    pub pending: Points,
    pub by_category: Vec<CategoryTotal>,
    pub rows: Vec<TranscriptRow>,
    pub generated_at: DateTime<Utc>,
}

/// The transcript of `holding` for the cycle that starts on `cycle_starts_on`, or for the
/// cycle being judged today. A past cycle is shown as it stood on its last day.
pub async fn for_holding(
    db: &impl ConnectionTrait,
    catalog: &SchemeCatalog,
    holding: &holdings::Model,
    cycle_starts_on: Option<NaiveDate>,
) -> Result<Transcript, TranscriptError> {
    let professional = professionals::Entity::find_by_id(holding.professional_id)
        .one(db)
        .await?
        .ok_or_else(|| {
            DbErr::RecordNotFound(format!("professional {}", holding.professional_id))
        })?;
    let today = standing::today_for(&professional);
    let as_of = match cycle_starts_on {
        None => today,
        Some(starts_on) => {
            let cycle = cycles::Entity::find()
                .filter(cycles::Column::HoldingId.eq(holding.id))
                .filter(cycles::Column::StartsOn.eq(starts_on))
                .one(db)
                .await?
                .ok_or(TranscriptError::UnknownCycle(starts_on))?;
            today.min(last_day_before(cycle.ends_on))
        }
    };
    let judged = standing::for_holding(db, catalog, holding, Some(as_of)).await?;
    let standing = judged.standing;
    let ends_on = standing
        .expires_on
        .succ_opt()
        .unwrap_or(standing.expires_on);

    let entries = credits::Entity::find()
        .filter(credits::Column::ProfessionalId.eq(holding.professional_id))
        .filter(credits::Column::CompletedOn.gte(standing.starts_on))
        .filter(credits::Column::CompletedOn.lt(ends_on))
        .filter(credits::Column::State.is_in([CreditState::Approved, CreditState::Pending]))
        .order_by_asc(credits::Column::CompletedOn)
        .order_by_asc(credits::Column::CreatedAt)
        .order_by_asc(credits::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = entries.iter().map(|c| c.id).collect();
    let mut claims: Vec<credit_claims::Model> = Vec::new();
    for chunk in ids.chunks(500) {
        claims.extend(
            credit_claims::Entity::find()
                .filter(credit_claims::Column::CreditId.is_in(chunk.to_vec()))
                .filter(credit_claims::Column::SchemeId.eq(holding.scheme_id.as_str()))
                .order_by_asc(credit_claims::Column::Category)
                .all(db)
                .await?,
        );
    }
    let provider_ids: Vec<Uuid> = entries.iter().filter_map(|c| c.provider_id).collect();
    let provider_names: std::collections::HashMap<Uuid, String> = if provider_ids.is_empty() {
        Default::default()
    } else {
        providers::Entity::find()
            .filter(providers::Column::Id.is_in(provider_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect()
    };

    // A self-report names its provider in words.
    let mut named_by_holder: std::collections::HashMap<Uuid, String> = Default::default();
    let self_reported: Vec<Uuid> = entries
        .iter()
        .filter(|c| c.source == credits::CreditSource::SelfReported)
        .map(|c| c.id)
        .collect();
    for chunk in self_reported.chunks(500) {
        named_by_holder.extend(
            self_reports::Entity::find()
                .filter(self_reports::Column::CreditId.is_in(chunk.to_vec()))
                .all(db)
                .await?
                .into_iter()
                .map(|r| (r.credit_id, r.provider_name)),
        );
    }

    let rows = entries
        .iter()
        .flat_map(|credit| {
            let id = credit.id.to_string();
            let standing = &standing;
            let provider = credit
                .provider_id
                .and_then(|p| provider_names.get(&p).cloned())
                .or_else(|| named_by_holder.get(&credit.id).cloned());
            claims
                .iter()
                .filter(move |claim| claim.credit_id == credit.id)
                .map(move |claim| TranscriptRow {
                    completed_on: credit.completed_on,
                    title: credit.title.clone(),
                    provider: provider.clone(),
                    source: credit.source,
                    state: credit.state,
                    activity_type: claim.activity_type.clone(),
                    category: claim.category.clone(),
                    claimed: Points::from_hundredths(claim.points),
                    counted: standing
                        .counted_claims
                        .iter()
                        .filter(|c| c.credit_id == id && c.category == claim.category)
                        .map(|c| c.counted)
                        .fold(Points::ZERO, |sum, p| sum + p),
                })
        })
        .collect();

    Ok(Transcript {
        holder_name: professional.legal_name,
        holder_name_kana: professional.legal_name_kana,
        scheme_id: holding.scheme_id.clone(),
        registration_number: holding.registration_number.clone(),
        starts_on: standing.starts_on,
        expires_on: standing.expires_on,
        deadline: standing.deadline,
        as_of: standing.as_of,
        state: standing.state,
        required: standing.required,
        counted: standing.counted,
        pending: standing.pending,
        by_category: standing
            .by_category
            .iter()
            .map(|c| CategoryTotal {
                category: c.category.clone(),
                counted: c.counted,
                minimum: c.minimum,
                cap: c.cap,
            })
            .collect(),
        rows,
        generated_at: Utc::now(),
    })
}

/// The words a transcript is written in: the `transcript_*` page words of one locale, with
/// the scheme's own names for itself, its categories and activity types.
#[derive(Debug, Clone, Deserialize)]
pub struct Words {
    #[serde(skip)]
    pub locale: &'static str,
    pub transcript_title: String,
    pub transcript_holder: String,
    pub transcript_scheme: String,
    pub transcript_registration_number: String,
    pub transcript_cycle: String,
    pub transcript_deadline: String,
    pub transcript_state: String,
    pub transcript_points: String,
    pub transcript_pending: String,
    pub transcript_as_of: String,
    pub transcript_generated_at: String,
    pub transcript_date: String,
    pub transcript_activity: String,
    pub transcript_provider: String,
    pub transcript_source: String,
    pub transcript_activity_type: String,
    pub transcript_category: String,
    pub transcript_claimed: String,
    pub transcript_counted: String,
    pub transcript_credit_state: String,
    pub transcript_no_credits: String,
    pub transcript_minimum: String,
    pub transcript_cap: String,
    pub transcript_source_provider: String,
    pub transcript_source_self: String,
    pub transcript_source_admin: String,
    pub transcript_credit_pending: String,
    pub transcript_credit_approved: String,
    pub state_complete: String,
    pub state_on_track: String,
    pub state_at_risk: String,
    pub state_due: String,
    pub state_lapsed: String,
}

impl Words {
    /// The words of `locale` (`ja` or `en`; anything else reads as the first locale).
    pub fn of(templates: &Templates, locale: &str) -> Result<Self, serde_json::Error> {
        let locale = crate::templates::supported_locale(locale);
        let value = serde_json::to_value(templates.page_words(locale))?;
        let mut words: Self = serde_json::from_value(value)?;
        words.locale = locale;
        Ok(words)
    }

    fn pick<'a>(&self, name: &'a LocalizedName) -> &'a str {
        if self.locale == "en" {
            &name.en
        } else {
            &name.ja
        }
    }

    pub fn scheme_name<'a>(&self, scheme: Option<&'a SchemeDefinition>, id: &'a str) -> &'a str {
        scheme.map_or(id, |s| self.pick(&s.name))
    }

    pub fn category_name<'a>(
        &self,
        scheme: Option<&'a SchemeDefinition>,
        category: &'a str,
    ) -> &'a str {
        scheme
            .and_then(|s| s.category(category))
            .map_or(category, |c| self.pick(&c.name))
    }

    pub fn activity_type_name<'a>(
        &self,
        scheme: Option<&'a SchemeDefinition>,
        activity_type: &'a str,
    ) -> &'a str {
        scheme
            .and_then(|s| s.activity_type(activity_type))
            .map_or(activity_type, |t| self.pick(&t.name))
    }

    pub fn state(&self, state: StandingState) -> &str {
        match state {
            StandingState::Complete => &self.state_complete,
            StandingState::OnTrack => &self.state_on_track,
            StandingState::AtRisk => &self.state_at_risk,
            StandingState::Due => &self.state_due,
            StandingState::Lapsed => &self.state_lapsed,
        }
    }

    pub fn source(&self, source: CreditSource) -> &str {
        match source {
            CreditSource::Provider => &self.transcript_source_provider,
            CreditSource::SelfReported => &self.transcript_source_self,
            CreditSource::Admin => &self.transcript_source_admin,
        }
    }

    pub fn credit_state(&self, state: CreditState) -> &str {
        match state {
            CreditState::Pending => &self.transcript_credit_pending,
            _ => &self.transcript_credit_approved,
        }
    }

    /// `2023-06-01 – 2026-05-31`.
    pub fn cycle(&self, transcript: &Transcript) -> String {
        format!("{} – {}", transcript.starts_on, transcript.expires_on)
    }

    /// `8 / 120`.
    pub fn points(&self, transcript: &Transcript) -> String {
        format!("{} / {}", transcript.counted, transcript.required)
    }
}
