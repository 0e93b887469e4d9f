//! `lint --fix`: applying the in-place rewrites ([`Edit`]) that rules offer to the migration files.
//!
//! Edits are applied from the end of each file backwards, so earlier offsets stay valid; an edit
//! that overlaps one already applied, falls outside the file or no longer finds its expected text
//! (the file changed since it was linted) is skipped, never forced. Each file is rewritten through
//! a temporary file and a rename, so a crash leaves either the old or the new contents.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::Edit;

/// What [`apply_edits`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Edits written.
    pub applied: usize,
    /// Files rewritten.
    pub files: Vec<PathBuf>,
    /// Edits left out, each with the reason.
    pub skipped: Vec<String>,
}

/// Why [`apply_edits`] could not read or write a file.
#[derive(Debug, thiserror::Error)]
#[error("{action} {}: {source}", path.display())]
pub struct FixError {
    /// `cannot read` / `cannot write`.
    pub action: &'static str,
    /// The file.
    pub path: PathBuf,
    /// The I/O error.
    pub source: std::io::Error,
}

/// Apply `edits` (paths relative to `root` unless absolute) to their files.
pub fn apply_edits(root: &Path, edits: &[Edit]) -> Result<Applied, FixError> {
    let mut by_file: BTreeMap<&Path, Vec<&Edit>> = BTreeMap::new();
    for e in edits {
        by_file.entry(e.path.as_path()).or_default().push(e);
    }
    let mut out = Applied::default();
    for (rel, edits) in by_file {
        let path = root.join(rel);
        let err = |action: &'static str| {
            let path = path.clone();
            move |source| FixError { action, path, source }
        };
        let mut text = fs::read_to_string(&path).map_err(err("cannot read"))?;
        let (applied, skipped) = apply_to_text(&mut text, edits, &rel.display().to_string());
        out.applied += applied;
        out.skipped.extend(skipped);
        if applied > 0 {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let tmp = path.with_file_name(format!(".{name}.dbcheck-fix"));
            fs::write(&tmp, &text).map_err(err("cannot write"))?;
            fs::rename(&tmp, &path).map_err(err("cannot write"))?;
            out.files.push(rel.to_path_buf());
        }
    }
    Ok(out)
}

/// Apply `edits` of one file to its `text` (named `label` in reasons): edits applied, and the
/// reasons for those left out.
fn apply_to_text(text: &mut String, mut edits: Vec<&Edit>, label: &str) -> (usize, Vec<String>) {
    edits.sort_by(|a, b| b.span.start.cmp(&a.span.start).then(b.span.end.cmp(&a.span.end)));
    // Two rules may offer the same rewrite (a `serial` key: bigint, and identity): apply it once.
    edits.dedup();
    let mut floor = usize::MAX;
    let (mut applied, mut skipped) = (0, Vec::new());
    for e in edits {
        let at = format!("{label}:{}..{}", e.span.start, e.span.end);
        if e.span.end > floor {
            skipped.push(format!("{at}: overlaps another fix"));
        } else if text.get(e.span.clone()) != Some(e.expected.as_str()) {
            skipped.push(format!("{at}: the file changed since it was linted"));
        } else {
            text.replace_range(e.span.clone(), &e.replacement);
            floor = e.span.start;
            applied += 1;
        }
    }
    (applied, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(path: &str, span: std::ops::Range<usize>, expected: &str, replacement: &str) -> Edit {
        Edit { path: path.into(), span, expected: expected.into(), replacement: replacement.into() }
    }

    #[test]
    fn applies_back_to_front_and_skips_stale_or_overlapping_edits() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let sql = "CREATE TABLE t (a varchar(20), b timestamp, c char(2));\n";
        fs::write(dir.path().join("1.sql"), sql)?;
        let a = sql.find("varchar(20)").unwrap_or_default();
        let b = sql.find("timestamp").unwrap_or_default();
        let c = sql.find("char(2)").unwrap_or_default();
        let edits = [
            edit("1.sql", a..a + 11, "varchar(20)", "text CHECK (char_length(a) <= 20)"),
            edit("1.sql", b..b + 9, "timestamp", "timestamptz"),
            // Overlaps the timestamp edit, which starts later and so is applied first.
            edit("1.sql", b - 2..b + 3, "b tim", "x"),
            // Its text is not there any more.
            edit("1.sql", c..c + 7, "char(9)", "text"),
        ];
        let done = apply_edits(dir.path(), &edits)?;
        assert_eq!(done.applied, 2);
        assert_eq!(done.files, [PathBuf::from("1.sql")]);
        assert_eq!(done.skipped.len(), 2, "{:?}", done.skipped);
        assert!(
            done.skipped.iter().any(|s| s.contains("overlaps")) && done.skipped.iter().any(|s| s.contains("changed"))
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("1.sql"))?,
            "CREATE TABLE t (a text CHECK (char_length(a) <= 20), b timestamptz, c char(2));\n"
        );
        // Nothing left behind but the file.
        assert_eq!(fs::read_dir(dir.path())?.count(), 1);
        Ok(())
    }

    #[test]
    fn the_hygiene_rules_fixes_leave_nothing_to_report() {
        use crate::lint::testing::lint_with;
        let rules = ["prefer-bigint-keys", "prefer-identity", "prefer-text", "prefer-timestamptz", "ban-char"];
        let sql = "CREATE TABLE ads (id serial PRIMARY KEY, owner_id integer REFERENCES ads (id), \
                   slug varchar(20) NOT NULL, code char(3), at timestamp(3) DEFAULT now(), n smallserial);"
            .to_owned();
        let found = lint_with(crate::db::Dialect::Postgres, &[&sql], &Default::default());
        let edits: Vec<&Edit> =
            found.iter().filter(|f| rules.contains(&f.rule)).filter_map(|f| f.edit.as_ref()).collect();
        // The serial key gets the same rewrite from prefer-bigint-keys and prefer-identity.
        assert_eq!(edits.len(), 7, "{found:#?}");
        let mut fixed = sql.clone();
        assert_eq!(apply_to_text(&mut fixed, edits, "1.sql"), (6, Vec::new()));
        assert_eq!(
            fixed,
            "CREATE TABLE ads (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, owner_id bigint REFERENCES ads (id), \
             slug text CHECK (char_length(slug) <= 20) NOT NULL, code text CHECK (char_length(code) <= 3), \
             at timestamptz(3) DEFAULT now(), n smallint GENERATED BY DEFAULT AS IDENTITY);"
        );
        let again = lint_with(crate::db::Dialect::Postgres, &[&fixed], &Default::default());
        assert!(again.iter().all(|f| !rules.contains(&f.rule)), "{again:#?}");
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().ok();
        let root = dir.as_ref().map_or(Path::new("/nonexistent"), |d| d.path());
        let err = apply_edits(root, &[edit("gone.sql", 0..1, "x", "y")]).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.starts_with("cannot read") && e.contains("gone.sql")));
    }
}
