//! The `[integrity]` configuration: declared data rules per table and column.
//!
//! ```toml
//! [package.metadata.dbcheck.integrity]
//! samples = 5
//!
//! [[package.metadata.dbcheck.integrity.rules]]
//! table = "ads"
//! column = "slug"
//! not_null = true
//! not_empty = true
//! regex = "^[a-z0-9]+(-[a-z0-9]+)*-[0-9]+$"
//! max_ratio = 0.001
//! ```
//!
//! One `[[integrity.rules]]` entry may set several checks on the same column; each becomes its own
//! rule (`ads.slug.not_null`, `ads.slug.regex`, …) sharing the entry's severity, threshold and
//! `where`.

use std::fmt;

use serde::Deserialize;

use crate::report::Severity;

/// Default number of sample rows shown per rule that found something.
pub const DEFAULT_SAMPLES: usize = 5;

/// `[integrity]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IntegrityConfig {
    /// Sample rows per rule that found something (default 5, at most 1000).
    pub samples: Option<usize>,
    /// Per-statement timeout in seconds for the scans (PostgreSQL, MySQL/MariaDB; default 300).
    pub statement_timeout_secs: Option<u64>,
    /// Run the derived rules (NOT VALID constraints, INVALID indexes, missing foreign keys,
    /// constraints declared in `schema` but missing in the database); default true.
    pub derived: Option<bool>,
    /// A declarative schema `.sql` file whose constraints the database must have (relative to
    /// the file that sets it).
    pub schema: Option<std::path::PathBuf>,
    /// `*_id` columns that are intentionally not foreign keys (`table.column`).
    #[serde(default)]
    pub ignore_missing_fk: Vec<String>,
    /// The declared rules.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
}

/// One `[[integrity.rules]]` entry: a table, optionally a column, and the checks on it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// The table (`schema.table` accepted).
    pub table: String,
    /// The column the column checks apply to.
    pub column: Option<String>,
    /// A name for the rule, used instead of `table.column` in rule ids.
    pub name: Option<String>,
    /// Severity of a violation over the threshold (default `error`).
    pub severity: Option<RuleSeverity>,
    /// Largest tolerated share of violating rows, 0 to 1 (default 0: any violation counts).
    pub max_ratio: Option<Ratio>,
    /// SQL condition restricting the rows checked (trusted SQL).
    #[serde(rename = "where")]
    pub filter: Option<String>,
    /// The column must not be NULL.
    #[serde(default)]
    pub not_null: bool,
    /// The column must not be empty or spaces only, as SQL `TRIM` sees it (NULL passes; combine with `not_null`).
    #[serde(default)]
    pub not_empty: bool,
    /// The column's text must match this regular expression (NULL passes).
    pub regex: Option<String>,
    /// Smallest allowed value, inclusive.
    pub min: Option<Literal>,
    /// Largest allowed value, inclusive.
    pub max: Option<Literal>,
    /// `[min, max]`, inclusive; the same as setting both.
    pub range: Option<[Literal; 2]>,
    /// The only values allowed (NULL passes).
    pub accepted_values: Option<Vec<Literal>>,
    /// `true`: the column is unique; a list: these columns are unique together.
    pub unique: Option<UniqueSpec>,
    /// The column's values must exist in another table's column (orphans).
    pub references: Option<ReferencesConfig>,
    /// Any SQL boolean expression every row must satisfy (trusted SQL; NULL passes, as in CHECK).
    pub check: Option<String>,
    /// A query returning the violating rows (trusted SQL).
    pub sql: Option<String>,
}

/// `severity = "error" | "warning" | "info"`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RuleSeverity {
    /// Fails the run.
    Error,
    /// Fails with `--fail-on warning`.
    Warning,
    /// Reported only.
    Info,
}

impl RuleSeverity {
    /// The finding severity.
    pub fn severity(self) -> Severity {
        match self {
            RuleSeverity::Error => Severity::Error,
            RuleSeverity::Warning => Severity::Warning,
            RuleSeverity::Info => Severity::Info,
        }
    }
}

/// A ratio from configuration (`max_ratio = 0.001`).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct Ratio(pub f64);

impl Eq for Ratio {}

/// A literal value from configuration: a number, a string or a boolean.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Literal {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A string (quoted as a SQL literal; dates and times go here).
    Text(String),
}

impl Eq for Literal {}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Float(x) => write!(f, "{x}"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Text(s) => write!(f, "{s:?}"),
        }
    }
}

/// `unique = true` or `unique = ["ad_id", "position"]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum UniqueSpec {
    /// On the entry's column.
    Flag(bool),
    /// On these columns together.
    Columns(Vec<String>),
}

/// `references = { table = "ads", column = "id" }`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReferencesConfig {
    /// The parent table.
    pub table: String,
    /// The parent's column (default: its single-column primary key).
    pub column: Option<String>,
}

/// Check an `[integrity]` section; the error names the key and what is wrong.
pub fn validate(config: &IntegrityConfig) -> Result<(), (&'static str, String)> {
    if let Some(n) = config.samples
        && n > 1000
    {
        return Err(("integrity.samples", "must be at most 1000".into()));
    }
    if config.statement_timeout_secs == Some(0) {
        return Err(("integrity.statement_timeout_secs", "must be at least 1".into()));
    }
    for (i, r) in config.rules.iter().enumerate() {
        let at = |reason: &str| format!("{reason} (in rule {} on `{}`)", i + 1, r.table);
        let empty = |v: &str| v.trim().is_empty();
        if empty(&r.table) {
            return Err(("integrity.rules.table", at("must not be empty")));
        }
        if r.column.as_deref().is_some_and(empty) {
            return Err(("integrity.rules.column", at("must not be empty")));
        }
        if let Some(Ratio(x)) = r.max_ratio
            && !(0.0..=1.0).contains(&x)
        {
            return Err(("integrity.rules.max_ratio", at("must be between 0 and 1")));
        }
        for lit in r.min.iter().chain(&r.max).chain(r.range.iter().flatten()) {
            if let Literal::Float(x) = lit
                && !x.is_finite()
            {
                return Err(("integrity.rules.min", at("must be a finite number")));
            }
        }
        if r.range.is_some() && (r.min.is_some() || r.max.is_some()) {
            return Err(("integrity.rules.range", at("cannot be combined with `min`/`max`")));
        }
        if let Some(re) = &r.regex
            && re.is_empty()
        {
            return Err(("integrity.rules.regex", at("must not be empty")));
        }
        if r.accepted_values.as_ref().is_some_and(Vec::is_empty) {
            return Err(("integrity.rules.accepted_values", at("must list at least one value")));
        }
        match &r.unique {
            Some(UniqueSpec::Columns(cols)) if cols.is_empty() || cols.iter().any(|c| empty(c)) => {
                return Err(("integrity.rules.unique", at("must list at least one non-empty column")));
            }
            _ => {}
        }
        for (key, v) in [("integrity.rules.check", &r.check), ("integrity.rules.sql", &r.sql)] {
            if v.as_deref().is_some_and(empty) {
                return Err((key, at("must not be empty")));
            }
        }
        if let Some(refs) = &r.references
            && (empty(&refs.table) || refs.column.as_deref().is_some_and(empty))
        {
            return Err(("integrity.rules.references", at("needs a non-empty `table` (and `column`)")));
        }
        let column_checks = r.not_null
            || r.not_empty
            || r.regex.is_some()
            || r.min.is_some()
            || r.max.is_some()
            || r.range.is_some()
            || r.accepted_values.is_some()
            || r.references.is_some()
            || matches!(r.unique, Some(UniqueSpec::Flag(true)));
        if column_checks && r.column.is_none() {
            return Err(("integrity.rules.column", at("is required by the column checks of this rule")));
        }
        let any = column_checks || r.unique.is_some() || r.check.is_some() || r.sql.is_some();
        if !any {
            return Err((
                "integrity.rules",
                at(
                    "sets no check (not_null, not_empty, regex, min, max, range, accepted_values, unique, references, check, sql)",
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<IntegrityConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn rules_parse_with_every_kind() {
        let c = parse(
            "samples = 3\n[[rules]]\ntable = \"ads\"\ncolumn = \"price\"\nrange = [0, 1e6]\nseverity = \"warning\"\n\
             max_ratio = 0.001\n[[rules]]\ntable = \"ad_images\"\nunique = [\"ad_id\"]\nwhere = \"is_primary\"\n\
             [[rules]]\ntable = \"ads\"\ncolumn = \"status\"\naccepted_values = [\"draft\", \"live\"]\n",
        )
        .unwrap();
        assert_eq!(c.rules.len(), 3);
        assert_eq!(c.rules[0].range, Some([Literal::Int(0), Literal::Float(1e6)]));
        assert_eq!(c.rules[1].unique, Some(UniqueSpec::Columns(vec!["ad_id".into()])));
        validate(&c).unwrap();
    }

    #[test]
    fn unknown_keys_and_pointless_rules_are_rejected() {
        let err = parse("[[rules]]\ntable = \"ads\"\ncolumn = \"slug\"\nnot_nul = true\n").unwrap_err();
        assert!(err.contains("not_nul"), "{err}");
        let c = parse("[[rules]]\ntable = \"ads\"\ncolumn = \"slug\"\n").unwrap();
        assert_eq!(validate(&c).unwrap_err().0, "integrity.rules");
        let c = parse("[[rules]]\ntable = \"ads\"\nnot_null = true\n").unwrap();
        assert_eq!(validate(&c).unwrap_err().0, "integrity.rules.column");
        let c = parse("[[rules]]\ntable = \"ads\"\ncolumn = \"x\"\nnot_null = true\nmax_ratio = 2\n").unwrap();
        assert_eq!(validate(&c).unwrap_err().0, "integrity.rules.max_ratio");
    }
}
