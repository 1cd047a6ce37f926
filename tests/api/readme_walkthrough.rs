//! README's "First use, step by step", run as written: the `sh` block under that heading is
//! split into commands, each command is run in order by one shell (so variables carry from
//! one to the next) in a fresh folder with the real binary on the `PATH`, and every `#>` line
//! below a command must appear in what that command printed. A README that drifts from the
//! program fails here.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HEADING: &str = "## First use, step by step";
/// The address README's commands use; the test serves on a free port instead.
const README_ADDRESS: &str = "127.0.0.1:8080";
const MARK: &str = "@@walkthrough-step";

/// One command of the walkthrough and the fragments of output README promises for it.
#[derive(Debug)]
struct Step {
    command: String,
    expected: Vec<String>,
}

fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    std::fs::read_to_string(&path).unwrap()
}

/// Marks the command section's block, which must run after the walkthrough.
const COMMANDS: &str = "<!-- commands: run after the walkthrough";

/// The first `sh` block after the heading, as lines.
fn walkthrough_block(readme: &str) -> Vec<String> {
    sh_block_after(readme, HEADING)
}

/// The first `sh` block after `marker`, as lines.
fn sh_block_after(readme: &str, marker: &str) -> Vec<String> {
    let after = readme
        .split_once(marker)
        .unwrap_or_else(|| panic!("README has no {marker:?}"))
        .1;
    let start = after
        .find("```sh\n")
        .expect("an sh block under the heading")
        + "```sh\n".len();
    let end = after[start..].find("```").expect("the block's end") + start;
    after[start..end].lines().map(str::to_owned).collect()
}

/// Commands (a line ending in `\` continues on the next) with their `#>` lines; other
/// comments and blank lines are for readers.
fn steps(lines: &[String]) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut pending = String::new();
    for line in lines {
        if !pending.is_empty() {
            pending.push('\n');
            pending.push_str(line);
            if !line.ends_with('\\') {
                steps.push(Step {
                    command: std::mem::take(&mut pending),
                    expected: Vec::new(),
                });
            }
            continue;
        }
        let trimmed = line.trim();
        if let Some(expected) = trimmed.strip_prefix("#>") {
            steps
                .last_mut()
                .expect("a #> line follows a command")
                .expected
                .push(expected.trim().to_owned());
        } else if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        } else if line.ends_with('\\') {
            pending = line.clone();
        } else {
            steps.push(Step {
                command: line.clone(),
                expected: Vec::new(),
            });
        }
    }
    assert!(pending.is_empty(), "the block ends inside a command");
    steps
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One script: each command preceded by a marker line, so its output can be told apart; the
/// server started in the background is stopped when the script ends, however it ends.
fn script(steps: &[Step], address: &str) -> String {
    let mut text =
        String::from("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n");
    for (i, step) in steps.iter().enumerate() {
        text.push_str(&format!("echo '{MARK} {i}'\n"));
        text.push_str(&step.command.replace(README_ADDRESS, address));
        text.push('\n');
    }
    text.push_str(&format!("echo '{MARK} end'\n"));
    text
}

/// Runs `script` with bash in `folder`, at most `limit`; the whole process group is killed
/// after it.
fn run_script(
    folder: &Path,
    script: &str,
    address: &str,
    limit: Duration,
) -> (bool, String, String) {
    use std::os::unix::process::CommandExt;
    let bin = Path::new(env!("CARGO_BIN_EXE_cpe-ledger"))
        .parent()
        .unwrap()
        .to_owned();
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(folder)
        .env_clear()
        .env("PATH", path)
        .env("HOME", folder)
        .env("CPE_LEDGER_LISTEN", address)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("run bash");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > limit {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // The group: bash and anything it left running.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.wait();
    let out = out_reader.join().unwrap();
    let err = err_reader.join().unwrap();
    match status {
        Some(status) => (status.success(), out, err),
        None => (false, out, format!("timed out after {limit:?}\n{err}")),
    }
}

/// What each step printed, by the marker lines.
fn outputs_by_step(stdout: &str, count: usize) -> Vec<String> {
    let mut outputs = vec![String::new(); count];
    let mut current: Option<usize> = None;
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix(MARK) {
            current = rest.trim().parse().ok();
            continue;
        }
        if let Some(output) = current.and_then(|i| outputs.get_mut(i)) {
            output.push_str(line);
            output.push('\n');
        }
    }
    outputs
}

#[test]
fn the_readme_walkthrough_splits_into_the_first_use_steps_in_order() {
    let steps = steps(&walkthrough_block(&readme()));
    let commands: Vec<&str> = steps.iter().map(|s| s.command.as_str()).collect();
    let position = |needle: &str| {
        commands
            .iter()
            .position(|c| c.contains(needle))
            .unwrap_or_else(|| panic!("no step runs {needle:?}: {commands:#?}"))
    };
    let order = [
        "cpe-ledger serve",
        "admin create-user",
        "import holders samples/registry.csv",
        "admin invite-holders",
        "credits add",
        "cpe-ledger standing",
        "create-client --name \"City procurement\" --kind procurement",
        "/oauth/token",
        "/v1/procurement/holdings/",
    ]
    .map(position);
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "steps out of order: {order:?} in {commands:#?}"
    );
    assert!(
        steps.iter().any(|s| s.command.contains('\n')),
        "continued lines are joined"
    );
}

/// A fresh folder holding what README's commands read from the repository: `samples/` and
/// `schemes/`.
fn folder_with_samples() -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    for dir in ["samples", "schemes"] {
        let target = folder.path().join(dir);
        std::fs::create_dir(&target).unwrap();
        for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), target.join(entry.file_name())).unwrap();
            }
        }
    }
    folder
}

#[test]
fn every_line_of_the_readme_command_section_runs_when_pasted_after_the_walkthrough() {
    let readme = readme();
    let mut all = steps(&walkthrough_block(&readme));
    let walkthrough = all.len();
    all.extend(steps(&sh_block_after(&readme, COMMANDS)));
    assert!(
        all.len() > walkthrough + 10,
        "the command section is missing"
    );
    let folder = folder_with_samples();
    let address = format!("127.0.0.1:{}", free_port());
    let (succeeded, stdout, stderr) = run_script(
        folder.path(),
        &script(&all, &address),
        &address,
        Duration::from_secs(180),
    );
    let reached = stdout
        .lines()
        .filter_map(|l| l.strip_prefix(MARK))
        .next_back()
        .and_then(|i| i.trim().parse::<usize>().ok());
    assert!(
        succeeded && stdout.contains(&format!("{MARK} end")),
        "stopped at `{}`:\nstdout:\n{stdout}\nstderr:\n{stderr}",
        reached.map_or("?", |i| all[i].command.as_str())
    );
}

#[test]
fn every_command_of_the_readme_walkthrough_runs_in_order_on_a_fresh_folder_and_prints_what_readme_says()
 {
    let steps = steps(&walkthrough_block(&readme()));
    let folder = folder_with_samples();
    let address = format!("127.0.0.1:{}", free_port());
    let (succeeded, stdout, stderr) = run_script(
        folder.path(),
        &script(&steps, &address),
        &address,
        Duration::from_secs(120),
    );
    let outputs = outputs_by_step(&stdout, steps.len());
    assert!(
        succeeded && stdout.contains(&format!("{MARK} end")),
        "the walkthrough stopped:\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for (step, output) in steps.iter().zip(&outputs) {
        for expected in &step.expected {
            assert!(
                output.contains(expected.as_str()),
                "`{}` should print {expected:?}; it printed:\n{output}\nstderr:\n{stderr}",
                step.command
            );
        }
    }
    assert!(
        folder.path().join("data/cpe-ledger.sqlite").exists(),
        "serve created the data folder where README says"
    );
}
