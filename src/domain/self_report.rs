//! A self-reported activity, logged once: what it claims in each scheme the professional
//! holds, and where those claims would count.
//!
//! Two steps, both pure:
//!
//! 1. [`propose`] turns what the professional said (hours, and per scheme an optional activity
//!    type, category and points) into claims each scheme's rules can place, filling what was
//!    left out from the scheme's `[self_report]` proposal (its activity type, the category that
//!    type is bound to or the scheme's only one, one point per hour). Anything a scheme cannot
//!    place is refused, naming the field (`claims[1].category`), so nothing is stored to count
//!    for nothing.
//! 2. [`place`] runs those claims through the allocation and the standing engine beside the
//!    holdings' existing credits, and says per holding what the activity would count for, or
//!    why it counts for nothing there (no claim for that scheme, outside the cycle, the
//!    scheme's counts-for-N limit given to another holding, a cap already reached).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;

use super::allocation::{HoldingCycle, MultiCredit, SchemeClaim, allocate};
use super::points::Points;
use super::scheme::{Evidence, Review, SchemeDefinition, Unplaceable};
use super::standing::{Claim, CreditState, IgnoredReason, StandingInput, evaluate};

/// Longest single activity accepted, in hours (and points per claim): a guard against typos.
pub const MAX_HOURS: i64 = 1_000;

/// What the professional asked one scheme to count; every part but the scheme may be left out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClaimRequest {
    pub scheme: String,
    pub activity_type: Option<String>,
    pub category: Option<String>,
    pub points: Option<Points>,
}

/// A request refused, naming the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub field: String,
    pub message: String,
}

fn refuse(field: impl Into<String>, message: impl Into<String>) -> Refusal {
    Refusal {
        field: field.into(),
        message: message.into(),
    }
}

/// One claim as it will be recorded. `category` and `points` are `None` for a claim that
/// fills a slot of a scheme without points for that activity (a RISS course).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProposedClaim {
    pub scheme: String,
    pub activity_type: String,
    pub category: Option<String>,
    pub points: Option<Points>,
}

/// The claims of one activity, and what its schemes ask of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The activity type the credit itself is recorded with: the one that fills a slot when
    /// a claim does, else the first claim's.
    pub activity_type: String,
    pub claims: Vec<ProposedClaim>,
    /// Whether some scheme claimed toward reviews self-reported credits first.
    pub review_required: bool,
    /// Schemes whose activity type needs an evidence file, with the claim's index.
    pub evidence_required: Vec<(usize, String)>,
}

fn names<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    let all: Vec<&str> = ids.collect();
    if all.is_empty() {
        "none".to_owned()
    } else {
        all.join(", ")
    }
}

/// Builds the claims of one activity of `hours` toward the schemes in `held` (the rule
/// versions in force on its date, one per scheme the professional holds).
///
/// `requests = None` proposes a claim for every held scheme whose `[self_report]` names an
/// activity type; a scheme that names none (RISS) gets no claim. `Some` claims exactly the
/// schemes listed, completing each entry from the proposal. Errors name `claims[i].<field>`.
pub fn propose(
    held: &[&SchemeDefinition],
    hours: Points,
    requests: Option<&[ClaimRequest]>,
) -> Result<Proposal, Refusal> {
    let requests: Vec<ClaimRequest> = match requests {
        Some(list) => list.to_vec(),
        None => held
            .iter()
            .filter(|s| {
                s.self_report
                    .as_ref()
                    .is_some_and(|r| r.activity_type.is_some())
            })
            .map(|s| ClaimRequest {
                scheme: s.id.clone(),
                ..ClaimRequest::default()
            })
            .collect(),
    };
    let mut claims: Vec<ProposedClaim> = Vec::with_capacity(requests.len());
    let mut seen: BTreeSet<(String, Option<String>)> = BTreeSet::new();
    let mut types: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut slot_type: Option<(usize, String)> = None;
    for (i, request) in requests.iter().enumerate() {
        let at = |field: &str| format!("claims[{i}].{field}");
        let scheme_id = super::scheme::normalise_scheme_id(&request.scheme);
        let Some(scheme) = held.iter().find(|s| s.id == scheme_id) else {
            return Err(refuse(
                at("scheme"),
                format!(
                    "you hold no '{scheme_id}' certification (you hold: {})",
                    names(held.iter().map(|s| s.id.as_str()))
                ),
            ));
        };
        let kinds = || names(scheme.activity_types.iter().map(|t| t.id.as_str()));
        let activity_type = match request.activity_type.as_deref().map(str::trim) {
            Some(kind) if !kind.is_empty() => kind.to_owned(),
            _ => scheme
                .self_report
                .as_ref()
                .and_then(|r| r.activity_type.clone())
                .ok_or_else(|| {
                    refuse(
                        at("activity_type"),
                        format!(
                            "is required: scheme {scheme_id} proposes none; name one of: {}",
                            kinds()
                        ),
                    )
                })?,
        };
        let Some(kind) = scheme.activity_type(&activity_type) else {
            return Err(refuse(
                at("activity_type"),
                format!(
                    "scheme {scheme_id} has no activity type '{activity_type}' (it has: {})",
                    kinds()
                ),
            ));
        };
        let proposed_category = scheme
            .self_report
            .as_ref()
            .and_then(|r| r.category.clone())
            .filter(|c| scheme.place(&activity_type, c).is_ok());
        let fills_slot = scheme
            .slots
            .iter()
            .any(|slot| slot.activity_types.contains(&activity_type));
        let category = request
            .category
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        // A claim without points: the activity fills a slot of a scheme that counts none for
        // it (RISS courses).
        let slot_only =
            category.is_none() && request.points.is_none() && kind.category.is_none() && fills_slot;
        let claim = if scheme.categories.is_empty() || slot_only {
            if !fills_slot {
                return Err(refuse(
                    at("activity_type"),
                    format!(
                        "scheme {scheme_id} counts no points and '{activity_type}' fills none of its slots, so it would count for nothing"
                    ),
                ));
            }
            if let Some(category) = category {
                return Err(refuse(
                    at("category"),
                    format!(
                        "scheme {scheme_id} counts no points: leave out the category '{category}'"
                    ),
                ));
            }
            if request.points.is_some() {
                return Err(refuse(
                    at("points"),
                    format!("scheme {scheme_id} counts no points: leave them out"),
                ));
            }
            match &slot_type {
                Some((first, other)) if *other != activity_type => {
                    return Err(refuse(
                        at("activity_type"),
                        format!(
                            "one activity is one kind of course: claims[{first}] says '{other}', this one '{activity_type}'"
                        ),
                    ));
                }
                Some(_) => {}
                None => slot_type = Some((i, activity_type.clone())),
            }
            ProposedClaim {
                scheme: scheme_id.clone(),
                activity_type: activity_type.clone(),
                category: None,
                points: None,
            }
        } else {
            let category = match category {
                Some(c) => c.to_owned(),
                None => match (&kind.category, scheme.categories.as_slice()) {
                    (Some(bound), _) => bound.clone(),
                    (None, [only]) => only.id.clone(),
                    (None, _) if proposed_category.is_some() => {
                        proposed_category.clone().unwrap_or_default()
                    }
                    (None, _) => {
                        return Err(refuse(
                            at("category"),
                            format!(
                                "is required: scheme {scheme_id} has several (it has: {})",
                                names(scheme.categories.iter().map(|c| c.id.as_str()))
                            ),
                        ));
                    }
                },
            };
            if let Err(reason) = scheme.place(&activity_type, &category) {
                return Err(match reason {
                    Unplaceable::UnknownActivityType => refuse(
                        at("activity_type"),
                        format!("scheme {scheme_id} has no activity type '{activity_type}'"),
                    ),
                    Unplaceable::UnknownCategory => refuse(
                        at("category"),
                        format!(
                            "scheme {scheme_id} has no category '{category}' (it has: {})",
                            names(scheme.categories.iter().map(|c| c.id.as_str()))
                        ),
                    ),
                    Unplaceable::CategoryNotAllowed { allowed } => refuse(
                        at("category"),
                        format!(
                            "in scheme {scheme_id} the activity type '{activity_type}' counts only in '{allowed}', not '{category}'"
                        ),
                    ),
                });
            }
            let points = request.points.unwrap_or(hours);
            if !points.is_positive() || points > Points::whole(MAX_HOURS) {
                return Err(refuse(
                    at("points"),
                    format!("must be more than 0 and at most {MAX_HOURS}"),
                ));
            }
            ProposedClaim {
                scheme: scheme_id.clone(),
                activity_type: activity_type.clone(),
                category: Some(category),
                points: Some(points),
            }
        };
        if !seen.insert((scheme_id.clone(), claim.category.clone())) {
            return Err(refuse(
                at("scheme"),
                format!("scheme {scheme_id} is claimed twice for the same category"),
            ));
        }
        match types.get(&scheme_id) {
            Some((first, other)) if *other != activity_type => {
                return Err(refuse(
                    at("activity_type"),
                    format!(
                        "one activity has one activity type in scheme {scheme_id}: claims[{first}] says '{other}', this one '{activity_type}'"
                    ),
                ));
            }
            Some(_) => {}
            None => {
                types.insert(scheme_id.clone(), (i, activity_type.clone()));
            }
        }
        claims.push(claim);
    }
    let Some(first) = claims.first() else {
        return Err(refuse(
            "claims",
            format!(
                "the activity would count toward none of your certifications: name, per scheme, its activity type (you hold: {})",
                names(held.iter().map(|s| s.id.as_str()))
            ),
        ));
    };
    let activity_type = slot_type
        .map(|(_, kind)| kind)
        .unwrap_or_else(|| first.activity_type.clone());
    let scheme_of = |id: &str| held.iter().find(|s| s.id == id);
    let review_required = claims
        .iter()
        .any(|c| scheme_of(&c.scheme).is_none_or(|s| s.self_report_review() == Review::Required));
    let evidence_required = claims
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            scheme_of(&c.scheme)
                .and_then(|s| s.activity_type(&c.activity_type))
                .is_some_and(|t| t.evidence == Evidence::Required)
        })
        .map(|(i, c)| (i, c.scheme.clone()))
        .collect();
    Ok(Proposal {
        activity_type,
        claims,
        review_required,
        evidence_required,
    })
}

/// Why an activity counts for nothing toward one holding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NothingReason {
    /// The activity claims nothing in this holding's scheme.
    NotClaimed,
    /// The holding has no cycle on record.
    NoCycle,
    /// The date is in neither the current cycle nor the one before it.
    OutsideCycle,
    /// The scheme lets one activity of this type count toward only so many holdings, and it
    /// goes to those with an earlier deadline.
    CountsForN,
    /// A cap of the scheme is already reached by other credits.
    CapReached,
    /// Completed after the cycle's deadline.
    CompletedAfterDeadline,
    /// The engine would ignore the claim (an activity type or category of another scheme).
    NotPlaceable,
}

impl NothingReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotClaimed => "not_claimed",
            Self::NoCycle => "no_cycle",
            Self::OutsideCycle => "outside_cycle",
            Self::CountsForN => "counts_for_n",
            Self::CapReached => "cap_reached",
            Self::CompletedAfterDeadline => "completed_after_deadline",
            Self::NotPlaceable => "not_placeable",
        }
    }
}

/// What the activity would count for in one category of one holding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlacedClaim {
    pub category: String,
    /// Points claimed.
    pub claimed: Points,
    /// Points that would count after rounding and caps.
    pub counted: Points,
}

/// The activity as one holding would see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placement {
    pub holding_id: String,
    pub scheme_id: String,
    /// The activity type in this scheme's words; `None` when it claims nothing here.
    pub activity_type: Option<String>,
    pub claims: Vec<PlacedClaim>,
    /// Slots of the cycle this activity would fill.
    pub fills_slots: Vec<String>,
    /// Total points that would count.
    pub counted: Points,
    /// Why it would count for nothing here, when it would.
    pub nothing: Option<NothingReason>,
}

/// The id the draft activity goes by inside [`place`]: after every stored id of the same day,
/// as a newly recorded credit (a v7 UUID, the newest) would be.
pub const DRAFT_ID: &str = "~draft";

/// Where an activity completed on `completed_on` with `claims` would count among `holdings`
/// (of one or several schemes; holdings without a cycle are named in `without_cycle`), beside
/// the `ledger` they already count (each credit's claims per scheme, as standing reads them).
/// The draft is taken as approved: this is what it counts for once it does. `schemes` are the
/// rule versions the holdings' cycles are judged by.
pub fn place<S: std::borrow::Borrow<SchemeDefinition>>(
    holdings: &[HoldingCycle],
    without_cycle: &[(String, String)],
    ledger: &[MultiCredit],
    completed_on: NaiveDate,
    claims: &[ProposedClaim],
    schemes: &[S],
    as_of: NaiveDate,
) -> Vec<Placement> {
    let definition = |h: &HoldingCycle| {
        schemes
            .iter()
            .map(std::borrow::Borrow::borrow)
            .find(|s: &&SchemeDefinition| s.id == h.scheme_id && s.version == h.scheme_version)
            .or_else(|| {
                schemes
                    .iter()
                    .map(std::borrow::Borrow::borrow)
                    .find(|s: &&SchemeDefinition| s.id == h.scheme_id)
            })
    };
    let mut by_scheme: BTreeMap<&str, SchemeClaim> = BTreeMap::new();
    for claim in claims {
        let entry = by_scheme
            .entry(claim.scheme.as_str())
            .or_insert_with(|| SchemeClaim {
                scheme_id: claim.scheme.clone(),
                activity_type: claim.activity_type.clone(),
                claims: Vec::new(),
            });
        if let (Some(category), Some(points)) = (&claim.category, claim.points) {
            entry.claims.push(Claim {
                category: category.clone(),
                points,
            });
        }
    }
    let draft = MultiCredit {
        id: DRAFT_ID.to_owned(),
        completed_on,
        state: CreditState::Approved,
        schemes: by_scheme.values().cloned().collect(),
    };
    let mut all: Vec<MultiCredit> = ledger.to_vec();
    all.push(draft.clone());
    let allocated = allocate(holdings, &all, schemes);

    let mut out = Vec::with_capacity(holdings.len() + without_cycle.len());
    for holding in holdings {
        let own = by_scheme.get(holding.scheme_id.as_str());
        let mut placement = Placement {
            holding_id: holding.holding_id.clone(),
            scheme_id: holding.scheme_id.clone(),
            activity_type: own.map(|c| c.activity_type.clone()),
            claims: Vec::new(),
            fills_slots: Vec::new(),
            counted: Points::ZERO,
            nothing: None,
        };
        let entries = allocated
            .get(&holding.holding_id)
            .map_or(&[][..], Vec::as_slice);
        let given = entries.iter().any(|e| e.id == DRAFT_ID);
        placement.nothing = match (own, definition(holding)) {
            (None, _) => Some(NothingReason::NotClaimed),
            // Counting toward the previous cycle is not this cycle's business.
            (Some(_), _) if !holding.cycle.contains(completed_on) => {
                Some(NothingReason::OutsideCycle)
            }
            (Some(_), _) if !given => Some(NothingReason::CountsForN),
            (Some(_), None) => Some(NothingReason::NotPlaceable),
            (Some(_), Some(scheme)) => {
                let standing = evaluate(&StandingInput {
                    scheme,
                    cycle: holding.cycle,
                    previous_cycle: holding.previous_cycle,
                    credits: entries,
                    as_of: as_of.max(completed_on),
                });
                for counted in standing
                    .counted_claims
                    .iter()
                    .filter(|c| c.credit_id == DRAFT_ID)
                {
                    placement.counted += counted.counted;
                    placement.claims.push(PlacedClaim {
                        category: counted.category.clone(),
                        claimed: counted.claimed,
                        counted: counted.counted,
                    });
                }
                placement.fills_slots = standing
                    .slots
                    .iter()
                    .filter(|s| s.filled_by.as_deref() == Some(DRAFT_ID))
                    .map(|s| s.slot.clone())
                    .collect();
                let ignored = standing
                    .ignored
                    .iter()
                    .find(|i| i.credit_id == DRAFT_ID)
                    .map(|i| i.reason);
                if placement.counted.is_positive() || !placement.fills_slots.is_empty() {
                    None
                } else {
                    Some(match ignored {
                        Some(IgnoredReason::CompletedAfterDeadline) => {
                            NothingReason::CompletedAfterDeadline
                        }
                        Some(_) => NothingReason::NotPlaceable,
                        None if !placement.claims.is_empty() => NothingReason::CapReached,
                        None => NothingReason::NotPlaceable,
                    })
                }
            }
        };
        out.push(placement);
    }
    for (holding_id, scheme_id) in without_cycle {
        out.push(Placement {
            holding_id: holding_id.clone(),
            scheme_id: scheme_id.clone(),
            activity_type: by_scheme
                .get(scheme_id.as_str())
                .map(|c| c.activity_type.clone()),
            claims: Vec::new(),
            fills_slots: Vec::new(),
            counted: Points::ZERO,
            nothing: Some(NothingReason::NoCycle),
        });
    }
    out
}

#[cfg(test)]
mod tests;
