//! Configuration → rules resolved against the introspected schema, grouped by table. A rule on
//! a table or column the database lacks is kept, marked unresolved, and never reaches SQL.

use super::RuleReport;
use super::config::{IntegrityConfig, Literal, RuleConfig, RuleSeverity, UniqueSpec};
use crate::db::{CountCheck, CountRule, FixInput, TableSql, constraint_name};
use crate::schema::{Schema, Table};

/// What a rule checks.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// A counting rule, evaluated inside the table's aggregate scan.
    Count {
        /// The column, when the check is about one.
        column: Option<String>,
        /// What it forbids.
        check: CheckSpec,
    },
    /// Values (of several columns together) shared by more than one row.
    Unique {
        /// The columns.
        columns: Vec<String>,
    },
    /// Values missing from a parent table.
    References {
        /// The child column.
        column: String,
        /// The parent table: namespace and name.
        parent: (Option<String>, String),
        /// The parent's primary key (for quoting only).
        parent_key: Vec<String>,
        /// The parent's column.
        parent_column: String,
    },
    /// A query returning violating rows.
    Sql {
        /// The query.
        sql: String,
    },
}

/// The owned form of [`CountCheck`].
#[derive(Debug, Clone, PartialEq)]
pub enum CheckSpec {
    /// `not_null`.
    NotNull,
    /// `not_empty`.
    NotEmpty,
    /// `regex`.
    Regex(String),
    /// `min`.
    Min(Literal),
    /// `max`.
    Max(Literal),
    /// `accepted_values`.
    Accepted(Vec<Literal>),
    /// `check`.
    Check(String),
}

pub(crate) struct PlannedTable {
    pub label: String,
    pub schema: Option<String>,
    pub name: String,
    pub key: Vec<String>,
    pub columns: Vec<String>,
    pub defaults: Vec<Option<String>>,
    pub rules: Vec<usize>,
}

pub(crate) struct PlannedRule {
    pub report: RuleReport,
    pub kind: RuleKind,
    pub filter: Option<String>,
    pub table: Option<usize>,
    pub unresolved: Option<String>,
    pub unresolved_code: Option<&'static str>,
    pub name: String,
}

pub(crate) struct Plan {
    pub tables: Vec<PlannedTable>,
    pub rules: Vec<PlannedRule>,
}

impl PlannedRule {
    pub fn count_rule(&self) -> Option<CountRule<'_>> {
        if self.unresolved.is_some() {
            return None;
        }
        let RuleKind::Count { column, check } = &self.kind else { return None };
        let check = match check {
            CheckSpec::NotNull => CountCheck::NotNull,
            CheckSpec::NotEmpty => CountCheck::NotEmpty,
            CheckSpec::Regex(r) => CountCheck::Regex(r),
            CheckSpec::Min(v) => CountCheck::Min(v),
            CheckSpec::Max(v) => CountCheck::Max(v),
            CheckSpec::Accepted(vs) => CountCheck::Accepted(vs),
            CheckSpec::Check(e) => CountCheck::Check(e),
        };
        Some(CountRule { column: column.as_deref(), check, filter: self.filter.as_deref() })
    }

    pub fn is_custom(&self) -> bool {
        matches!(self.kind, RuleKind::Sql { .. })
    }

    /// What the fix SQL needs (`None` for custom queries and unresolved rules).
    pub fn fix_input<'a>(&'a self, tables: &'a [PlannedTable]) -> Option<FixInput<'a>> {
        let t = &tables[self.table?];
        let table = TableSql { schema: t.schema.as_deref(), name: &t.name, key: &t.key };
        let column = match &self.kind {
            RuleKind::Count { column, .. } => column.as_deref(),
            RuleKind::References { column, .. } => Some(column.as_str()),
            _ => None,
        };
        let default = column.and_then(|c| t.columns.iter().position(|x| x == c)).and_then(|i| t.defaults[i].as_deref());
        let references = match &self.kind {
            RuleKind::References { column, parent, parent_key, parent_column } => Some((
                column.as_str(),
                TableSql { schema: parent.0.as_deref(), name: &parent.1, key: parent_key },
                parent_column.as_str(),
            )),
            _ => None,
        };
        let unique = match &self.kind {
            RuleKind::Unique { columns } => Some(columns.as_slice()),
            _ => None,
        };
        if self.is_custom() {
            return None;
        }
        Some(FixInput {
            table,
            rule: self.count_rule(),
            unique,
            references,
            filter: self.filter.as_deref(),
            name: &self.name,
            columns: &t.columns,
            default,
        })
    }
}

/// Find a configured table name in the schema: exactly, or as `namespace.name`.
pub(crate) fn find_table<'a>(schema: &'a Schema, name: &str) -> Option<&'a Table> {
    if let Some(t) = schema.tables.get(name) {
        return Some(t);
    }
    schema.tables.values().find(|t| match name.split_once('.') {
        Some((ns, n)) => t.schema.as_deref() == Some(ns) && t.name == n,
        None => t.name == name && t.schema.is_none(),
    })
}

fn has_column(t: &Table, c: &str) -> bool {
    t.columns.iter().any(|x| x.name == c)
}

/// Expand one configuration entry into its rules: `(kind name, kind)`.
fn expand(r: &RuleConfig) -> Vec<(&'static str, RuleKind)> {
    let mut out = Vec::new();
    let col = r.column.clone();
    let count = |check| RuleKind::Count { column: col.clone(), check };
    if r.not_null {
        out.push(("not_null", count(CheckSpec::NotNull)));
    }
    if r.not_empty {
        out.push(("not_empty", count(CheckSpec::NotEmpty)));
    }
    if let Some(re) = &r.regex {
        out.push(("regex", count(CheckSpec::Regex(re.clone()))));
    }
    let (min, max) = match &r.range {
        Some([a, b]) => (Some(a.clone()), Some(b.clone())),
        None => (r.min.clone(), r.max.clone()),
    };
    if let Some(v) = min {
        out.push(("min", count(CheckSpec::Min(v))));
    }
    if let Some(v) = max {
        out.push(("max", count(CheckSpec::Max(v))));
    }
    if let Some(vs) = &r.accepted_values {
        out.push(("accepted_values", count(CheckSpec::Accepted(vs.clone()))));
    }
    if let Some(e) = &r.check {
        out.push(("check", count(CheckSpec::Check(e.clone()))));
    }
    match (&r.unique, &r.column) {
        (Some(UniqueSpec::Flag(true)), Some(c)) => out.push(("unique", RuleKind::Unique { columns: vec![c.clone()] })),
        (Some(UniqueSpec::Columns(cols)), _) => out.push(("unique", RuleKind::Unique { columns: cols.clone() })),
        _ => {}
    }
    if let (Some(refs), Some(c)) = (&r.references, &r.column) {
        out.push((
            "references",
            RuleKind::References {
                column: c.clone(),
                parent: (None, refs.table.clone()),
                parent_key: Vec::new(),
                parent_column: refs.column.clone().unwrap_or_default(),
            },
        ));
    }
    if let Some(sql) = &r.sql {
        out.push(("sql", RuleKind::Sql { sql: sql.clone() }));
    }
    out
}

/// Resolve every configured rule against `schema`.
pub(crate) fn plan(config: &IntegrityConfig, schema: &Schema) -> Plan {
    let mut tables: Vec<PlannedTable> = Vec::new();
    let mut rules = Vec::new();
    for r in &config.rules {
        let base = r.name.clone().unwrap_or_else(|| match &r.column {
            Some(c) => format!("{}.{c}", r.table),
            None => r.table.clone(),
        });
        let severity = r.severity.unwrap_or(RuleSeverity::Error).severity();
        let max_ratio = r.max_ratio.map_or(0.0, |x| x.0);
        let found = find_table(schema, &r.table);
        for (kind_name, mut kind) in expand(r) {
            let mut unresolved = None;
            let mut code = None;
            let mut table_index = None;
            match found {
                None => {
                    unresolved = Some(format!("table `{}` does not exist", r.table));
                    code = Some("integrity-missing-table");
                }
                Some(t) => {
                    let mut missing: Vec<String> = Vec::new();
                    match &mut kind {
                        RuleKind::Count { column: Some(c), .. } if !has_column(t, c) => missing.push(c.clone()),
                        RuleKind::Unique { columns } => {
                            missing.extend(columns.iter().filter(|c| !has_column(t, c)).cloned())
                        }
                        RuleKind::References { column, parent, parent_key, parent_column } => {
                            if !has_column(t, column) {
                                missing.push(column.clone());
                            }
                            match find_table(schema, &parent.1) {
                                None => {
                                    unresolved = Some(format!("referenced table `{}` does not exist", parent.1));
                                    code = Some("integrity-missing-table");
                                }
                                Some(p) => {
                                    *parent = (p.schema.clone(), p.name.clone());
                                    *parent_key = p.primary_key.as_ref().map(|k| k.columns.clone()).unwrap_or_default();
                                    if parent_column.is_empty() {
                                        match parent_key.as_slice() {
                                            [one] => *parent_column = one.clone(),
                                            _ => {
                                                unresolved = Some(format!(
                                                    "referenced table `{}` has no single-column primary key: set `references.column`",
                                                    parent.1
                                                ));
                                                code = Some("integrity-missing-column");
                                            }
                                        }
                                    } else if !has_column(p, parent_column) {
                                        unresolved =
                                            Some(format!("column `{parent_column}` does not exist in `{}`", parent.1));
                                        code = Some("integrity-missing-column");
                                    }
                                }
                            }
                        }
                        _ => {}
                    }
                    if !missing.is_empty() {
                        let list = missing.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
                        unresolved = Some(format!("column {list} does not exist in `{}`", r.table));
                        code = Some("integrity-missing-column");
                    }
                    if unresolved.is_none() {
                        let idx = match tables.iter().position(|x| x.schema == t.schema && x.name == t.name) {
                            Some(i) => i,
                            None => {
                                tables.push(PlannedTable {
                                    label: r.table.clone(),
                                    schema: t.schema.clone(),
                                    name: t.name.clone(),
                                    key: t.primary_key.as_ref().map(|k| k.columns.clone()).unwrap_or_default(),
                                    columns: t.columns.iter().map(|c| c.name.clone()).collect(),
                                    defaults: t.columns.iter().map(|c| c.default.clone()).collect(),
                                    rules: Vec::new(),
                                });
                                tables.len() - 1
                            }
                        };
                        tables[idx].rules.push(rules.len());
                        table_index = Some(idx);
                    }
                }
            }
            let id = format!("{base}.{kind_name}");
            let name = constraint_name(&[&base, kind_name]);
            let column = match &kind {
                RuleKind::Count { column, .. } => column.clone(),
                RuleKind::References { column, .. } => Some(column.clone()),
                RuleKind::Unique { columns } => Some(columns.join(", ")),
                RuleKind::Sql { .. } => None,
            };
            let report = RuleReport {
                id,
                table: r.table.clone(),
                column,
                kind: kind_name,
                severity,
                max_ratio,
                rows_checked: None,
                violations: 0,
                groups: None,
                ratio: None,
                over_threshold: false,
                error: None,
                samples: Vec::new(),
                backfill_sql: None,
                constraint_sql: None,
                drop_sql: None,
                no_transaction: false,
            };
            rules.push(PlannedRule {
                report,
                kind,
                filter: r.filter.clone(),
                table: table_index,
                unresolved,
                unresolved_code: code,
                name,
            });
        }
    }
    Plan { tables, rules }
}
