//! The build.rs helper: one call that makes cargo re-run the build script when the migrations,
//! the configuration or a declared source change, fails the build (a clear message, a non-zero
//! exit) when the declared sources (diesel `schema.rs`, `schema.sql`) do not match the schema the
//! migrations produce, and reports the migrations' lint findings and the other warnings —
//! statements static interpretation could not read, unknown declared types — as `cargo:warning`. Offline and fast: it reads files only (no
//! `cargo metadata`, no database).
//!
//! In `build.rs` (with `dbcheck` in `[build-dependencies]`):
//!
//! ```no_run
//! dbcheck::build::check();
//! ```
//!
//! `#[schema_guard]` structs are not scanned here: the macro checks each one when it compiles.

use std::path::{Path, PathBuf};

use dbcheck_core::config::load_project_at;
use dbcheck_core::db::Dialect;
use dbcheck_core::declared::{check_declared, declared_files};
use dbcheck_core::lint::{LintOptions, lint};
use dbcheck_core::migrations::discover_migrations;
use dbcheck_core::report::Location;
use dbcheck_core::source::SourceFile;
use dbcheck_core::sql::{interpret_migrations, unmodelled_findings};
use dbcheck_core::{Finding, Severity};

use crate::testing::GateError;

/// How strict the build is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// Fail on findings at the crate's `fail_on` severity (errors unless configured otherwise).
    Configured,
    /// Fail on warnings too.
    Strict,
    /// Never fail: every finding becomes a `cargo:warning`.
    WarnOnly,
}

/// Runs the build-time check; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct Builder {
    manifest_dir: Option<PathBuf>,
    strictness: Strictness,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

/// What a build-time check found.
#[derive(Debug, Clone)]
pub struct BuildReport {
    /// The crate root checked.
    pub root: PathBuf,
    /// Files and folders cargo must watch.
    pub rerun_if_changed: Vec<PathBuf>,
    /// Every finding of the drift check (declared sources, discovery, unmodelled statements).
    pub findings: Vec<Finding>,
    /// The migrations' lint findings: reported, failing the build only when strict.
    pub lint: Vec<Finding>,
    /// Notes that are not findings (a dialect static interpretation does not read).
    pub notes: Vec<String>,
    /// The lowest severity that fails the build, `None` when nothing does.
    pub fail_on: Option<Severity>,
}

impl BuildReport {
    /// The findings that fail the build: drift findings at `fail_on`, lint findings only when
    /// warnings fail the build.
    pub fn failing(&self) -> Vec<&Finding> {
        let Some(s) = self.fail_on else { return Vec::new() };
        let lint = self.lint.iter().filter(|f| s == Severity::Warning && f.severity >= s);
        self.findings.iter().filter(|f| f.severity >= s).chain(lint).collect()
    }

    /// The lines for cargo: `cargo:rerun-if-changed=…` for every input, and a `cargo:warning=…`
    /// per note and per finding that does not fail the build (warnings and errors alike when
    /// nothing fails it; infos are left out).
    pub fn cargo_lines(&self) -> Vec<String> {
        let mut out: Vec<String> =
            self.rerun_if_changed.iter().map(|p| format!("cargo:rerun-if-changed={}", p.display())).collect();
        out.extend(self.notes.iter().map(|n| format!("cargo:warning=dbcheck: {}", one_line(n))));
        let failing = self.failing();
        for f in self.findings.iter().chain(&self.lint) {
            if f.severity == Severity::Info || failing.iter().any(|g| std::ptr::eq(*g, f)) {
                continue;
            }
            out.push(format!("cargo:warning={}", one_line(&finding_line(&self.root, f))));
        }
        out
    }

    /// The message printed on stderr when the build fails: every failing finding with its help.
    pub fn failure_message(&self) -> Option<String> {
        let failing = self.failing();
        if failing.is_empty() {
            return None;
        }
        let mut out = format!(
            "error: dbcheck: {} problem(s) between the migrations and the declared schema of {}\n",
            failing.len(),
            self.root.display()
        );
        for f in failing {
            out.push_str(&format!("  {}\n", finding_line(&self.root, f)));
            if let Some(h) = &f.help {
                out.push_str(&format!("      help: {h}\n"));
            }
        }
        out.push_str("run `cargo dbcheck declared` for the details with source snippets\n");
        Some(out)
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// `path:line:column` of a finding's location, relative to `root`.
pub(crate) fn location_text(root: &Path, f: &Finding) -> Option<String> {
    let Some(Location::File { path, span }) = &f.location else { return None };
    let abs = if path.is_absolute() { path.clone() } else { root.join(path) };
    let shown = abs.strip_prefix(root).unwrap_or(&abs).display().to_string();
    match span {
        Some(span) => {
            let text = std::fs::read_to_string(&abs).ok()?;
            let (line, col) = SourceFile::new(abs.clone(), text).line_col(span.start);
            Some(format!("{shown}:{line}:{col}"))
        }
        None => Some(shown),
    }
}

fn finding_line(root: &Path, f: &Finding) -> String {
    match location_text(root, f) {
        Some(at) => format!("{at}: {}[{}]: {}", f.severity, f.code, f.message),
        None => format!("{}[{}]: {}", f.severity, f.code, f.message),
    }
}

impl Builder {
    /// A check of the crate whose build script is running (`CARGO_MANIFEST_DIR`), failing on its
    /// configured `fail_on` severity.
    pub fn new() -> Self {
        Builder { manifest_dir: None, strictness: Strictness::Configured }
    }

    /// Check the crate at `dir` instead of `CARGO_MANIFEST_DIR`.
    pub fn manifest_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.manifest_dir = Some(dir.into());
        self
    }

    /// `true`: warnings fail the build too; `false`: the configured `fail_on`.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strictness = if strict { Strictness::Strict } else { Strictness::Configured };
        self
    }

    /// Set the strictness.
    pub fn strictness(mut self, strictness: Strictness) -> Self {
        self.strictness = strictness;
        self
    }

    /// Run the check and return what it found, printing nothing.
    pub fn check(&self) -> Result<BuildReport, GateError> {
        let root = match &self.manifest_dir {
            Some(d) => d.clone(),
            None => std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".")),
        };
        let project = load_project_at(&root)?;
        let settings = &project.settings;
        let mut rerun = vec![settings.migrations_dir.clone()];
        let discovery = discover_migrations(&settings.migrations_dir, settings.layout)?;
        rerun.extend(discovery.migrations.iter().map(|m| m.path.clone()));
        rerun.extend(project.config_files.iter().cloned());
        rerun.extend(declared_files(&project.root, &settings.declared)?);
        rerun.sort();
        rerun.dedup();
        let fail_on = match self.strictness {
            Strictness::Configured => Some(settings.fail_on),
            Strictness::Strict => Some(Severity::Warning),
            Strictness::WarnOnly => None,
        };
        let mut report = BuildReport {
            root: project.root.clone(),
            rerun_if_changed: rerun,
            findings: discovery.findings.clone(),
            lint: Vec::new(),
            notes: Vec::new(),
            fail_on,
        };
        let dialect = settings.dialect.unwrap_or(Dialect::Postgres);
        if dialect == Dialect::Mysql {
            report.notes.push(
                "the declared schema is not checked at build time: static interpretation reads PostgreSQL and SQLite \
                 migrations, not MySQL (run `cargo dbcheck drift`)"
                    .to_owned(),
            );
            return Ok(report);
        }
        let ours = interpret_migrations(&discovery, dialect);
        let checked = check_declared(&project.root, &settings.declared, &ours, dialect, false)?;
        report.findings.extend(checked.findings);
        report.findings.extend(unmodelled_findings(&ours));
        let options =
            LintOptions { config: settings.lint.clone(), code_refs: checked.code_refs, ..LintOptions::default() };
        report.lint = lint(&discovery, dialect, &options).plain_findings();
        Ok(report)
    }

    /// Run the check from a build script: print the `cargo:` lines, and on failure print what is
    /// wrong on stderr and exit with status 1 (cargo shows it and stops the build).
    pub fn run(self) {
        match self.check() {
            Ok(report) => {
                for line in report.cargo_lines() {
                    println!("{line}");
                }
                if let Some(message) = report.failure_message() {
                    eprint!("{message}");
                    std::process::exit(1);
                }
            }
            Err(e) => {
                eprintln!("error: dbcheck: the build-time schema check could not run: {e}");
                std::process::exit(1);
            }
        }
    }
}

/// `Builder::new().run()`: the one call for a build script.
pub fn check() {
    Builder::new().run();
}
