//! What `files` found: counts per class with bounded samples, per `[[files]]` entry and per
//! root, and the findings derived from them (one per class, never one per row).

use std::path::PathBuf;

use serde::Serialize;

use super::path::PathProblem;
use crate::report::{Finding, Location, Severity};

/// How many samples a class keeps for the report.
pub const DEFAULT_SAMPLES: usize = 10;

/// Every kind of mismatch `files` reports. Each maps to one stable finding code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// A row references a file that does not exist.
    Missing,
    /// A row's stored size differs from the file's.
    SizeMismatch,
    /// A row's stored SHA-256 differs from the file's.
    HashMismatch,
    /// A row whose parent row is gone.
    ParentMissing,
    /// A file referenced by more than one row (information).
    DuplicateReference,
    /// A value that is not a safe relative path.
    UnsafePath(PathProblem),
    /// A value that does not start with `strip_prefix`.
    PrefixMismatch,
    /// A symlink that leads outside the root (or a reference through one).
    SymlinkEscape,
    /// A directory, FIFO, socket, device or broken symlink where a file was expected.
    NotRegular,
    /// A folder or file that could not be read.
    Unreadable,
    /// A file no row references, older than the grace period.
    Orphan,
    /// A file no row references, newer than the grace period.
    InFlight,
}

impl Class {
    /// The stable finding code (documented in `docs/findings.md`).
    pub fn code(self) -> &'static str {
        match self {
            Class::Missing => "file-missing",
            Class::SizeMismatch => "file-size-mismatch",
            Class::HashMismatch => "file-hash-mismatch",
            Class::ParentMissing => "file-parent-missing",
            Class::DuplicateReference => "file-duplicate-reference",
            Class::UnsafePath(PathProblem::Traversal) => "file-path-traversal",
            Class::UnsafePath(PathProblem::Absolute) => "file-path-absolute",
            Class::UnsafePath(PathProblem::Nul) => "file-path-nul",
            Class::UnsafePath(PathProblem::Backslash) => "file-path-backslash",
            Class::UnsafePath(PathProblem::Encoded) => "file-path-encoded",
            Class::UnsafePath(PathProblem::Invalid) => "file-path-invalid",
            Class::PrefixMismatch => "file-prefix-mismatch",
            Class::SymlinkEscape => "file-symlink-escape",
            Class::NotRegular => "file-not-regular",
            Class::Unreadable => "file-unreadable",
            Class::Orphan => "file-orphan",
            Class::InFlight => "file-in-flight",
        }
    }

    /// How serious one occurrence is.
    pub fn severity(self) -> Severity {
        match self {
            Class::DuplicateReference | Class::InFlight => Severity::Info,
            Class::Orphan | Class::PrefixMismatch | Class::NotRegular => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// Short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Class::Missing => "missing file",
            Class::SizeMismatch => "size mismatch",
            Class::HashMismatch => "hash mismatch",
            Class::ParentMissing => "parent row gone",
            Class::DuplicateReference => "shared file",
            Class::UnsafePath(PathProblem::Traversal) => "path with ..",
            Class::UnsafePath(PathProblem::Absolute) => "absolute path",
            Class::UnsafePath(PathProblem::Nul) => "NUL byte",
            Class::UnsafePath(PathProblem::Backslash) => "backslash",
            Class::UnsafePath(PathProblem::Encoded) => "encoded escape",
            Class::UnsafePath(PathProblem::Invalid) => "invalid path",
            Class::PrefixMismatch => "other prefix",
            Class::SymlinkEscape => "symlink escape",
            Class::NotRegular => "not a file",
            Class::Unreadable => "unreadable",
            Class::Orphan => "orphan",
            Class::InFlight => "in flight",
        }
    }

    /// The sentence for `n` occurrences in `what` (a `table.column` or a root folder).
    fn message(self, n: u64, what: &str, root: &str) -> String {
        match self {
            Class::Missing => format!("{n} row(s) of {what} reference files missing under {root}"),
            Class::SizeMismatch => format!("{n} file(s) under {root} differ in size from what {what} records"),
            Class::HashMismatch => {
                format!("{n} file(s) under {root} differ in content from the SHA-256 {what} records")
            }
            Class::ParentMissing => format!("{n} row(s) of {what} belong to a parent row that no longer exists"),
            Class::DuplicateReference => {
                format!("{n} extra reference(s) in {what} to files another row also references")
            }
            Class::UnsafePath(PathProblem::Traversal) => {
                format!("{n} value(s) of {what} climb out of the root with `..`")
            }
            Class::UnsafePath(PathProblem::Absolute) => format!("{n} value(s) of {what} are absolute paths"),
            Class::UnsafePath(PathProblem::Nul) => format!("{n} value(s) of {what} contain a NUL byte"),
            Class::UnsafePath(PathProblem::Backslash) => format!("{n} value(s) of {what} contain a backslash"),
            Class::UnsafePath(PathProblem::Encoded) => {
                format!("{n} value(s) of {what} contain percent-encoded separators, dots or escapes")
            }
            Class::UnsafePath(PathProblem::Invalid) => {
                format!("{n} value(s) of {what} are empty or have empty or `.` path components")
            }
            Class::PrefixMismatch => format!("{n} value(s) of {what} do not start with `strip_prefix`"),
            Class::SymlinkEscape if what.is_empty() => format!("{n} symlink(s) under {root} lead outside it"),
            Class::SymlinkEscape => format!("{n} value(s) of {what} resolve through symlinks that leave {root}"),
            Class::NotRegular if what.is_empty() => {
                format!("{n} entries under {root} are not regular files (FIFOs, sockets, devices, broken symlinks)")
            }
            Class::NotRegular => {
                format!("{n} value(s) of {what} name something under {root} that is not a regular file")
            }
            Class::Unreadable if what.is_empty() => format!("{n} folder(s) under {root} cannot be read"),
            Class::Unreadable => format!("{n} value(s) of {what} name files under {root} that cannot be read"),
            Class::Orphan => format!("{n} file(s) under {root} are referenced by no row"),
            Class::InFlight => format!("{n} unreferenced file(s) under {root} are newer than the grace period"),
        }
    }

    /// What to do about it.
    fn help(self) -> &'static str {
        match self {
            Class::Missing => {
                "restore the files from a backup taken at the same time as the database, or remove the references: \
                 `--fix-sql FILE` writes the statements (`on_dangling` = report | delete | null)"
            }
            Class::SizeMismatch | Class::HashMismatch => {
                "the file was replaced or truncated after the row was written: restore it from a backup, or \
                 re-upload it and update the stored value"
            }
            Class::ParentMissing => {
                "delete the rows (`on_parent_missing = \"delete\"` makes `--fix-sql` write the statement) and add a \
                 foreign key with ON DELETE CASCADE so it cannot happen again"
            }
            Class::DuplicateReference => {
                "expected when rows share files; deleting one row's file would break the other"
            }
            Class::UnsafePath(_) => {
                "a stored value is never trusted as a path: dbcheck did not open it. Find out how it was written \
                 (an upload handler that trusts client file names?) and correct the rows by hand"
            }
            Class::PrefixMismatch => "set `strip_prefix` to match, or exclude these rows with `where`",
            Class::SymlinkEscape => {
                "a symlink under the uploads root leads outside it; dbcheck never follows it. Remove the link, or \
                 point `root` at the real folder"
            }
            Class::NotRegular => "uploads are regular files: remove or replace the entry",
            Class::Unreadable => "check permissions of the folder or file for the user running dbcheck",
            Class::Orphan => {
                "restore the rows from a backup, or move the files away: `--quarantine DIR` moves them with a \
                 manifest, reversible with `--restore-quarantine DIR`; `ignore` excludes files that are not uploads"
            }
            Class::InFlight => "uploads in progress; they count as orphans once older than `grace_secs`",
        }
    }
}

/// One example of a class: a row (key and value) or a file (path), and a detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sample {
    /// The row's key, for row classes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The stored value or the file's path relative to the root (lossy UTF-8).
    pub value: String,
    /// More about this case (sizes, symlink target, error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Sample {
    /// `key → value (detail)`, for humans.
    pub fn describe(&self) -> String {
        let mut s = match &self.key {
            Some(k) => format!("key {k}: {:?}", self.value),
            None => format!("{:?}", self.value),
        };
        if let Some(d) = &self.detail {
            s.push_str(&format!(" ({d})"));
        }
        s
    }
}

/// How many of one class, with the first few.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassReport {
    /// Which class.
    pub class: Class,
    /// Its finding code.
    pub code: &'static str,
    /// Its severity.
    pub severity: Severity,
    /// How many.
    pub count: u64,
    /// The first ones found (bounded).
    pub samples: Vec<Sample>,
}

/// Counts per class, keeping at most `limit` samples each.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    classes: Vec<ClassReport>,
    limit: usize,
}

impl Tally {
    pub(crate) fn new(limit: usize) -> Self {
        Tally { classes: Vec::new(), limit }
    }

    pub(crate) fn add(&mut self, class: Class, sample: impl FnOnce() -> Sample) {
        let limit = self.limit;
        let c = match self.classes.iter_mut().position(|c| c.class == class) {
            Some(i) => &mut self.classes[i],
            None => {
                self.classes.push(ClassReport {
                    class,
                    code: class.code(),
                    severity: class.severity(),
                    count: 0,
                    samples: Vec::new(),
                });
                let last = self.classes.len() - 1;
                &mut self.classes[last]
            }
        };
        c.count += 1;
        if c.samples.len() < limit {
            c.samples.push(sample());
        }
    }

    pub(crate) fn into_sorted(mut self) -> Vec<ClassReport> {
        self.classes.sort_by_key(|c| c.class);
        self.classes
    }
}

/// One `[[files]]` entry's results.
#[derive(Debug, Clone, Serialize)]
pub struct EntryReport {
    /// Position in the configuration, from 0.
    pub index: usize,
    /// The table.
    pub table: String,
    /// The column.
    pub column: String,
    /// The root folder (absolute, as configured).
    pub root: PathBuf,
    /// The key column used to name rows.
    pub key: String,
    /// Non-NULL values read.
    pub references: u64,
    /// References to a file that exists (and matches stored size and hash, when stored).
    pub ok: u64,
    /// Problems, by class; only classes that occurred.
    pub classes: Vec<ClassReport>,
}

/// One root folder's results (shared by every entry that points into it).
#[derive(Debug, Clone, Serialize)]
pub struct RootReport {
    /// The root folder (absolute, as configured).
    pub root: PathBuf,
    /// The entries pointing into it.
    pub entries: Vec<usize>,
    /// Regular files found (symlinks to files inside the root included).
    pub files: u64,
    /// Files at least one row references.
    pub referenced: u64,
    /// Unreferenced files matched by `ignore`.
    pub ignored: u64,
    /// Problems, by class.
    pub classes: Vec<ClassReport>,
}

/// Where `--fix` / `--fix-sql` wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FixOutput {
    /// The SQL script (never executed by dbcheck).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<PathBuf>,
    /// Every row and file of every class, one JSON object per line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list: Option<PathBuf>,
    /// Statements written live (not commented out).
    pub statements: u64,
    /// Statements written commented out, for review.
    pub commented: u64,
}

/// What `--quarantine` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct QuarantineReport {
    /// The quarantine folder.
    pub dir: PathBuf,
    /// This run's subfolder name.
    pub run: String,
    /// Files moved.
    pub moved: u64,
    /// Bytes moved.
    pub bytes: u64,
    /// Orphans left in place (changed since the check, no longer a plain file, …).
    pub skipped: u64,
    /// The first ones left in place, with why.
    pub skipped_samples: Vec<Sample>,
}

/// What `--restore-quarantine` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RestoreReport {
    /// The quarantine folder.
    pub dir: PathBuf,
    /// Files moved back.
    pub restored: u64,
    /// Files left in quarantine (and in the manifest).
    pub left: u64,
    /// The first ones left, with why.
    pub left_samples: Vec<Sample>,
}

/// Everything `files` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FilesReport {
    /// Per `[[files]]` entry.
    pub entries: Vec<EntryReport>,
    /// Per root folder.
    pub roots: Vec<RootReport>,
    /// Fix outputs, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<FixOutput>,
    /// Quarantine moves, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<QuarantineReport>,
    /// Restore from quarantine, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore: Option<RestoreReport>,
    /// Missing files looked up in a backup generation (`--restore-from`), when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_from: Option<super::RestoreFromReport>,
    /// One finding per class per entry or root.
    #[serde(skip)]
    pub findings: Vec<Finding>,
}

fn samples_help(c: &ClassReport) -> String {
    let mut lines: Vec<String> = c.samples.iter().map(Sample::describe).collect();
    let more = c.count.saturating_sub(c.samples.len() as u64);
    if more > 0 {
        lines.push(format!("… and {more} more"));
    }
    format!("{}\n{}", lines.join("\n"), c.class.help())
}

impl FilesReport {
    /// Derive the findings from the class counts (one per class per entry or root).
    pub fn build_findings(&mut self) {
        let mut findings = Vec::new();
        for e in &self.entries {
            let what = format!("{}.{}", e.table, e.column);
            let root = e.root.display().to_string();
            for c in &e.classes {
                findings.push(
                    Finding::new(c.code, c.severity, c.class.message(c.count, &what, &root))
                        .at(Location::database(what.clone()))
                        .help(samples_help(c)),
                );
            }
        }
        for r in &self.roots {
            let root = r.root.display().to_string();
            for c in &r.classes {
                findings.push(
                    Finding::new(c.code, c.severity, c.class.message(c.count, "", &root))
                        .at(Location::file(r.root.clone()))
                        .help(samples_help(c)),
                );
            }
        }
        if let Some(q) = &self.quarantine
            && q.skipped > 0
        {
            let mut lines: Vec<String> = q.skipped_samples.iter().map(Sample::describe).collect();
            lines.push("they changed between the check and the move; run the check again".to_owned());
            findings.push(
                Finding::new(
                    "file-quarantine-skipped",
                    Severity::Warning,
                    format!("{} orphan file(s) were left in place instead of quarantined", q.skipped),
                )
                .at(Location::file(q.dir.clone()))
                .help(lines.join("\n")),
            );
        }
        if let Some(rs) = &self.restore
            && rs.left > 0
        {
            let mut lines: Vec<String> = rs.left_samples.iter().map(Sample::describe).collect();
            lines.push(
                "they stay in quarantine and in the manifest; resolve each reason and run the restore again".to_owned(),
            );
            findings.push(
                Finding::new(
                    "file-restore-skipped",
                    Severity::Warning,
                    format!("{} quarantined file(s) were not restored", rs.left),
                )
                .at(Location::file(rs.dir.clone()))
                .help(lines.join("\n")),
            );
        }
        self.findings = findings;
    }
}
