//! The command line as the certification body's staff meet it: where it finds the data, what
//! its help says, and errors that name what was expected.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::harness::failure_of;

/// Runs `cpe-ledger` in `folder` with no settings at all, as someone would from a shell.
fn run_in(folder: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cpe-ledger"))
        .args(args)
        .current_dir(folder)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .output()
        .expect("run cpe-ledger")
}

fn files_in(folder: &Path) -> Vec<String> {
    walk(folder)
        .into_iter()
        .map(|p| p.strip_prefix(folder).unwrap().display().to_string())
        .collect()
}

fn walk(folder: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.push(path.clone());
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[test]
fn standing_in_an_empty_folder_names_the_missing_database_and_the_settings_and_creates_nothing() {
    let folder = tempfile::tempdir().unwrap();
    let output = run_in(folder.path(), &["standing", "riss", "012345"]);
    let (code, stderr) = failure_of(&output);
    assert_eq!(code, 2, "{stderr}");
    let lines: Vec<&str> = stderr.trim_end().lines().collect();
    assert_eq!(lines.len(), 1, "one line, got {stderr}");
    let line = lines[0];
    assert!(line.starts_with("error: "), "{line}");
    assert!(
        line.contains("data/cpe-ledger.sqlite"),
        "names the path: {line}"
    );
    assert!(line.contains("CPE_LEDGER_DATABASE_URL"), "{line}");
    assert!(line.contains("CPE_LEDGER_DATA_DIR"), "{line}");
    assert!(line.contains("migrate"), "says how to create one: {line}");
    assert!(
        files_in(folder.path()).is_empty(),
        "nothing may be created: {:?}",
        files_in(folder.path())
    );
}

#[test]
fn every_command_but_serve_and_migrate_refuses_a_missing_database_file_named_in_the_url() {
    let folder = tempfile::tempdir().unwrap();
    let missing = folder.path().join("elsewhere.sqlite");
    let url = format!("sqlite://{}?mode=rwc", missing.display());
    for args in [
        &[
            "credits",
            "void",
            "00000000-0000-0000-0000-000000000000",
            "--reason",
            "x",
        ][..],
        &["admin", "list-clients"][..],
        &["remind", "status"][..],
    ] {
        let mut all = args.to_vec();
        all.extend(["--database-url", url.as_str()]);
        let output = run_in(folder.path(), &all);
        let (code, stderr) = failure_of(&output);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains("elsewhere.sqlite"), "{args:?}: {stderr}");
        assert!(!missing.exists(), "{args:?} created the database");
    }
}

#[test]
fn migrate_in_an_empty_folder_creates_the_database_that_standing_then_reads() {
    let folder = tempfile::tempdir().unwrap();
    let migrated = run_in(folder.path(), &["migrate"]);
    assert!(migrated.status.success(), "{migrated:?}");
    assert!(folder.path().join("data/cpe-ledger.sqlite").exists());
    let output = run_in(folder.path(), &["standing", "riss", "012345"]);
    let (_, stderr) = failure_of(&output);
    assert!(
        stderr.contains("no riss holding"),
        "past the database check: {stderr}"
    );
}

#[test]
fn every_argument_of_every_command_has_a_one_line_description_in_help() {
    use clap::CommandFactory;
    fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in command.get_arguments() {
            let id = arg.get_id().as_str();
            if matches!(id, "help" | "version") {
                continue;
            }
            let described = arg
                .get_help()
                .is_some_and(|h| !h.to_string().trim().is_empty());
            if !described {
                missing.push(format!("{path} {id}"));
            }
        }
        for sub in command.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
    let mut missing = Vec::new();
    walk(&cpe_ledger::cli::Cli::command(), "cpe-ledger", &mut missing);
    assert!(missing.is_empty(), "arguments without help: {missing:#?}");
}

/// A migrated ledger in a fresh folder with one CISSP and one RISS holder.
fn ledger_with_holders() -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    let migrated = run_in(folder.path(), &["migrate"]);
    assert!(migrated.status.success(), "{migrated:?}");
    std::fs::write(
        folder.path().join("registry.csv"),
        "scheme,registration_number,email,legal_name,legal_name_kana,display_name,certified_on,cycle_start\n\
         cissp,123456,taro@example.jp,山田 太郎,ヤマダ タロウ,Taro,2021-01-01,2024-01-01\n\
         riss,012345,jiro@example.jp,鈴木 次郎,スズキ ジロウ,Jiro,2023-04-01,2023-04-01\n",
    )
    .unwrap();
    let imported = run_in(folder.path(), &["import", "holders", "registry.csv"]);
    let out = String::from_utf8_lossy(&imported.stdout);
    assert!(out.contains("0 rejected"), "{out}");
    folder
}

fn credit_add(folder: &Path, scheme: &str, activity_type: &str, hours: &str) -> String {
    let hours = format!("--hours={hours}");
    let output = run_in(
        folder,
        &[
            "credits",
            "add",
            "--scheme",
            scheme,
            "--registration-number",
            "123456",
            "--activity-type",
            activity_type,
            "--title",
            "Incident response course",
            "--date",
            "2025-05-10",
            &hours,
        ],
    );
    failure_of(&output).1
}

#[test]
fn an_unknown_scheme_is_named_as_such_with_the_known_ones_in_standing_and_credits_add() {
    let folder = ledger_with_holders();
    let (code, stderr) = failure_of(&run_in(folder.path(), &["standing", "cism", "012345"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("unknown scheme 'cism'; known: cisa, cissp,"),
        "{stderr}"
    );
    assert!(!stderr.contains("holding"), "{stderr}");

    let stderr = credit_add(folder.path(), "cism", "education", "8");
    assert!(
        stderr.contains("scheme: unknown scheme 'cism'; known: cisa, cissp,"),
        "{stderr}"
    );
}

#[test]
fn an_activity_type_the_scheme_does_not_have_is_refused_listing_the_ones_it_has() {
    let folder = ledger_with_holders();
    let stderr = credit_add(folder.path(), "cissp", "training", "8");
    assert!(
        stderr.contains("scheme cissp has no activity type 'training' (it has: "),
        "{stderr}"
    );
    assert!(stderr.contains("education"), "{stderr}");
}

#[test]
fn hours_that_are_not_a_number_are_refused_saying_hours_were_expected() {
    let folder = ledger_with_holders();
    let stderr = credit_add(folder.path(), "cissp", "education", "eight");
    assert!(stderr.contains("--hours"), "{stderr}");
    assert!(
        stderr.contains("expected a number of hours, e.g. 8 or 1.5"),
        "{stderr}"
    );
    assert!(!stderr.contains("points"), "{stderr}");
}

#[test]
fn negative_hours_are_read_as_a_value_and_refused_as_hours() {
    let folder = ledger_with_holders();
    for hours in [&["--hours=-3"][..], &["--hours", "-3"][..]] {
        let mut args = vec![
            "credits",
            "add",
            "--scheme",
            "cissp",
            "--registration-number",
            "123456",
            "--activity-type",
            "education",
            "--title",
            "Course",
            "--date",
            "2025-05-10",
        ];
        args.extend(hours);
        let (_, stderr) = failure_of(&run_in(folder.path(), &args));
        assert!(
            stderr.contains("hours must be more than 0"),
            "{hours:?}: {stderr}"
        );
        assert!(!stderr.contains("unexpected argument"), "{stderr}");
    }
}

fn shown(args: &[&str]) -> String {
    let folder = tempfile::tempdir().unwrap();
    let output = run_in(folder.path(), args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn schemes_show_riss_prints_its_courses_and_slots_in_japanese_and_english_with_its_deadline() {
    let out = shown(&["schemes", "show", "riss"]);
    for expected in [
        "情報処理安全確保支援士",
        "ipa_online_course",
        "IPAオンライン講習",
        "IPA online course",
        "tokutei_koshu",
        "IPA online course, once every year",
        "IPAオンライン講習（毎年1回）",
        "実践講習または特定講習（3年に1回）",
        "ipa_online_course: 1 of ipa_online_course in every year of the cycle",
        "practical: 1 of ipa_practical_course or tokutei_koshu per cycle",
        "Cycle: 36 months",
        "Deadline: 60 days before the expiry date; grace: 0 days after the deadline",
        "the expiry date is the cycle's last valid day; the deadline is counted back from it",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}

#[test]
fn schemes_show_cissp_prints_its_caps_categories_and_ninety_days_of_grace() {
    let out = shown(&["schemes", "show", "cissp"]);
    for expected in [
        "120 points required; counted in steps of 0.25, at most per activity 40",
        "group_a; at least per cycle 90",
        "グループA（ドメイン関連）",
        "Group B (professional development)",
        "group_b; at most per cycle 30",
        "grace: 90 days after the deadline",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}

#[test]
fn schemes_show_json_carries_the_names_in_both_languages_and_the_date_convention() {
    let riss: serde_json::Value =
        serde_json::from_str(&shown(&["schemes", "show", "riss", "--json"])).unwrap();
    assert_eq!(riss["id"], "riss");
    assert_eq!(
        riss["slots"][0]["name"]["ja"],
        "IPAオンライン講習（毎年1回）"
    );
    assert_eq!(
        riss["slots"][0]["name"]["en"],
        "IPA online course, once every year"
    );
    assert_eq!(riss["renewal_deadline_days_before_end"], 60);
    assert!(
        riss["date_convention"]
            .as_str()
            .unwrap()
            .contains("last valid day")
    );
    let cissp: serde_json::Value =
        serde_json::from_str(&shown(&["schemes", "show", "cissp", "--json"])).unwrap();
    assert_eq!(cissp["grace_days"], 90);
    assert_eq!(
        cissp["categories"][0]["name"]["en"],
        "Group A (domain-related)"
    );
}

#[test]
fn schemes_show_of_an_unknown_scheme_lists_the_known_ones() {
    let folder = tempfile::tempdir().unwrap();
    let (_, stderr) = failure_of(&run_in(folder.path(), &["schemes", "show", "cism"]));
    assert!(
        stderr.contains("unknown scheme 'cism'; known: cisa, cissp,"),
        "{stderr}"
    );
}

fn add_cissp_credit(folder: &Path, title: &str, date: &str) -> String {
    let output = run_in(
        folder,
        &[
            "credits",
            "add",
            "--scheme",
            "cissp",
            "--registration-number",
            "123456",
            "--title",
            title,
            "--date",
            date,
            "--hours",
            "8",
            "--claim",
            "cissp:education:group_a=8",
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    out.strip_prefix("credit ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no credit id in {out:?}"))
        .to_owned()
}

#[test]
fn credits_list_finds_a_credits_id_again_with_its_claims_and_a_voided_ones_reason() {
    let folder = ledger_with_holders();
    let first = add_cissp_credit(folder.path(), "Incident response course", "2025-05-10");
    let second = add_cissp_credit(folder.path(), "Cloud security webinar", "2025-06-01");
    let voided = run_in(
        folder.path(),
        &["credits", "void", &second, "--reason", "reported twice"],
    );
    assert!(voided.status.success(), "{voided:?}");

    let args = [
        "credits",
        "list",
        "--scheme",
        "cissp",
        "--registration-number",
        "123456",
    ];
    let table = shown_in(folder.path(), &args);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[1].starts_with(&first), "{table}");
    assert!(lines[1].contains("approved"), "{table}");
    assert!(lines[1].contains("cissp:education:group_a=8"), "{table}");
    assert!(lines[1].ends_with("Incident response course"), "{table}");
    assert!(lines[2].starts_with(&second), "{table}");
    assert!(lines[2].contains("voided"), "{table}");
    assert!(lines[2].ends_with("(voided: reported twice)"), "{table}");

    let mut json_args = args.to_vec();
    json_args.push("--json");
    let listed: serde_json::Value =
        serde_json::from_str(&shown_in(folder.path(), &json_args)).unwrap();
    assert_eq!(listed[0]["id"], first.as_str());
    assert_eq!(listed[0]["completed_on"], "2025-05-10");
    assert_eq!(listed[0]["claims"][0]["category"], "group_a");
    assert_eq!(listed[1]["state"], "voided");
    assert_eq!(listed[1]["void_reason"], "reported twice");
}

#[test]
fn credits_list_of_a_holder_nobody_holds_names_the_holding() {
    let folder = ledger_with_holders();
    let (_, stderr) = failure_of(&run_in(
        folder.path(),
        &[
            "credits",
            "list",
            "--scheme",
            "cissp",
            "--registration-number",
            "999999",
        ],
    ));
    assert!(
        stderr.contains("no cissp holding with registration number 999999"),
        "{stderr}"
    );
}

fn shown_in(folder: &Path, args: &[&str]) -> String {
    let output = run_in(folder, args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn lines_of(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
fn admin_list_holders_narrows_by_scheme_in_any_case_by_status_and_by_email() {
    let folder = ledger_with_holders();
    let all = shown_in(folder.path(), &["admin", "list-holders"]);
    let lines = lines_of(&all);
    assert_eq!(lines.len(), 3, "{all}");
    assert!(lines[0].starts_with("SCHEME"), "{all}");
    assert!(lines[0].contains("REGISTRATION") && lines[0].ends_with("NAME"));
    assert!(lines[1].starts_with("cissp"), "ordered by scheme: {all}");
    assert!(lines[1].contains("123456") && lines[1].contains("active"));
    assert!(lines[1].contains("2026-12-31"), "current expiry: {all}");
    assert!(lines[1].contains("taro@example.jp") && lines[1].ends_with("Taro"));
    assert!(lines[2].starts_with("riss") && lines[2].contains("012345"));

    let riss = shown_in(
        folder.path(),
        &["admin", "list-holders", "--scheme", "RISS"],
    );
    assert_eq!(lines_of(&riss).len(), 2, "{riss}");
    assert!(lines_of(&riss)[1].contains("jiro@example.jp"), "{riss}");

    let taro = shown_in(
        folder.path(),
        &["admin", "list-holders", "--email", "taro@example.jp"],
    );
    assert_eq!(lines_of(&taro).len(), 2, "{taro}");
    assert!(lines_of(&taro)[1].contains("123456"), "{taro}");

    let lapsed = shown_in(
        folder.path(),
        &["admin", "list-holders", "--status", "lapsed"],
    );
    assert_eq!(lines_of(&lapsed).len(), 1, "header only: {lapsed}");
}

#[test]
fn admin_list_holders_refuses_an_unknown_status_or_scheme_listing_the_valid_ones() {
    let folder = ledger_with_holders();
    let (_, stderr) = failure_of(&run_in(
        folder.path(),
        &["admin", "list-holders", "--status", "expired"],
    ));
    assert!(stderr.contains("--status"), "{stderr}");
    assert!(
        stderr.contains("expected one of active, suspended, lapsed, revoked"),
        "{stderr}"
    );
    let (_, stderr) = failure_of(&run_in(
        folder.path(),
        &["admin", "list-holders", "--scheme", "cism"],
    ));
    assert!(
        stderr.contains("unknown scheme 'cism'; known: cisa, cissp,"),
        "{stderr}"
    );
    let (_, stderr) = failure_of(&run_in(
        folder.path(),
        &["admin", "list-holders", "--email", "taro"],
    ));
    assert!(stderr.contains("--email"), "{stderr}");
}

#[test]
fn admin_list_holders_json_carries_the_holder_and_the_current_cycle() {
    let folder = ledger_with_holders();
    let listed: serde_json::Value = serde_json::from_str(&shown_in(
        folder.path(),
        &["admin", "list-holders", "--scheme", "cissp", "--json"],
    ))
    .unwrap();
    let holdings = listed.as_array().unwrap();
    assert_eq!(holdings.len(), 1, "{listed}");
    let h = &holdings[0];
    assert_eq!(h["scheme"], "cissp");
    assert_eq!(h["registration_number"], "123456");
    assert_eq!(h["status"], "active");
    assert_eq!(h["email"], "taro@example.jp");
    assert_eq!(h["legal_name"], "山田 太郎");
    assert_eq!(h["display_name"], "Taro");
    assert_eq!(h["certified_on"], "2021-01-01");
    assert_eq!(h["cycle_starts_on"], "2024-01-01");
    assert_eq!(h["expires_on"], "2026-12-31");
}

#[test]
fn admin_list_providers_and_list_clients_narrow_by_status_and_kind_and_never_show_a_secret() {
    let folder = ledger_with_holders();
    let created = shown_in(
        folder.path(),
        &["admin", "create-provider", "--name", "Acme Training"],
    );
    let provider_id = created
        .strip_prefix("provider ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no provider id in {created:?}"))
        .to_owned();
    shown_in(
        folder.path(),
        &[
            "admin",
            "create-client",
            "--name",
            "Acme LMS",
            "--kind",
            "provider",
            "--provider-id",
            &provider_id,
        ],
    );
    let buyer = shown_in(
        folder.path(),
        &[
            "admin",
            "create-client",
            "--name",
            "City procurement",
            "--kind",
            "procurement",
        ],
    );
    let secret = buyer
        .lines()
        .find_map(|l| l.strip_prefix("client_secret:"))
        .unwrap()
        .trim()
        .to_owned();

    let providers = shown_in(folder.path(), &["admin", "list-providers"]);
    let lines = lines_of(&providers);
    assert_eq!(lines.len(), 2, "{providers}");
    assert!(lines[1].starts_with(&provider_id), "{providers}");
    assert!(lines[1].contains("approved") && lines[1].ends_with("Acme Training"));
    let suspended = shown_in(
        folder.path(),
        &["admin", "list-providers", "--status", "suspended"],
    );
    assert_eq!(lines_of(&suspended).len(), 1, "{suspended}");
    let json: serde_json::Value = serde_json::from_str(&shown_in(
        folder.path(),
        &["admin", "list-providers", "--json"],
    ))
    .unwrap();
    assert_eq!(json[0]["id"], provider_id.as_str());
    assert_eq!(json[0]["status"], "approved");

    let all = shown_in(folder.path(), &["admin", "list-clients"]);
    assert_eq!(lines_of(&all).len(), 3, "{all}");
    let procurement = shown_in(
        folder.path(),
        &["admin", "list-clients", "--kind", "procurement"],
    );
    let lines = lines_of(&procurement);
    assert_eq!(lines.len(), 2, "{procurement}");
    assert!(lines[1].contains("procurement:read"), "{procurement}");
    assert!(lines[1].ends_with("City procurement"), "{procurement}");
    let json_text = shown_in(
        folder.path(),
        &["admin", "list-clients", "--kind", "provider", "--json"],
    );
    assert!(!json_text.contains(&secret), "{json_text}");
    assert!(!json_text.contains("secret"), "{json_text}");
    let json: serde_json::Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1, "{json}");
    assert_eq!(json[0]["name"], "Acme LMS");
    assert_eq!(json[0]["kind"], "provider");
    assert_eq!(json[0]["provider_id"], provider_id.as_str());
    assert_eq!(json[0]["scopes"][0], "provider:write");
    assert_eq!(json[0]["state"], "active");

    let (_, stderr) = failure_of(&run_in(
        folder.path(),
        &["admin", "list-clients", "--kind", "buyer"],
    ));
    assert!(
        stderr.contains("expected one of provider, procurement, admin"),
        "{stderr}"
    );
}

#[test]
fn log_lines_written_to_a_pipe_carry_no_terminal_colour_codes() {
    let folder = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_cpe-ledger"))
        .arg("migrate")
        .current_dir(folder.path())
        .env_clear()
        .env("CPE_LEDGER_LOG", "info")
        .stdin(Stdio::null())
        .output()
        .expect("run cpe-ledger");
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("INFO"), "some log lines: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "colour codes in: {stderr:?}");
}

#[test]
fn a_category_the_scheme_does_not_have_is_refused_listing_the_ones_it_has() {
    let folder = ledger_with_holders();
    let (_, stderr) = failure_of(&run_in(
        folder.path(),
        &[
            "credits",
            "add",
            "--scheme",
            "cissp",
            "--registration-number",
            "123456",
            "--title",
            "Course",
            "--date",
            "2025-05-10",
            "--hours",
            "8",
            "--claim",
            "cissp:education:group_c=8",
        ],
    ));
    assert!(
        stderr.contains("scheme cissp has no category 'group_c' (it has: group_a, group_b)"),
        "{stderr}"
    );
}
