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
use crate::commands::migrate::MigrateOutput;
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
        Renderer { format: global.format(), color, quiet: global.quiet, verbose: global.verbose }
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
            MessageFormat::Json | MessageFormat::Sarif | MessageFormat::Junit => return,
            MessageFormat::Short => {
                for f in result.findings.iter().filter(|f| self.shown(f)) {
                    let _ = writeln!(err, "{}", short_line(f));
                }
                if !self.quiet {
                    let _ = writeln!(out, "{}: {}", result.project, self.summary_text(result));
                }
            }
            MessageFormat::Human | MessageFormat::Github => {
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

    /// End of run: the machine-readable document of the JSON, SARIF and JUnit formats, or the
    /// GitHub annotations.
    pub fn finish(&self, outcome: &Outcome) {
        let document = match self.format {
            MessageFormat::Human | MessageFormat::Short | MessageFormat::Json => None,
            MessageFormat::Github => Some(crate::ci_formats::github(outcome)),
            MessageFormat::Sarif => Some(crate::ci_formats::sarif(outcome)),
            MessageFormat::Junit => Some(crate::ci_formats::junit(outcome)),
        };
        if let Some(text) = document {
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            return;
        }
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
        if let Some(text) = crate::ci_formats::error(self.format, &e.to_string()) {
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
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
        if result.command == "hook" {
            // `hook install|uninstall` reports what it did as its one finding.
            return result.findings.first().map(|f| f.message.clone()).unwrap_or_default();
        }
        if let Some(b) = &result.backup {
            return backup_summary(b);
        }
        if let Some(m) = &result.migrate {
            return migrate_summary(m);
        }
        if let Some(files) = &result.files {
            return files_summary(files);
        }
        if let Some(integrity) = &result.integrity {
            return integrity_summary(integrity);
        }
        if let Some(schema) = &result.schema {
            return schema_summary(schema);
        }
        if let Some(status) = &result.status {
            return status_summary(status);
        }
        if result.command == "lint"
            && let Some(lint) = &result.lint
        {
            return lint.summary(&result.findings);
        }
        if let Some(declared) = &result.declared {
            return declared.summary(result.discovery.as_ref().map_or(0, |d| d.count));
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
        if let Some(b) = &result.backup {
            return self.backup_body(result, b);
        }
        if let Some(m) = &result.migrate {
            return self.migrate_body(result, m);
        }
        if let Some(files) = &result.files {
            return self.files_body(result, files);
        }
        if let Some(integrity) = &result.integrity {
            return self.integrity_body(result, integrity);
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
        self.spinner(move || {
            format!(
                "files: {} row(s) read, {} entries walked",
                progress.rows.load(Ordering::Relaxed),
                progress.files.load(Ordering::Relaxed)
            )
        })
    }

    /// A spinner on stderr whose message `message` refreshes every 100 ms, for long operations:
    /// only in human format on a terminal without `-q`; cleared when the value is dropped.
    fn spinner(&self, message: impl Fn() -> String + Send + 'static) -> Option<ProgressDisplay> {
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
                bar.set_message(message());
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
            && let Some(mut rendered) = self.miette_snippet(f, path, span)
        {
            if let Some(sql) = &f.fix_sql {
                rendered.pop();
                let _ = writeln!(rendered, "  {}", self.paint(Paint::Cyan, "fix:"));
                for line in sql.lines() {
                    let _ = writeln!(rendered, "    {line}");
                }
                rendered.push('\n');
            }
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
    if let Some(r) = &files.restore_from {
        let mut samples = String::new();
        for s in &r.samples {
            let _ =
                write!(samples, "\n  {}{}", s.value, s.detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default());
        }
        return format!(
            "backup {}: {} missing file(s) in it, {} not, {} restored, {} failed{samples}",
            r.generation.display(),
            r.in_backup,
            r.not_in_backup,
            r.restored,
            r.failed
        );
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

/// The progress bar of `migrate deploy` (human format on a terminal, not `-q`); cleared on drop.
#[derive(Debug)]
pub struct DeployProgress {
    bar: ProgressBar,
}

impl DeployProgress {
    /// Migration `i` of `total` starts.
    pub fn step(&self, i: usize, total: usize, version: &str) {
        self.bar.set_length(total as u64);
        self.bar.set_position(i as u64);
        self.bar.set_message(format!("applying {version}"));
    }
}

impl Drop for DeployProgress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

impl Renderer {
    /// A progress bar on stderr while `migrate deploy` applies migrations.
    pub fn deploy_progress(&self) -> Option<DeployProgress> {
        if self.format != MessageFormat::Human || self.quiet || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::new(0);
        if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} [{elapsed}]") {
            bar.set_style(style);
        }
        Some(DeployProgress { bar })
    }

    /// `migrate deploy`: what was applied, one line each, then the summary; `migrate resolve`:
    /// what was recorded.
    fn migrate_body(&self, result: &ProjectResult, m: &MigrateOutput) -> String {
        let d = match m {
            MigrateOutput::Deploy(d) => d,
            MigrateOutput::Resolve(dbcheck_core::migrate::ResolveReport { table, tool, .. })
            | MigrateOutput::Baseline(dbcheck_core::migrate::BaselineReport { table, tool, .. }) => {
                return format!(
                    "{} history in `{table}` ({tool})\n{}\n",
                    self.paint(Paint::Bold, &result.project),
                    migrate_summary(m)
                );
            }
            MigrateOutput::New(_) | MigrateOutput::Check(_) => {
                return format!("{} {}\n", self.paint(Paint::Bold, &result.project), migrate_summary(m));
            }
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} history in `{}` ({}){}",
            self.paint(Paint::Bold, &result.project),
            d.table,
            d.tool,
            result.database.as_ref().map(|db| format!(" on {db}")).unwrap_or_default(),
        );
        let refused = d.findings.iter().any(|f| f.code == "deploy-refused" || f.code == "deploy-lock-timeout");
        if d.dry_run && !refused {
            for v in &d.pending {
                let _ = writeln!(out, "  {v}  {}", self.paint(Paint::Yellow, "would apply"));
            }
        }
        for m in &d.applied {
            let _ = writeln!(
                out,
                "  {}  {}  {}  {}",
                m.version,
                m.name,
                self.paint(Paint::Green, "applied"),
                self.paint(Paint::Dim, &format!("{} ms", m.elapsed_ms))
            );
        }
        if let Some(f) = &d.failed {
            let _ = writeln!(out, "  {}  {}", f.version, self.paint(Paint::Red, "failed"));
        }
        let _ = writeln!(out, "{}", migrate_summary(m));
        out
    }
}

/// One line: what `migrate deploy` or `migrate resolve` did.
fn migrate_summary(m: &MigrateOutput) -> String {
    let d = match m {
        MigrateOutput::Deploy(d) => d,
        MigrateOutput::Resolve(r) => {
            let what = match r.action {
                dbcheck_core::migrate::ResolveAction::Applied => "marked applied".to_owned(),
                dbcheck_core::migrate::ResolveAction::RolledBack => "marked rolled back".to_owned(),
                dbcheck_core::migrate::ResolveAction::AcceptChecksum => format!(
                    "new checksum accepted{} ({} -> {})",
                    if r.line_endings_only { " (line endings only)" } else { "" },
                    r.old_checksum.as_deref().unwrap_or("none"),
                    r.new_checksum.as_deref().unwrap_or("none")
                ),
            };
            return format!("resolve: migration {} {what}; recorded in `{}`", r.version, r.audit_table);
        }
        MigrateOutput::Check(c) => {
            return format!(
                "migrate check: {} migration(s) on disk against {} at {} ({} commit {})",
                c.on_disk,
                c.at_base,
                c.base,
                c.base,
                c.commit.get(..12).unwrap_or(&c.commit)
            );
        }
        MigrateOutput::New(n) => {
            return match n.files.first() {
                Some(f) => format!(
                    "migrate new: wrote {} ({} statement(s), {} destructive commented out)",
                    display_path(f),
                    n.steps,
                    n.destructive
                ),
                None => "migrate new: nothing written".to_owned(),
            };
        }
        MigrateOutput::Baseline(b) => {
            return if b.marked.is_empty() {
                format!("baseline: nothing recorded ({} difference(s) from the migrations)", b.differences)
            } else {
                format!(
                    "baseline: the schema matches the migrations up to {}; {} migration(s) recorded as applied",
                    b.to.as_deref().unwrap_or("-"),
                    b.marked.len()
                )
            };
        }
    };
    if d.findings.iter().any(|f| f.code == "deploy-refused" || f.code == "deploy-lock-timeout") {
        return "deploy: nothing applied".to_owned();
    }
    if d.dry_run {
        return format!("deploy (dry run): {} pending migration(s) would be applied", d.pending.len());
    }
    let mut s = format!("deploy: {} of {} pending migration(s) applied", d.applied.len(), d.pending.len());
    if !d.already_applied.is_empty() {
        s.push_str(&format!(", {} applied meanwhile by another deploy", d.already_applied.len()));
    }
    if let Some(f) = &d.failed {
        s.push_str(&format!(", {} failed", f.version));
    } else if d.pending.is_empty() {
        s = "deploy: the database is up to date".to_owned();
    }
    s
}

impl Renderer {
    /// A progress line on stderr while `integrity` scans (human format, a terminal, not `-q`).
    pub fn integrity_progress(&self, progress: Arc<dbcheck_core::integrity::Progress>) -> Option<ProgressDisplay> {
        self.spinner(move || {
            format!(
                "integrity: {}/{} table(s) scanned, {} quer(ies)",
                progress.tables_done.load(Ordering::Relaxed),
                progress.tables_total.load(Ordering::Relaxed),
                progress.queries.load(Ordering::Relaxed)
            )
        })
    }

    /// `integrity`: a table of rules (checked, violations, ratio, threshold) with samples.
    fn integrity_body(&self, result: &ProjectResult, r: &dbcheck_core::integrity::IntegrityReport) -> String {
        let mut out = String::new();
        let on = result.database.as_ref().map(|d| format!(" on {d}")).unwrap_or_default();
        let sampled = r.sample_percent.map(|p| format!(" (TABLESAMPLE {p}%)")).unwrap_or_default();
        let _ = writeln!(out, "{} integrity{on}{sampled}", self.paint(Paint::Bold, &result.project));
        if !r.rules.is_empty() {
            let _ =
                writeln!(out, "  {:<40} {:>12} {:>10} {:>9} {:>9}", "rule", "checked", "violations", "ratio", "max");
        }
        for rule in &r.rules {
            let checked = rule.rows_checked.map_or_else(|| "-".to_owned(), |n| n.to_string());
            let ratio = rule.ratio.map_or_else(|| "-".to_owned(), |x| format!("{:.4}%", x * 100.0));
            let status = if rule.error.is_some() {
                self.paint(Paint::Red, "cannot run")
            } else if rule.over_threshold {
                self.paint(if rule.severity == Severity::Error { Paint::Red } else { Paint::Yellow }, "over")
            } else if rule.violations > 0 {
                self.paint(Paint::Cyan, "within")
            } else {
                self.paint(Paint::Green, "ok")
            };
            let _ = writeln!(
                out,
                "  {:<40} {checked:>12} {:>10} {ratio:>9} {:>8}% {status}",
                rule.id,
                rule.violations,
                format!("{:.2}", rule.max_ratio * 100.0)
            );
            if self.verbose > 0 || rule.over_threshold {
                for s in &rule.samples {
                    let key = s.key.as_deref().map(|k| format!("key {k}")).unwrap_or_default();
                    let value = s
                        .value
                        .as_deref()
                        .map(|v| format!(" value {}", dbcheck_core::integrity::shown_value(v)))
                        .unwrap_or_default();
                    let _ = writeln!(out, "      {}", self.paint(Paint::Dim, format!("{key}{value}").trim()));
                }
            }
        }
        for t in &r.tables {
            if self.verbose > 0 {
                let _ = writeln!(
                    out,
                    "  table {}: {} row(s), {} quer(ies): {}",
                    t.table,
                    t.rows,
                    t.queries.len(),
                    t.queries.join(", ")
                );
            }
        }
        for f in &r.migration_files {
            let _ = writeln!(out, "  migration written: {}", display_path(f));
        }
        let _ = writeln!(out, "\n{}", integrity_summary(r));
        out
    }
}

/// One line: rules checked and what they found.
fn integrity_summary(r: &dbcheck_core::integrity::IntegrityReport) -> String {
    let over = r.rules.iter().filter(|x| x.over_threshold && x.error.is_none()).count();
    let failed = r.rules.iter().filter(|x| x.error.is_some()).count();
    let rows: u64 = r.tables.iter().map(|t| t.rows).sum();
    let mut s = format!(
        "integrity: {} rule(s) on {} table(s), {rows} row(s) scanned, {} quer(ies); {over} over threshold",
        r.rules.len(),
        r.tables.len(),
        r.query_count()
    );
    if failed > 0 {
        s.push_str(&format!(", {failed} could not run"));
    }
    let rule_codes = [
        "integrity-violation",
        "integrity-within-threshold",
        "integrity-rule-failed",
        "integrity-missing-table",
        "integrity-missing-column",
    ];
    let derived = r.findings.iter().filter(|f| !rule_codes.contains(&f.code)).count();
    if derived > 0 {
        s.push_str(&format!(", {derived} derived finding(s)"));
    }
    s
}

impl Renderer {
    /// A progress bar (bytes copied, when `progress` is given) or spinner on stderr while
    /// `backup`, `backup verify` or `restore` runs (human format on a terminal, not `-q`).
    pub fn backup_progress(
        &self,
        progress: Option<Arc<dbcheck_core::backup::Progress>>,
        what: &'static str,
    ) -> Option<ProgressDisplay> {
        if self.format != MessageFormat::Human || self.quiet || !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = match &progress {
            Some(_) => {
                let bar = ProgressBar::new(0);
                if let Ok(style) =
                    ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {msg} [{elapsed}] {bytes_per_sec}")
                {
                    bar.set_style(style);
                }
                bar
            }
            None => {
                let bar = ProgressBar::new_spinner();
                if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
                    bar.set_style(style);
                }
                bar.enable_steady_tick(Duration::from_millis(100));
                bar
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        let stop_thread = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stop_thread.load(Ordering::Relaxed) {
                match &progress {
                    Some(p) => {
                        bar.set_length(p.bytes_total.load(Ordering::Relaxed));
                        bar.set_position(p.bytes_done.load(Ordering::Relaxed));
                        bar.set_message(format!("{what}: {} file(s)", p.files_done.load(Ordering::Relaxed)));
                    }
                    None => bar.set_message(what),
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            bar.finish_and_clear();
        });
        Some(ProgressDisplay { stop, thread: Some(thread) })
    }

    /// `backup`, `backup list`, `backup verify`, `restore`.
    fn backup_body(&self, result: &ProjectResult, b: &crate::commands::backup::BackupOutput) -> String {
        let mut out = String::new();
        let name = self.paint(Paint::Bold, &result.project);
        if let Some(c) = &b.created {
            let _ = writeln!(out, "{name} backup {} in {}", c.id, display_path(&c.path));
            let _ = writeln!(
                out,
                "  snapshot {}{} at {}, migration {}",
                c.snapshot.id.as_deref().unwrap_or("-"),
                c.snapshot.lsn.as_deref().map(|l| format!(" (LSN {l})")).unwrap_or_default(),
                c.snapshot.time,
                c.migration_version.as_deref().unwrap_or("none")
            );
            let _ = writeln!(
                out,
                "  dump {}, files copied {}, hard-linked {}",
                human_bytes(c.dump_bytes),
                human_bytes(c.copied_bytes),
                human_bytes(c.linked_bytes)
            );
            for n in &c.cleaned {
                let _ = writeln!(out, "  {} {n} (left by an interrupted run)", self.paint(Paint::Dim, "removed"));
            }
            for p in &c.pruned {
                let _ = writeln!(out, "  {} generation {p} (retention)", self.paint(Paint::Dim, "deleted"));
            }
        }
        if let Some(l) = &b.list {
            let _ = writeln!(out, "{name} backups in {}", display_path(&l.dir));
            for g in &l.generations {
                let _ = writeln!(
                    out,
                    "  {:<24} {:<7} {:<25} {:>10} {:>10} own  migration {}{}",
                    g.id,
                    g.kind,
                    g.created_at,
                    human_bytes(g.total_bytes),
                    human_bytes(g.own_bytes),
                    g.migration_version.as_deref().unwrap_or("none"),
                    if g.manifest_ok {
                        String::new()
                    } else {
                        format!("  {}", self.paint(Paint::Red, "manifest damaged"))
                    }
                );
            }
        }
        if let Some(r) = &b.restore {
            let _ = writeln!(out, "{name} restored generation {}", r.id);
            let _ = writeln!(out, "  database: {}", r.database_mode);
            let _ = writeln!(out, "  files: {} written, {} already identical", r.files_written, r.files_unchanged);
            let _ = writeln!(out, "  if anything goes wrong: {}", r.recovery);
        } else if let Some(v) = &b.verify {
            let _ = writeln!(out, "{name} generation {} in {}", v.id, display_path(&v.path));
        }
        let _ = writeln!(out, "{}", backup_summary(b));
        out
    }
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{n} B") } else { format!("{v:.1} {}", UNITS[u]) }
}

/// One line: what the backup command did.
fn backup_summary(b: &crate::commands::backup::BackupOutput) -> String {
    if let Some(r) = &b.restore {
        return format!("restored {} ({} file(s) written)", r.id, r.files_written);
    }
    if let Some(v) = &b.verify {
        return if v.ok() {
            format!(
                "generation {} verifies: {} file(s), {}, {} reference(s)",
                v.id,
                v.files_checked,
                human_bytes(v.bytes_checked),
                v.references_checked
            )
        } else {
            format!("generation {} does not verify: {} problem(s)", v.id, v.findings.len())
        };
    }
    if let Some(c) = &b.created {
        return format!("backup {} written: {} file(s), {}", c.id, c.files, human_bytes(c.total_bytes));
    }
    if let Some(l) = &b.list {
        let growth = l.growth_per_month.map(|g| format!(", growth {:.0} %/month", g * 100.0)).unwrap_or_default();
        return format!("{} generation(s){growth}", l.generations.len());
    }
    String::new()
}
