//! The round-trip property over every fixture pair in `tests/cases/`: apply A, apply the script
//! `migration_script(introspect(A), introspect(B))`, and the database must introspect as B; a
//! second diff must then be empty. One test per backend runs every case and reports all failures.

use std::fs;

use dbcheck_core::diff::{diff_schemas, migration_script};

use super::*;

/// A fixture pair for one dialect.
struct Case {
    name: String,
    a: String,
    b: String,
}

fn dialect_dir(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "postgres",
        Backend::Sqlite => "sqlite",
        Backend::Mysql => "mysql",
    }
}

/// Every case that applies to `backend`, in name order.
fn cases(backend: Backend) -> Vec<Case> {
    let root = workspace().join("tests/cases");
    let mut dirs: Vec<PathBuf> =
        fs::read_dir(&root).unwrap().flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    let d = dialect_dir(backend);
    let mut out = Vec::new();
    for dir in dirs {
        if let Ok(only) = fs::read_to_string(dir.join("dialects"))
            && !only.lines().any(|l| l.trim() == d)
        {
            continue;
        }
        let (a, b) = if dir.join(d).join("a.sql").is_file() {
            (dir.join(d).join("a.sql"), dir.join(d).join("b.sql"))
        } else if dir.join("a.sql").is_file() {
            (dir.join("a.sql"), dir.join("b.sql"))
        } else {
            continue;
        };
        out.push(Case {
            name: dir.file_name().unwrap().to_string_lossy().into_owned(),
            a: fs::read_to_string(a).unwrap(),
            b: fs::read_to_string(b).unwrap(),
        });
    }
    out
}

/// A database in a known-empty state for the next case.
struct Slot {
    backend: Backend,
    db: Option<TestDb>,
}

impl Slot {
    async fn fresh(&mut self) -> Option<&TestDb> {
        match (self.backend, &self.db) {
            // Resetting the schema is much cheaper than a new PostgreSQL database.
            (Backend::Postgres, Some(db)) => {
                db.execute("DROP SCHEMA public CASCADE; DROP SCHEMA IF EXISTS audit CASCADE; CREATE SCHEMA public;")
                    .await;
            }
            _ => self.db = TestDb::new(self.backend).await,
        }
        self.db.as_ref()
    }
}

async fn run_script(db: &TestDb, sql: &str) -> Result<(), String> {
    if sql.trim().is_empty() {
        return Ok(());
    }
    let mut conn = open(db).await;
    let r = conn.execute(sql, "applying a fixture").await.map_err(|e| e.to_string());
    conn.close().await;
    r
}

async fn round_trip(backend: Backend) {
    let mut a_slot = Slot { backend, db: None };
    let mut b_slot = Slot { backend, db: None };
    let all = cases(backend);
    // Every object kind is covered on PostgreSQL; SQLite and MariaDB get the subset they support.
    assert!(all.len() >= 40, "too few cases for {backend}: {}", all.len());
    let mut failures = Vec::new();
    // PostgreSQL compares a second namespace too (the `other_schema` case).
    let options = match backend {
        Backend::Postgres => {
            IntrospectOptions { schemas: vec!["public".into(), "audit".into()], ..IntrospectOptions::default() }
        }
        _ => IntrospectOptions::default(),
    };
    for case in &all {
        let Some(a_db) = a_slot.fresh().await else { return };
        if let Err(e) = run_script(a_db, &case.a).await {
            failures.push(format!("{}: a.sql failed: {e}", case.name));
            continue;
        }
        let Some(b_db) = b_slot.fresh().await else { return };
        if let Err(e) = run_script(b_db, &case.b).await {
            failures.push(format!("{}: b.sql failed: {e}", case.name));
            continue;
        }
        let (a_db, b_db) = (a_slot.db.as_ref().unwrap(), b_slot.db.as_ref().unwrap());
        let sa = introspect_with(a_db, &options).await;
        let sb = introspect_with(b_db, &options).await;
        if diff_schemas(&sa, &sb).is_empty() {
            failures.push(format!("{}: A and B introspect equal; the case tests nothing", case.name));
            continue;
        }
        let script = migration_script(&sa, &sb);
        let mut conn = open(a_db).await;
        let mut failed = None;
        for step in &script.steps {
            if let Err(e) = conn.execute(&step.sql, "applying the diff").await {
                failed = Some(format!("{}: step failed: {e}\n--- script ---\n{}", case.name, script.to_sql()));
                break;
            }
        }
        conn.close().await;
        if let Some(f) = failed {
            failures.push(f);
            continue;
        }
        let after = introspect_with(a_db, &options).await;
        let left = diff_schemas(&after, &sb);
        if !left.is_empty() {
            failures.push(format!(
                "{}: after the script, still different: {left:#?}\n--- script ---\n{}",
                case.name,
                script.to_sql()
            ));
            continue;
        }
        let again = migration_script(&after, &sb);
        if !again.is_empty() {
            failures.push(format!("{}: a second diff is not empty:\n{}", case.name, again.to_sql()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed on {backend}:\n\n{}",
        failures.len(),
        all.len(),
        failures.join("\n\n")
    );
}

#[tokio::test]
async fn postgres() {
    round_trip(Backend::Postgres).await;
}

#[tokio::test]
async fn sqlite() {
    round_trip(Backend::Sqlite).await;
}

#[tokio::test]
async fn mysql() {
    round_trip(Backend::Mysql).await;
}

async fn introspect_with(db: &TestDb, options: &IntrospectOptions) -> Schema {
    let mut conn = open(db).await;
    let s = conn.introspect(options).await.unwrap();
    conn.close().await;
    s
}
