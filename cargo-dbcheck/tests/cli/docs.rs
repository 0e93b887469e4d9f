//! The commands the documentation shows exist: every `cargo dbcheck …` line of a code block and
//! every inline `` `cargo dbcheck …` `` span in README.md and docs/ parses with this binary (run
//! with `--help` appended, so clap checks the subcommand and every flag before it; nothing runs).

use std::path::Path;

use crate::project::{TempProject, output_text};

/// Words of a documented command, with shell quoting removed and `$VARS` replaced by a value.
fn words(line: &str) -> Option<Vec<String>> {
    let line = line.split(" #").next()?.trim();
    if line.contains(['|', '…', '<', '[', '{', '>']) {
        return None;
    }
    let rest = line.strip_prefix("$ ").unwrap_or(line).strip_prefix("cargo dbcheck")?;
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    Some(
        rest.split_whitespace()
            .map(|w| {
                let w = w.trim_matches(['"', '\'']);
                if w.starts_with('$') { "sqlite:placeholder.db".to_owned() } else { w.to_owned() }
            })
            .collect(),
    )
}

fn documented_commands() -> Vec<(String, Vec<String>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let mut in_code = false;
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("```") {
                in_code = !in_code;
                continue;
            }
            let at = format!("{name}:{}", n + 1);
            let spans: Vec<&str> =
                if in_code { vec![line.trim_start()] } else { line.split('`').skip(1).step_by(2).collect() };
            // `a && b` and `a; b` chains: each command on its own.
            for command in spans.iter().flat_map(|s| s.split("&&")).flat_map(|s| s.split("; ")) {
                if let Some(w) = words(command.trim()) {
                    out.push((at.clone(), w));
                }
            }
        }
    }
    out
}

#[test]
fn every_documented_command_parses() {
    let commands = documented_commands();
    assert!(commands.len() >= 40, "only {} documented commands found: the extraction broke", commands.len());
    let p = TempProject::new("");
    let mut bad = Vec::new();
    for (at, args) in &commands {
        let out = p.cmd().arg("dbcheck").args(args).arg("--help").output().unwrap();
        if !out.status.success() {
            let (_, stderr) = output_text(&out);
            bad.push(format!("{at}: cargo dbcheck {} -> {}", args.join(" "), stderr.lines().next().unwrap_or("")));
        }
    }
    assert!(bad.is_empty(), "documented commands that do not parse:\n{}", bad.join("\n"));
}
