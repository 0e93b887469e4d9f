//! The SQL of data-aware lint: estimated row counts of every table from the catalog, in one query.

use std::collections::BTreeMap;

use super::connection::Db;
use super::{DbError, Dialect};
use crate::schema::qualified_name;

impl Db {
    /// Estimated rows per table, keyed as the schema model names tables (PostgreSQL: `reltuples`,
    /// or the statistics collector's live tuples for never-analyzed tables; MySQL/MariaDB:
    /// `information_schema.tables`; SQLite: exact counts, one query over all tables).
    pub async fn table_row_estimates(&mut self) -> Result<BTreeMap<String, i64>, DbError> {
        let sql = match self.dialect() {
            Dialect::Postgres => "SELECT n.nspname::text, c.relname::text, \
                 (CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint ELSE coalesce(s.n_live_tup, 0) END)::text \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid \
                 WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
                 AND n.nspname NOT LIKE 'pg_toast%'"
                .to_owned(),
            Dialect::Mysql => "SELECT CAST(table_schema AS CHAR), CAST(table_name AS CHAR), \
                 CAST(coalesce(table_rows, 0) AS CHAR) FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'"
                .to_owned(),
            Dialect::Sqlite => {
                let names = self
                    .text_rows(
                        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'".to_owned(),
                        "listing tables",
                    )
                    .await?;
                let parts: Vec<String> = names
                    .into_iter()
                    .filter_map(|r| r.into_iter().next().flatten())
                    .map(|n| {
                        format!(
                            "SELECT 'main', {}, CAST(count(*) AS TEXT) FROM {}",
                            Dialect::Sqlite.quote_literal(&n),
                            Dialect::Sqlite.quote_ident(&n)
                        )
                    })
                    .collect();
                if parts.is_empty() {
                    return Ok(BTreeMap::new());
                }
                parts.join(" UNION ALL ")
            }
        };
        let rows = self.text_rows(sql, "reading table sizes").await?;
        let default_ns = match self.dialect() {
            Dialect::Postgres => Some("public"),
            Dialect::Sqlite => Some("main"),
            Dialect::Mysql => None,
        };
        let mut out = BTreeMap::new();
        for r in rows {
            let mut it = r.into_iter();
            let (Some(Some(ns)), Some(Some(name)), Some(Some(n))) = (it.next(), it.next(), it.next()) else { continue };
            let ns = if Some(ns.as_str()) == default_ns || self.dialect() == Dialect::Mysql { None } else { Some(ns) };
            out.insert(qualified_name(ns.as_deref(), &name), n.parse().unwrap_or(0));
        }
        Ok(out)
    }
}
