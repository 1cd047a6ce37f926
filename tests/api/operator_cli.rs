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
