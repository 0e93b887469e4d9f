//! Ignore comments: `-- dbcheck:ignore <rule>[, <rule>] -- <reason>` for the next statement (or the
//! statement on the same line), `-- dbcheck:ignore-file <rule> -- <reason>` for the whole file, and
//! squawk's `-- squawk-ignore <rule>` / `-- squawk-ignore-file` so teams can switch. A dbcheck
//! ignore without a reason, or naming an unknown rule, is itself an error and suppresses nothing;
//! an ignore that suppresses nothing is reported.

use std::ops::Range;
use std::path::Path;

use super::rules::{RuleMeta, all_rules};
use super::{Hit, LintFinding, LintOptions, finding};
use crate::report::{Finding, Location, Severity};
use crate::sql::Statement;

/// One ignore comment.
#[derive(Debug, Clone)]
pub(crate) struct Ignore {
    /// Rules it names (resolved); empty with `all` for squawk's bare ignore.
    rules: Vec<&'static RuleMeta>,
    /// Squawk's form without rule names: everything.
    all: bool,
    /// The statement index it applies to, `None` for the whole file.
    statement: Option<usize>,
    /// The comment's byte range.
    span: Range<usize>,
    /// Problems with the comment itself (no reason, unknown rule).
    problems: Vec<String>,
}

/// Find the ignore comments of a file.
pub(crate) fn parse(path: &Path, text: &str, sts: &[Statement<'_>]) -> Vec<Ignore> {
    let _ = path;
    let mut out = Vec::new();
    let mut offset = 0usize;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let Some(at) = find_directive(line) else { continue };
        let pos = start + at;
        let comment = line[at..].trim_end();
        let body = comment.trim_start_matches('-').trim_start();
        let (dbcheck, file, rest) = if let Some(r) = body.strip_prefix("dbcheck:ignore-file") {
            (true, true, r)
        } else if let Some(r) = body.strip_prefix("dbcheck:ignore") {
            (true, false, r)
        } else if let Some(r) = body.strip_prefix("squawk-ignore-file") {
            (false, true, r)
        } else if let Some(r) = body.strip_prefix("squawk-ignore") {
            (false, false, r)
        } else {
            continue;
        };
        if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
            continue;
        }
        let (names, reason) = match rest.find("--") {
            Some(n) => (&rest[..n], rest[n + 2..].trim()),
            None => (rest, ""),
        };
        let mut problems = Vec::new();
        let mut rules = Vec::new();
        for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match resolve(name, dbcheck) {
                Some(found) => rules.extend(found),
                None => problems.push(format!("unknown rule `{name}`")),
            }
        }
        let all = !dbcheck && rules.is_empty() && problems.is_empty();
        if dbcheck && rules.is_empty() && problems.is_empty() {
            problems.push("names no rule".to_owned());
        }
        if dbcheck && reason.is_empty() {
            problems.push("gives no reason (write `-- dbcheck:ignore <rule> -- <why this is safe>`)".to_owned());
        }
        let code_before = !line[..at].trim().is_empty();
        let statement = if file {
            None
        } else if code_before {
            sts.iter().rposition(|s| s.span.start <= pos).or_else(|| sts.iter().position(|s| s.span.start > pos))
        } else {
            sts.iter().position(|s| s.span.start > pos).or_else(|| sts.iter().rposition(|s| s.span.start <= pos))
        };
        out.push(Ignore { rules, all, statement, span: pos..start + at + comment.len(), problems });
    }
    out
}

/// The byte offset of a `-- dbcheck:ignore`/`-- squawk-ignore` comment in `line`, if any.
fn find_directive(line: &str) -> Option<usize> {
    let mut search = 0;
    while let Some(n) = line[search..].find("--") {
        let at = search + n;
        let body = line[at..].trim_start_matches('-').trim_start();
        if body.starts_with("dbcheck:ignore") || body.starts_with("squawk-ignore") {
            // Not inside a string literal on this line (an odd number of quotes before it).
            if line[..at].matches('\'').count().is_multiple_of(2) {
                return Some(at);
            }
        }
        search = at + 2;
    }
    None
}

/// The rules a name means: a dbcheck id or short code; for squawk comments, squawk's rule names.
fn resolve(name: &str, dbcheck: bool) -> Option<Vec<&'static RuleMeta>> {
    let ours: Vec<&'static RuleMeta> =
        all_rules().iter().map(|r| r.meta()).filter(|m| m.id == name || m.code.eq_ignore_ascii_case(name)).collect();
    if !ours.is_empty() {
        return Some(ours);
    }
    if dbcheck {
        return None;
    }
    let theirs: Vec<&'static RuleMeta> =
        all_rules().iter().map(|r| r.meta()).filter(|m| m.squawk.contains(&name)).collect();
    (!theirs.is_empty()).then_some(theirs)
}

/// Drop the hits an ignore covers, turn the rest into findings, and report bad or unused ignores.
pub(crate) fn apply(
    ignores: &[Ignore],
    hits: Vec<(usize, &'static RuleMeta, Hit)>,
    sts: &[Statement<'_>],
    path: &Path,
    options: &LintOptions,
) -> Vec<LintFinding> {
    let mut used = vec![false; ignores.len()];
    let mut out = Vec::new();
    for (n, meta, hit) in hits {
        let cover = ignores.iter().position(|ig| {
            ig.problems.is_empty()
                && ig.statement.is_none_or(|s| s == n)
                && (ig.all || ig.rules.iter().any(|r| r.id == meta.id))
        });
        if let Some(i) = cover {
            used[i] = true;
            continue;
        }
        let statement = sts.get(n).map_or(0..0, |s| s.span.clone());
        out.push(finding(meta, hit, path, statement, options));
    }
    for (i, ig) in ignores.iter().enumerate() {
        let (code, severity, message, help) = if !ig.problems.is_empty() {
            (
                "lint-ignore-invalid",
                Severity::Error,
                format!("this ignore comment {}", ig.problems.join(" and ")),
                "an ignore needs a known rule id or code and a reason: `-- dbcheck:ignore require-concurrent-index -- the table is created empty in this release`",
            )
        } else if !used[i] {
            (
                "lint-ignore-unused",
                Severity::Warning,
                "this ignore comment suppresses nothing".to_owned(),
                "remove it, or move it right above the statement it is meant for",
            )
        } else {
            continue;
        };
        out.push(LintFinding {
            finding: Finding::new(code, severity, message).at(Location::span(path, ig.span.clone())).help(help),
            rule: code,
            statement: ig.statement.and_then(|s| sts.get(s)).map_or(0..0, |s| s.span.clone()),
            table: None,
            edit: None,
        });
    }
    out
}
