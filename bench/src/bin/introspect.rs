//! Benchmark (issue 3a): introspecting a generated 1000-table PostgreSQL schema (10 columns,
//! 2 indexes, 1 foreign key each) against `pg_dump --schema-only` of the same database.
//! Target: dbcheck ≤ 0.5× pg_dump. Needs `DBCHECK_TEST_POSTGRES_URL` (an admin URL) and `pg_dump`.
//!
//! `cargo run --release -p dbcheck-bench --bin introspect`

use std::process::Command;

use dbcheck_bench::{best_of, report, with_scratch_postgres};
use dbcheck_core::db::{ConnectOptions, IntrospectOptions, connect};

const TABLES: usize = 1000;

fn schema_sql() -> String {
    let mut sql = String::new();
    for i in 0..TABLES {
        let fk = if i == 0 { String::new() } else { format!(" REFERENCES t{} (id)", i - 1) };
        sql.push_str(&format!(
            "CREATE TABLE t{i} (id bigserial PRIMARY KEY, parent_id bigint{fk}, name text NOT NULL, \
             slug varchar(200), price numeric(10, 2) DEFAULT 0, qty integer NOT NULL DEFAULT 1, \
             active boolean NOT NULL DEFAULT true, note text, created_at timestamptz NOT NULL DEFAULT now(), \
             updated_at timestamptz);\n\
             CREATE INDEX t{i}_parent_idx ON t{i} (parent_id);\nCREATE UNIQUE INDEX t{i}_slug_key ON t{i} (slug);\n"
        ));
    }
    sql
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    with_scratch_postgres(&schema_sql(), |rt, url| {
        let (ours, schema) = best_of(5, || {
            rt.block_on(async {
                let mut db = connect(url, &ConnectOptions::default()).await?;
                let s = db.introspect(&IntrospectOptions::default()).await;
                db.close().await;
                s
            })
        });
        let schema = schema?;
        assert_eq!(schema.tables.len(), TABLES);
        let indexes: usize = schema.tables.values().map(|t| t.indexes.len()).sum();
        let fks: usize = schema.tables.values().map(|t| t.foreign_keys.len()).sum();
        println!("introspected {} tables, {indexes} indexes, {fks} foreign keys", schema.tables.len());
        let (dump, status) = best_of(5, || {
            Command::new("pg_dump").args(["--schema-only", "--no-owner", "-f", "/dev/null", url.expose()]).status()
        });
        if !status?.success() {
            return Err("pg_dump failed".into());
        }
        report("introspect 1000 tables", ours, "pg_dump --schema-only", dump, "<= 0.5");
        Ok(())
    })
}
