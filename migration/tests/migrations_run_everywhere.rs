//! Every migration runs up, down to zero and up again on SQLite (file and
//! in-memory), PostgreSQL and MySQL/MariaDB, and the entities can write and
//! read back one row of every table on each of them.
//!
//! PostgreSQL and MariaDB are used when reachable at
//! `postgres://postgres@127.0.0.1:5432` and `mysql://root@127.0.0.1:3306`
//! (override with `CPE_TEST_POSTGRES_URL` / `CPE_TEST_MYSQL_URL`, without a
//! database name). Each run creates a fresh database `cpe_mig_<random>` and
//! drops it afterwards. When a server is unreachable the test prints a notice
//! and passes, unless `CI` is set, in which case it fails.

use std::time::Duration;

use chrono::{NaiveDate, SubsecRound, Utc};
use entity::{
    audit_events, calendar_feeds, clients, consents, course_awards, courses, credit_claims,
    credits, cycles, disclosures, holdings, import_runs, issued_credentials, job_periods,
    login_failures, memberships, notifications, one_time_tokens, organisations, professionals,
    providers, reminder_items, reminder_preferences, scheme_versions, signing_keys,
    standing_projection, users, webhook_subscriptions, webhook_watches, xapi_statements,
};
use migration::{Migrator, MigratorTrait, SchemaManager};
use sea_orm::sea_query::{Alias, Query};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::{NotSet, Set},
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel,
};
use serde_json::json;
use uuid::Uuid;

const TABLES: &[&str] = &[
    "scheme_versions",
    "professionals",
    "users",
    "holdings",
    "cycles",
    "providers",
    "courses",
    "course_awards",
    "credits",
    "credit_claims",
    "organisations",
    "memberships",
    "clients",
    "signing_keys",
    "notifications",
    "audit_events",
    "import_runs",
    "one_time_tokens",
    "login_failures",
    "reminder_items",
    "job_periods",
    "reminder_preferences",
    "xapi_statements",
    "consents",
    "disclosures",
    "standing_projection",
    "issued_credentials",
    "webhook_subscriptions",
    "webhook_watches",
    "calendar_feeds",
];

#[tokio::test]
async fn sqlite_file() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().join("ledger.db");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let db = connect(&url).await.expect("open a SQLite file database");
    exercise(&db)
        .await
        .expect("migrations and entities on SQLite (file)");
    db.close().await.expect("close SQLite");
}

#[tokio::test]
async fn sqlite_in_memory() {
    let db = connect("sqlite::memory:")
        .await
        .expect("open an in-memory SQLite database");
    exercise(&db)
        .await
        .expect("migrations and entities on SQLite (in memory)");
    db.close().await.expect("close SQLite");
}

#[tokio::test]
async fn postgres() {
    let base = std::env::var("CPE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    let Some(admin) = connect_or_skip("PostgreSQL", &format!("{base}/postgres")).await else {
        return;
    };
    let name = fresh_database_name();
    admin
        .execute_unprepared(&format!(r#"CREATE DATABASE "{name}""#))
        .await
        .expect("create a scratch PostgreSQL database");

    let result = match connect(&format!("{base}/{name}")).await {
        Ok(db) => {
            let result = exercise(&db).await;
            db.close().await.expect("close PostgreSQL");
            result
        }
        Err(e) => Err(e),
    };

    admin
        .execute_unprepared(&format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#))
        .await
        .expect("drop the scratch PostgreSQL database");
    admin.close().await.expect("close PostgreSQL admin");
    result.expect("migrations and entities on PostgreSQL");
}

#[tokio::test]
async fn mysql() {
    let base = std::env::var("CPE_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned());
    let Some(admin) = connect_or_skip("MySQL/MariaDB", &format!("{base}/mysql")).await else {
        return;
    };
    let name = fresh_database_name();
    admin
        .execute_unprepared(&format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        ))
        .await
        .expect("create a scratch MySQL database");

    let result = match connect(&format!("{base}/{name}")).await {
        Ok(db) => {
            let result = exercise(&db).await;
            db.close().await.expect("close MySQL");
            result
        }
        Err(e) => Err(e),
    };

    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS `{name}`"))
        .await
        .expect("drop the scratch MySQL database");
    admin.close().await.expect("close MySQL admin");
    result.expect("migrations and entities on MySQL/MariaDB");
}

async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url);
    opts.connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    Database::connect(opts).await
}

/// Connects to a server's maintenance database, or explains why the backend is skipped.
async fn connect_or_skip(backend: &str, url: &str) -> Option<DatabaseConnection> {
    match connect(url).await {
        Ok(db) => Some(db),
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("{backend} is not reachable at {url} and CI is set: {e}")
        }
        Err(e) => {
            eprintln!("NOTICE: skipping the {backend} migration test, {url} is not reachable: {e}");
            None
        }
    }
}

fn fresh_database_name() -> String {
    let random = Uuid::new_v4().simple().to_string();
    format!("cpe_mig_{}", &random[..12])
}

/// Up, down to zero, up again; then one row per table through the entities. On the way up
/// the first time, claims written before the claim activity type existed are backfilled.
async fn exercise(db: &DatabaseConnection) -> Result<(), DbErr> {
    let expected = Migrator::migrations().len();

    // Every migration before the one that gave claims their own activity type.
    let position = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261126_000010_add_claim_activity_type")
        .ok_or_else(|| DbErr::Custom("the claim activity type migration is not listed".into()))?;
    let before_claim_activity =
        u32::try_from(position).map_err(|e| DbErr::Custom(e.to_string()))?;
    Migrator::up(db, Some(before_claim_activity)).await?;
    let claim = write_a_claim_without_activity_type(db).await?;
    Migrator::up(db, None).await?;
    a_claim_written_before_the_migration_takes_its_credits_activity_type(db, claim).await?;
    check_tables(db, true).await?;
    let applied = Migrator::get_applied_migrations(db).await?.len();
    ensure(
        applied == expected,
        format!("{applied} of {expected} applied"),
    )?;

    Migrator::down(db, None).await?;
    check_tables(db, false).await?;
    let applied = Migrator::get_applied_migrations(db).await?.len();
    ensure(applied == 0, format!("{applied} still applied after down"))?;

    Migrator::up(db, None).await?;
    check_tables(db, true).await?;

    insert_one_row_per_table(db).await
}

/// A credit of activity type `education` with one claim, written with the schema as it was
/// before the claim activity type was added (the claim row through plain SQL, since the
/// entity now has the new column).
async fn write_a_claim_without_activity_type(db: &DatabaseConnection) -> Result<Uuid, DbErr> {
    let now = Utc::now().trunc_subsecs(0);
    let professional = professionals::Model {
        id: Uuid::new_v4(),
        email: None,
        legal_name: "佐藤 一郎".into(),
        legal_name_kana: None,
        display_name: None,
        locale: "ja".into(),
        time_zone: "Asia/Tokyo".into(),
        created_at: now,
        updated_at: now,
    }
    .into_active_model()
    .insert(db)
    .await?;
    // Written with the columns of that time: the entity names columns added later.
    let credit_id = Uuid::new_v4();
    let credit = Query::insert()
        .into_table(Alias::new("credits"))
        .columns(
            [
                "id",
                "professional_id",
                "activity_type",
                "title",
                "completed_on",
                "hours",
                "source",
                "state",
                "recorded_by",
                "created_at",
            ]
            .map(Alias::new),
        )
        .values_panic([
            credit_id.into(),
            professional.id.into(),
            "education".into(),
            "Incident response course".into(),
            NaiveDate::from_ymd_opt(2025, 5, 10)
                .ok_or(DbErr::Custom("bad date".into()))?
                .into(),
            800i64.into(),
            "admin".into(),
            "approved".into(),
            "cli".into(),
            now.into(),
        ])
        .to_owned();
    db.execute(&credit).await?;
    let claim = Uuid::new_v4();
    let insert = Query::insert()
        .into_table(Alias::new("credit_claims"))
        .columns([
            Alias::new("id"),
            Alias::new("credit_id"),
            Alias::new("scheme_id"),
            Alias::new("category"),
            Alias::new("points"),
        ])
        .values_panic([
            claim.into(),
            credit_id.into(),
            "cissp".into(),
            "group_a".into(),
            800i64.into(),
        ])
        .to_owned();
    db.execute(&insert).await?;
    Ok(claim)
}

async fn a_claim_written_before_the_migration_takes_its_credits_activity_type(
    db: &DatabaseConnection,
    claim: Uuid,
) -> Result<(), DbErr> {
    let stored = credit_claims::Entity::find_by_id(claim)
        .one(db)
        .await?
        .ok_or(DbErr::Custom(
            "the claim is gone after the migration".into(),
        ))?;
    ensure(
        stored.activity_type == "education",
        format!(
            "the claim's activity type was backfilled as {:?}, not the credit's \"education\"",
            stored.activity_type
        ),
    )
}

async fn check_tables(db: &DatabaseConnection, present: bool) -> Result<(), DbErr> {
    let manager = SchemaManager::new(db);
    for table in TABLES {
        let exists = manager.has_table(*table).await?;
        ensure(
            exists == present,
            format!("table {table}: exists = {exists}, expected {present}"),
        )?;
    }
    Ok(())
}

fn ensure(condition: bool, message: String) -> Result<(), DbErr> {
    if condition {
        Ok(())
    } else {
        Err(DbErr::Custom(message))
    }
}

/// Inserts a model through its active model and checks that what the
/// database hands back equals what went in.
macro_rules! round_trip {
    ($db:expr, $model:expr) => {{
        let expected = $model;
        let stored = expected.clone().into_active_model().insert($db).await?;
        ensure(
            stored == expected,
            format!("round trip changed the row:\n  sent {expected:?}\n  got  {stored:?}"),
        )?;
        stored
    }};
}

async fn insert_one_row_per_table(db: &DatabaseConnection) -> Result<(), DbErr> {
    // Whole seconds: MySQL/MariaDB `timestamp` columns have no fractional part.
    let now = Utc::now().trunc_subsecs(0);
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).ok_or(DbErr::Custom("bad date".into()));

    let scheme_version = round_trip!(
        db,
        scheme_versions::Model {
            id: Uuid::new_v4(),
            scheme_id: "riss".into(),
            version: "2026-04".into(),
            status: scheme_versions::SchemeVersionStatus::InForce,
            effective_from: day(2026, 4, 1)?,
            definition: json!({"cycle_months": 36, "name": {"ja": "登録セキスペ"}}),
            source_file: "schemes/riss/2026-04.toml".into(),
            sha256: "0".repeat(64),
            loaded_at: now,
        }
    );

    let professional = round_trip!(
        db,
        professionals::Model {
            id: Uuid::new_v4(),
            email: Some("hanako@example.jp".into()),
            legal_name: "山田 花子".into(),
            legal_name_kana: Some("ヤマダ ハナコ".into()),
            display_name: None,
            locale: "ja".into(),
            time_zone: "Asia/Tokyo".into(),
            created_at: now,
            updated_at: now,
        }
    );
    // The email is unique, but NULL may repeat (holders imported without one).
    for _ in 0..2 {
        round_trip!(
            db,
            professionals::Model {
                id: Uuid::new_v4(),
                email: None,
                legal_name: "Imported Holder".into(),
                legal_name_kana: None,
                display_name: None,
                locale: "en".into(),
                time_zone: "UTC".into(),
                created_at: now,
                updated_at: now,
            }
        );
    }

    let user = round_trip!(
        db,
        users::Model {
            id: Uuid::new_v4(),
            email: "hanako@example.jp".into(),
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
            role: users::UserRole::Professional,
            professional_id: Some(professional.id),
            activated_at: Some(now),
            disabled_at: None,
            sessions_revoked_at: None,
            created_at: now,
            locale: Some("en".into()),
        }
    );

    let holding = round_trip!(
        db,
        holdings::Model {
            id: Uuid::new_v4(),
            professional_id: professional.id,
            scheme_id: "riss".into(),
            registration_number: "012345".into(),
            certified_on: day(2023, 10, 1)?,
            status: holdings::HoldingStatus::Active,
            created_at: now,
            updated_at: now,
        }
    );

    round_trip!(
        db,
        cycles::Model {
            id: Uuid::new_v4(),
            holding_id: holding.id,
            scheme_version_id: scheme_version.id,
            starts_on: day(2023, 10, 1)?,
            ends_on: day(2026, 9, 30)?,
            outcome: None,
            created_at: now,
        }
    );

    let provider = round_trip!(
        db,
        providers::Model {
            id: Uuid::new_v4(),
            name: "Example Training K.K.".into(),
            contact_email: Some("ops@training.example".into()),
            status: providers::ProviderStatus::Approved,
            accreditations: providers::Accreditations(vec![providers::Accreditation {
                scheme_id: "cissp".into(),
                categories: vec!["group_a".into(), "group_b".into()],
                activity_types: vec![],
                valid_from: None,
                valid_until: None,
            }]),
            created_at: now,
        }
    );

    let course = round_trip!(
        db,
        courses::Model {
            id: Uuid::new_v4(),
            provider_id: provider.id,
            code: "SEC-101".into(),
            title: "Incident response basics".into(),
            title_ja: Some("インシデント対応の基礎".into()),
            hours: 350,
            delivery: "online".into(),
            activity_type: "training".into(),
            tags: json!(["PD-WRL-004"]),
            fee_amount: Some("12000".into()),
            fee_currency: Some("JPY".into()),
            language: Some("ja".into()),
            sessions: Some(json!(["2027-01-15", "2027-03-10"])),
            retired_at: None,
            created_at: now,
            updated_at: Some(now),
        }
    );

    round_trip!(
        db,
        course_awards::Model {
            id: Uuid::new_v4(),
            course_id: course.id,
            scheme_id: "cissp".into(),
            activity_type: "education".into(),
            category: Some("group_a".into()),
            points: 350,
        }
    );

    let credit = round_trip!(
        db,
        credits::Model {
            id: Uuid::new_v4(),
            professional_id: professional.id,
            course_id: Some(course.id),
            provider_id: Some(provider.id),
            provider_reference: Some("ATT-0001".into()),
            activity_type: "training".into(),
            title: "Incident response basics".into(),
            completed_on: day(2026, 5, 20)?,
            completed_at: Some(now),
            hours: 350,
            source: credits::CreditSource::Provider,
            reported_points: Some(175),
            state: credits::CreditState::Approved,
            evidence: None,
            replaces_credit_id: None,
            voided_at: None,
            void_reason: None,
            recorded_by: Some("client:example".into()),
            created_at: now,
        }
    );

    // The same provider reference again is refused ...
    let duplicate = credits::Model {
        id: Uuid::new_v4(),
        ..credit.clone()
    }
    .into_active_model()
    .insert(db)
    .await;
    ensure(
        duplicate.is_err(),
        "a second credit with the same (provider_id, provider_reference) was accepted".into(),
    )?;

    // Keys compare exactly on every backend (MariaDB tables use utf8mb4_bin).
    round_trip!(
        db,
        credits::Model {
            id: Uuid::new_v4(),
            provider_reference: Some("att-0001".into()),
            ..credit.clone()
        }
    );

    // Entries without a reference may repeat, for the same provider too.
    let mut previous = None;
    for source in [
        credits::CreditSource::SelfReported,
        credits::CreditSource::Admin,
    ] {
        let entry = round_trip!(
            db,
            credits::Model {
                id: Uuid::new_v4(),
                professional_id: professional.id,
                course_id: None,
                provider_id: Some(provider.id),
                provider_reference: None,
                activity_type: "conference".into(),
                title: "Security conference".into(),
                completed_on: day(2026, 6, 1)?,
                hours: 125,
                source,
                state: credits::CreditState::Pending,
                evidence: Some(json!({"file": "certificate.pdf", "sha256": "ab"})),
                replaces_credit_id: previous,
                voided_at: None,
                void_reason: None,
                recorded_by: None,
                created_at: now,
                completed_at: None,
                reported_points: None,
            }
        );
        previous = Some(entry.id);
    }

    round_trip!(
        db,
        credit_claims::Model {
            id: Uuid::new_v4(),
            credit_id: credit.id,
            scheme_id: "cissp".into(),
            activity_type: "education".into(),
            category: "group_a".into(),
            points: 350,
        }
    );

    let organisation = round_trip!(
        db,
        organisations::Model {
            id: Uuid::new_v4(),
            name: "Vendor Co., Ltd.".into(),
            corporate_number: Some("1234567890123".into()),
            created_at: now,
        }
    );

    round_trip!(
        db,
        memberships::Model {
            id: Uuid::new_v4(),
            organisation_id: organisation.id,
            professional_id: professional.id,
            confirmed_by_professional_at: Some(now),
            confirmed_by_organisation_at: None,
            created_at: now,
        }
    );

    // Instants left unset take the database's default (now), and read back.
    let defaulted = organisations::ActiveModel {
        id: Set(Uuid::new_v4()),
        name: Set("Defaults Inc.".into()),
        corporate_number: Set(None),
        created_at: NotSet,
    }
    .insert(db)
    .await?;
    let skew = (defaulted.created_at - now).num_seconds().abs();
    ensure(skew < 300, format!("default created_at is {skew} s off"))?;

    let client = clients::Model {
        id: Uuid::new_v4(),
        client_id: "example-training".into(),
        secret_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$c2VjcmV0".into(),
        name: "Example Training uploader".into(),
        kind: clients::ClientKind::Provider,
        provider_id: Some(provider.id),
        organisation_id: Some(organisation.id),
        scopes: "attendance:write courses:write".into(),
        rate_limit_per_minute: 600,
        disabled_at: None,
        secret_rotated_at: None,
        created_at: now,
    };
    round_trip!(db, client);

    round_trip!(
        db,
        signing_keys::Model {
            id: Uuid::new_v4(),
            kid: "2026-11-ed25519".into(),
            algorithm: signing_keys::SigningAlgorithm::EdDsa,
            private_key_pem: "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n".into(),
            public_jwk: json!({"kty": "OKP", "crv": "Ed25519", "x": "abc"}),
            created_at: now,
            retired_at: None,
            publish_until: None,
        }
    );

    let notification = round_trip!(
        db,
        notifications::Model {
            id: Uuid::new_v4(),
            dedupe_key: format!("{}:{}:at_risk:90", holding.id, "2023-10-01"),
            template: "reminder_at_risk".into(),
            locale: "ja".into(),
            recipient: "hanako@example.jp".into(),
            payload: json!({"days_left": 90}),
            state: notifications::NotificationState::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            message_id: None,
            created_at: now,
            sent_at: None,
        }
    );

    round_trip!(
        db,
        reminder_items::Model {
            dedupe_key: format!("{}:2023-10-01:approaching:90", holding.id),
            notification_id: notification.id,
            holding_id: holding.id,
            reason: "approaching".into(),
            created_at: now,
        }
    );

    round_trip!(
        db,
        reminder_preferences::Model {
            professional_id: professional.id,
            reason: "approaching".into(),
            subscribed: false,
            updated_at: now,
        }
    );

    round_trip!(
        db,
        issued_credentials::Model {
            id: Uuid::new_v4(),
            holding_id: holding.id,
            professional_id: professional.id,
            requested_by: format!("professional:{}", user.id),
            kid: "thumbprint".into(),
            issued_at: now,
            expires_at: now,
            revoked_at: Some(now),
        }
    );

    let subscription = round_trip!(
        db,
        webhook_subscriptions::Model {
            id: Uuid::new_v4(),
            client_id: "cl_city".into(),
            target_url: "https://buyer.example/hooks/status".into(),
            secret: "s".repeat(43),
            created_at: now,
        }
    );

    round_trip!(
        db,
        webhook_watches::Model {
            subscription_id: subscription.id,
            holding_id: holding.id,
            last_status: "active".into(),
            last_state: Some("on_track".into()),
            last_valid_until: Some(NaiveDate::from_ymd_opt(2026, 9, 30).expect("a date")),
            changes: 0,
            checked_at: now,
        }
    );

    round_trip!(
        db,
        consents::Model {
            professional_id: professional.id,
            audience: "procurement".into(),
            name: true,
            employer: false,
            course_history: false,
            updated_at: now,
        }
    );

    round_trip!(
        db,
        calendar_feeds::Model {
            professional_id: professional.id,
            secret_sha256: "ab".repeat(32),
            created_at: now,
        }
    );

    round_trip!(
        db,
        disclosures::Model {
            id: Uuid::new_v4(),
            client_id: "buyer-system".into(),
            holding_id: holding.id,
            fields: "scheme,registration_number,status,valid_until".into(),
            disclosed_at: now,
        }
    );

    round_trip!(
        db,
        standing_projection::Model {
            holding_id: holding.id,
            professional_id: professional.id,
            scheme_id: holding.scheme_id.clone(),
            registration_number: holding.registration_number.clone(),
            status: holding.status,
            state: Some("on_track".into()),
            valid_until: Some(day(2026, 9, 30)?),
            judged_on: day(2026, 1, 10)?,
            recheck_at: now,
            updated_at: now,
            revision: Some(Uuid::new_v4()),
        }
    );

    round_trip!(
        db,
        xapi_statements::Model {
            id: Uuid::new_v4(),
            provider_id: provider.id,
            statement_id: Uuid::new_v4(),
            statement: json!({"verb": {"id": "http://adlnet.gov/expapi/verbs/attended"}}),
            fingerprint: "0".repeat(64),
            verb_id: "http://adlnet.gov/expapi/verbs/attended".into(),
            activity_id: Some("https://lms.example/courses/IR-101".into()),
            actor_key: Some("mbox mailto:a@example.jp".into()),
            object_agent_key: None,
            registration: Some(Uuid::new_v4()),
            voids_statement_id: None,
            stored_ms: 1_780_000_000_123,
            voided: false,
            credit_reference: Some("xapi:1".into()),
        }
    );

    // The audit log's key is assigned by the database.
    let mut event = audit_events::Model {
        id: 0,
        occurred_at: now,
        actor_kind: audit_events::ActorKind::Client,
        actor_id: Some("example-training".into()),
        action: "credit.record".into(),
        subject_kind: "credit".into(),
        subject_id: Some(credit.id.to_string()),
        before: None,
        after: Some(json!({"state": "approved"})),
        ip: Some("192.0.2.1".into()),
        repeat_count: 3,
        last_occurred_at: Some(now),
        repeat_key: Some("ab".repeat(32)),
    };
    let mut active = event.clone().into_active_model();
    active.id = NotSet;
    let stored = active.insert(db).await?;
    ensure(
        stored.id > 0,
        format!("audit id {} not assigned", stored.id),
    )?;
    event.id = stored.id;
    ensure(stored == event, format!("audit event changed: {stored:?}"))?;

    round_trip!(
        db,
        import_runs::Model {
            id: Uuid::new_v4(),
            kind: "holders".into(),
            file_name: "registry-2026-11.csv".into(),
            started_at: now,
            finished_at: Some(now),
            rows_total: 3,
            rows_inserted: 1,
            rows_updated: 1,
            rows_unchanged: 0,
            rows_rejected: 1,
            report: Some(json!([{"row": 3, "error": "unknown scheme"}])),
        }
    );

    round_trip!(
        db,
        job_periods::Model {
            job: "reminder_sweep".into(),
            period: "2026-11-26T09:00+09:00".into(),
            started_at: now,
            finished_at: None,
            error: Some("overran".into()),
        }
    );

    round_trip!(
        db,
        one_time_tokens::Model {
            id: Uuid::new_v4(),
            user_id: user.id,
            purpose: one_time_tokens::TokenPurpose::Activation,
            token_hash: "0".repeat(64),
            expires_at: now,
            used_at: None,
            created_at: now,
        }
    );

    round_trip!(
        db,
        login_failures::Model {
            id: Uuid::new_v4(),
            scope_key: "email:hanako@example.jp".into(),
            occurred_at: now,
        }
    );

    // Everything is readable through the entities.
    let credits = credits::Entity::find().all(db).await?;
    ensure(credits.len() == 4, format!("{} credits", credits.len()))?;

    Ok(())
}
