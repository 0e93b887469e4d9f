//! CI output formats: GitHub Actions annotations, SARIF 2.1.0 and JUnit XML, built from a run's
//! results. Each returns the whole text to print; nothing here writes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use dbcheck_core::source::SourceFile;
use dbcheck_core::{Finding, Location, Severity};
use serde_json::{Value, json};

use crate::cli::MessageFormat;
use crate::commands::Outcome;

const TOOL: &str = "dbcheck";
const INFORMATION_URI: &str = "https://example.invalid/dbcheck/docs/findings.md";

/// Where a finding points, resolved for CI consumers: a path relative to the current directory
/// (with `/` separators) and 1-based line/column range when it has a span.
struct Place {
    path: Option<String>,
    region: Option<(usize, usize, usize, usize)>,
    object: Option<String>,
}

fn place(f: &Finding) -> Place {
    match &f.location {
        Some(Location::File { path, span }) => {
            let region = span.as_ref().and_then(|s| {
                let text = std::fs::read_to_string(path).ok()?;
                let file = SourceFile::new(path, text);
                let (l1, c1) = file.line_col(s.start);
                let (l2, c2) = file.line_col(s.end);
                Some((l1, c1, l2, c2))
            });
            Place { path: Some(relative(path)), region, object: None }
        }
        Some(Location::Database { object }) => Place { path: None, region: None, object: Some(object.clone()) },
        None => Place { path: None, region: None, object: None },
    }
}

/// `path` relative to the current directory when below it, always with `/` separators.
fn relative(path: &Path) -> String {
    let rel = std::env::current_dir().ok().and_then(|cwd| path.strip_prefix(&cwd).ok().map(PathBuf::from));
    let rel = rel.unwrap_or_else(|| path.to_path_buf());
    rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/")
}

/// Every finding of the run with the project it belongs to.
fn all_findings(outcome: &Outcome) -> impl Iterator<Item = (&str, &Finding)> {
    outcome.results.iter().flat_map(|r| r.findings.iter().map(move |f| (r.project.as_str(), f)))
}

// ---------------------------------------------------------------------------------------------
// GitHub Actions

/// Escape a workflow-command message (`%`, CR, LF).
fn gh_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escape a workflow-command property value (also `:` and `,`).
fn gh_property(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One `::error|warning|notice …::message` line per finding, so GitHub annotates the pull
/// request at the file and line; the message carries the help text after a blank line.
pub fn github(outcome: &Outcome) -> String {
    let mut out = String::new();
    for (project, f) in all_findings(outcome) {
        let command = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let p = place(f);
        let mut props = Vec::new();
        if let Some(path) = &p.path {
            props.push(format!("file={}", gh_property(path)));
        }
        if let Some((l1, c1, l2, c2)) = p.region {
            props.push(format!("line={l1},col={c1},endLine={l2}"));
            if l1 == l2 {
                props.push(format!("endColumn={c2}"));
            }
        }
        let title = match &p.object {
            Some(object) => format!("dbcheck {} ({project}, database: {object})", f.code),
            None => format!("dbcheck {} ({project})", f.code),
        };
        props.push(format!("title={}", gh_property(&title)));
        let mut message = f.message.clone();
        if let Some(help) = &f.help {
            message.push_str("\n\nhelp: ");
            message.push_str(help);
        }
        let _ = writeln!(out, "::{command} {}::{}", props.join(","), gh_data(&message));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// SARIF

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Percent-encode a relative path for a SARIF `artifactLocation.uri`.
fn uri(path: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'/').remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    percent_encoding::utf8_percent_encode(path, SEGMENT).to_string()
}

/// A SARIF 2.1.0 log with one run; the driver lists one rule per finding code that occurs.
pub fn sarif(outcome: &Outcome) -> String {
    let mut rules: BTreeMap<&str, &Finding> = BTreeMap::new();
    for (_, f) in all_findings(outcome) {
        rules.entry(f.code).or_insert(f);
    }
    let index: BTreeMap<&str, usize> = rules.keys().enumerate().map(|(i, code)| (*code, i)).collect();
    let rules_json: Vec<Value> = rules
        .iter()
        .map(|(code, example)| {
            let mut rule = json!({
                "id": code,
                "name": code,
                "shortDescription": { "text": code.replace('-', " ") },
                "helpUri": format!("{INFORMATION_URI}#{code}"),
                "defaultConfiguration": { "level": sarif_level(example.severity) },
            });
            if let Some(help) = &example.help {
                rule["help"] = json!({ "text": help });
            }
            rule
        })
        .collect();
    let results: Vec<Value> = all_findings(outcome)
        .map(|(project, f)| {
            let p = place(f);
            let mut location = json!({});
            if let Some(path) = &p.path {
                let mut physical = json!({ "artifactLocation": { "uri": uri(path) } });
                if let Some((l1, c1, l2, c2)) = p.region {
                    physical["region"] = json!({ "startLine": l1, "startColumn": c1, "endLine": l2, "endColumn": c2 });
                }
                location["physicalLocation"] = physical;
            }
            if let Some(object) = &p.object {
                location["logicalLocations"] = json!([{ "fullyQualifiedName": object, "kind": "database-object" }]);
            }
            let mut message = f.message.clone();
            if let Some(help) = &f.help {
                let _ = write!(message, "\nhelp: {help}");
            }
            let mut result = json!({
                "ruleId": f.code,
                "ruleIndex": index.get(f.code).copied().unwrap_or(0),
                "level": sarif_level(f.severity),
                "message": { "text": message },
                "properties": { "project": project },
            });
            if location.as_object().is_some_and(|o| !o.is_empty()) {
                result["locations"] = json!([location]);
            }
            if let Some(sql) = &f.fix_sql {
                result["properties"]["fixSql"] = json!(sql);
            }
            result
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": TOOL,
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": INFORMATION_URI,
                "rules": rules_json,
            }},
            "invocations": [{ "executionSuccessful": true }],
            "results": results,
        }],
    });
    format!("{doc}\n")
}

// ---------------------------------------------------------------------------------------------
// JUnit

fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn finding_line(f: &Finding) -> String {
    let p = place(f);
    let at = match (&p.path, p.region, &p.object) {
        (Some(path), Some((l, c, _, _)), _) => format!(" at {path}:{l}:{c}"),
        (Some(path), None, _) => format!(" at {path}"),
        (None, _, Some(object)) => format!(" at database object {object}"),
        _ => String::new(),
    };
    format!("{}[{}]: {}{at}", f.severity, f.code, f.message)
}

/// A JUnit XML report: one test suite per package, one test case per check (the command that
/// ran). A check fails when it has a finding at or above the package's failing severity; the
/// failure lists those findings, and lower findings go to `system-out`.
pub fn junit(outcome: &Outcome) -> String {
    let mut suites = String::new();
    let (mut total, mut failures) = (0, 0);
    for (i, r) in outcome.results.iter().enumerate() {
        let fail_on = outcome.fail_on.get(i).copied().unwrap_or(Severity::Error);
        let (failing, other): (Vec<&Finding>, Vec<&Finding>) = r.findings.iter().partition(|f| f.severity >= fail_on);
        total += 1;
        let mut case = format!("    <testcase name=\"{}\" classname=\"{TOOL}.{}\">\n", xml(r.command), xml(&r.project));
        if !failing.is_empty() {
            failures += 1;
            let body: Vec<String> = failing.iter().map(|f| finding_line(f)).collect();
            let _ = writeln!(
                case,
                "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                xml(&format!("{} finding(s) at or above {fail_on}: {}", failing.len(), failing[0].message)),
                xml(failing[0].code),
                xml(&body.join("\n"))
            );
        }
        for s in &r.skipped {
            let _ = writeln!(case, "      <system-err>{}</system-err>", xml(&format!("skipped: {s}")));
        }
        if !other.is_empty() {
            let body: Vec<String> = other.iter().map(|f| finding_line(f)).collect();
            let _ = writeln!(case, "      <system-out>{}</system-out>", xml(&body.join("\n")));
        }
        case.push_str("    </testcase>\n");
        let _ = write!(
            suites,
            "  <testsuite name=\"{}\" tests=\"1\" failures=\"{}\" errors=\"0\" skipped=\"0\">\n{case}  </testsuite>\n",
            xml(&r.project),
            usize::from(!failing.is_empty())
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{TOOL}\" tests=\"{total}\" failures=\"{failures}\" errors=\"0\">\n{suites}</testsuites>\n"
    )
}

/// The machine-readable form of an error that stopped the run, for formats that promise a
/// document on stdout (SARIF: a failed invocation; JUnit: an errored test case; GitHub: an
/// error annotation). `None` for the other formats.
pub fn error(format: MessageFormat, message: &str) -> Option<String> {
    match format {
        MessageFormat::Github => Some(format!("::error title=dbcheck::{}\n", gh_data(message))),
        MessageFormat::Sarif => {
            let doc = json!({
                "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
                "version": "2.1.0",
                "runs": [{
                    "tool": { "driver": { "name": TOOL, "version": env!("CARGO_PKG_VERSION"), "informationUri": INFORMATION_URI } },
                    "invocations": [{
                        "executionSuccessful": false,
                        "toolExecutionNotifications": [{ "level": "error", "message": { "text": message } }],
                    }],
                    "results": [],
                }],
            });
            Some(format!("{doc}\n"))
        }
        MessageFormat::Junit => Some(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{TOOL}\" tests=\"1\" failures=\"0\" errors=\"1\">\n  <testsuite name=\"{TOOL}\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">\n    <testcase name=\"run\" classname=\"{TOOL}\">\n      <error message=\"{}\"/>\n    </testcase>\n  </testsuite>\n</testsuites>\n",
            xml(message)
        )),
        MessageFormat::Human | MessageFormat::Short | MessageFormat::Json => None,
    }
}
