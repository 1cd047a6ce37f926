//! A bad setting stops start-up with one line that names it, and exit code 2.

use crate::harness::{failure_of, run_cli};

/// Runs `cpe-ledger migrate` with one setting added to an otherwise valid environment.
fn migrate_with(name: &str, value: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().display().to_string();
    let output = run_cli(
        &["migrate"],
        &[("CPE_LEDGER_DATA_DIR", data_dir.as_str()), (name, value)],
        None,
    );
    assert!(
        !dir.path().join("cpe-ledger.sqlite").exists(),
        "{name}={value}: nothing may start before the settings are valid"
    );
    failure_of(&output)
}

fn assert_one_line_naming(name: &str, value: &str) -> String {
    let (code, stderr) = migrate_with(name, value);
    assert_eq!(code, 2, "{name}={value}: {stderr}");
    let lines: Vec<&str> = stderr.trim_end().lines().collect();
    assert_eq!(lines.len(), 1, "{name}={value}: one line, got {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains(name), "{name}={value}: {stderr}");
    stderr
}

#[test]
fn a_listen_address_that_is_not_host_and_port_stops_start_up_naming_cpe_ledger_listen() {
    let stderr = assert_one_line_naming("CPE_LEDGER_LISTEN", "nonsense");
    assert!(stderr.contains("'nonsense'"), "{stderr}");
}

#[test]
fn a_database_url_of_an_unknown_kind_stops_start_up_naming_the_setting_without_its_password() {
    let stderr = assert_one_line_naming("CPE_LEDGER_DATABASE_URL", "oracle://app:hunter2@db/x");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn a_public_url_that_is_not_http_stops_start_up_naming_the_setting() {
    assert_one_line_naming("CPE_LEDGER_PUBLIC_URL", "ftp://example.org/");
}

#[test]
fn an_smtp_url_that_is_not_a_url_stops_start_up_naming_the_setting() {
    assert_one_line_naming("CPE_LEDGER_SMTP_URL", "mail.example.org");
}

#[test]
fn a_log_json_value_that_is_not_a_boolean_stops_start_up_naming_the_setting() {
    assert_one_line_naming("CPE_LEDGER_LOG_JSON", "maybe");
}

#[test]
fn a_sweep_schedule_that_is_not_cron_stops_start_up_naming_the_setting() {
    let stderr = assert_one_line_naming("CPE_LEDGER_SWEEP_CRON", "daily at nine");
    assert!(stderr.contains("'daily at nine'"), "{stderr}");
    assert_one_line_naming("CPE_LEDGER_DRAIN_CRON", "0 * * *");
    assert_one_line_naming("CPE_LEDGER_SCHEDULE_TIME_ZONE", "Mars/Olympus");
    assert_one_line_naming("CPE_LEDGER_SCHEDULER", "sometimes");
    assert_one_line_naming("CPE_LEDGER_REMIND_CONGRATULATIONS", "maybe");
}

#[test]
fn a_schemes_dir_that_does_not_exist_stops_start_up_naming_the_setting() {
    assert_one_line_naming("CPE_LEDGER_SCHEMES_DIR", "/no/such/folder");
}

#[test]
fn a_bad_value_given_as_a_flag_is_reported_like_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().display().to_string();
    let output = run_cli(
        &["--listen", "nonsense", "migrate"],
        &[("CPE_LEDGER_DATA_DIR", data_dir.as_str())],
        None,
    );
    let (code, stderr) = failure_of(&output);
    assert_eq!(code, 2);
    assert!(stderr.contains("CPE_LEDGER_LISTEN"), "{stderr}");
}

#[test]
fn credits_add_help_shows_its_own_options_first_and_server_settings_under_their_own_heading() {
    let output = run_cli(&["credits", "add", "--help"], &[], None);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout).into_owned();
    // Where an option is listed (its line starts with it), not where the usage line names it.
    let position = |text: &str| {
        help.find(&format!("\n      {text}"))
            .or_else(|| help.find(&format!("\n{text}")))
            .unwrap_or_else(|| panic!("{text:?} missing from\n{help}"))
    };
    let own_options = position("Options:");
    let server_heading = position("Server settings");
    for own in [
        "--scheme",
        "--registration-number",
        "--activity-type",
        "--claim",
    ] {
        let at = position(own);
        assert!(
            own_options < at && at < server_heading,
            "{own} is not among the command's own options:\n{help}"
        );
    }
    for server in [
        "--listen",
        "--smtp-url",
        "--trusted-proxies",
        "--templates-dir",
    ] {
        assert!(
            position(server) > server_heading,
            "{server} is not under the server heading:\n{help}"
        );
    }
}
