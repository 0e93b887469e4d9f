//! The reviewable outputs of `--fix`: an SQL script (never executed by dbcheck) and a JSON Lines
//! list of every row and file in every class. Both are streamed to a temporary file beside their
//! destination and renamed into place only when the check completed.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use serde_json::json;

use super::FilesError;
use super::report::{Class, FixOutput};
use crate::db::{Dialect, ParentQuery, RefQuery, RowFix, fix_rows_sql, parent_still_missing_sql};
use crate::files::config::{OnDangling, OnParentMissing};

/// Where `--fix` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixTarget {
    /// `--fix DIR`: `DIR/files-fix.sql` and `DIR/files-findings.jsonl`.
    Dir(PathBuf),
    /// `--fix-sql FILE`: the SQL script only.
    SqlFile(PathBuf),
}

/// Rows waiting for a statement: (key, stored value when it is SQL text).
type KeyedValues = Vec<(String, Option<String>)>;

/// Rows per statement.
const BATCH: usize = 500;

/// A file being written under a temporary name.
struct Pending {
    dest: PathBuf,
    tmp: PathBuf,
    out: BufWriter<File>,
}

impl Pending {
    fn create(dest: PathBuf) -> Result<Self, FilesError> {
        let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = dest.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        let file = File::create(&tmp).map_err(|source| FilesError::Write { path: tmp.clone(), source })?;
        Ok(Pending { dest, tmp, out: BufWriter::new(file) })
    }

    fn write(&mut self, text: &str) -> Result<(), FilesError> {
        self.out.write_all(text.as_bytes()).map_err(|source| FilesError::Write { path: self.tmp.clone(), source })
    }

    fn finish(mut self) -> Result<PathBuf, FilesError> {
        let io = |source| FilesError::Write { path: self.tmp.clone(), source };
        self.out.flush().map_err(io)?;
        self.out.get_ref().sync_all().map_err(io)?;
        std::fs::rename(&self.tmp, &self.dest)
            .map_err(|source| FilesError::Write { path: self.dest.clone(), source })?;
        let dest = std::mem::take(&mut self.dest);
        self.tmp = PathBuf::new();
        Ok(dest)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// What the script may do for one entry.
#[derive(Debug, Clone)]
pub(crate) struct EntryFix {
    pub table: String,
    pub column: String,
    pub key: String,
    pub on_dangling: OnDangling,
    pub on_parent_missing: OnParentMissing,
    /// `(child column, parent table, parent key)`.
    pub parent: Option<(String, String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Batch {
    Dangling,
    Unsafe,
    ParentMissing,
}

/// Streams fix statements and the full list while the check runs.
pub(crate) struct FixWriter {
    dialect: Dialect,
    entries: Vec<EntryFix>,
    sql: Option<Pending>,
    list: Option<Pending>,
    batches: HashMap<(usize, Batch), KeyedValues>,
    output: FixOutput,
}

impl std::fmt::Debug for FixWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixWriter").field("output", &self.output).finish_non_exhaustive()
    }
}

/// A stored value as SQL text, when it can be one (valid UTF-8, no NUL).
fn sql_value(value: &[u8]) -> Option<String> {
    std::str::from_utf8(value).ok().filter(|s| !s.contains('\0')).map(str::to_owned)
}

/// Comment out every line of `sql`, including lines inside string literals, so that nothing in a
/// stored value can turn a commented statement into a live one.
fn commented(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    for line in sql.split(['\n', '\r']) {
        out.push_str("-- ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

impl FixWriter {
    pub(crate) fn open(
        target: &FixTarget,
        dialect: Dialect,
        database: &str,
        entries: Vec<EntryFix>,
    ) -> Result<Self, FilesError> {
        let (sql_path, list_path) = match target {
            FixTarget::Dir(dir) => {
                std::fs::create_dir_all(dir).map_err(|source| FilesError::Write { path: dir.clone(), source })?;
                (dir.join("files-fix.sql"), Some(dir.join("files-findings.jsonl")))
            }
            FixTarget::SqlFile(f) => (f.clone(), None),
        };
        let mut sql = Pending::create(sql_path)?;
        let mut header = format!(
            "-- dbcheck files: reviewable fixes for {database}, written {}\n\
             -- dbcheck never runs this script: review it, then run it yourself.\n\
             -- Statements written as comments are reports only: `on_dangling` / `on_parent_missing` is\n\
             -- \"report\" (the default), or the stored value is unsafe as a path and needs a human.\n",
            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
        );
        for e in &entries {
            header.push_str(&format!(
                "--   {}.{}: on_dangling = \"{}\", on_parent_missing = \"{}\"\n",
                e.table,
                e.column,
                serde_json::to_value(e.on_dangling)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                serde_json::to_value(e.on_parent_missing)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
            ));
        }
        header.push_str("BEGIN;\n");
        sql.write(&header)?;
        let list = list_path.map(Pending::create).transpose()?;
        Ok(FixWriter { dialect, entries, sql: Some(sql), list, batches: HashMap::new(), output: FixOutput::default() })
    }

    fn list_line(&mut self, value: serde_json::Value) -> Result<(), FilesError> {
        if let Some(list) = &mut self.list {
            let mut line = value.to_string();
            line.push('\n');
            list.write(&line)?;
        }
        Ok(())
    }

    /// Record one row of `entry` in `class`.
    pub(crate) fn row(
        &mut self,
        entry: usize,
        class: Class,
        key: &str,
        value: &[u8],
        detail: Option<&str>,
    ) -> Result<(), FilesError> {
        let e = &self.entries[entry];
        let what = format!("{}.{}", e.table, e.column);
        self.list_line(json!({
            "code": class.code(), "entry": entry, "column": what, "key": key,
            "value": String::from_utf8_lossy(value), "detail": detail,
        }))?;
        let batch = match class {
            Class::Missing => Batch::Dangling,
            Class::UnsafePath(_) => Batch::Unsafe,
            Class::ParentMissing => Batch::ParentMissing,
            _ => return Ok(()),
        };
        let rows = self.batches.entry((entry, batch)).or_default();
        rows.push((key.to_owned(), sql_value(value)));
        if rows.len() >= BATCH {
            self.flush(entry, batch)?;
        }
        Ok(())
    }

    /// Record one file of a root in `class`.
    pub(crate) fn file(
        &mut self,
        root: &Path,
        class: Class,
        rel: &[u8],
        detail: Option<&str>,
    ) -> Result<(), FilesError> {
        self.list_line(json!({
            "code": class.code(), "root": root.display().to_string(),
            "path": String::from_utf8_lossy(rel), "detail": detail,
        }))
    }

    fn flush(&mut self, entry: usize, batch: Batch) -> Result<(), FilesError> {
        let Some(rows) = self.batches.remove(&(entry, batch)) else { return Ok(()) };
        if rows.is_empty() {
            return Ok(());
        }
        let e = &self.entries[entry];
        let d = self.dialect;
        let (statement, live, what) = match batch {
            Batch::Dangling => {
                let (fix, live) = match e.on_dangling {
                    OnDangling::Report => (RowFix::Delete, false),
                    OnDangling::Delete => (RowFix::Delete, true),
                    OnDangling::Null => (RowFix::Null, true),
                };
                (fix_rows_sql(d, fix, &e.table, &e.key, &e.column, &rows, None), live, "reference(s) to missing files")
            }
            Batch::Unsafe => (
                fix_rows_sql(d, RowFix::Null, &e.table, &e.key, &e.column, &rows, None),
                false,
                "value(s) unsafe as paths (never fixed automatically)",
            ),
            Batch::ParentMissing => {
                let Some((child_column, parent_table, parent_key)) = &e.parent else { return Ok(()) };
                let q = ParentQuery {
                    child: RefQuery {
                        table: &e.table,
                        column: &e.column,
                        key: &e.key,
                        filter: None,
                        size_column: None,
                        sha256_column: None,
                    },
                    child_column,
                    parent_table,
                    parent_key,
                };
                let guard = parent_still_missing_sql(d, &q);
                (
                    fix_rows_sql(d, RowFix::Delete, &e.table, &e.key, &e.column, &rows, Some(&guard)),
                    e.on_parent_missing == OnParentMissing::Delete,
                    "row(s) whose parent row is gone",
                )
            }
        };
        let text = format!("-- {}.{}: {} {what}\n", e.table, e.column, rows.len());
        let body = if live { format!("{statement}\n") } else { commented(&statement) };
        if live {
            self.output.statements += 1;
        } else {
            self.output.commented += 1;
        }
        if let Some(sql) = &mut self.sql {
            sql.write(&text)?;
            sql.write(&body)?;
        }
        Ok(())
    }

    /// Flush every batch, end the script and move both files into place.
    pub(crate) fn finish(mut self) -> Result<FixOutput, FilesError> {
        let mut keys: Vec<(usize, Batch)> = self.batches.keys().copied().collect();
        keys.sort_by_key(|(e, b)| (*e, *b as u8));
        for (e, b) in keys {
            self.flush(e, b)?;
        }
        let mut output = std::mem::take(&mut self.output);
        if let Some(mut sql) = self.sql.take() {
            sql.write("COMMIT;\n")?;
            output.sql = Some(sql.finish()?);
        }
        if let Some(list) = self.list.take() {
            output.list = Some(list.finish()?);
        }
        Ok(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commented_statements_stay_comments_whatever_the_value() {
        let c = commented("DELETE FROM t WHERE f = 'x\nDROP TABLE users; --\r\nmore';");
        assert!(c.lines().all(|l| l.starts_with("-- ")), "{c}");
    }

    #[test]
    fn values_that_cannot_be_sql_text_match_by_key_only() {
        assert_eq!(sql_value(b"a.jpg").as_deref(), Some("a.jpg"));
        assert_eq!(sql_value(b"a\0b"), None);
        assert_eq!(sql_value(b"\xff"), None);
    }
}
