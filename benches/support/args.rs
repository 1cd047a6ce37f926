//! The benchmarks' command line: `--name value` pairs after `cargo bench --bench X --`.

/// The value given after `--name`, if any.
pub fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}
