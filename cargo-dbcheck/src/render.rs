//! Rendering: the one place that turns results and findings into terminal text or JSON.
//!
//! Human output: tables and summaries on stdout, diagnostics on stderr. `short`: one line per
//! finding on stderr, one summary line per project on stdout. `json`: one document on stdout
//! (schema in docs/json-output.md), nothing else on stdout.

use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dbcheck_core::diff::{Presence, Script};
use dbcheck_core::files::{ClassReport, FilesReport, Progress};
use dbcheck_core::replay::CacheUse;
use dbcheck_core::source::SourceFile;
use dbcheck_core::status::{MigrationState, StatusReport};
use dbcheck_core::{Finding, Location, Severity};
use indicatif::{ProgressBar, ProgressStyle};
use miette::{GraphicalReportHandler, GraphicalTheme, NamedSource, SourceSpan};
use serde_json::{Value, json};

use crate::cli::{GlobalArgs, MessageFormat};
use crate::commands::schema::{Print, SchemaOutput};
use crate::commands::{Outcome, ProjectResult};
use crate::exit::CliError;

/// Version of the JSON document's schema; bumped on any incompatible change.
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// Renders according to the global output options.
#[derive(Debug)]
pub struct Renderer {
    format: MessageFormat,
    color: bool,
    quiet: bool,
    verbose: u8,
}

#[derive(Clone, Copy)]
enum Paint {
    Red,
    Yellow,
    Green,
    Cyan,
    Bold,
    Dim,
}

impl Renderer {
    /// A renderer for these options; `color` is the already-resolved color decision.
    pub fn new(global: &GlobalArgs, color: bool) -> Self {
        Renderer { format: global.message_format, color, quiet: global.quiet, verbose: global.verbose }
    }

    fn paint(&self, p: Paint, text: &str) -> String {
        if !self.color {
            return text.to_owned();
        }
        let code = match p {
            Paint::Red => "31;1",
            Paint::Yellow => "33;1",
            Paint::Green => "32",
            Paint::Cyan => "36",
            Paint::Bold => "1",
            Paint::Dim => "2",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    fn shown(&self, f: &Finding) -> bool {
        match f.severity {
            Severity::Info => self.verbose > 0,
            Severity::Warning | Severity::Error => true,
        }
    }

    /// Print one project's result (human and short formats; JSON waits for [`Renderer::finish`]).
    pub fn project(&self, result: &ProjectResult) {
        let mut out = String::new();
        let mut err = String::new();
        match self.format {
            MessageFormat::Json => return,
            MessageFormat::Short => {
                for f in result.findings.iter().filter(|f| self.shown(f)) {
                    let _ = writeln!(err, "{}", short_line(f));
                }
                if !self.quiet {
                    let _ = writeln!(out, "{}: {}", result.project, self.summary_text(result));
                }
            }
            MessageFormat::Human => {
                // `schema` prints the schema itself, which `-q` must not swallow.
                let schema_only =
                    result.schema.as_ref().is_some_and(|s| matches!(s.print, Print::SchemaSql | Print::SchemaJson));
                if !self.quiet || schema_only {
                    out.push_str(&self.human_body(result));
                }
                if self.verbose > 0 {
                    let files: Vec<String> = result.config_files.iter().map(|f| display_path(f)).collect();
                    let files = if files.is_empty() { "none (defaults)".to_owned() } else { files.join(", ") };
                    let _ = writeln!(err, "{} {files}", self.paint(Paint::Dim, "configuration from:"));
                }
                for f in result.findings.iter().filter(|f| self.shown(f)) {
                    err.push_str(&self.human_finding(f));
                }
                if !self.quiet {
                    for s in &result.skipped {
                        let _ = writeln!(err, "{} {s}", self.paint(Paint::Dim, "skipped:"));
                    }
                }
            }
        }
        // Diagnostics first, so the summary line ends the output on a terminal.
        let _ = std::io::stderr().lock().write_all(err.as_bytes());
        let _ = std::io::stdout().lock().write_all(out.as_bytes());
    }

    /// End of run: the JSON document, if that is the format.
    pub fn finish(&self, outcome: &Outcome) {
        if self.format != MessageFormat::Json {
            return;
        }
        let doc = json!({
            "schema_version": JSON_SCHEMA_VERSION,
            "dbcheck_version": env!("CARGO_PKG_VERSION"),
            "failed": outcome.failed,
            "results": outcome.results.iter().map(result_json).collect::<Vec<_>>(),
        });
        let _ = writeln!(std::io::stdout().lock(), "{doc}");
    }

    /// Report an error that stopped the run.
    pub fn error(&self, e: &CliError) {
        let help = e.help();
        if self.format == MessageFormat::Json {
            let doc = json!({
                "schema_version": JSON_SCHEMA_VERSION,
                "dbcheck_version": env!("CARGO_PKG_VERSION"),
                "error": { "message": e.to_string(), "help": help, "exit_code": e.exit_code() },
            });
            let _ = writeln!(std::io::stdout().lock(), "{doc}");
        }
        let mut text = format!("{} {e}\n", self.paint(Paint::Red, "error:"));
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            let _ = writeln!(text, "  caused by: {s}");
            source = s.source();
        }
        if let Some(h) = help {
            let _ = writeln!(text, "  {} {h}", self.paint(Paint::Cyan, "help:"));
        }
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }

    fn summary_text(&self, result: &ProjectResult) -> String {
        if let Some(files) = &result.files {
            return files_summary(files);
        }
        if let Some(schema) = &result.schema {
            return schema_summary(schema);
        }
        if let Some(status) = &result.status {
            return status_summary(status);
        }
        match &result.discovery {
            Some(d) => format!(
                "{} migration(s) in {} ({} layout){}",
                d.count,
                display_path(&d.dir),
                d.layout.map_or("no", |l| l.as_str()),
                d.latest.as_ref().map(|l| format!(", latest {l}")).unwrap_or_default()
            ),
            None => String::new(),
        }
    }

    fn human_body(&self, result: &ProjectResult) -> String {
        if let Some(files) = &result.files {
            return self.files_body(result, files);
        }
        if let Some(schema) = &result.schema {
            return self.schema_body(result, schema);
        }
        let mut out = String::new();
        let Some(status) = &result.status else {
            let _ = writeln!(out, "{} {}", self.paint(Paint::Bold, &result.project), self.summary_text(result));
            return out;
        };
        let _ = writeln!(
            out,
            "{} migrations in {} ({} layout), history in `{}` ({}){}",
            self.paint(Paint::Bold, &result.project),
            display_path(&status.migrations_dir),
            status.layout.map_or("no", |l| l.as_str()),
            status.table,
            status.tool,
            result.database.as_ref().map(|d| format!(" on {d}")).unwrap_or_default(),
        );
        if !status.entries.is_empty() {
            let vw = status.entries.iter().map(|e| e.version.len()).max().unwrap_or(0).max(7);
            let nw = status.entries.iter().map(|e| e.name.chars().count()).max().unwrap_or(0).clamp(4, 40);
            let _ = writeln!(out);
            for e in &status.entries {
                let label = e.state.label();
                let paint = match e.state {
                    MigrationState::Applied => Paint::Green,
                    MigrationState::Pending { out_of_order: false, .. } => Paint::Yellow,
                    MigrationState::AppliedOutOfOrder | MigrationState::Pending { .. } => Paint::Yellow,
                    MigrationState::Failed | MigrationState::Edited { .. } | MigrationState::MissingOnDisk => {
                        Paint::Red
                    }
                };
                let name: String = e.name.chars().take(nw).collect();
                let when = e.applied_at.as_deref().unwrap_or("");
                let _ = writeln!(
                    out,
                    "  {:<vw$}  {:<nw$}  {}{}  {}",
                    e.version,
                    name,
                    self.paint(paint, label),
                    " ".repeat(26usize.saturating_sub(label.len())),
                    self.paint(Paint::Dim, when),
                );
            }
            let _ = writeln!(out);
        }
        let _ = writeln!(out, "{}", status_summary(status));
        out
    }

    /// A progress line on stderr while `files` runs (human format, a terminal, not `-q`); it is
    /// cleared when the returned value is dropped.
    pub fn files_progress(&self, progress: Arc<Progress>) -> Option<ProgressDisplay> {
        if self.format != MessageFormat::Human || self.quiet || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(100));
        let stop = Arc::new(AtomicBool::new(false));
        let stop_thread = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stop_thread.load(Ordering::Relaxed) {
                bar.set_message(format!(
                    "files: {} row(s) read, {} entries walked",
                    progress.rows.load(Ordering::Relaxed),
                    progress.files.load(Ordering::Relaxed)
                ));
                std::thread::sleep(Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        Some(ProgressDisplay { stop, thread: Some(thread) })
    }

    fn files_body(&self, result: &ProjectResult, files: &FilesReport) -> String {
        let mut out = String::new();
        let on = result.database.as_ref().map(|d| format!(" on {d}")).unwrap_or_default();
        let _ = writeln!(out, "{} files{on}", self.paint(Paint::Bold, &result.project));
        let count_line = |out: &mut String, c: &ClassReport| {
            let paint = match c.severity {
                Severity::Error => Paint::Red,
                Severity::Warning => Paint::Yellow,
                Severity::Info => Paint::Cyan,
            };
            let _ = writeln!(
                out,
                "    {:<18} {:>10}  {}",
                c.class.label(),
                c.count,
                self.paint(paint, &format!("{}[{}]", c.severity, c.code))
            );
        };
        for e in &files.entries {
            let _ = writeln!(out, "\n  {}.{} → {}  (key {})", e.table, e.column, display_path(&e.root), e.key);
            let _ = writeln!(out, "    {:<18} {:>10}", "references", e.references);
            let _ = writeln!(out, "    {:<18} {:>10}", "ok", e.ok);
            for c in &e.classes {
                count_line(&mut out, c);
            }
        }
        for r in &files.roots {
            let _ = writeln!(out, "\n  {}/", display_path(&r.root));
            let _ = writeln!(out, "    {:<18} {:>10}", "files", r.files);
            let _ = writeln!(out, "    {:<18} {:>10}", "referenced", r.referenced);
            if r.ignored > 0 {
                let _ = writeln!(out, "    {:<18} {:>10}", "ignored", r.ignored);
            }
            for c in &r.classes {
                count_line(&mut out, c);
            }
        }
        if let Some(fix) = &files.fix {
            let _ = writeln!(out);
            if let Some(sql) = &fix.sql {
                let _ = writeln!(
                    out,
                    "  fix script: {} ({} statement(s), {} commented out; review it, dbcheck never runs it)",
                    display_path(sql),
                    fix.statements,
                    fix.commented
                );
            }
            if let Some(list) = &fix.list {
                let _ = writeln!(out, "  full list:  {}", display_path(list));
            }
        }
        if let Some(q) = &files.quarantine {
            let _ = writeln!(
                out,
                "\n  quarantine: moved {} file(s) ({} bytes) to {}; {} left in place; undo with --restore-quarantine {}",
                q.moved,
                q.bytes,
                display_path(&q.dir.join(&q.run)),
                q.skipped,
                display_path(&q.dir)
            );
        }
        if let Some(r) = &files.restore {
            let _ = writeln!(
                out,
                "\n  restore from {}: {} file(s) moved back, {} left in quarantine",
                display_path(&r.dir),
                r.restored,
                r.left
            );
        }
        let _ = writeln!(out, "\n{}", files_summary(files));
        out
    }

    fn human_finding(&self, f: &Finding) -> String {
        let (word, paint) = match f.severity {
            Severity::Error => ("error", Paint::Red),
            Severity::Warning => ("warning", Paint::Yellow),
            Severity::Info => ("info", Paint::Cyan),
        };
        if let Some((path, span)) = file_span(f)
            && let Some(rendered) = self.miette_snippet(f, path, span)
        {
            return rendered;
        }
        let mut s =
            format!("{}: {}\n", self.paint(paint, &format!("{word}[{}]", f.code)), self.paint(Paint::Bold, &f.message));
        match &f.location {
            Some(Location::File { path, .. }) => {
                let _ = writeln!(s, "  {} {}", self.paint(Paint::Cyan, "-->"), display_path(path));
            }
            Some(Location::Database { object }) => {
                let _ = writeln!(s, "  {} database: {object}", self.paint(Paint::Cyan, "-->"));
            }
            None => {}
        }
        if let Some(h) = &f.help {
            for (i, line) in h.lines().enumerate() {
                let lead =
                    if i == 0 { format!("{} ", self.paint(Paint::Cyan, "= help:")) } else { "          ".to_owned() };
                let _ = writeln!(s, "  {lead}{line}");
            }
        }
        if let Some(sql) = &f.fix_sql {
            let _ = writeln!(s, "  {} {sql}", self.paint(Paint::Cyan, "= fix:"));
        }
        s.push('\n');
        s
    }

    /// A finding with a byte span, rendered by miette with the source snippet.
    fn miette_snippet(&self, f: &Finding, path: &Path, span: std::ops::Range<usize>) -> Option<String> {
        let text = std::fs::read_to_string(path).ok()?;
        let span = span.start.min(text.len())..span.end.min(text.len());
        let diag = SpanDiagnostic {
            finding: f,
            source: NamedSource::new(display_path(path), text),
            span: SourceSpan::from(span),
        };
        let theme = if self.color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
        let mut out = String::new();
        GraphicalReportHandler::new_themed(theme).render_report(&mut out, &diag).ok()?;
        out.push('\n');
        Some(out)
    }
}

/// A finding as a miette diagnostic, for findings that point into a file.
#[derive(Debug)]
struct SpanDiagnostic<'a> {
    finding: &'a Finding,
    source: NamedSource<String>,
    span: SourceSpan,
}

impl std::fmt::Display for SpanDiagnostic<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl std::error::Error for SpanDiagnostic<'_> {}

impl miette::Diagnostic for SpanDiagnostic<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.finding.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.finding.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.finding.help.as_ref().map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(miette::LabeledSpan::new_with_span(None, self.span))))
    }
}

fn file_span(f: &Finding) -> Option<(&Path, std::ops::Range<usize>)> {
    match &f.location {
        Some(Location::File { path, span: Some(span) }) => Some((path.as_path(), span.clone())),
        _ => None,
    }
}

/// `path` relative to the current directory when it is below it.
fn display_path(path: &Path) -> String {
    let rel = std::env::current_dir().ok().and_then(|cwd| path.strip_prefix(&cwd).ok().map(PathBuf::from));
    rel.unwrap_or_else(|| path.to_path_buf()).display().to_string()
}

/// 1-based line and column of a finding's span start, read from its file.
fn line_col(path: &Path, offset: usize) -> Option<(usize, usize)> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(SourceFile::new(path, text).line_col(offset))
}

fn short_line(f: &Finding) -> String {
    let place = match &f.location {
        Some(Location::File { path, span }) => {
            let (line, col) = span.as_ref().and_then(|s| line_col(path, s.start)).unwrap_or((1, 1));
            format!("{}:{line}:{col}: ", display_path(path))
        }
        Some(Location::Database { object }) => format!("database:{object}: "),
        None => String::new(),
    };
    format!("{place}{}[{}]: {}", f.severity, f.code, f.message)
}

/// Stops and clears the progress line when dropped.
#[derive(Debug)]
pub struct ProgressDisplay {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for ProgressDisplay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Renderer {
    /// `drift`, `diff` and `schema`: the schema itself (`schema`), or what was compared, each
    /// difference on one line, and (`diff --script`) the SQL.
    fn schema_body(&self, result: &ProjectResult, s: &SchemaOutput) -> String {
        match s.print {
            Print::SchemaSql => return s.script.as_ref().map(Script::to_sql).unwrap_or_default(),
            Print::SchemaJson => {
                return s.schema.as_ref().and_then(|x| serde_json::to_string_pretty(x).ok()).unwrap_or_default() + "\n";
            }
            Print::Summary | Print::Script => {}
        }
        let mut out = String::new();
        let _ = writeln!(out, "{} {}: {} vs {}", self.paint(Paint::Bold, &result.project), s.kind, s.from, s.to);
        if let Some(r) = &s.replay {
            let how = match r.cache {
                CacheUse::Hit => "replay served from the cache".to_owned(),
                CacheUse::Prefix(n) => format!("{} migration(s) replayed on a cached copy of the first {n}", r.applied),
                CacheUse::Miss => format!("{} migration(s) replayed", r.applied),
            };
            let _ = writeln!(out, "  {}", self.paint(Paint::Dim, &how));
        }
        if !s.differences.is_empty() {
            let _ = writeln!(out);
            for d in &s.differences {
                let (mark, paint) = match d.presence {
                    Presence::OnlyInFrom => ("-", Paint::Red),
                    Presence::OnlyInTo => ("+", Paint::Green),
                    Presence::Changed => ("~", Paint::Yellow),
                };
                let detail = match d.presence {
                    Presence::Changed => format!(
                        " {}: {} → {}",
                        d.aspect.unwrap_or("definition"),
                        d.from.as_deref().unwrap_or("none"),
                        d.to.as_deref().unwrap_or("none")
                    ),
                    _ => String::new(),
                };
                let _ = writeln!(out, "  {} {} {}{detail}", self.paint(paint, mark), d.kind.noun(), d.object);
            }
            let _ = writeln!(out);
        }
        if let Some(f) = &s.fix_file {
            let n = s.script.as_ref().map_or(0, |x| x.steps.len());
            let verb = if s.applied { "applied and kept" } else { "wrote" };
            let _ = writeln!(out, "{verb} the fix script ({n} statement(s)) in {}", display_path(f));
        }
        if s.print == Print::Script
            && let Some(script) = &s.script
        {
            out.push_str(&script.to_sql());
        }
        let _ = writeln!(out, "{}", schema_summary(s));
        out
    }

    /// Show `script` on stderr and ask `question`; true only for an explicit yes on a terminal.
    pub fn confirm(&self, script: &str, question: &str) -> bool {
        use std::io::{BufRead as _, IsTerminal as _};
        if !std::io::stdin().is_terminal() {
            return false;
        }
        let _ = write!(std::io::stderr().lock(), "{script}\n{} [y/N] ", self.paint(Paint::Bold, question));
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes")
    }
}

/// One line: how many differences `drift`/`diff` found (or what `schema` printed).
fn schema_summary(s: &SchemaOutput) -> String {
    match s.kind {
        "schema" => {
            let n = s.schema.as_ref().map_or(0, |x| x.tables.len());
            format!("schema of the migrations: {n} table(s)")
        }
        kind => {
            let n = s.differences.len();
            let what = if kind == "drift" { "drift" } else { "difference" };
            if s.applied {
                let applied = s.script.as_ref().map_or(0, |x| x.steps.len());
                return match n {
                    0 => format!("no {what} left after the fix ({applied} statement(s) applied)"),
                    n => format!("{n} {what}(s) left after the fix ({applied} statement(s) applied)"),
                };
            }
            let mut line = if n == 0 { format!("no {what}") } else { format!("{n} {what}(s)") };
            if let Some(script) = &s.script
                && !script.is_empty()
            {
                line.push_str(&format!(
                    "; the script has {} statement(s){}",
                    script.steps.len(),
                    if script.is_destructive() { ", some destructive" } else { "" }
                ));
            }
            line
        }
    }
}

/// One line: what `files` compared and what it found, by class.
fn files_summary(files: &FilesReport) -> String {
    if let Some(r) = &files.restore {
        return format!("restore: {} file(s) moved back, {} left in quarantine", r.restored, r.left);
    }
    let refs: u64 = files.entries.iter().map(|e| e.references).sum();
    let walked: u64 = files.roots.iter().map(|r| r.files).sum();
    let mut counts: Vec<(&'static str, u64)> = Vec::new();
    for c in files.entries.iter().flat_map(|e| &e.classes).chain(files.roots.iter().flat_map(|r| &r.classes)) {
        match counts.iter_mut().find(|(l, _)| *l == c.class.label()) {
            Some((_, n)) => *n += c.count,
            None => counts.push((c.class.label(), c.count)),
        }
    }
    let found = if counts.is_empty() {
        "in sync".to_owned()
    } else {
        counts.iter().map(|(l, n)| format!("{n} {l}")).collect::<Vec<_>>().join(", ")
    };
    format!("{refs} reference(s), {walked} file(s): {found}")
}

fn status_summary(status: &StatusReport) -> String {
    let s = status.summary();
    let mut parts = vec![format!("{} applied", s.applied)];
    for (n, what) in [
        (s.pending, "pending"),
        (s.failed, "failed"),
        (s.edited, "edited after apply"),
        (s.missing, "missing on disk"),
        (s.out_of_order, "applied out of order"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    format!("{} migration(s): {}", s.total, parts.join(", "))
}

fn finding_json(f: &Finding) -> Value {
    let mut v = serde_json::to_value(f).unwrap_or(Value::Null);
    if let Some((path, span)) = file_span(f)
        && let Some((line, column)) = line_col(path, span.start)
        && let Some(loc) = v.get_mut("location").and_then(Value::as_object_mut)
    {
        loc.insert("line".into(), json!(line));
        loc.insert("column".into(), json!(column));
    }
    v
}

fn result_json(r: &ProjectResult) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("findings".into(), Value::Array(r.findings.iter().map(finding_json).collect()));
        if let Some(status) = &r.status
            && let Some(s) = obj.get_mut("status").and_then(Value::as_object_mut)
        {
            s.insert("summary".into(), serde_json::to_value(status.summary()).unwrap_or(Value::Null));
        }
    }
    v
}
