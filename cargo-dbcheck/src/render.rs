//! Rendering: the one place that turns results and findings into terminal text or JSON.
//!
//! Human output: tables and summaries on stdout, diagnostics on stderr. `short`: one line per
//! finding on stderr, one summary line per project on stdout. `json`: one document on stdout
//! (schema in docs/json-output.md), nothing else on stdout.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use dbcheck_core::source::SourceFile;
use dbcheck_core::status::{MigrationState, StatusReport};
use dbcheck_core::{Finding, Location, Severity};
use miette::{GraphicalReportHandler, GraphicalTheme, NamedSource, SourceSpan};
use serde_json::{Value, json};

use crate::cli::{GlobalArgs, MessageFormat};
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
                if !self.quiet {
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
