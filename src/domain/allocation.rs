//! Log once, claim many: one activity, logged once, is handed to every holding it may count
//! toward.
//!
//! Different schemes are independent (a course can count for CISSP and CISA alike). Within one
//! scheme, an activity type with `max_holdings = N` counts toward at most N of the
//! professional's holdings of that scheme (GIAC: a graduate course counts for two
//! certifications). The holdings chosen are those whose cycle (current or previous) contains
//! the completion date, earliest deadline first, ties broken by holding id.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::scheme::SchemeDefinition;
use super::standing::{Claim, CreditEntry, CreditState, CyclePeriod, deadline};

/// One holding in the cycle being judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldingCycle {
    pub holding_id: String,
    pub scheme_id: String,
    /// The rule version that judges this cycle.
    pub scheme_version: String,
    pub cycle: CyclePeriod,
    /// Given when the scheme has rollover, so that credits of the previous cycle reach it.
    pub previous_cycle: Option<CyclePeriod>,
}

/// A credit as logged once: what it claims in each scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiCredit {
    pub id: String,
    pub completed_on: NaiveDate,
    pub state: CreditState,
    pub schemes: Vec<SchemeClaim>,
}

/// What one credit claims in one scheme. Activity types are each scheme's own vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemeClaim {
    pub scheme_id: String,
    pub activity_type: String,
    pub claims: Vec<Claim>,
}

/// Hands each credit to the holdings it counts toward. Every holding appears in the result,
/// with its entries in `(completed_on, id)` order. A credit that names one scheme twice is
/// read by its first mention. A holding whose scheme version is not in `schemes` is judged by
/// any version of the same scheme, and without a counts-for-N limit if there is none.
pub fn allocate<S: std::borrow::Borrow<SchemeDefinition>>(
    holdings: &[HoldingCycle],
    credits: &[MultiCredit],
    schemes: &[S],
) -> BTreeMap<String, Vec<CreditEntry>> {
    let scheme_of = |holding: &HoldingCycle| {
        schemes
            .iter()
            .map(Borrow::borrow)
            .find(|s: &&SchemeDefinition| {
                s.id == holding.scheme_id && s.version == holding.scheme_version
            })
            .or_else(|| {
                schemes
                    .iter()
                    .map(Borrow::borrow)
                    .find(|s: &&SchemeDefinition| s.id == holding.scheme_id)
            })
    };
    let mut out: BTreeMap<String, Vec<CreditEntry>> = holdings
        .iter()
        .map(|h| (h.holding_id.clone(), Vec::new()))
        .collect();

    for credit in credits {
        let mut seen_schemes = BTreeSet::new();
        for claim in &credit.schemes {
            if !seen_schemes.insert(claim.scheme_id.as_str()) {
                continue;
            }
            // Holdings of this scheme whose cycle contains the date, with that cycle's deadline.
            let mut candidates: Vec<(NaiveDate, &HoldingCycle, Option<u32>)> = holdings
                .iter()
                .filter(|h| h.scheme_id == claim.scheme_id)
                .filter_map(|h| {
                    let cycle = [Some(h.cycle), h.previous_cycle]
                        .into_iter()
                        .flatten()
                        .find(|c| c.contains(credit.completed_on))?;
                    let scheme = scheme_of(h);
                    let due = scheme.map_or(cycle.expires_on(), |s| deadline(s, cycle));
                    let limit = scheme
                        .and_then(|s| s.activity_type(&claim.activity_type))
                        .and_then(|t| t.max_holdings);
                    Some((due, h, limit))
                })
                .collect();
            candidates.sort_by(|a, b| (a.0, &a.1.holding_id).cmp(&(b.0, &b.1.holding_id)));
            let limit = candidates
                .iter()
                .filter_map(|c| c.2)
                .min()
                .map_or(usize::MAX, |n| n as usize);
            for (_, holding, _) in candidates.into_iter().take(limit) {
                if let Some(entries) = out.get_mut(&holding.holding_id) {
                    entries.push(CreditEntry {
                        id: credit.id.clone(),
                        completed_on: credit.completed_on,
                        activity_type: claim.activity_type.clone(),
                        state: credit.state,
                        claims: claim.claims.clone(),
                    });
                }
            }
        }
    }
    for entries in out.values_mut() {
        entries.sort_by(|a, b| (a.completed_on, &a.id).cmp(&(b.completed_on, &b.id)));
    }
    out
}

#[cfg(test)]
mod tests;
