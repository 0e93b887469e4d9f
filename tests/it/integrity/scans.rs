//! One aggregate scan per table: 3 or 10 counting rules cost one query on the table, plus one per
//! duplicate and orphan rule; samples only for rules that found something. On PostgreSQL the
//! server's own `pg_stat_user_tables.seq_scan` counter confirms it.

use std::time::{Duration, Instant};

use dbcheck_tests::{Backend, TestDb};
use sqlx::Connection as _;

use super::{config, per_backend, rule, run};

fn setup() -> String {
    let mut sql = String::from(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);
         CREATE TABLE wide (id INTEGER PRIMARY KEY, c1 INTEGER, c2 INTEGER, c3 INTEGER, c4 INTEGER, c5 INTEGER,
                            c6 INTEGER, c7 INTEGER, c8 INTEGER, c9 INTEGER, c10 INTEGER);
         CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER, code VARCHAR(20));
         INSERT INTO parent VALUES (1), (2), (3);\n",
    );
    for i in 1..=50 {
        sql.push_str(&format!("INSERT INTO wide VALUES ({i}, {i}, {i}, {i}, {i}, {i}, {i}, {i}, {i}, {i}, {i});\n"));
        sql.push_str(&format!("INSERT INTO child VALUES ({i}, {}, 'c{i}');\n", i % 3 + 1));
    }
    sql
}

fn counting_rules(n: usize) -> String {
    (1..=n)
        .map(|i| format!("[[rules]]\ntable = \"wide\"\ncolumn = \"c{i}\"\nnot_null = true\nmin = 0\n"))
        .collect::<Vec<_>>()
        .join("\n")
}

const CHILD_RULES: &str = "
[[rules]]
table = \"child\"
column = \"code\"
unique = true
not_null = true
accepted_values = [\"c1\", \"c2\"]

[[rules]]
table = \"child\"
column = \"parent_id\"
references = { table = \"parent\" }
";

async fn one_scan_per_table(db: &TestDb) {
    db.execute(&setup()).await;
    // 3 × 2 and 10 × 2 counting rules on `wide`: one query either way.
    for n in [3, 10] {
        let r = run(db, &config(&format!("{}\n{CHILD_RULES}", counting_rules(n)))).await;
        assert_eq!(r.rules.len(), 2 * n + 4);
        let wide = r.tables.iter().find(|t| t.table == "wide").unwrap();
        assert_eq!((wide.rows, wide.queries.as_slice()), (50, ["count"].as_slice()));
        // `child`: the aggregate (not_null, accepted_values), one grouped and one anti-join
        // query, and samples only for accepted_values (48 of 50 codes are not c1/c2).
        let child = r.tables.iter().find(|t| t.table == "child").unwrap();
        assert_eq!(child.queries, ["count", "samples", "duplicates", "orphans"]);
        let accepted = rule(&r, "child.code.accepted_values");
        assert_eq!(accepted.violations, 48);
        // Samples are ordered by the key's value, not its text (3 before 10).
        let keys: Vec<&str> = accepted.samples.iter().filter_map(|s| s.key.as_deref()).collect();
        assert_eq!(keys, ["3", "4", "5", "6", "7"]);
        assert_eq!(r.query_count(), 5);
    }
}

mod one_scan_per_table {
    super::per_backend!(super::one_scan_per_table);
}

async fn seq_scans(conn: &mut sqlx::PgConnection, table: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
        "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = '{table}'"
    )))
    .fetch_one(conn)
    .await
    .unwrap()
}

/// The server counts the scans: 20 counting rules on `wide` scan it once; `child` is read by
/// its aggregate, its duplicates query and its anti-join (no violations: no sample queries).
#[tokio::test]
async fn postgres_server_counts_one_scan() {
    let db = dbcheck_tests::require_db!(TestDb::postgres().await);
    assert_eq!(db.backend(), Backend::Postgres);
    db.execute(&setup()).await;
    let rules = format!(
        "{}\n[[rules]]\ntable = \"child\"\ncolumn = \"code\"\nunique = true\nnot_null = true\n\
         [[rules]]\ntable = \"child\"\ncolumn = \"parent_id\"\nreferences = {{ table = \"parent\" }}\n",
        counting_rules(10)
    );
    let mut stats = sqlx::PgConnection::connect(db.url()).await.unwrap();
    let before = (seq_scans(&mut stats, "wide").await, seq_scans(&mut stats, "child").await);
    stats.close().await.unwrap();
    let r = run(&db, &config(&rules)).await;
    assert_eq!(r.query_count(), 4, "{:?}", r.tables);
    // Statistics reach the shared counters when the scanning backend exits: poll for them.
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let mut stats = sqlx::PgConnection::connect(db.url()).await.unwrap();
        let now = (seq_scans(&mut stats, "wide").await, seq_scans(&mut stats, "child").await);
        stats.close().await.unwrap();
        if (now.0 - before.0 >= 1 && now.1 - before.1 >= 3) || Instant::now() > deadline {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!((after.0 - before.0, after.1 - before.1), (1, 3));
}
