//! Monitoring outputs of a finished run: Prometheus text-format metrics (`--metrics FILE`) and a
//! JSON notification posted to a webhook when checks fail (`--notify URL`, Slack-compatible).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dbcheck_core::Severity;
use serde_json::json;

use crate::commands::Outcome;
use crate::exit::CliError;

/// Escape a Prometheus label value (backslash, double quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// A metric family: its help and type lines, then samples.
struct Family {
    help: &'static str,
    kind: &'static str,
    samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

/// The run as Prometheus text-format metrics, named after the guidelines' monitoring table:
/// findings by code, migration states, drifted objects, dangling file references and orphan
/// files, plus the run's outcome and time.
pub fn metrics(outcome: &Outcome, now: SystemTime) -> String {
    let mut families: BTreeMap<&'static str, Family> = BTreeMap::new();
    let mut add = |name: &'static str,
                   help: &'static str,
                   kind: &'static str,
                   labels: Vec<(&'static str, String)>,
                   v: f64| {
        families.entry(name).or_insert_with(|| Family { help, kind, samples: Vec::new() }).samples.push((labels, v));
    };
    add(
        "dbcheck_run_failed",
        "1 when a finding reached --fail-on",
        "gauge",
        vec![],
        f64::from(u8::from(outcome.failed)),
    );
    let ts = now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs_f64();
    add("dbcheck_last_run_timestamp_seconds", "when this run finished", "gauge", vec![], ts.floor());
    for r in &outcome.results {
        let project = || ("project", r.project.clone());
        let mut by_code: BTreeMap<(&str, Severity), u64> = BTreeMap::new();
        for f in &r.findings {
            *by_code.entry((f.code, f.severity)).or_default() += 1;
        }
        for ((code, severity), n) in by_code {
            add(
                "dbcheck_findings",
                "findings by code and severity",
                "gauge",
                vec![
                    project(),
                    ("command", r.command.to_owned()),
                    ("code", code.to_owned()),
                    ("severity", severity.to_string()),
                ],
                n as f64,
            );
        }
        if let Some(status) = &r.status {
            let s = status.summary();
            for (state, n) in [
                ("applied", s.applied),
                ("pending", s.pending),
                ("failed", s.failed),
                ("edited", s.edited),
                ("missing", s.missing),
                ("out_of_order", s.out_of_order),
            ] {
                add(
                    "dbcheck_migrations",
                    "migrations by state (failed migrations: state=\"failed\")",
                    "gauge",
                    vec![project(), ("state", state.to_owned())],
                    n as f64,
                );
            }
        }
        if r.command == "drift"
            && let Some(schema) = &r.schema
        {
            add(
                "dbcheck_drift_objects",
                "objects that differ from the migrations",
                "gauge",
                vec![project()],
                schema.differences.len() as f64,
            );
        }
        if let Some(files) = &r.files {
            for e in &files.entries {
                let missing: u64 = e.classes.iter().filter(|c| c.code == "file-missing").map(|c| c.count).sum();
                let labels = || vec![project(), ("table", e.table.clone()), ("column", e.column.clone())];
                add("dbcheck_file_references", "non-NULL file references read", "gauge", labels(), e.references as f64);
                add(
                    "dbcheck_file_references_dangling",
                    "references to files that do not exist",
                    "gauge",
                    labels(),
                    missing as f64,
                );
                let ratio = if e.references == 0 { 0.0 } else { missing as f64 / e.references as f64 };
                add(
                    "dbcheck_file_references_dangling_ratio",
                    "share of references that dangle (broken images)",
                    "gauge",
                    labels(),
                    ratio,
                );
            }
            for root in &files.roots {
                let orphans: u64 = root.classes.iter().filter(|c| c.code == "file-orphan").map(|c| c.count).sum();
                let labels = || vec![project(), ("root", root.root.display().to_string())];
                add("dbcheck_files", "regular files under the root", "gauge", labels(), root.files as f64);
                add("dbcheck_files_orphan", "files no row references", "gauge", labels(), orphans as f64);
            }
        }
    }
    for r in &outcome.results {
        let project = || ("project", r.project.clone());
        if let Some(integrity) = &r.integrity {
            for rule in &integrity.rules {
                let labels = || vec![project(), ("rule", rule.id.clone()), ("table", rule.table.clone())];
                add(
                    "dbcheck_integrity_violations",
                    "rows violating a data rule",
                    "gauge",
                    labels(),
                    rule.violations as f64,
                );
                if let Some(ratio) = rule.ratio {
                    add(
                        "dbcheck_integrity_violation_ratio",
                        "share of rows violating a data rule (e.g. missing slugs)",
                        "gauge",
                        labels(),
                        ratio,
                    );
                }
            }
        }
        if let Some(backup) = &r.backup {
            if let Some(list) = &backup.list {
                if let Some(newest) = list
                    .generations
                    .iter()
                    .filter(|g| g.kind != "safety")
                    .max_by(|a, b| a.created_at.cmp(&b.created_at))
                {
                    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&newest.created_at) {
                        let age = (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds().max(0);
                        add(
                            "dbcheck_backup_last_age_seconds",
                            "age of the newest backup generation",
                            "gauge",
                            vec![project()],
                            age as f64,
                        );
                    }
                    add(
                        "dbcheck_backup_last_size_bytes",
                        "size of the newest backup generation",
                        "gauge",
                        vec![project()],
                        newest.total_bytes as f64,
                    );
                }
                if let Some(growth) = list.growth_per_month {
                    add(
                        "dbcheck_backup_growth_per_month",
                        "backup size growth per month (0.5 = +50%)",
                        "gauge",
                        vec![project()],
                        growth,
                    );
                }
            }
            if let Some(verify) = &backup.verify {
                let ok = !verify.findings.iter().any(|f| f.severity == Severity::Error);
                add(
                    "dbcheck_backup_verify_ok",
                    "1 when the verified backup generation is intact",
                    "gauge",
                    vec![project(), ("generation", verify.id.clone())],
                    f64::from(u8::from(ok)),
                );
            }
        }
    }
    let mut out = String::new();
    for (name, family) in &families {
        let _ = writeln!(out, "# HELP {name} {}", family.help);
        let _ = writeln!(out, "# TYPE {name} {}", family.kind);
        for (labels, value) in &family.samples {
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", label(v))).collect();
            let labels = if labels.is_empty() { String::new() } else { format!("{{{}}}", labels.join(",")) };
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    }
    out
}

/// Write `text` to `path` atomically (temporary file in the same folder, then rename), so a
/// collector such as node_exporter's textfile never reads half a file.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), CliError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let fail = |e: std::io::Error| CliError::Usage {
        message: format!("cannot write metrics to {}: {e}", path.display()),
        help: Some("check that the folder exists and is writable".into()),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    tmp.write_all(text.as_bytes()).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// The notification body: a Slack-compatible `text` plus the structured summary.
pub fn notification(outcome: &Outcome) -> serde_json::Value {
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    for (i, r) in outcome.results.iter().enumerate() {
        let fail_on = outcome.fail_on.get(i).copied().unwrap_or(Severity::Error);
        let failing: Vec<_> = r.findings.iter().filter(|f| f.severity >= fail_on).collect();
        if failing.is_empty() {
            continue;
        }
        lines.push(format!("*{}* `{}`: {} finding(s)", r.project, r.command, failing.len()));
        for f in failing.iter().take(5) {
            lines.push(format!("• {}[{}]: {}", f.severity, f.code, f.message));
            problems.push(json!({ "project": r.project, "command": r.command, "code": f.code, "severity": f.severity, "message": f.message }));
        }
        if failing.len() > 5 {
            lines.push(format!("• … and {} more", failing.len() - 5));
        }
    }
    let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty());
    let head = match host {
        Some(h) => format!(":warning: dbcheck found problems on {h}"),
        None => ":warning: dbcheck found problems".to_owned(),
    };
    json!({
        "text": format!("{head}\n{}", lines.join("\n")),
        "dbcheck": { "version": env!("CARGO_PKG_VERSION"), "failed": outcome.failed, "findings": problems },
    })
}

/// POST the notification to `url` when the run failed. Failures to notify are errors (exit 2):
/// a silent alerting path is worse than a loud one.
pub fn notify(url: &str, outcome: &Outcome) -> Result<(), CliError> {
    if !outcome.failed {
        return Ok(());
    }
    let shown = dbcheck_core::db::redact_url(url);
    let agent = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(10))).build().new_agent();
    let body = notification(outcome).to_string();
    agent.post(url).header("content-type", "application/json").send(body.as_bytes()).map(|_| ()).map_err(|e| {
        CliError::Usage {
            message: format!("cannot notify {shown}: {}", dbcheck_core::db::redact_url(&e.to_string())),
            help: Some(
                "check the --notify URL (a Slack incoming webhook or any endpoint that accepts a JSON POST)".into(),
            ),
        }
    })
}
