//! The benchmarks' command line: `--name value` pairs after `cargo bench --bench X --`.

/// The value given after `--name`, if any.
pub fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// The databases `--backend sqlite|postgres|all` names (default `all`).
#[allow(dead_code, reason = "not every benchmark runs on several databases")]
pub fn backends() -> anyhow::Result<Vec<&'static str>> {
    Ok(match flag("--backend").as_deref().unwrap_or("all") {
        "all" => vec!["sqlite", "postgres"],
        "sqlite" => vec!["sqlite"],
        "postgres" => vec!["postgres"],
        other => anyhow::bail!("unknown backend {other}"),
    })
}
