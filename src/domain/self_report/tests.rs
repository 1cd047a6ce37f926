#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use chrono::NaiveDate;

use super::*;
use crate::domain::standing::CyclePeriod;

fn d(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn schemes() -> Vec<SchemeDefinition> {
    crate::domain::scheme::builtin_schemes().unwrap()
}

fn held<'a>(all: &'a [SchemeDefinition], ids: &[&str]) -> Vec<&'a SchemeDefinition> {
    ids.iter()
        .map(|id| all.iter().find(|s| s.id == *id).unwrap())
        .collect()
}

fn holding(id: &str, scheme_id: &str, version: &str, starts_on: &str) -> HoldingCycle {
    let start = d(starts_on);
    HoldingCycle {
        holding_id: id.to_owned(),
        scheme_id: scheme_id.to_owned(),
        scheme_version: version.to_owned(),
        cycle: CyclePeriod {
            starts_on: start,
            ends_on: start + chrono::Months::new(36),
        },
        previous_cycle: None,
    }
}

fn request(scheme: &str) -> ClaimRequest {
    ClaimRequest {
        scheme: scheme.to_owned(),
        ..ClaimRequest::default()
    }
}

#[test]
fn an_eight_hour_course_is_proposed_in_each_schemes_own_words_at_a_point_an_hour() {
    let all = schemes();
    let proposal = propose(
        &held(&all, &["cissp", "cisa", "riss"]),
        Points::whole(8),
        None,
    )
    .unwrap();
    let claims: Vec<(&str, &str, Option<&str>, Option<Points>)> = proposal
        .claims
        .iter()
        .map(|c| {
            (
                c.scheme.as_str(),
                c.activity_type.as_str(),
                c.category.as_deref(),
                c.points,
            )
        })
        .collect();
    // RISS proposes nothing: only its named courses fill its slots.
    assert_eq!(
        claims,
        [
            (
                "cissp",
                "education",
                Some("group_a"),
                Some(Points::whole(8))
            ),
            ("cisa", "training", Some("cpe"), Some(Points::whole(8))),
        ]
    );
    assert_eq!(proposal.activity_type, "education");
    // CISSP and CISA audit afterwards; CISA's training needs a file.
    assert!(!proposal.review_required);
    assert_eq!(proposal.evidence_required, [(1, "cisa".to_owned())]);
}

#[test]
fn a_riss_course_named_by_the_professional_is_a_claim_without_points_that_waits_for_review() {
    let all = schemes();
    let proposal = propose(
        &held(&all, &["riss", "cissp"]),
        Points::whole(2),
        Some(&[
            ClaimRequest {
                activity_type: Some("ipa_online_course".into()),
                ..request("riss")
            },
            request("cissp"),
        ]),
    )
    .unwrap();
    assert_eq!(proposal.activity_type, "ipa_online_course");
    assert_eq!(proposal.claims[0].category, None);
    assert_eq!(proposal.claims[0].points, None);
    assert_eq!(proposal.claims[1].points, Some(Points::whole(2)));
    assert!(proposal.review_required);
}

#[test]
fn what_a_scheme_cannot_place_is_refused_naming_the_claim_and_field() {
    let all = schemes();
    let held = held(&all, &["cissp", "cisa", "riss"]);
    let cases: Vec<(Vec<ClaimRequest>, &str, &str)> = vec![
        (vec![request("giac")], "claims[0].scheme", "no 'giac'"),
        (
            vec![
                request("cissp"),
                ClaimRequest {
                    category: Some("group_a".into()),
                    ..request("cisa")
                },
            ],
            "claims[1].category",
            "no category 'group_a'",
        ),
        (
            vec![ClaimRequest {
                activity_type: Some("training".into()),
                ..request("cissp")
            }],
            "claims[0].activity_type",
            "no activity type 'training'",
        ),
        (
            vec![ClaimRequest {
                activity_type: Some("professional_development".into()),
                category: Some("group_a".into()),
                ..request("cissp")
            }],
            "claims[0].category",
            "only in 'group_b'",
        ),
        (
            vec![ClaimRequest {
                points: Some(Points::ZERO),
                ..request("cisa")
            }],
            "claims[0].points",
            "more than 0",
        ),
        (
            vec![request("riss")],
            "claims[0].activity_type",
            "proposes none",
        ),
        (
            vec![ClaimRequest {
                activity_type: Some("ipa_online_course".into()),
                category: Some("cpe".into()),
                ..request("riss")
            }],
            "claims[0].category",
            "counts no points",
        ),
        (vec![], "claims", "none of your certifications"),
    ];
    for (requests, field, words) in cases {
        let refusal = propose(&held, Points::whole(8), Some(&requests)).unwrap_err();
        assert_eq!(refusal.field, field, "{requests:?}: {refusal:?}");
        assert!(refusal.message.contains(words), "{refusal:?}");
    }
}

#[test]
fn one_course_counts_toward_a_cissp_and_a_cisa_holding_under_each_schemes_own_type() {
    let all = schemes();
    let proposal = propose(&held(&all, &["cissp", "cisa"]), Points::whole(8), None).unwrap();
    let holdings = [
        holding("h-cissp", "cissp", "2024", "2025-01-01"),
        holding("h-cisa", "cisa", "2024", "2025-01-01"),
    ];
    let placed = place(
        &holdings,
        &[],
        &[],
        d("2025-05-10"),
        &proposal.claims,
        &all,
        d("2025-06-01"),
    );
    let summary: Vec<(&str, Option<&str>, Points, Option<NothingReason>)> = placed
        .iter()
        .map(|p| {
            (
                p.holding_id.as_str(),
                p.activity_type.as_deref(),
                p.counted,
                p.nothing,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("h-cissp", Some("education"), Points::whole(8), None),
            ("h-cisa", Some("training"), Points::whole(8), None),
        ]
    );
    assert_eq!(placed[0].claims[0].category, "group_a");
    assert_eq!(placed[1].claims[0].category, "cpe");
}

#[test]
fn other_training_counts_toward_one_giac_holding_only_the_earliest_deadline() {
    let all = schemes();
    let proposal = propose(&held(&all, &["giac"]), Points::whole(6), None).unwrap();
    let mut gcih = holding("gcih", "giac", "2024", "2024-03-01");
    gcih.cycle.ends_on = d("2028-03-01");
    let mut gpen = holding("gpen", "giac", "2024", "2024-09-01");
    gpen.cycle.ends_on = d("2028-09-01");
    let placed = place(
        &[gpen, gcih],
        &[],
        &[],
        d("2025-05-10"),
        &proposal.claims,
        &all,
        d("2025-06-01"),
    );
    let by_id = |id: &str| placed.iter().find(|p| p.holding_id == id).unwrap();
    assert_eq!(by_id("gcih").counted, Points::whole(6));
    assert_eq!(by_id("gcih").nothing, None);
    assert_eq!(by_id("gpen").counted, Points::ZERO);
    assert_eq!(by_id("gpen").nothing, Some(NothingReason::CountsForN));
}

#[test]
fn a_holding_gets_nothing_for_a_scheme_not_claimed_a_date_outside_its_cycle_or_a_full_cap() {
    let all = schemes();
    let proposal = propose(
        &held(&all, &["cissp", "cisa"]),
        Points::whole(10),
        Some(&[ClaimRequest {
            activity_type: Some("professional_development".into()),
            ..request("cissp")
        }]),
    )
    .unwrap();
    assert_eq!(proposal.claims[0].category.as_deref(), Some("group_b"));
    // Group B is capped at 30 per cycle; 30 already count.
    let earlier = MultiCredit {
        id: "earlier".into(),
        completed_on: d("2025-02-01"),
        state: CreditState::Approved,
        schemes: vec![SchemeClaim {
            scheme_id: "cissp".into(),
            activity_type: "professional_development".into(),
            claims: vec![Claim {
                category: "group_b".into(),
                points: Points::whole(30),
            }],
        }],
    };
    let holdings = [
        holding("h-cissp", "cissp", "2024", "2025-01-01"),
        holding("h-cisa", "cisa", "2024", "2025-01-01"),
        holding("h-late", "cissp", "2024", "2025-06-01"),
    ];
    let placed = place(
        &holdings,
        &[("h-none".into(), "cissp".into())],
        &[earlier],
        d("2025-05-10"),
        &proposal.claims,
        &all,
        d("2025-06-01"),
    );
    let reasons: Vec<(&str, Option<NothingReason>)> = placed
        .iter()
        .map(|p| (p.holding_id.as_str(), p.nothing))
        .collect();
    assert_eq!(
        reasons,
        [
            ("h-cissp", Some(NothingReason::CapReached)),
            ("h-cisa", Some(NothingReason::NotClaimed)),
            ("h-late", Some(NothingReason::OutsideCycle)),
            ("h-none", Some(NothingReason::NoCycle)),
        ]
    );
    assert_eq!(placed[0].claims[0].claimed, Points::whole(10));
    assert_eq!(placed[0].claims[0].counted, Points::ZERO);
}
