//! The demo data set `serve --demo` seeds: a few course providers and their catalogues, and four
//! professionals whose histories put one certification each in a state worth seeing (on track,
//! at risk, a RISS course slot missing, complete), with a login each.
//!
//! Everything is written through the services real use goes through: providers and their
//! accreditations, the course catalogue, the registry import (holdings and cycles), account
//! invitation and activation, provider-reported attendance and a self-reported activity. Dates
//! are counted back from today, so a freshly seeded ledger always shows the same picture.
//!
//! Seeding is idempotent: once every demo account exists and is activated, a second run writes
//! nothing and only reads the standings back. A ledger with professionals of its own is refused,
//! since inviting holders would invite them too.

use chrono::{Datelike, Months, NaiveDate, TimeDelta};
use entity::{courses as course_rows, credits, professionals, providers as provider_rows, users};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use crate::domain::points::Points;
use crate::domain::self_report::ClaimRequest;
use crate::domain::standing::StandingState;
use crate::services::attendance::{self, AttendanceRow, Completion, PersonRef, RowOutcome};
use crate::services::audit::Actor;
use crate::services::courses::{self, Award, CourseInput, Delivery, Fee};
use crate::services::schemes::SchemeCatalog;
use crate::services::{accounts, links, providers, registry_import, self_report, standing};

/// The password of every demo account (printed with the logins; a demo ledger is not for
/// real people).
pub const DEMO_PASSWORD: &str = "demo-ledger-2026";

/// Who the demo data is recorded by in the audit log.
const DEMO_ACTOR: &str = "demo";

/// A seeding step that a service refused; the demo data is wrong, or the ledger is not empty.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "--demo seeds only a ledger without holders of its own, and this one has {0} \
         professionals that are not demo data: serve it without --demo, or use another \
         CPE_LEDGER_DATA_DIR / CPE_LEDGER_DATABASE_URL"
    )]
    NotADemoLedger(u64),
    #[error("demo data, {step}: {detail}")]
    Refused { step: String, detail: String },
    #[error(transparent)]
    Db(#[from] DbErr),
}

fn refused(step: impl Into<String>, detail: impl std::fmt::Display) -> DemoError {
    DemoError::Refused {
        step: step.into(),
        detail: detail.to_string(),
    }
}

/// One demo professional's login and what their certifications show today.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub email: &'static str,
    pub password: &'static str,
    pub display_name: &'static str,
    /// What this person is in the demo for, e.g. "at risk".
    pub shows: &'static str,
    pub standings: Vec<DemoStanding>,
}

/// One holding of a demo professional and its state today.
#[derive(Debug, Clone)]
pub struct DemoStanding {
    pub scheme: String,
    pub registration_number: String,
    pub state: StandingState,
    /// Ids of the required course slots still open (RISS).
    pub unmet_slots: Vec<String>,
}

/// What [`seed`] did.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// `false` when the demo data was already there and nothing was written.
    pub wrote: bool,
    pub logins: Vec<DemoLogin>,
}

struct Person {
    email: &'static str,
    legal_name: &'static str,
    kana: &'static str,
    display_name: &'static str,
    locale: &'static str,
    shows: &'static str,
    holdings: &'static [Holding],
}

struct Holding {
    scheme: &'static str,
    registration_number: &'static str,
    /// The current cycle began on the first of the month this many months ago.
    cycle_began_months_ago: u32,
    /// Renewed before: first certified one cycle (this many months) before the current one.
    certified_months_earlier: u32,
}

struct Provider {
    name: &'static str,
    contact_email: &'static str,
    schemes: &'static [&'static str],
    courses: &'static [Course],
}

struct Course {
    code: &'static str,
    title_en: &'static str,
    title_ja: &'static str,
    hours: i64,
    delivery: Delivery,
    fee_jpy: Option<&'static str>,
    /// The days it is next held, counted from today; none for a course taken on demand.
    sessions_in_days: &'static [i64],
    /// `(scheme, activity type, category, points)`; RISS awards have no category.
    awards: &'static [(&'static str, &'static str, Option<&'static str>, i64)],
}

/// A course attended: who (by email), which course, how many days before today.
struct Attended {
    email: &'static str,
    provider: usize,
    course: &'static str,
    days_ago: i64,
}

const PEOPLE: [Person; 4] = [
    Person {
        email: "aoi.tanaka@demo.example.org",
        legal_name: "田中 葵",
        kana: "タナカ アオイ",
        display_name: "Aoi Tanaka",
        locale: "en",
        shows: "on track",
        holdings: &[
            Holding {
                scheme: "cissp",
                registration_number: "910001",
                cycle_began_months_ago: 14,
                certified_months_earlier: 36,
            },
            Holding {
                scheme: "cisa",
                registration_number: "9100021",
                cycle_began_months_ago: 10,
                certified_months_earlier: 0,
            },
        ],
    },
    Person {
        email: "kenji.suzuki@demo.example.org",
        legal_name: "鈴木 健二",
        kana: "スズキ ケンジ",
        display_name: "鈴木 健二",
        locale: "ja",
        shows: "at risk",
        holdings: &[Holding {
            scheme: "cisa",
            registration_number: "9100031",
            cycle_began_months_ago: 20,
            certified_months_earlier: 36,
        }],
    },
    Person {
        email: "yui.takahashi@demo.example.org",
        legal_name: "高橋 結衣",
        kana: "タカハシ ユイ",
        display_name: "高橋 結衣",
        locale: "ja",
        shows: "RISS slot missing",
        holdings: &[Holding {
            scheme: "riss",
            registration_number: "091004",
            cycle_began_months_ago: 26,
            certified_months_earlier: 0,
        }],
    },
    Person {
        email: "ren.ito@demo.example.org",
        legal_name: "伊藤 蓮",
        kana: "イトウ レン",
        display_name: "Ren Ito",
        locale: "en",
        shows: "complete",
        holdings: &[
            Holding {
                scheme: "comptia-secplus",
                registration_number: "COMP-910005",
                cycle_began_months_ago: 18,
                certified_months_earlier: 0,
            },
            Holding {
                scheme: "giac",
                registration_number: "910006",
                cycle_began_months_ago: 6,
                certified_months_earlier: 48,
            },
        ],
    },
];

const PROVIDERS: [Provider; 3] = [
    Provider {
        name: "Sakura Security Academy (demo)",
        contact_email: "courses@sakura-academy.demo.example.org",
        schemes: &["cissp", "cisa", "comptia-secplus", "giac"],
        courses: &[
            Course {
                code: "SSA-IR101",
                title_en: "Incident response fundamentals",
                title_ja: "インシデント対応の基礎",
                hours: 8,
                delivery: Delivery::Classroom,
                fee_jpy: Some("60000"),
                sessions_in_days: &[28, 91],
                awards: &[
                    ("cissp", "education", Some("group_a"), 8),
                    ("cisa", "training", Some("cpe"), 8),
                ],
            },
            Course {
                code: "SSA-CLD201",
                title_en: "Cloud security architecture",
                title_ja: "クラウドセキュリティ設計",
                hours: 16,
                delivery: Delivery::Online,
                fee_jpy: Some("98000"),
                sessions_in_days: &[35, 70, 126],
                awards: &[
                    ("cissp", "education", Some("group_a"), 16),
                    ("cisa", "training", Some("cpe"), 16),
                    ("comptia-secplus", "training_course", Some("ceu"), 16),
                ],
            },
            Course {
                code: "SSA-TM110",
                title_en: "Threat modelling workshop",
                title_ja: "脅威モデリング演習",
                hours: 12,
                delivery: Delivery::Classroom,
                fee_jpy: Some("72000"),
                sessions_in_days: &[49],
                awards: &[
                    ("cissp", "education", Some("group_a"), 12),
                    ("giac", "other_infosec_training", Some("cpe"), 12),
                ],
            },
            Course {
                code: "SSA-ITGC150",
                title_en: "Auditing IT general controls",
                title_ja: "IT全般統制の監査",
                hours: 12,
                delivery: Delivery::Online,
                fee_jpy: Some("66000"),
                sessions_in_days: &[40, 100],
                awards: &[("cisa", "training", Some("cpe"), 12)],
            },
            Course {
                code: "SSA-SECP300",
                title_en: "Security+ exam objectives bootcamp",
                title_ja: "Security+ 試験範囲ブートキャンプ",
                hours: 30,
                delivery: Delivery::Classroom,
                fee_jpy: Some("150000"),
                sessions_in_days: &[60],
                awards: &[("comptia-secplus", "training_course", Some("ceu"), 30)],
            },
            Course {
                code: "SSA-SSD220",
                title_en: "Secure software development",
                title_ja: "セキュアソフトウェア開発",
                hours: 24,
                delivery: Delivery::OnDemand,
                fee_jpy: Some("45000"),
                sessions_in_days: &[],
                awards: &[
                    ("cissp", "education", Some("group_a"), 24),
                    ("cisa", "training", Some("cpe"), 24),
                    ("comptia-secplus", "training_course", Some("ceu"), 24),
                ],
            },
            Course {
                code: "SSA-AUD400",
                title_en: "IT audit practitioner programme",
                title_ja: "IT監査実務プログラム",
                hours: 40,
                delivery: Delivery::Classroom,
                fee_jpy: Some("240000"),
                sessions_in_days: &[21, 84],
                awards: &[("cisa", "training", Some("cpe"), 40)],
            },
            Course {
                code: "SSA-CTI310",
                title_en: "Cyber threat intelligence in practice",
                title_ja: "実践サイバー脅威インテリジェンス",
                hours: 8,
                delivery: Delivery::Online,
                fee_jpy: Some("58000"),
                sessions_in_days: &[14, 56, 98],
                awards: &[
                    ("cissp", "education", Some("group_a"), 8),
                    ("cisa", "training", Some("cpe"), 8),
                    ("giac", "other_infosec_training", Some("cpe"), 8),
                ],
            },
        ],
    },
    Provider {
        name: "IPA RISS courses (demo)",
        contact_email: "riss-courses@demo.example.org",
        schemes: &["riss"],
        courses: &[
            Course {
                code: "IPA-ONLINE",
                title_en: "IPA online course (yearly)",
                title_ja: "IPAオンライン講習（年次）",
                hours: 6,
                delivery: Delivery::OnDemand,
                fee_jpy: Some("20000"),
                sessions_in_days: &[],
                awards: &[("riss", "ipa_online_course", None, 0)],
            },
            Course {
                code: "IPA-PRACTICAL-IR",
                title_en: "IPA practical course: incident handling",
                title_ja: "IPA実践講習（インシデントハンドリング）",
                hours: 6,
                delivery: Delivery::Classroom,
                fee_jpy: Some("80000"),
                sessions_in_days: &[30, 75, 140],
                awards: &[("riss", "ipa_practical_course", None, 0)],
            },
        ],
    },
    Provider {
        name: "Kanda Security Institute (demo)",
        contact_email: "info@kanda-institute.demo.example.org",
        schemes: &["riss", "cissp"],
        courses: &[Course {
            code: "KSI-TK01",
            title_en: "Specified course: secure system design",
            title_ja: "特定講習：セキュアシステム設計",
            hours: 14,
            delivery: Delivery::Online,
            fee_jpy: Some("110000"),
            sessions_in_days: &[45, 120],
            awards: &[
                ("riss", "tokutei_koshu", None, 0),
                ("cissp", "education", Some("group_a"), 14),
            ],
        }],
    },
];

/// The attendance providers report. Aoi is ahead of a linear pace in CISSP and CISA; Kenji met
/// CISA's first-year minimum and then fell behind; Yui took the IPA online course in the first
/// two years of her RISS cycle but not yet in the third, nor a practical course; Ren has the
/// 50 CEU Security+ asks for, and a start on GIAC.
const ATTENDED: [Attended; 13] = [
    Attended {
        email: "aoi.tanaka@demo.example.org",
        provider: 0,
        course: "SSA-IR101",
        days_ago: 400,
    },
    Attended {
        email: "aoi.tanaka@demo.example.org",
        provider: 0,
        course: "SSA-CLD201",
        days_ago: 280,
    },
    Attended {
        email: "aoi.tanaka@demo.example.org",
        provider: 0,
        course: "SSA-TM110",
        days_ago: 180,
    },
    Attended {
        email: "aoi.tanaka@demo.example.org",
        provider: 0,
        course: "SSA-ITGC150",
        days_ago: 100,
    },
    Attended {
        email: "aoi.tanaka@demo.example.org",
        provider: 0,
        course: "SSA-SSD220",
        days_ago: 60,
    },
    Attended {
        email: "kenji.suzuki@demo.example.org",
        provider: 0,
        course: "SSA-ITGC150",
        days_ago: 560,
    },
    Attended {
        email: "kenji.suzuki@demo.example.org",
        provider: 0,
        course: "SSA-CLD201",
        days_ago: 500,
    },
    Attended {
        email: "kenji.suzuki@demo.example.org",
        provider: 0,
        course: "SSA-IR101",
        days_ago: 120,
    },
    Attended {
        email: "yui.takahashi@demo.example.org",
        provider: 1,
        course: "IPA-ONLINE",
        days_ago: 700,
    },
    Attended {
        email: "yui.takahashi@demo.example.org",
        provider: 1,
        course: "IPA-ONLINE",
        days_ago: 340,
    },
    Attended {
        email: "ren.ito@demo.example.org",
        provider: 0,
        course: "SSA-SECP300",
        days_ago: 420,
    },
    Attended {
        email: "ren.ito@demo.example.org",
        provider: 0,
        course: "SSA-SSD220",
        days_ago: 150,
    },
    Attended {
        email: "ren.ito@demo.example.org",
        provider: 0,
        course: "SSA-TM110",
        days_ago: 45,
    },
];

/// Aoi's own report of a chapter meeting: a self-reported CISSP credit beside the providers'.
const SELF_REPORT_TITLE: &str = "ISC2 chapter meeting: ransomware tabletop";

/// The emails of the demo professionals.
pub fn demo_emails() -> impl Iterator<Item = &'static str> {
    PEOPLE.iter().map(|p| p.email)
}

/// Today for the demo: every demo professional lives in Asia/Tokyo.
fn demo_today() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .date_naive()
}

/// The first of the month `months` months before `today`'s month.
fn first_of_month_before(today: NaiveDate, months: u32) -> NaiveDate {
    let first = today.with_day(1).unwrap_or(today);
    first
        .checked_sub_months(Months::new(months))
        .unwrap_or(first)
}

/// Seeds the demo data set unless it is already there, and reads back each demo
/// professional's standings.
pub async fn seed(db: &DatabaseConnection, catalog: &SchemeCatalog) -> Result<Seeded, DemoError> {
    let wrote = if already_seeded(db).await? {
        false
    } else {
        refuse_a_ledger_of_real_people(db).await?;
        write(db, catalog).await?;
        true
    };
    Ok(Seeded {
        wrote,
        logins: logins(db, catalog).await?,
    })
}

/// Every demo account exists and is activated: the last step of seeding has run.
async fn already_seeded(db: &DatabaseConnection) -> Result<bool, DbErr> {
    let activated = users::Entity::find()
        .filter(users::Column::Email.is_in(demo_emails()))
        .filter(users::Column::ActivatedAt.is_not_null())
        .filter(users::Column::ProfessionalId.is_not_null())
        .count(db)
        .await?;
    Ok(activated == PEOPLE.len() as u64)
}

async fn refuse_a_ledger_of_real_people(db: &DatabaseConnection) -> Result<(), DemoError> {
    let others = professionals::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(professionals::Column::Email.is_null())
                .add(professionals::Column::Email.is_not_in(demo_emails())),
        )
        .count(db)
        .await?;
    if others > 0 {
        return Err(DemoError::NotADemoLedger(others));
    }
    Ok(())
}

async fn write(db: &DatabaseConnection, catalog: &SchemeCatalog) -> Result<(), DemoError> {
    let actor = Actor::cli(DEMO_ACTOR);
    let today = demo_today();
    let mut provider_ids = Vec::new();
    for provider in &PROVIDERS {
        provider_ids.push(provider_with_courses(db, catalog, &actor, provider, today).await?);
    }
    import_registry(db, catalog, today).await?;
    for (i, attended) in ATTENDED.iter().enumerate() {
        report_attendance(db, catalog, &provider_ids, i, attended, today).await?;
    }
    self_reported_activity(db, catalog, today).await?;
    accounts_with_passwords(db).await?;
    Ok(())
}

/// The provider (found by name, or registered), accredited for its schemes, with its courses.
async fn provider_with_courses(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    actor: &Actor,
    spec: &Provider,
    today: NaiveDate,
) -> Result<Uuid, DemoError> {
    let step = || format!("provider {}", spec.name);
    let existing = provider_rows::Entity::find()
        .filter(provider_rows::Column::Name.eq(spec.name))
        .one(db)
        .await?;
    let provider = match existing {
        Some(p) => p,
        None => providers::create_provider(
            db,
            actor,
            providers::NewProvider {
                name: spec.name.to_owned(),
                contact_email: Some(spec.contact_email.to_owned()),
            },
        )
        .await
        .map_err(|e| refused(step(), e))?,
    };
    let accreditations = spec
        .schemes
        .iter()
        .map(|scheme| providers::Accreditation {
            scheme_id: (*scheme).to_owned(),
            categories: Vec::new(),
            activity_types: Vec::new(),
            valid_from: None,
            valid_until: None,
        })
        .collect();
    providers::set_accreditations(db, catalog, actor, provider.id, accreditations)
        .await
        .map_err(|e| refused(step(), e))?;
    for course in spec.courses {
        let published = course_rows::Entity::find()
            .filter(course_rows::Column::ProviderId.eq(provider.id))
            .filter(course_rows::Column::Code.eq(course.code))
            .one(db)
            .await?;
        if published.is_some() {
            continue;
        }
        courses::create(db, catalog, actor, provider.id, course_input(course, today))
            .await
            .map_err(|e| refused(format!("course {}", course.code), e))?;
    }
    Ok(provider.id)
}

fn course_input(course: &Course, today: NaiveDate) -> CourseInput {
    CourseInput {
        code: course.code.to_owned(),
        title_en: course.title_en.to_owned(),
        title_ja: Some(course.title_ja.to_owned()),
        hours: Points::whole(course.hours),
        delivery: course.delivery,
        fee: course.fee_jpy.map(|amount| Fee {
            amount: amount.to_owned(),
            currency: "JPY".to_owned(),
        }),
        language: Some("ja".to_owned()),
        nice_work_roles: Vec::new(),
        sessions: course
            .sessions_in_days
            .iter()
            .map(|days| today + TimeDelta::days(*days))
            .collect(),
        awards: course
            .awards
            .iter()
            .map(|(scheme, activity_type, category, points)| Award {
                scheme: (*scheme).to_owned(),
                activity_type: (*activity_type).to_owned(),
                category: category.map(str::to_owned),
                points: category.map(|_| Points::whole(*points)),
            })
            .collect(),
    }
}

/// The registry rows of the demo holdings, as the certification body's file would have them.
fn registry_csv(today: NaiveDate) -> String {
    use std::fmt::Write as _;
    let mut csv = String::from(
        "scheme,registration_number,email,legal_name,legal_name_kana,display_name,\
         certified_on,cycle_start,locale,time_zone\n",
    );
    for person in &PEOPLE {
        for holding in person.holdings {
            let cycle_start = first_of_month_before(today, holding.cycle_began_months_ago);
            let certified_on = cycle_start
                .checked_sub_months(Months::new(holding.certified_months_earlier))
                .unwrap_or(cycle_start);
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{},{certified_on},{cycle_start},{},Asia/Tokyo",
                holding.scheme,
                holding.registration_number,
                person.email,
                person.legal_name,
                person.kana,
                person.display_name,
                person.locale,
            );
        }
    }
    csv
}

async fn import_registry(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    today: NaiveDate,
) -> Result<(), DemoError> {
    let csv = registry_csv(today);
    let summary = registry_import::import(db, catalog, csv.as_bytes(), "demo registry", &mut ())
        .await
        .map_err(|e| refused("registry", e))?;
    if let Some(r) = summary.rejected.first() {
        return Err(refused(
            format!("registry line {}", r.line),
            format!("{}: {}", r.field, r.message),
        ));
    }
    Ok(())
}

async fn report_attendance(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    provider_ids: &[Uuid],
    index: usize,
    attended: &Attended,
    today: NaiveDate,
) -> Result<(), DemoError> {
    let step = || format!("attendance of {} at {}", attended.email, attended.course);
    let provider_id = *provider_ids
        .get(attended.provider)
        .ok_or_else(|| refused(step(), "no such demo provider"))?;
    let row = AttendanceRow {
        reference: format!("demo-{:02}-{}", index + 1, attended.course),
        course: attended.course.to_owned(),
        person: PersonRef::Email(attended.email.to_owned()),
        completed: Completion::On(today - TimeDelta::days(attended.days_ago)),
        hours: None,
        points: None,
    };
    let outcomes = attendance::ingest(db, catalog, provider_id, DEMO_ACTOR, vec![Ok(row)])
        .await
        .map_err(|e| refused(step(), e))?;
    match outcomes.first() {
        Some(RowOutcome::Created { .. } | RowOutcome::Unchanged { .. }) => Ok(()),
        Some(RowOutcome::Rejected(r)) => Err(refused(step(), format!("{}: {}", r.field, r.reason))),
        Some(RowOutcome::Conflict { fields, .. }) => Err(refused(
            step(),
            format!("reported before with other {}", fields.join(", ")),
        )),
        None => Err(refused(step(), "no answer for the row")),
    }
}

async fn professional_by_email(
    db: &DatabaseConnection,
    email: &str,
) -> Result<professionals::Model, DemoError> {
    professionals::Entity::find()
        .filter(professionals::Column::Email.eq(email))
        .one(db)
        .await?
        .ok_or_else(|| refused(format!("professional {email}"), "not imported"))
}

async fn self_reported_activity(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
    today: NaiveDate,
) -> Result<(), DemoError> {
    let person = professional_by_email(db, PEOPLE[0].email).await?;
    let reported = credits::Entity::find()
        .filter(credits::Column::ProfessionalId.eq(person.id))
        .filter(credits::Column::Title.eq(SELF_REPORT_TITLE))
        .count(db)
        .await?;
    if reported > 0 {
        return Ok(());
    }
    let draft = self_report::Draft {
        title: SELF_REPORT_TITLE.to_owned(),
        provider_name: "ISC2 Tokyo Chapter".to_owned(),
        completed_on: today - TimeDelta::days(20),
        hours: Points::whole(4),
        claims: Some(vec![ClaimRequest {
            scheme: "cissp".to_owned(),
            activity_type: Some("education".to_owned()),
            category: Some("group_a".to_owned()),
            points: Some(Points::whole(4)),
        }]),
        evidence_id: None,
    };
    self_report::record(db, catalog, &Actor::cli(DEMO_ACTOR), person.id, &draft)
        .await
        .map_err(|e| refused("self-reported activity", e))?;
    Ok(())
}

/// Invites the demo holders as the registry's holders are invited, and activates each account
/// with the demo password through its activation link, as the person would.
async fn accounts_with_passwords(db: &DatabaseConnection) -> Result<(), DemoError> {
    accounts::invite_holders(db, &Actor::cli(DEMO_ACTOR))
        .await
        .map_err(|e| refused("invitations", e))?;
    for email in demo_emails() {
        let user = users::Entity::find()
            .filter(users::Column::Email.eq(email))
            .one(db)
            .await?
            .ok_or_else(|| refused(format!("account {email}"), "not invited"))?;
        if user.activated_at.is_some() {
            continue;
        }
        let (token, _) =
            links::mint_link_token(db, user.id, links::TokenPurpose::Activation).await?;
        links::redeem_link(
            db,
            &token,
            links::TokenPurpose::Activation,
            Some(DEMO_PASSWORD),
        )
        .await
        .map_err(|e| refused(format!("account {email}"), e))?;
    }
    Ok(())
}

async fn logins(
    db: &DatabaseConnection,
    catalog: &SchemeCatalog,
) -> Result<Vec<DemoLogin>, DemoError> {
    let mut out = Vec::new();
    for person in &PEOPLE {
        let mut standings = Vec::new();
        for holding in person.holdings {
            let found = standing::for_registration(
                db,
                catalog,
                holding.scheme,
                holding.registration_number,
                None,
            )
            .await
            .map_err(|e| refused(format!("standing of {}", person.email), e))?;
            standings.push(DemoStanding {
                scheme: holding.scheme.to_owned(),
                registration_number: holding.registration_number.to_owned(),
                state: found.standing.state,
                unmet_slots: found
                    .standing
                    .unmet_slots
                    .iter()
                    .map(|s| s.slot.clone())
                    .collect(),
            });
        }
        out.push(DemoLogin {
            email: person.email,
            password: DEMO_PASSWORD,
            display_name: person.display_name,
            shows: person.shows,
            standings,
        });
    }
    Ok(out)
}
