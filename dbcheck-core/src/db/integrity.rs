//! The SQL of `integrity`: the one aggregate scan per table (a counter per rule), the grouped
//! query for duplicates, the anti-join for orphans, custom queries, samples, the read-only
//! transaction with its statement timeout, and the suggested backfill and constraint SQL.
//!
//! **Invariant:** every identifier from configuration goes through [`Dialect::quote_ident`] and
//! every value through [`Dialect::quote_literal`] or is a number printed by Rust; only `where`,
//! `check` and `sql` are inserted verbatim, because they are SQL by design (trusted configuration).
//! **Invariant:** every `Db::integrity_*` query method issues exactly one statement that reads
//! the table (PostgreSQL wraps it in a savepoint so that one failing rule does not abort the
//! transaction), so counting calls counts scans.

use sqlx::{AssertSqlSafe, Column as _, TypeInfo as _};

use super::connection::Conn;
use super::{Db, DbError, Dialect};
use crate::integrity::config::Literal;

/// A table, as resolved against the introspected schema.
#[derive(Debug, Clone, Copy)]
pub struct TableSql<'a> {
    /// Its namespace (PostgreSQL), if not the default one.
    pub schema: Option<&'a str>,
    /// Its name.
    pub name: &'a str,
    /// Columns identifying a row in samples (the primary key; empty when there is none).
    pub key: &'a [String],
}

/// What a counting rule forbids. Every variant but `NotNull` lets NULL pass.
#[derive(Debug, Clone, Copy)]
pub enum CountCheck<'a> {
    /// The column is NULL.
    NotNull,
    /// The column is empty or spaces only.
    NotEmpty,
    /// The column's text does not match the regular expression.
    Regex(&'a str),
    /// The column is below the value.
    Min(&'a Literal),
    /// The column is above the value.
    Max(&'a Literal),
    /// The column is not one of the values.
    Accepted(&'a [Literal]),
    /// The expression is false (trusted SQL).
    Check(&'a str),
    /// Every row (counts the rows a `where` selects).
    Selected,
}

/// One counting rule: a check on a column (or on the row), restricted by an optional `where`.
#[derive(Debug, Clone, Copy)]
pub struct CountRule<'a> {
    /// The column, when the check is about one.
    pub column: Option<&'a str>,
    /// What it forbids.
    pub check: CountCheck<'a>,
    /// The `where` condition (trusted SQL).
    pub filter: Option<&'a str>,
}

/// The result of the aggregate scan of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCounts {
    /// Rows scanned (after `TABLESAMPLE`).
    pub rows: u64,
    /// Per rule, in order: rows its `where` selects, and rows that violate it.
    pub rules: Vec<(u64, u64)>,
}

/// A violating row: its key and the offending value, as text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SampleRow {
    /// The key columns' values joined with `, ` (absent when the table has no primary key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The offending value(s) joined with `, `; `NULL` for SQL NULL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

fn qtable(d: Dialect, t: &TableSql<'_>) -> String {
    match t.schema {
        Some(s) => format!("{}.{}", d.quote_ident(s), d.quote_ident(t.name)),
        None => d.quote_ident(t.name),
    }
}

fn text(d: Dialect, expr: &str) -> String {
    match d {
        Dialect::Postgres => format!("({expr})::text"),
        Dialect::Sqlite => format!("CAST({expr} AS TEXT)"),
        Dialect::Mysql => format!("CAST({expr} AS CHAR)"),
    }
}

/// A literal value as SQL: numbers as Rust prints them, everything else quoted.
pub fn literal_sql(d: Dialect, v: &Literal) -> String {
    match v {
        Literal::Int(i) => i.to_string(),
        Literal::Float(x) => format!("{x:?}"),
        Literal::Bool(b) => match d {
            Dialect::Postgres => b.to_string(),
            Dialect::Sqlite | Dialect::Mysql => u8::from(*b).to_string(),
        },
        Literal::Text(s) => d.quote_literal(s),
    }
}

/// The condition a row satisfies when it violates `check` on `column` (without the `where`).
fn violation(d: Dialect, column: Option<&str>, check: &CountCheck<'_>) -> String {
    let c = column.map(|c| d.quote_ident(c)).unwrap_or_else(|| "NULL".to_owned());
    match check {
        CountCheck::NotNull => format!("{c} IS NULL"),
        // Blank means empty or spaces only (`TRIM`'s default), so a blank value sorts byte-wise
        // before `!`: that one comparison spares `TRIM`'s copy of every other value (it tripled
        // the cost of the scan). NULL compares to NULL, which no counter counts.
        CountCheck::NotEmpty => {
            let t = text(d, &c);
            match d {
                Dialect::Postgres => format!("{t} COLLATE \"C\" < '!' AND TRIM({t}) = ''"),
                Dialect::Sqlite => format!("{t} COLLATE BINARY < '!' AND TRIM({t}) = ''"),
                // MySQL compares strings by collation weights, not bytes: no shortcut there.
                Dialect::Mysql => format!("{c} IS NOT NULL AND ({t} = '' OR ({t} LIKE ' %' AND TRIM({t}) = ''))"),
            }
        }
        CountCheck::Regex(re) => {
            let op = if d == Dialect::Postgres { "~" } else { "REGEXP" };
            format!("{c} IS NOT NULL AND NOT ({} {op} {})", text(d, &c), d.quote_literal(re))
        }
        CountCheck::Min(v) => format!("{c} < {}", literal_sql(d, v)),
        CountCheck::Max(v) => format!("{c} > {}", literal_sql(d, v)),
        // NULL passes: `NULL <> v` and `NULL NOT IN (…)` are NULL, which no counter counts.
        // PostgreSQL walks a short `NOT IN` list as an array (a third slower than a chain of
        // `<>`) and hashes a list from 9 values on.
        CountCheck::Accepted(vs) => {
            let list: Vec<String> = vs.iter().map(|v| literal_sql(d, v)).collect();
            if d == Dialect::Postgres && list.len() < 9 {
                list.iter().map(|v| format!("{c} <> {v}")).collect::<Vec<_>>().join(" AND ")
            } else {
                format!("{c} NOT IN ({})", list.join(", "))
            }
        }
        // NOT NULL is NULL, which counts as passing, as in a CHECK constraint.
        CountCheck::Check(expr) => format!("NOT ({expr})"),
        CountCheck::Selected => "1 = 1".to_owned(),
    }
}

/// The condition selecting the rows that violate `rule`, `where` included.
pub fn violation_sql(d: Dialect, rule: &CountRule<'_>) -> String {
    let v = violation(d, rule.column, &rule.check);
    match rule.filter {
        Some(f) => format!("({f}) AND ({v})"),
        None => v,
    }
}

fn counter(d: Dialect, cond: &str) -> String {
    match d {
        Dialect::Postgres => format!("(count(*) FILTER (WHERE {cond}))::text"),
        _ => text(d, &format!("COALESCE(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END), 0)")),
    }
}

fn from_clause(d: Dialect, t: &TableSql<'_>, sample_percent: Option<f64>) -> String {
    match (d, sample_percent) {
        (Dialect::Postgres, Some(p)) => format!("{} TABLESAMPLE SYSTEM ({p:?})", qtable(d, t)),
        _ => qtable(d, t),
    }
}

/// The aggregate scan: `count(*)`, then per rule the rows its `where` selects (only when it has
/// one: otherwise that is `count(*)`) and its violations. Every counter costs per row, so none
/// is computed twice.
pub fn counts_sql(d: Dialect, t: &TableSql<'_>, rules: &[CountRule<'_>], sample_percent: Option<f64>) -> String {
    let mut cols = vec![text(d, "count(*)")];
    for r in rules {
        if let (Some(f), false) = (r.filter, matches!(r.check, CountCheck::Selected)) {
            cols.push(counter(d, &format!("({f})")));
        }
        cols.push(counter(d, &violation_sql(d, r)));
    }
    format!("SELECT {} FROM {}", cols.join(", "), from_clause(d, t, sample_percent))
}

/// Read the row of [`counts_sql`] back: total rows, then per rule (rows checked, violations).
fn parse_counts(row: &[Option<String>], rules: &[CountRule<'_>]) -> TableCounts {
    let total = parse_u64(row.first());
    let mut at = 1;
    let mut out = Vec::with_capacity(rules.len());
    for r in rules {
        let checked = if r.filter.is_some() && !matches!(r.check, CountCheck::Selected) {
            at += 1;
            parse_u64(row.get(at - 1))
        } else {
            total
        };
        let violations = parse_u64(row.get(at));
        at += 1;
        let checked = if matches!(r.check, CountCheck::Selected) { violations } else { checked };
        out.push((checked, violations));
    }
    TableCounts { rows: total, rules: out }
}

/// The key columns as text, aliased: a bare `ORDER BY "id"` would otherwise sort by the text
/// output column of that name (`10` before `2`) instead of the column.
fn key_cols(d: Dialect, t: &TableSql<'_>, alias: &str) -> Vec<String> {
    t.key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{} AS dbcheck_k{i}", text(d, &format!("{alias}{}", d.quote_ident(k)))))
        .collect()
}

fn order_by(d: Dialect, t: &TableSql<'_>, alias: &str, fallback: &[String]) -> String {
    let keys: Vec<String> = t.key.iter().map(|k| format!("{alias}{}", d.quote_ident(k))).collect();
    let all = if keys.is_empty() { fallback.to_vec() } else { keys };
    if all.is_empty() { String::new() } else { format!(" ORDER BY {}", all.join(", ")) }
}

/// The first `limit` rows violating `rule`, ordered by key: key columns, then the value.
pub fn samples_sql(d: Dialect, t: &TableSql<'_>, rule: &CountRule<'_>, limit: usize) -> String {
    let mut cols = key_cols(d, t, "");
    let value = rule.column.map(|c| d.quote_ident(c));
    cols.push(
        value.as_deref().map_or_else(|| "NULL AS dbcheck_v".to_owned(), |v| format!("{} AS dbcheck_v", text(d, v))),
    );
    format!(
        "SELECT {} FROM {} WHERE {}{} LIMIT {limit}",
        cols.join(", "),
        qtable(d, t),
        violation_sql(d, rule),
        order_by(d, t, "", &value.into_iter().collect::<Vec<_>>())
    )
}

fn not_null_all(d: Dialect, columns: &[String], alias: &str) -> String {
    columns.iter().map(|c| format!("{alias}{} IS NOT NULL", d.quote_ident(c))).collect::<Vec<_>>().join(" AND ")
}

fn with_filter(cond: String, filter: Option<&str>) -> String {
    match filter {
        Some(f) => format!("{cond} AND ({f})"),
        None => cond,
    }
}

/// Rows sharing their (non-NULL) values in `columns` with another row, and the number of such
/// groups: one grouped query.
pub fn duplicates_sql(d: Dialect, t: &TableSql<'_>, columns: &[String], filter: Option<&str>) -> String {
    let cols: Vec<String> = columns.iter().map(|c| d.quote_ident(c)).collect();
    let cond = with_filter(not_null_all(d, columns, ""), filter);
    format!(
        "SELECT {}, {} FROM (SELECT count(*) AS n FROM {} WHERE {cond} GROUP BY {} HAVING count(*) > 1) dup",
        text(d, "COALESCE(SUM(n), 0)"),
        text(d, "count(*)"),
        qtable(d, t),
        cols.join(", ")
    )
}

/// Rows of the first duplicate groups (by value, then key): key columns, then the values.
pub fn duplicate_samples_sql(
    d: Dialect,
    t: &TableSql<'_>,
    columns: &[String],
    filter: Option<&str>,
    limit: usize,
) -> String {
    let cols: Vec<String> = columns.iter().map(|c| d.quote_ident(c)).collect();
    let outer: Vec<String> = columns.iter().map(|c| format!("o.{}", d.quote_ident(c))).collect();
    let cond = with_filter(not_null_all(d, columns, ""), filter);
    let ocond = with_filter(not_null_all(d, columns, "o."), filter);
    let join: Vec<String> = columns.iter().map(|c| format!("g.{q} = o.{q}", q = d.quote_ident(c))).collect();
    let mut select = key_cols(d, t, "o.");
    select.extend(outer.iter().map(|c| text(d, c)));
    let keys: Vec<String> = t.key.iter().map(|k| format!("o.{}", d.quote_ident(k))).collect();
    let order: Vec<String> = outer.iter().cloned().chain(keys).collect();
    format!(
        "SELECT {} FROM {} o JOIN (SELECT {} FROM {} WHERE {cond} GROUP BY {} HAVING count(*) > 1) g ON {} \
         WHERE {ocond} ORDER BY {} LIMIT {limit}",
        select.join(", "),
        qtable(d, t),
        cols.join(", "),
        qtable(d, t),
        cols.join(", "),
        join.join(" AND "),
        order.join(", ")
    )
}

/// The child column is qualified with its table inside the subquery: unqualified, a parent
/// column of the same name would capture it and every row would find a "parent".
fn orphan_where(
    d: Dialect,
    t: &TableSql<'_>,
    column: &str,
    parent: &TableSql<'_>,
    parent_column: &str,
    filter: Option<&str>,
) -> String {
    let c = d.quote_ident(column);
    let cond = with_filter(format!("{c} IS NOT NULL"), filter);
    format!(
        "{cond} AND NOT EXISTS (SELECT 1 FROM {} p WHERE p.{} = {}.{c})",
        qtable(d, parent),
        d.quote_ident(parent_column),
        qtable(d, t)
    )
}

/// Rows whose non-NULL `column` matches no `parent_column` in `parent`: one anti-join.
pub fn orphans_sql(
    d: Dialect,
    t: &TableSql<'_>,
    column: &str,
    parent: &TableSql<'_>,
    parent_column: &str,
    filter: Option<&str>,
) -> String {
    format!(
        "SELECT {} FROM {} WHERE {}",
        text(d, "count(*)"),
        qtable(d, t),
        orphan_where(d, t, column, parent, parent_column, filter)
    )
}

/// The first orphans by key: key columns, then the value.
pub fn orphan_samples_sql(
    d: Dialect,
    t: &TableSql<'_>,
    column: &str,
    parent: &TableSql<'_>,
    parent_column: &str,
    filter: Option<&str>,
    limit: usize,
) -> String {
    let c = d.quote_ident(column);
    let mut cols = key_cols(d, t, "");
    cols.push(format!("{} AS dbcheck_v", text(d, &c)));
    format!(
        "SELECT {} FROM {} WHERE {}{} LIMIT {limit}",
        cols.join(", "),
        qtable(d, t),
        orphan_where(d, t, column, parent, parent_column, filter),
        order_by(d, t, "", std::slice::from_ref(&c))
    )
}

/// The number of rows a custom query returns.
pub fn custom_count_sql(d: Dialect, sql: &str) -> String {
    format!("SELECT {} FROM ({}) v", text(d, "count(*)"), trim_sql(sql))
}

fn trim_sql(sql: &str) -> &str {
    sql.trim().trim_end_matches(';').trim_end()
}

fn parse_u64(v: Option<&Option<String>>) -> u64 {
    v.and_then(|v| v.as_deref()).and_then(|s| s.trim().parse::<u64>().ok()).unwrap_or(0)
}

fn join_cells(cells: &[Option<String>]) -> Option<String> {
    if cells.is_empty() {
        return None;
    }
    Some(cells.iter().map(|c| c.as_deref().unwrap_or("NULL")).collect::<Vec<_>>().join(", "))
}

fn sample_rows(rows: Vec<Vec<Option<String>>>, key_len: usize, has_value: bool) -> Vec<SampleRow> {
    rows.into_iter()
        .map(|r| {
            let split = key_len.min(r.len());
            let key = if key_len == 0 { None } else { join_cells(&r[..split]) };
            let value = if has_value { join_cells(&r[split..]) } else { None };
            SampleRow { key, value }
        })
        .collect()
}

/// A driver row whose columns can be read back as text, whatever their type.
trait TextCells: sqlx::Row {
    /// Column `i` as text: text, integer, float, boolean or bytes (hex unless UTF-8); the type's
    /// name in angle brackets for anything else; `None` for SQL NULL.
    fn cell(&self, i: usize) -> Option<String>;
}

impl<R: sqlx::Row> TextCells for R
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<i32>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<bool>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<f64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<Vec<u8>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn cell(&self, i: usize) -> Option<String> {
        if let Ok(v) = self.try_get::<Option<String>, _>(i) {
            return v;
        }
        if let Ok(v) = self.try_get::<Option<i64>, _>(i) {
            return v.map(|v| v.to_string());
        }
        if let Ok(v) = self.try_get::<Option<i32>, _>(i) {
            return v.map(|v| v.to_string());
        }
        if let Ok(v) = self.try_get::<Option<bool>, _>(i) {
            return v.map(|v| v.to_string());
        }
        if let Ok(v) = self.try_get::<Option<f64>, _>(i) {
            return v.map(|v| v.to_string());
        }
        if let Ok(v) = self.try_get::<Option<Vec<u8>>, _>(i) {
            return v.map(|b| String::from_utf8(b.clone()).unwrap_or_else(|_| format!("\\x{}", hex::encode(b))));
        }
        Some(format!("<{}>", self.columns()[i].type_info().name()))
    }
}

impl Db {
    fn integrity_err(&self, context: &str, e: &sqlx::Error) -> DbError {
        let reason = match e {
            sqlx::Error::Database(db) => db.message().to_owned(),
            other => other.to_string(),
        };
        DbError::Query { url: self.url().redacted(), context: context.to_owned(), reason: self.url().scrub(&reason) }
    }

    /// Run one reading statement; on PostgreSQL inside a savepoint, so that a failing rule
    /// leaves the surrounding transaction usable.
    async fn integrity_rows(&mut self, sql: String, context: &str) -> Result<Vec<Vec<Option<String>>>, DbError> {
        if self.dialect() != Dialect::Postgres {
            return self.text_rows(sql, context).await;
        }
        self.execute("SAVEPOINT dbcheck_integrity", context).await?;
        match self.text_rows(sql, context).await {
            Ok(rows) => {
                self.execute("RELEASE SAVEPOINT dbcheck_integrity", context).await?;
                Ok(rows)
            }
            Err(e) => {
                self.execute("ROLLBACK TO SAVEPOINT dbcheck_integrity", context).await?;
                Err(e)
            }
        }
    }

    /// Open the read-only transaction all integrity scans run in (one consistent snapshot), with a
    /// per-statement timeout where the server has one (SQLite has none).
    pub async fn integrity_begin(&mut self, statement_timeout_secs: u64) -> Result<(), DbError> {
        let ctx = "opening the read-only integrity transaction";
        match self.dialect() {
            Dialect::Postgres => {
                let sql = format!(
                    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL statement_timeout = {}",
                    statement_timeout_secs.saturating_mul(1000)
                );
                self.execute(&sql, ctx).await
            }
            Dialect::Mysql => {
                // MariaDB calls it max_statement_time (seconds), MySQL max_execution_time (ms);
                // each server rejects the other's name, which is fine.
                let _ = self.execute(&format!("SET SESSION max_statement_time = {statement_timeout_secs}"), ctx).await;
                let ms = statement_timeout_secs.saturating_mul(1000);
                let _ = self.execute(&format!("SET SESSION max_execution_time = {ms}"), ctx).await;
                self.execute("START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT", ctx).await
            }
            Dialect::Sqlite => self.execute("BEGIN", ctx).await,
        }
    }

    /// End the integrity transaction (it wrote nothing).
    pub async fn integrity_end(&mut self) -> Result<(), DbError> {
        self.execute("ROLLBACK", "closing the integrity transaction").await
    }

    /// The aggregate scan of one table: one statement whatever the number of rules.
    pub async fn integrity_counts(
        &mut self,
        t: &TableSql<'_>,
        rules: &[CountRule<'_>],
        sample_percent: Option<f64>,
    ) -> Result<TableCounts, DbError> {
        let d = self.dialect();
        let rows = self.integrity_rows(counts_sql(d, t, rules, sample_percent), "counting rule violations").await?;
        let row = rows.into_iter().next().unwrap_or_default();
        Ok(parse_counts(&row, rules))
    }

    /// The first `limit` rows violating a counting rule.
    pub async fn integrity_samples(
        &mut self,
        t: &TableSql<'_>,
        rule: &CountRule<'_>,
        limit: usize,
    ) -> Result<Vec<SampleRow>, DbError> {
        let sql = samples_sql(self.dialect(), t, rule, limit);
        let rows = self.integrity_rows(sql, "reading sample violations").await?;
        Ok(sample_rows(rows, t.key.len(), rule.column.is_some()))
    }

    /// Rows in duplicate groups, and the number of groups.
    pub async fn integrity_duplicates(
        &mut self,
        t: &TableSql<'_>,
        columns: &[String],
        filter: Option<&str>,
    ) -> Result<(u64, u64), DbError> {
        let sql = duplicates_sql(self.dialect(), t, columns, filter);
        let rows = self.integrity_rows(sql, "counting duplicates").await?;
        let row = rows.into_iter().next().unwrap_or_default();
        Ok((parse_u64(row.first()), parse_u64(row.get(1))))
    }

    /// Rows of the first duplicate groups.
    pub async fn integrity_duplicate_samples(
        &mut self,
        t: &TableSql<'_>,
        columns: &[String],
        filter: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SampleRow>, DbError> {
        let sql = duplicate_samples_sql(self.dialect(), t, columns, filter, limit);
        let rows = self.integrity_rows(sql, "reading sample duplicates").await?;
        Ok(sample_rows(rows, t.key.len(), true))
    }

    /// Rows whose parent is missing.
    pub async fn integrity_orphans(
        &mut self,
        t: &TableSql<'_>,
        column: &str,
        parent: &TableSql<'_>,
        parent_column: &str,
        filter: Option<&str>,
    ) -> Result<u64, DbError> {
        let sql = orphans_sql(self.dialect(), t, column, parent, parent_column, filter);
        let rows = self.integrity_rows(sql, "counting orphans").await?;
        Ok(parse_u64(rows.first().and_then(|r| r.first())))
    }

    /// The first orphans by key.
    pub async fn integrity_orphan_samples(
        &mut self,
        t: &TableSql<'_>,
        column: &str,
        parent: &TableSql<'_>,
        parent_column: &str,
        filter: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SampleRow>, DbError> {
        let sql = orphan_samples_sql(self.dialect(), t, column, parent, parent_column, filter, limit);
        let rows = self.integrity_rows(sql, "reading sample orphans").await?;
        Ok(sample_rows(rows, t.key.len(), true))
    }

    /// The number of rows a custom query returns.
    pub async fn integrity_custom_count(&mut self, sql: &str) -> Result<u64, DbError> {
        let rows = self.integrity_rows(custom_count_sql(self.dialect(), sql), "running a custom rule").await?;
        Ok(parse_u64(rows.first().and_then(|r| r.first())))
    }

    /// The first `limit` rows of a custom query, each row's columns as `name=value` text.
    pub async fn integrity_custom_samples(&mut self, sql: &str, limit: usize) -> Result<Vec<SampleRow>, DbError> {
        let ctx = "reading a custom rule's rows";
        let full = AssertSqlSafe(format!("SELECT * FROM ({}) v LIMIT {limit}", trim_sql(sql)));
        fn render<R: TextCells>(rows: Vec<R>) -> Vec<SampleRow> {
            rows.iter()
                .map(|row| {
                    let cells: Vec<String> = (0..row.len())
                        .map(|i| {
                            let v = row.cell(i).unwrap_or_else(|| "NULL".to_owned());
                            format!("{}={v}", row.columns()[i].name())
                        })
                        .collect();
                    SampleRow { key: None, value: Some(cells.join(", ")) }
                })
                .collect()
        }
        if self.dialect() == Dialect::Postgres {
            self.execute("SAVEPOINT dbcheck_integrity", ctx).await?;
        }
        let result = match &mut self.conn {
            Conn::Postgres(c) => sqlx::query(full).fetch_all(c).await.map(render),
            Conn::Sqlite(c) => sqlx::query(full).fetch_all(c).await.map(render),
            Conn::Mysql(c) => sqlx::query(full).fetch_all(c).await.map(render),
        };
        if self.dialect() == Dialect::Postgres {
            let end = if result.is_ok() {
                "RELEASE SAVEPOINT dbcheck_integrity"
            } else {
                "ROLLBACK TO SAVEPOINT dbcheck_integrity"
            };
            self.execute(end, ctx).await?;
        }
        result.map_err(|e| self.integrity_err(ctx, &e))
    }
}

/// A constraint name from parts: lowercase ASCII letters, digits and `_`, at most 63 bytes.
pub fn constraint_name(parts: &[&str]) -> String {
    let mut name: String =
        parts.join("_").chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    name.truncate(63);
    name
}

/// What the suggested fixes of one rule need.
#[derive(Debug, Clone, Copy)]
pub struct FixInput<'a> {
    /// The table.
    pub table: TableSql<'a>,
    /// The rule's condition, when it is a counting rule.
    pub rule: Option<CountRule<'a>>,
    /// Columns of a uniqueness rule.
    pub unique: Option<&'a [String]>,
    /// `(column, parent, parent column)` of a references rule.
    pub references: Option<(&'a str, TableSql<'a>, &'a str)>,
    /// The rule's `where`.
    pub filter: Option<&'a str>,
    /// Name for the constraint or index.
    pub name: &'a str,
    /// Columns of the table (to find `title`/`name` for slugs).
    pub columns: &'a [String],
    /// The column's default, if it has one.
    pub default: Option<&'a str>,
}

/// The backfill that repairs existing rows, for a human to review (comments where a choice is
/// needed). The slug backfill follows the team's guidelines: `lower(title)` with runs of other
/// characters turned into `-`, then `-<id>`.
pub fn backfill_sql(d: Dialect, f: &FixInput<'_>) -> Option<String> {
    let t = qtable(d, &f.table);
    if let Some((column, parent, pc)) = f.references {
        let w = orphan_where(d, &f.table, column, &parent, pc, f.filter);
        let c = d.quote_ident(column);
        return Some(format!(
            "-- either detach the orphans:\nUPDATE {t} SET {c} = NULL WHERE {w};\n-- or delete them:\n-- DELETE FROM {t} WHERE {w};\n"
        ));
    }
    if let Some(cols) = f.unique {
        return Some(format!(
            "-- keep one row per value and change or delete the others; the duplicates are:\n{};\n",
            duplicate_samples_sql(d, &f.table, cols, f.filter, 1000)
        ));
    }
    let rule = f.rule?;
    let w = violation_sql(d, &rule);
    let Some(column) = rule.column else {
        return Some(format!("-- review and repair the rows this selects:\nSELECT * FROM {t} WHERE {w};\n"));
    };
    let c = d.quote_ident(column);
    let slug_source = ["title", "name"].into_iter().find(|n| f.columns.iter().any(|c| c == n));
    match rule.check {
        CountCheck::NotNull | CountCheck::NotEmpty
            if column == "slug" && slug_source.is_some() && f.table.key.len() == 1 =>
        {
            let src = d.quote_ident(slug_source.unwrap_or("title"));
            let id = d.quote_ident(&f.table.key[0]);
            let slug_expr = match d {
                Dialect::Postgres => format!("CONCAT(regexp_replace(lower({src}), '[^a-z0-9]+', '-', 'g'), '-', {id})"),
                Dialect::Mysql => format!("CONCAT(REGEXP_REPLACE(LOWER({src}), '[^a-z0-9]+', '-'), '-', {id})"),
                Dialect::Sqlite => format!("lower(replace(trim({src}), ' ', '-')) || '-' || {id}"),
            };
            Some(format!("UPDATE {t} SET {c} = {slug_expr} WHERE {w};\n"))
        }
        CountCheck::NotNull => Some(match f.default {
            Some(_) => format!("UPDATE {t} SET {c} = DEFAULT WHERE {w};\n"),
            None => format!("-- choose a value for these rows, e.g.:\n-- UPDATE {t} SET {c} = <value> WHERE {w};\n"),
        }),
        CountCheck::NotEmpty => {
            Some(format!("-- choose a value for these rows, or NULL:\n-- UPDATE {t} SET {c} = NULL WHERE {w};\n"))
        }
        CountCheck::Min(v) => Some(format!(
            "-- clamp to the bound, if that is right for this data:\nUPDATE {t} SET {c} = {} WHERE {w};\n",
            literal_sql(d, v)
        )),
        CountCheck::Max(v) => Some(format!(
            "-- clamp to the bound, if that is right for this data:\nUPDATE {t} SET {c} = {} WHERE {w};\n",
            literal_sql(d, v)
        )),
        CountCheck::Regex(_) | CountCheck::Accepted(_) | CountCheck::Check(_) | CountCheck::Selected => {
            Some(format!("-- review and repair the rows this selects:\nSELECT * FROM {t} WHERE {w};\n"))
        }
    }
}

/// The condition a valid row satisfies (for a CHECK constraint), `where` included.
fn valid_condition(d: Dialect, rule: &CountRule<'_>) -> String {
    let ok = match (rule.check, rule.column.map(|c| d.quote_ident(c))) {
        (CountCheck::NotNull, Some(c)) => format!("{c} IS NOT NULL"),
        (CountCheck::NotEmpty, Some(c)) => format!("TRIM({c}) <> ''"),
        (CountCheck::Regex(re), Some(c)) => {
            let op = if d == Dialect::Postgres { "~" } else { "REGEXP" };
            format!("{c} {op} {}", d.quote_literal(re))
        }
        (CountCheck::Min(v), Some(c)) => format!("{c} >= {}", literal_sql(d, v)),
        (CountCheck::Max(v), Some(c)) => format!("{c} <= {}", literal_sql(d, v)),
        (CountCheck::Accepted(vs), Some(c)) => {
            format!("{c} IN ({})", vs.iter().map(|v| literal_sql(d, v)).collect::<Vec<_>>().join(", "))
        }
        (CountCheck::Check(e), _) => e.to_owned(),
        (CountCheck::Selected, _) => "1 = 1".to_owned(),
        (_, None) => "TRUE".to_owned(),
    };
    match rule.filter {
        Some(f) => format!("NOT ({f}) OR ({ok})"),
        None => ok,
    }
}

/// The migration that prevents the violation from coming back. PostgreSQL: `NOT VALID` then
/// `VALIDATE` (a short lock, then a scan that does not block writes; `SET NOT NULL` then uses the
/// validated check instead of scanning); unique: `CREATE UNIQUE INDEX CONCURRENTLY` (the caller
/// puts it in a no-transaction migration). MySQL: plain `ADD CONSTRAINT`. SQLite cannot add a
/// constraint to a table: unique rules get a unique index, the rest a comment with the clause
/// to add in a table rebuild. `None` for custom queries.
pub fn constraint_sql(d: Dialect, f: &FixInput<'_>) -> Option<String> {
    let t = qtable(d, &f.table);
    let n = d.quote_ident(f.name);
    if let Some(cols) = f.unique {
        let list = cols.iter().map(|c| d.quote_ident(c)).collect::<Vec<_>>().join(", ");
        let w = f.filter.map(|w| format!(" WHERE {w}")).unwrap_or_default();
        return Some(match d {
            Dialect::Postgres => format!("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {n} ON {t} ({list}){w};\n"),
            Dialect::Sqlite => format!("CREATE UNIQUE INDEX IF NOT EXISTS {n} ON {t} ({list}){w};\n"),
            Dialect::Mysql if f.filter.is_none() => format!("ALTER TABLE {t} ADD CONSTRAINT {n} UNIQUE ({list});\n"),
            Dialect::Mysql => format!(
                "-- MySQL has no partial unique index; enforce `{}` in the application or with a generated column\n",
                f.filter.unwrap_or_default()
            ),
        });
    }
    if let Some((column, parent, pc)) = f.references {
        let c = d.quote_ident(column);
        let p = qtable(d, &parent);
        let pc = d.quote_ident(pc);
        return Some(match d {
            Dialect::Postgres => format!(
                "ALTER TABLE {t} ADD CONSTRAINT {n} FOREIGN KEY ({c}) REFERENCES {p} ({pc}) NOT VALID;\nALTER TABLE {t} VALIDATE CONSTRAINT {n};\n"
            ),
            Dialect::Mysql => format!("ALTER TABLE {t} ADD CONSTRAINT {n} FOREIGN KEY ({c}) REFERENCES {p} ({pc});\n"),
            Dialect::Sqlite => format!(
                "-- SQLite cannot add a foreign key to an existing table: rebuild {t} with\n--   FOREIGN KEY ({c}) REFERENCES {p} ({pc})\n"
            ),
        });
    }
    let rule = f.rule?;
    let cond = valid_condition(d, &rule);
    Some(match d {
        Dialect::Postgres => {
            let mut s = format!(
                "ALTER TABLE {t} ADD CONSTRAINT {n} CHECK ({cond}) NOT VALID;\nALTER TABLE {t} VALIDATE CONSTRAINT {n};\n"
            );
            if let (CountCheck::NotNull, Some(c), None) = (rule.check, rule.column, rule.filter) {
                // PostgreSQL 12+ skips the scan of SET NOT NULL when a valid CHECK proves it.
                s.push_str(&format!(
                    "ALTER TABLE {t} ALTER COLUMN {} SET NOT NULL;\nALTER TABLE {t} DROP CONSTRAINT {n};\n",
                    d.quote_ident(c)
                ));
            }
            s
        }
        Dialect::Mysql => format!("ALTER TABLE {t} ADD CONSTRAINT {n} CHECK ({cond});\n"),
        Dialect::Sqlite => {
            format!(
                "-- SQLite cannot add a constraint to an existing table: rebuild {t} with\n--   CONSTRAINT {n} CHECK ({cond})\n"
            )
        }
    })
}

/// The statement that drops what [`constraint_sql`] adds (for down migrations).
pub fn drop_constraint_sql(d: Dialect, f: &FixInput<'_>) -> Option<String> {
    let t = qtable(d, &f.table);
    let n = d.quote_ident(f.name);
    if f.unique.is_some() {
        return Some(match d {
            Dialect::Mysql => format!("ALTER TABLE {t} DROP INDEX {n};\n"),
            _ => format!("DROP INDEX IF EXISTS {n};\n"),
        });
    }
    if d == Dialect::Sqlite {
        return None;
    }
    if f.references.is_some() {
        return Some(match d {
            Dialect::Mysql => format!("ALTER TABLE {t} DROP FOREIGN KEY {n};\n"),
            _ => format!("ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {n};\n"),
        });
    }
    let rule = f.rule?;
    Some(match (d, rule.check, rule.column, rule.filter) {
        (Dialect::Postgres, CountCheck::NotNull, Some(c), None) => {
            format!("ALTER TABLE {t} ALTER COLUMN {} DROP NOT NULL;\n", d.quote_ident(c))
        }
        (Dialect::Mysql, ..) => format!("ALTER TABLE {t} DROP CHECK {n};\n"),
        _ => format!("ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {n};\n"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_identifiers_and_values_are_quoted() {
        let key = vec!["i\"d".to_owned()];
        let t = TableSql { schema: None, name: "ad\"s; DROP TABLE x; --", key: &key };
        let v = Literal::Text("a'); DROP TABLE x; --".into());
        let vs = [v.clone()];
        let rules = [
            CountRule { column: Some("sl\"ug"), check: CountCheck::NotNull, filter: None },
            CountRule { column: Some("sl\"ug"), check: CountCheck::Accepted(&vs), filter: None },
        ];
        let sql = counts_sql(Dialect::Postgres, &t, &rules, None);
        assert!(sql.contains("FROM \"ad\"\"s; DROP TABLE x; --\""), "{sql}");
        assert!(sql.contains("\"sl\"\"ug\" <> 'a''); DROP TABLE x; --'"), "{sql}");
        let my = counts_sql(Dialect::Mysql, &TableSql { schema: None, name: "a`b", key: &key }, &rules, None);
        assert!(my.contains("FROM `a``b`"), "{my}");
        assert!(my.contains("SUM(CASE WHEN"), "{my}");
    }

    #[test]
    fn constraint_names_are_plain() {
        assert_eq!(constraint_name(&["ads", "Slug\"x", "not_null"]), "ads_slug_x_not_null");
        assert_eq!(constraint_name(&["x"; 100]).len(), 63);
    }
}
