//! The settings as an operator writes them, and the one-line refusals of bad ones.

use super::*;

fn settings() -> Settings {
    Settings::default()
}

#[derive(clap::Parser, Debug)]
struct Flags {
    #[command(flatten)]
    settings: Settings,
}

/// Settings as clap reads them from these flags (the environment is read too, so only
/// flags no test environment sets are used).
fn parsed(flags: &[&str]) -> Result<Settings, String> {
    use clap::{CommandFactory, Parser};
    let args = std::iter::once("cpe-ledger").chain(flags.iter().copied());
    Flags::try_parse_from(args)
        .map(|f| f.settings)
        .map_err(|e| invalid_setting(&Flags::command(), &e).unwrap_or_else(|| e.to_string()))
}

#[test]
fn defaults_serve_sqlite_in_the_data_dir_on_localhost_8080() {
    let config = Config::from_settings(&settings()).expect("defaults are valid");
    assert_eq!(config.database_kind, DatabaseKind::Sqlite);
    assert_eq!(
        config.database_url,
        "sqlite://./data/cpe-ledger.sqlite?mode=rwc"
    );
    assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.public_url.as_str(), "http://127.0.0.1:8080/");
    assert_eq!(
        config.mail,
        MailDelivery::Files(PathBuf::from("./data/outbox"))
    );
}

#[test]
fn a_bad_listen_address_names_the_setting() {
    let err = parsed(&["--listen", "localhost"]).expect_err("must fail");
    assert!(
        err.starts_with("CPE_LEDGER_LISTEN: 'localhost' is not a socket address"),
        "{err}"
    );
}

#[test]
fn the_outbox_lease_is_ten_minutes_unless_set_and_a_bad_one_names_the_setting() {
    let config = Config::from_settings(&settings()).expect("defaults are valid");
    assert_eq!(config.outbox_lease, Duration::from_secs(600));
    let mut s = settings();
    s.outbox_lease = Some("2.5".into());
    let config = Config::from_settings(&s).expect("valid");
    assert_eq!(config.outbox_lease, Duration::from_millis(2500));
    s.outbox_lease = Some("0".into());
    let err = Config::from_settings(&s).expect_err("must fail");
    assert_eq!(err.setting, "CPE_LEDGER_OUTBOX_LEASE");
}

#[test]
fn an_unknown_database_scheme_names_the_setting() {
    let mut s = settings();
    s.database_url = Some("oracle://db".into());
    let err = Config::from_settings(&s).expect_err("must fail");
    assert_eq!(err.setting, "CPE_LEDGER_DATABASE_URL");
}

#[test]
fn postgres_and_mysql_urls_are_accepted() {
    for (url, kind) in [
        ("postgres://postgres@127.0.0.1/test", DatabaseKind::Postgres),
        (
            "postgresql://postgres@127.0.0.1/test",
            DatabaseKind::Postgres,
        ),
        ("mysql://root@127.0.0.1/test", DatabaseKind::MySql),
    ] {
        let mut s = settings();
        s.database_url = Some(url.into());
        assert_eq!(
            Config::from_settings(&s).expect("valid").database_kind,
            kind
        );
    }
}

#[test]
fn a_mail_from_that_is_no_address_is_refused_naming_the_setting_and_the_form() {
    let mut s = settings();
    s.mail_from = Some("RISS office".into());
    let err = Config::from_settings(&s).expect_err("refused");
    assert_eq!(err.setting, "CPE_LEDGER_MAIL_FROM");
    assert!(
        err.message.contains("Name <address@example.org>"),
        "{}",
        err.message
    );
    s.mail_from = Some("登録セキスペ事務局 <riss@example.org>".into());
    let config = Config::from_settings(&s).expect("accepted");
    let from = config.mail_from.expect("a sender");
    assert_eq!(from.name.as_deref(), Some("登録セキスペ事務局"));
    assert_eq!(from.email.to_string(), "riss@example.org");
}

#[test]
fn a_smtp_url_with_another_scheme_is_refused() {
    let mut s = settings();
    s.smtp_url = Some("http://mail".into());
    let err = Config::from_settings(&s).expect_err("must fail");
    assert_eq!(err.setting, "CPE_LEDGER_SMTP_URL");
}

#[test]
fn log_json_accepts_the_usual_spellings_and_names_itself_otherwise() {
    for (text, expected) in [
        ("true", true),
        ("1", true),
        ("On", true),
        ("yes", true),
        ("false", false),
        ("0", false),
        ("off", false),
    ] {
        let flag = format!("--log-json={text}");
        let s = parsed(&[&flag]).expect("valid");
        assert_eq!(
            Config::from_settings(&s).expect("valid").log_json,
            expected,
            "{text}"
        );
    }
    let empty = parsed(&["--log-json="]).expect("empty is unset");
    assert!(!Config::from_settings(&empty).expect("valid").log_json);
    let bare = parsed(&["--log-json"]).expect("valid");
    assert!(Config::from_settings(&bare).expect("valid").log_json);
    assert!(!Config::from_settings(&settings()).expect("valid").log_json);
    let err = parsed(&["--log-json=maybe"]).expect_err("must fail");
    assert_eq!(
        err,
        "CPE_LEDGER_LOG_JSON: 'maybe' is not true or false (or yes/no, on/off, 1/0)"
    );
}

#[test]
fn a_schemes_dir_that_is_not_a_folder_names_the_setting() {
    let mut s = settings();
    s.schemes_dir = Some("/no/such/folder".into());
    let err = Config::from_settings(&s).expect_err("must fail");
    assert_eq!(err.setting, "CPE_LEDGER_SCHEMES_DIR");
}

#[test]
fn trusted_proxies_are_a_comma_separated_list_of_addresses() {
    let s = parsed(&["--trusted-proxies", "10.0.0.2, ::1"]).expect("valid");
    let config = Config::from_settings(&s).expect("valid");
    assert_eq!(config.trusted_proxies.len(), 2);
    let err = parsed(&["--trusted-proxies", "10.0.0.2, balancer"]).expect_err("must fail");
    assert_eq!(
        err,
        "CPE_LEDGER_TRUSTED_PROXIES: 'balancer' is not an IP address"
    );
}

#[test]
fn connection_limits_take_seconds_and_counts_and_name_themselves_when_wrong() {
    let mut s = settings();
    s.request_head_timeout = Some("1.5".into());
    s.idle_timeout = Some("20".into());
    s.max_connections = Some("300".into());
    s.max_connections_per_address = Some("10".into());
    let limits = Config::from_settings(&s).expect("valid").connections;
    assert_eq!(limits.request_head_timeout, Duration::from_millis(1500));
    assert_eq!(limits.idle_timeout, Duration::from_secs(20));
    assert_eq!(limits.max_connections, 300);
    assert_eq!(limits.max_connections_per_address, 10);
    for (field, setting) in [
        (0, "CPE_LEDGER_REQUEST_HEAD_TIMEOUT"),
        (1, "CPE_LEDGER_IDLE_TIMEOUT"),
        (2, "CPE_LEDGER_MAX_CONNECTIONS"),
        (3, "CPE_LEDGER_MAX_CONNECTIONS_PER_ADDRESS"),
    ] {
        let mut s = settings();
        let bad = Some("0".to_owned());
        match field {
            0 => s.request_head_timeout = bad,
            1 => s.idle_timeout = bad,
            2 => s.max_connections = bad,
            _ => s.max_connections_per_address = bad,
        }
        let err = Config::from_settings(&s).expect_err("zero is refused");
        assert_eq!(err.setting, setting);
    }
}

#[test]
fn debug_output_never_shows_passwords() {
    let mut s = settings();
    s.smtp_url = Some("smtp://user:hunter2@mail.example:587".into());
    s.database_url = Some("postgres://app:s3cret@db/ledger".into());
    let shown = format!("{:?}", Config::from_settings(&s).expect("valid"));
    assert!(
        !shown.contains("hunter2") && !shown.contains("s3cret"),
        "{shown}"
    );
}

#[test]
fn without_a_read_url_procurement_reads_the_database_itself() {
    let mut s = settings();
    s.database_url = Some("postgres://app@primary/ledger".into());
    let config = Config::from_settings(&s).expect("valid");
    assert_eq!(config.database_read_url, None);
    s.database_read_url = Some("  ".into());
    let config = Config::from_settings(&s).expect("an empty value means unset");
    assert_eq!(config.database_read_url, None);
}

#[test]
fn a_read_url_of_the_same_kind_of_database_is_kept() {
    let mut s = settings();
    s.database_url = Some("postgres://app@primary/ledger".into());
    s.database_read_url = Some("postgresql://reader@replica/ledger".into());
    let config = Config::from_settings(&s).expect("valid");
    assert_eq!(
        config.database_read_url.as_deref(),
        Some("postgresql://reader@replica/ledger")
    );
    assert_eq!(config.database_kind, DatabaseKind::Postgres);
}

#[test]
fn a_read_url_of_another_kind_of_database_is_refused_naming_the_setting() {
    let mut s = settings();
    s.database_url = Some("postgres://app@primary/ledger".into());
    s.database_read_url = Some("mysql://reader@replica/ledger".into());
    let err = Config::from_settings(&s).expect_err("a mismatch is refused");
    assert_eq!(err.setting, "CPE_LEDGER_DATABASE_READ_URL");
    assert!(
        err.to_string().contains("same kind of database")
            && err.to_string().contains("PostgreSQL")
            && err.to_string().contains("MySQL"),
        "{err}"
    );
    // Unset, the database URL is SQLite: a server replica is refused too.
    let mut s = settings();
    s.database_read_url = Some("postgres://reader@replica/ledger".into());
    let err = Config::from_settings(&s).expect_err("a mismatch is refused");
    assert_eq!(err.setting, "CPE_LEDGER_DATABASE_READ_URL");
}

#[test]
fn a_read_url_that_names_no_known_database_names_the_setting() {
    let mut s = settings();
    s.database_url = Some("postgres://app@primary/ledger".into());
    s.database_read_url = Some("oracle://replica".into());
    let err = Config::from_settings(&s).expect_err("must fail");
    assert_eq!(err.setting, "CPE_LEDGER_DATABASE_READ_URL");
}

#[test]
fn debug_output_never_shows_the_read_url_password() {
    let mut s = settings();
    s.database_url = Some("postgres://app:s3cret@db/ledger".into());
    s.database_read_url = Some("postgres://reader:r3plica@replica/ledger".into());
    let shown = format!("{:?}", Config::from_settings(&s).expect("valid"));
    assert!(!shown.contains("r3plica"), "{shown}");
    assert!(shown.contains("replica/ledger"), "{shown}");
}
