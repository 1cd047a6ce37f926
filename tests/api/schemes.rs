//! `cpe-ledger schemes …`: the built-in definitions, an operator's folder, and checking a file.
//! Nothing here touches a database, so each test runs once, in a temp data dir.

use std::path::Path;

use crate::harness::{failure_of, run_cli, stdout_of};

const CISSP: &str = include_str!("../../schemes/cissp.toml");

fn schemes(data_dir: &Path, args: &[&str], schemes_dir: Option<&Path>) -> std::process::Output {
    let data_dir = data_dir.display().to_string();
    let schemes_dir = schemes_dir.map(|d| d.display().to_string());
    let mut env = vec![("CPE_LEDGER_DATA_DIR", data_dir.as_str())];
    if let Some(dir) = &schemes_dir {
        env.push(("CPE_LEDGER_SCHEMES_DIR", dir.as_str()));
    }
    let mut all = vec!["schemes"];
    all.extend_from_slice(args);
    run_cli(&all, &env, None)
}

/// The first column of every row after the header.
fn listed_ids(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn schemes_list_shows_every_built_in_scheme() {
    let dir = tempfile::tempdir().unwrap();
    let out = stdout_of(&schemes(dir.path(), &["list"], None));
    assert!(out.starts_with("SCHEME"), "{out}");
    assert_eq!(
        listed_ids(&out),
        [
            "cisa",
            "cissp",
            "comptia-secplus",
            "giac",
            "riss",
            "riss-points"
        ]
    );
    let riss_points = out.lines().find(|l| l.starts_with("riss-points")).unwrap();
    assert!(riss_points.contains("proposal"), "{riss_points}");
    assert!(
        !dir.path().join("cpe-ledger.sqlite").exists(),
        "listing schemes needs no database"
    );
}

#[test]
fn schemes_list_adds_a_scheme_from_the_operators_folder() {
    let dir = tempfile::tempdir().unwrap();
    let extra = tempfile::tempdir().unwrap();
    let custom = CISSP
        .replacen("id = \"cissp\"", "id = \"acme-sec\"", 1)
        .replacen("version = \"2024\"", "version = \"2026-01\"", 1);
    assert_ne!(custom, CISSP, "the replacement must hit the id line");
    std::fs::write(extra.path().join("acme.toml"), custom).unwrap();

    let out = stdout_of(&schemes(dir.path(), &["list"], Some(extra.path())));
    assert!(listed_ids(&out).contains(&"acme-sec".to_owned()), "{out}");
    let row = out.lines().find(|l| l.starts_with("acme-sec")).unwrap();
    assert!(row.contains("2026-01"), "{row}");
}

#[test]
fn a_broken_file_in_the_operators_folder_stops_schemes_list_naming_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let extra = tempfile::tempdir().unwrap();
    let broken = CISSP.replacen("cycle_months = 36", "cycle_months = \"three years\"", 1);
    assert_ne!(broken, CISSP);
    std::fs::write(extra.path().join("broken.toml"), broken).unwrap();

    let (_, stderr) = failure_of(&schemes(dir.path(), &["list"], Some(extra.path())));
    assert!(stderr.contains("broken.toml"), "{stderr}");
    assert!(stderr.contains("cycle_months"), "{stderr}");
}

#[test]
fn schemes_check_accepts_a_shipped_definition() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cissp.toml");
    std::fs::write(&file, CISSP).unwrap();
    let out = stdout_of(&schemes(
        dir.path(),
        &["check", file.to_str().unwrap()],
        None,
    ));
    assert!(out.contains("ok (cissp version 2024)"), "{out}");
}

/// Writes `text` as `name` in a temp dir, runs `schemes check` on it, and returns the
/// exit code and the error output.
fn check_broken(name: &str, text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(name);
    std::fs::write(&file, text).unwrap();
    let output = schemes(dir.path(), &["check", file.to_str().unwrap()], None);
    assert!(
        output.stdout.is_empty(),
        "a failed check prints nothing on stdout"
    );
    let (code, stderr) = failure_of(&output);
    assert!(
        stderr.contains(name),
        "the message names the file: {stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    (code, stderr)
}

#[test]
fn schemes_check_names_the_file_and_field_of_an_unknown_category_reference() {
    let broken = CISSP.replacen("category = \"group_b\"", "category = \"group_z\"", 1);
    assert_ne!(broken, CISSP);
    let (code, stderr) = check_broken("unknown-category.toml", &broken);
    assert_ne!(code, 0);
    assert!(stderr.contains("activity_types[3].category"), "{stderr}");
    assert!(stderr.contains("group_z"), "{stderr}");
}

#[test]
fn schemes_check_names_the_file_field_and_line_of_a_missing_source() {
    // Drop the `source` of the first activity type (the first `source` after its header).
    let at = CISSP.find("[[activity_types]]").unwrap();
    let source = at + CISSP[at..].find("\nsource = ").unwrap();
    let end = source + 1 + CISSP[source + 1..].find('\n').unwrap();
    let broken = format!("{}{}", &CISSP[..source], &CISSP[end..]);
    let (code, stderr) = check_broken("missing-source.toml", &broken);
    assert_ne!(code, 0);
    assert!(stderr.contains("activity_types[0].source"), "{stderr}");
    assert!(stderr.contains("missing-source.toml:"), "{stderr}");
}

#[test]
fn schemes_check_reports_the_line_of_a_toml_syntax_error() {
    let broken = CISSP.replacen("cycle_months = 36", "cycle_months = = 36", 1);
    assert_ne!(broken, CISSP);
    let line = CISSP
        .lines()
        .position(|l| l.starts_with("cycle_months"))
        .unwrap()
        + 1;
    let (code, stderr) = check_broken("syntax.toml", &broken);
    assert_ne!(code, 0);
    assert!(stderr.contains(&format!("syntax.toml:{line}")), "{stderr}");
}

#[test]
fn schemes_check_on_a_missing_file_fails_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("absent.toml");
    let (code, stderr) = failure_of(&schemes(
        dir.path(),
        &["check", file.to_str().unwrap()],
        None,
    ));
    assert_ne!(code, 0);
    assert!(stderr.contains("absent.toml"), "{stderr}");
}
