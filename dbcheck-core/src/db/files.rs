//! The SQL behind `files`: streaming file references in byte order, rows whose parent is gone,
//! primary-key lookup, and the statements of the reviewable fix script.
//!
//! **Invariant:** every stream is ordered byte-wise on the stored value — PostgreSQL
//! `COLLATE "C"`, SQLite's BINARY collation on the value cast to a BLOB, MySQL `CAST(… AS
//! BINARY)` — so that the filesystem side can be merged against it without sorting in memory.

use futures_util::stream::BoxStream;
use futures_util::{StreamExt as _, TryStreamExt as _};
use sqlx::AssertSqlSafe;

use super::connection::Conn;
use super::{Db, DbError, Dialect};

/// What to read for one `[[files]]` entry.
#[derive(Debug, Clone, Copy)]
pub struct RefQuery<'a> {
    /// Table (`schema.table` accepted).
    pub table: &'a str,
    /// Column holding the file reference.
    pub column: &'a str,
    /// Column naming the row.
    pub key: &'a str,
    /// Extra SQL condition (`where`), trusted configuration.
    pub filter: Option<&'a str>,
    /// Column with the stored size.
    pub size_column: Option<&'a str>,
    /// Column with the stored SHA-256.
    pub sha256_column: Option<&'a str>,
}

/// The parent relationship of a `[[files]]` entry.
#[derive(Debug, Clone, Copy)]
pub struct ParentQuery<'a> {
    /// The child side (the entry itself).
    pub child: RefQuery<'a>,
    /// The child's column holding the parent's key.
    pub child_column: &'a str,
    /// The parent table.
    pub parent_table: &'a str,
    /// The parent's key column.
    pub parent_key: &'a str,
}

/// One row as read: the stored value's bytes and the rest as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefRow {
    /// The stored value, byte for byte (NULL values are never returned by [`Db::file_refs`]).
    pub value: Vec<u8>,
    /// The row's key as text.
    pub key: String,
    /// The stored size as text.
    pub size: Option<String>,
    /// The stored SHA-256 as hex text (`\x…` for PostgreSQL `bytea`).
    pub sha256: Option<String>,
}

/// Quote a table name that may be `schema.table`.
pub fn quote_table(dialect: Dialect, table: &str) -> String {
    match table.split_once('.') {
        Some((schema, name)) if !schema.is_empty() && !name.is_empty() && !name.contains('.') => {
            format!("{}.{}", dialect.quote_ident(schema), dialect.quote_ident(name))
        }
        _ => dialect.quote_ident(table),
    }
}

fn lossy(b: Option<Vec<u8>>) -> Option<String> {
    b.map(|b| String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

fn where_clause(column: &str, filter: Option<&str>) -> String {
    match filter {
        Some(f) => format!("WHERE {column} IS NOT NULL AND ({f})"),
        None => format!("WHERE {column} IS NOT NULL"),
    }
}

/// The SELECT that streams references of `q`, ordered byte-wise on the value: columns value,
/// key, then the size and SHA-256 columns when configured (in that order).
pub fn file_refs_sql(dialect: Dialect, q: &RefQuery<'_>) -> String {
    let d = dialect;
    let t = quote_table(d, q.table);
    let c = d.quote_ident(q.column);
    let k = d.quote_ident(q.key);
    // Optional columns are left out rather than selected as NULL: every column costs per row.
    let opt = |col: Option<&str>, f: &dyn Fn(&str) -> String| {
        col.map_or_else(String::new, |x| format!(", {}", f(&d.quote_ident(x))))
    };
    let filter = where_clause(&c, q.filter);
    match d {
        // The tie-break on the key keeps duplicates in a stable order; it is the native key type,
        // so it costs nothing unless values are equal.
        Dialect::Postgres => format!(
            "SELECT ({c})::text, ({k})::text{}{} FROM {t} {filter} ORDER BY ({c})::text COLLATE \"C\", {k}",
            opt(q.size_column, &|x| format!("({x})::text")),
            opt(q.sha256_column, &|x| format!("({x})::text")),
        ),
        Dialect::Sqlite => format!(
            "SELECT CAST({c} AS BLOB), CAST({k} AS BLOB){}{} FROM {t} {filter} ORDER BY CAST({c} AS BLOB), {k}",
            opt(q.size_column, &|x| format!("CAST({x} AS BLOB)")),
            opt(q.sha256_column, &|x| format!(
                "CAST(CASE WHEN typeof({x}) = 'blob' AND length({x}) = 32 THEN lower(hex({x})) ELSE {x} END AS BLOB)"
            )),
        ),
        Dialect::Mysql => format!(
            "SELECT CAST({c} AS BINARY), CAST({k} AS BINARY){}{} FROM {t} {filter} ORDER BY CAST({c} AS BINARY), {k}",
            opt(q.size_column, &|x| format!("CAST({x} AS BINARY)")),
            opt(q.sha256_column, &|x| format!("CAST(IF(LENGTH({x}) = 32, LOWER(HEX({x})), {x}) AS BINARY)")),
        ),
    }
}

/// The SELECT that streams rows of `q.child` whose parent row does not exist, ordered by key.
pub fn parent_missing_sql(dialect: Dialect, q: &ParentQuery<'_>) -> String {
    let d = dialect;
    let t = quote_table(d, q.child.table);
    let c = d.quote_ident(q.child.column);
    let k = d.quote_ident(q.child.key);
    let pc = d.quote_ident(q.child_column);
    let p = quote_table(d, q.parent_table);
    let pk = d.quote_ident(q.parent_key);
    let filter = q.child.filter.map(|f| format!(" AND ({f})")).unwrap_or_default();
    let cond = format!(
        "WHERE {t}.{pc} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {p} dbcheck_parent WHERE dbcheck_parent.{pk} = {t}.{pc}){filter}"
    );
    match d {
        Dialect::Postgres => format!("SELECT ({c})::text, ({k})::text FROM {t} {cond} ORDER BY {k}"),
        Dialect::Sqlite => format!("SELECT CAST({c} AS BLOB), CAST({k} AS BLOB) FROM {t} {cond} ORDER BY {k}"),
        Dialect::Mysql => format!("SELECT CAST({c} AS BINARY), CAST({k} AS BINARY) FROM {t} {cond} ORDER BY {k}"),
    }
}

/// What a batch of fix statements does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowFix {
    /// `DELETE` the rows.
    Delete,
    /// Set the reference column to NULL.
    Null,
}

/// One statement fixing `rows` (key, stored value) of `table`: each row is matched on its key
/// and, when the value is printable SQL text, its value too, so that a row changed since the
/// check is left alone. `guard` adds a condition (e.g. the parent is still missing).
pub fn fix_rows_sql(
    dialect: Dialect,
    fix: RowFix,
    table: &str,
    key: &str,
    column: &str,
    rows: &[(String, Option<String>)],
    guard: Option<&str>,
) -> String {
    let d = dialect;
    let t = quote_table(d, table);
    let k = d.quote_ident(key);
    let c = d.quote_ident(column);
    let (with_value, key_only): (Vec<_>, Vec<_>) = rows.iter().partition(|(_, v)| v.is_some());
    let mut conds = Vec::new();
    if !with_value.is_empty() {
        let tuples: Vec<String> = with_value
            .iter()
            .map(|(key, v)| format!("({}, {})", d.quote_literal(key), d.quote_literal(v.as_deref().unwrap_or(""))))
            .collect();
        conds.push(match d {
            // SQLite has no list of row values after IN; VALUES is a subquery it accepts.
            Dialect::Sqlite => format!("({k}, {c}) IN (VALUES {})", tuples.join(", ")),
            Dialect::Postgres | Dialect::Mysql => format!("({k}, {c}) IN ({})", tuples.join(", ")),
        });
    }
    if !key_only.is_empty() {
        let keys: Vec<String> = key_only.iter().map(|(key, _)| d.quote_literal(key)).collect();
        conds.push(format!("{k} IN ({})", keys.join(", ")));
    }
    let mut cond = if conds.len() == 1 { conds.remove(0) } else { format!("({})", conds.join(" OR ")) };
    if let Some(g) = guard {
        cond = format!("{cond} AND {g}");
    }
    match fix {
        RowFix::Delete => format!("DELETE FROM {t} WHERE {cond};"),
        RowFix::Null => format!("UPDATE {t} SET {c} = NULL WHERE {cond};"),
    }
}

/// The guard for deleting rows whose parent is gone: the parent must still be missing.
pub fn parent_still_missing_sql(dialect: Dialect, q: &ParentQuery<'_>) -> String {
    let d = dialect;
    let t = quote_table(d, q.child.table);
    format!(
        "NOT EXISTS (SELECT 1 FROM {} dbcheck_parent WHERE dbcheck_parent.{} = {t}.{})",
        quote_table(d, q.parent_table),
        d.quote_ident(q.parent_key),
        d.quote_ident(q.child_column)
    )
}

/// Rows of a PostgreSQL `COPY … TO STDOUT` (text format) stream: fields split on tabs, `\N` as
/// NULL, backslash escapes decoded. Chunks may hold a row, several rows or part of one.
fn copy_rows<'a, B: AsRef<[u8]> + Send + 'a>(
    chunks: BoxStream<'a, Result<B, sqlx::Error>>,
) -> BoxStream<'a, Result<Vec<Option<Vec<u8>>>, sqlx::Error>> {
    let state = (chunks, Vec::<u8>::new(), std::collections::VecDeque::new());
    futures_util::stream::unfold(state, |(mut chunks, mut buf, mut rows)| async move {
        loop {
            if let Some(row) = rows.pop_front() {
                return Some((Ok(row), (chunks, buf, rows)));
            }
            match chunks.next().await {
                Some(Ok(chunk)) => {
                    buf.extend_from_slice(chunk.as_ref());
                    let mut start = 0;
                    while let Some(end) = buf[start..].iter().position(|&b| b == b'\n') {
                        rows.push_back(copy_fields(&buf[start..start + end]));
                        start += end + 1;
                    }
                    buf.drain(..start);
                }
                Some(Err(e)) => return Some((Err(e), (chunks, buf, rows))),
                None if buf.is_empty() => return None,
                None => {
                    let last = copy_fields(&buf);
                    buf.clear();
                    return Some((Ok(last), (chunks, buf, rows)));
                }
            }
        }
    })
    .boxed()
}

/// One line of COPY text format.
fn copy_fields(line: &[u8]) -> Vec<Option<Vec<u8>>> {
    line.split(|&b| b == b'\t')
        .map(|f| {
            if f == b"\\N" {
                return None;
            }
            if !f.contains(&b'\\') {
                return Some(f.to_vec());
            }
            let mut out = Vec::with_capacity(f.len());
            let mut i = 0;
            while i < f.len() {
                let b = f[i];
                i += 1;
                if b != b'\\' || i == f.len() {
                    out.push(b);
                    continue;
                }
                let c = f[i];
                i += 1;
                match c {
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'v' => out.push(11),
                    b'0'..=b'7' => {
                        let mut v = u32::from(c - b'0');
                        for _ in 0..2 {
                            match f.get(i) {
                                Some(d @ b'0'..=b'7') => {
                                    v = v * 8 + u32::from(d - b'0');
                                    i += 1;
                                }
                                _ => break,
                            }
                        }
                        out.push((v & 0xff) as u8);
                    }
                    b'x' if f.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                        let mut v = 0u32;
                        for _ in 0..2 {
                            match f.get(i).and_then(|d| char::from(*d).to_digit(16)) {
                                Some(d) => {
                                    v = v * 16 + d;
                                    i += 1;
                                }
                                None => break,
                            }
                        }
                        out.push((v & 0xff) as u8);
                    }
                    other => out.push(other),
                }
            }
            Some(out)
        })
        .collect()
}

impl Db {
    /// The single-column primary key of `table`, or `None` when it has none or several columns
    /// (or the table does not exist).
    pub async fn primary_key(&mut self, table: &str) -> Result<Option<String>, DbError> {
        let d = self.dialect();
        let (schema, name) = match table.split_once('.') {
            Some((s, n)) if !s.is_empty() && !n.is_empty() => (Some(s), n),
            _ => (None, table),
        };
        let sql = match d {
            Dialect::Postgres => format!(
                "SELECT a.attname::text FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a \
                 ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
                 WHERE i.indisprimary AND i.indrelid = to_regclass({})",
                d.quote_literal(&quote_table(d, table))
            ),
            Dialect::Sqlite => match schema {
                Some(s) => format!(
                    "SELECT name FROM pragma_table_info({}, {}) WHERE pk > 0",
                    d.quote_literal(name),
                    d.quote_literal(s)
                ),
                None => format!("SELECT name FROM pragma_table_info({}) WHERE pk > 0", d.quote_literal(name)),
            },
            Dialect::Mysql => format!(
                "SELECT CAST(column_name AS CHAR) FROM information_schema.key_column_usage \
                 WHERE table_schema = {} AND table_name = {} AND constraint_name = 'PRIMARY'",
                schema.map_or_else(|| "DATABASE()".to_owned(), |s| d.quote_literal(s)),
                d.quote_literal(name)
            ),
        };
        let rows = self.text_rows(sql, &format!("looking up the primary key of {table}")).await?;
        Ok(match rows.as_slice() {
            [row] => row.first().cloned().flatten(),
            _ => None,
        })
    }

    /// Stream `sql`'s rows as (value bytes, key, size, sha256), decoding per dialect.
    fn stream_rows(
        &mut self,
        sql: String,
        context: String,
        size_at: Option<usize>,
        sha_at: Option<usize>,
    ) -> BoxStream<'_, Result<RefRow, DbError>> {
        let url = self.url().clone();
        let err = move |e: sqlx::Error| DbError::Query {
            url: url.redacted(),
            context: context.clone(),
            reason: url.scrub(&e.to_string()),
        };
        match &mut self.conn {
            // COPY … TO STDOUT, as `psql \copy` does: a row is one light message instead of a
            // DataRow decoded column by column, which halves the client's cost per row.
            Conn::Postgres(c) => {
                let copy = format!("COPY ({sql}) TO STDOUT");
                let chunks = futures_util::stream::once(async move { c.copy_out_raw(&copy).await }).try_flatten();
                copy_rows(chunks.boxed())
                    .map(move |r| {
                        let mut fields = r.map_err(&err)?;
                        let mut take = |i: Option<usize>| i.and_then(|i| fields.get_mut(i).and_then(Option::take));
                        let value = take(Some(0)).unwrap_or_default();
                        let key = lossy(take(Some(1))).unwrap_or_default();
                        Ok(RefRow { value, key, size: lossy(take(size_at)), sha256: lossy(take(sha_at)) })
                    })
                    .boxed()
            }
            Conn::Sqlite(c) => sqlx::query(AssertSqlSafe(sql))
                .fetch(c)
                .map(move |r| {
                    let row = r.map_err(&err)?;
                    ref_row(&row, size_at, sha_at).map_err(&err)
                })
                .boxed(),
            Conn::Mysql(c) => sqlx::query(AssertSqlSafe(sql))
                .fetch(c)
                .map(move |r| {
                    let row = r.map_err(&err)?;
                    ref_row(&row, size_at, sha_at).map_err(&err)
                })
                .boxed(),
        }
    }

    /// Session settings for one large ordered scan: PostgreSQL may sort up to 256 MB in memory (the
    /// server's memory, used only as needed) instead of spilling a million rows to disk.
    pub async fn prepare_file_scan(&mut self) -> Result<(), DbError> {
        if self.dialect() == Dialect::Postgres {
            self.text_rows("SET work_mem = '256MB'".to_owned(), "raising work_mem for the file scan").await?;
        }
        Ok(())
    }

    /// Every non-NULL reference of `q`, streamed in byte order of the stored value.
    pub fn file_refs(&mut self, q: &RefQuery<'_>) -> BoxStream<'_, Result<RefRow, DbError>> {
        let sql = file_refs_sql(self.dialect(), q);
        let size_at = q.size_column.map(|_| 2);
        let sha_at = q.sha256_column.map(|_| 2 + usize::from(size_at.is_some()));
        self.stream_rows(sql, format!("reading file references from {}.{}", q.table, q.column), size_at, sha_at)
    }

    /// Rows of `q.child` whose parent row is gone, streamed by key (`size`/`sha256` are `None`;
    /// `value` is empty for a NULL reference).
    pub fn rows_without_parent(&mut self, q: &ParentQuery<'_>) -> BoxStream<'_, Result<RefRow, DbError>> {
        let sql = parent_missing_sql(self.dialect(), q);
        let context = format!("looking for rows of {} whose {} row is gone", q.child.table, q.parent_table);
        self.stream_rows(sql, context, None, None)
    }
}

/// A reference row read as bytes: value, key, and the optional size and SHA-256 columns (the
/// SQLite and MySQL streams; PostgreSQL's comes through COPY).
fn ref_row<R: sqlx::Row>(row: &R, size_at: Option<usize>, sha_at: Option<usize>) -> Result<RefRow, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<Vec<u8>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let get = |i: usize| if i < row.len() { row.try_get::<Option<Vec<u8>>, _>(i) } else { Ok(None) };
    Ok(RefRow {
        value: get(0)?.unwrap_or_default(),
        key: lossy(get(1)?).unwrap_or_default(),
        size: lossy(size_at.map(get).transpose()?.flatten()),
        sha256: lossy(sha_at.map(get).transpose()?.flatten()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fix_statements_match_key_and_value() {
        let rows = vec![("7".to_owned(), Some("a/b.jpg".to_owned())), ("8".to_owned(), None)];
        let sql = fix_rows_sql(Dialect::Postgres, RowFix::Delete, "public.ad_images", "id", "file_path", &rows, None);
        assert_eq!(
            sql,
            "DELETE FROM \"public\".\"ad_images\" WHERE ((\"id\", \"file_path\") IN (('7', 'a/b.jpg')) OR \"id\" IN ('8'));"
        );
        let sql = fix_rows_sql(Dialect::Sqlite, RowFix::Null, "t", "id", "f", &rows[..1], Some("1 = 1"));
        assert_eq!(sql, "UPDATE \"t\" SET \"f\" = NULL WHERE (\"id\", \"f\") IN (VALUES ('7', 'a/b.jpg')) AND 1 = 1;");
    }

    #[test]
    fn copy_text_format_is_decoded() {
        assert_eq!(
            copy_fields(b"a\\tb\\\\c\\nd\t\\N\t\\101\\x42"),
            vec![Some(b"a\tb\\c\nd".to_vec()), None, Some(b"AB".to_vec())]
        );
    }

    #[test]
    fn reference_queries_order_byte_wise() {
        let q = RefQuery {
            table: "t",
            column: "f",
            key: "id",
            filter: Some("x = 1"),
            size_column: None,
            sha256_column: None,
        };
        assert!(file_refs_sql(Dialect::Postgres, &q).contains("ORDER BY (\"f\")::text COLLATE \"C\""));
        assert!(file_refs_sql(Dialect::Sqlite, &q).contains("ORDER BY CAST(\"f\" AS BLOB)"));
        assert!(file_refs_sql(Dialect::Mysql, &q).contains("ORDER BY CAST(`f` AS BINARY)"));
        assert!(file_refs_sql(Dialect::Mysql, &q).contains("WHERE `f` IS NOT NULL AND (x = 1)"));
    }
}
