//! The reminder digest: one email per person per sweep, one section per certification that
//! needs attention, each listing why (its reasons) and the person's own numbers.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::domain::reminders::Reason;

/// The name a queued reminder notification stores, and its template folder.
pub const NAME: &str = "reminder";

/// What `emails/reminder/<locale>/…` is rendered from. Stored as the notification's payload,
/// so it holds text already written for the reader (dates in their locale).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReminderEmail {
    /// The person's display name (or legal name).
    pub name: Option<String>,
    /// Their dashboard.
    pub dashboard_link: String,
    pub certifications: Vec<CertificationReminder>,
    /// The unsubscribe links, signed when the email is rendered for sending (the queued
    /// payload has none); `None` for an email that carries only the lapse notice.
    #[serde(default)]
    pub unsubscribe: Option<UnsubscribeLinks>,
}

/// Where a reader stops reminders (RFC 8058 one-click links, and their confirmation page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnsubscribeLinks {
    /// Stops every reason this email is about: the `List-Unsubscribe` header's link.
    pub all: String,
    /// One link per reason in the email, in section order.
    pub each: Vec<ReasonLink>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReasonLink {
    pub reason: Reason,
    pub link: String,
}

/// One certification in the digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificationReminder {
    /// The scheme's name in the reader's language (`CISSP`, `情報処理安全確保支援士`).
    pub scheme: String,
    pub registration_number: String,
    /// Why this certification is in the email, in section order.
    pub reasons: Vec<Reason>,
    /// The last day the certification is valid (the cycle's exclusive end minus one day).
    pub last_valid_day: String,
    /// The day by which the renewal must be complete.
    pub deadline: String,
    /// Days from the sweep's date to the deadline; negative once past.
    pub days_left: i64,
    /// The last day of the grace period.
    pub grace_until: String,
    /// Whether the scheme counts points at all (RISS does not: it is made of courses).
    pub counts_points: bool,
    pub required: String,
    pub counted: String,
    pub missing: String,
    /// Categories with a minimum or some points, each with what is still missing.
    pub categories: Vec<CategoryLine>,
    /// Cycle years whose minimum is still open and ends soon.
    pub years: Vec<YearLine>,
    /// Required courses not yet taken.
    pub unmet_slots: Vec<SlotLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryLine {
    pub name: String,
    pub counted: String,
    pub minimum: Option<String>,
    /// Points still missing toward the minimum; `None` when there is none or it is met.
    pub missing: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YearLine {
    pub year: u32,
    /// The year's last day.
    pub last_day: String,
    pub counted: String,
    pub minimum: String,
    pub missing: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotLine {
    pub name: String,
    /// Cycle year for a course due every year.
    pub year: Option<u32>,
    /// Last day on which taking it counts.
    pub due_by: String,
}

/// A date as a reader in `locale` writes it.
pub fn local_date(date: NaiveDate, locale: &str) -> String {
    if locale == "en" {
        date.format("%-d %B %Y").to_string()
    } else {
        date.format("%Y年%-m月%-d日").to_string()
    }
}

/// A digest with one sample certification in for `reason`, for previews and template tests.
pub fn sample(reason: Reason, locale: &str, dashboard_link: &str) -> ReminderEmail {
    let en = locale == "en";
    let date = |y, m, d| {
        NaiveDate::from_ymd_opt(y, m, d).map_or_else(String::new, |day| local_date(day, locale))
    };
    let riss = reason == Reason::Slot;
    let certification = CertificationReminder {
        scheme: match (riss, en) {
            (true, true) => "Registered Information Security Specialist".to_owned(),
            (true, false) => "情報処理安全確保支援士".to_owned(),
            (false, true) => "Certified Information Systems Security Professional".to_owned(),
            (false, false) => "CISSP（公認情報システムセキュリティプロフェッショナル）".to_owned(),
        },
        registration_number: if riss { "012345" } else { "654321" }.to_owned(),
        reasons: vec![reason],
        last_valid_day: date(2026, 9, 30),
        deadline: date(2026, 9, 30),
        days_left: match reason {
            Reason::Due => -14,
            Reason::Lapsed => -104,
            Reason::Complete => 120,
            _ => 30,
        },
        grace_until: date(2026, 12, 29),
        counts_points: !riss,
        required: "120".to_owned(),
        counted: if reason == Reason::Complete {
            "124"
        } else {
            "85.5"
        }
        .to_owned(),
        missing: if reason == Reason::Complete {
            "0"
        } else {
            "34.5"
        }
        .to_owned(),
        categories: if riss {
            Vec::new()
        } else {
            vec![
                CategoryLine {
                    name: if en {
                        "Group A (domain-related)"
                    } else {
                        "グループA（ドメイン関連）"
                    }
                    .to_owned(),
                    counted: "70.5".to_owned(),
                    minimum: Some("90".to_owned()),
                    missing: (reason != Reason::Complete).then(|| "19.5".to_owned()),
                },
                CategoryLine {
                    name: if en {
                        "Group B (professional development)"
                    } else {
                        "グループB（自己研鑽）"
                    }
                    .to_owned(),
                    counted: "15".to_owned(),
                    minimum: None,
                    missing: None,
                },
            ]
        },
        years: if reason == Reason::YearMinimum {
            vec![YearLine {
                year: 3,
                last_day: date(2026, 9, 30),
                counted: "12".to_owned(),
                minimum: "40".to_owned(),
                missing: "28".to_owned(),
            }]
        } else {
            Vec::new()
        },
        unmet_slots: if riss {
            vec![
                SlotLine {
                    name: if en {
                        "IPA online course"
                    } else {
                        "IPAのオンライン講習"
                    }
                    .to_owned(),
                    year: Some(3),
                    due_by: date(2026, 3, 31),
                },
                SlotLine {
                    name: if en {
                        "Practical course"
                    } else {
                        "実践講習"
                    }
                    .to_owned(),
                    year: None,
                    due_by: date(2026, 7, 31),
                },
            ]
        } else {
            Vec::new()
        },
    };
    let unsubscribe = (reason != Reason::Lapsed).then(|| {
        let base = dashboard_link.split('?').next().unwrap_or(dashboard_link);
        let link = format!("{}/unsubscribe?token=sample", base.trim_end_matches('/'));
        UnsubscribeLinks {
            all: link.clone(),
            each: vec![ReasonLink { reason, link }],
        }
    });
    ReminderEmail {
        name: Some(if en { "Hanako Yamada" } else { "山田 花子" }.to_owned()),
        dashboard_link: dashboard_link.to_owned(),
        certifications: vec![certification],
        unsubscribe,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::{Email, render};
    use crate::templates::{LOCALES, Templates};

    /// Every reason's section in both languages, with dates and links redacted so the snapshot
    /// shows the wording.
    #[test]
    fn every_reminder_section_renders_in_both_languages() {
        let templates = Templates::load(None).expect("embedded templates");
        for reason in Reason::ALL {
            for locale in LOCALES {
                let email =
                    Email::Reminder(sample(reason, locale, "https://ledger.example/?x=1&y=2"));
                let mail = render(&templates, &email, locale)
                    .unwrap_or_else(|e| panic!("{reason:?} in {locale}: {e}"));
                assert!(mail.html.contains("x=1&amp;y=2"), "{}", mail.html);
                let all = format!(
                    "subject: {}\n--- text ---\n{}\n--- html ---\n{}",
                    mail.subject, mail.text, mail.html
                );
                insta::with_settings!({filters => vec![
                    (r"\d{4}年\d{1,2}月\d{1,2}日", "[date]"),
                    (r"\d{1,2} (January|February|March|April|May|June|July|August|September|October|November|December) \d{4}", "[date]"),
                    (r"https:(//|&#x2f;&#x2f;)ledger\.example[^\s\x22<]*", "[link]"),
                ]}, {
                    insta::assert_snapshot!(format!("reminder_{}_{locale}", reason.as_str()), all);
                });
            }
        }
    }

    #[test]
    fn a_digest_with_two_certifications_names_the_count_in_its_subject() {
        let templates = Templates::load(None).expect("embedded templates");
        let mut email = sample(Reason::Approaching, "en", "https://ledger.example/");
        let mut other = email.certifications[0].clone();
        other.registration_number = "999999".to_owned();
        other.reasons = vec![Reason::Lapsed];
        email.certifications.push(other);
        let mail = render(&templates, &Email::Reminder(email), "en").expect("renders");
        assert_eq!(
            mail.subject,
            "[cpe-ledger] 2 certifications need your attention"
        );
        assert!(mail.text.contains("No. 654321") && mail.text.contains("No. 999999"));
        assert!(mail.text.contains("has lapsed"));
        assert!(mail.text.contains("in 30 days"));
    }
}
