//! Replay of the reference histories, and failures reported with file and statement.

use super::*;

#[tokio::test]
async fn reference_migrations_replay_on_postgres() {
    let db = dbcheck_tests::require_db!(TestDb::postgres().await);
    let replay = replay_dir(&db, &workspace().join("migrations")).await;
    assert!(replay.complete, "{:#?}", replay.findings);
    assert_eq!(replay.applied, 11);
    let s = &replay.schema;
    println!("{}", serde_json::to_string_pretty(s).unwrap());
    let ads = &s.tables["ads"];
    assert!(ads.column("slug").is_some_and(|c| !c.nullable));
    assert!(s.tables["users"].column("name").is_none(), "contracted away");
    assert!(ads.indexes.contains_key("ads_category_created_idx"));
    assert!(s.tables["ad_images"].indexes["ad_images_one_primary_per_ad"].predicate.is_some());
    assert!(ads.checks["ads_slug_format"].valid);
}

#[tokio::test]
async fn reference_migrations_replay_on_sqlite() {
    let db = dbcheck_tests::require_db!(TestDb::sqlite().await);
    let replay = replay_dir(&db, &workspace().join("examples/marketplace/migrations_sqlite")).await;
    assert!(replay.complete, "{:#?}", replay.findings);
    let s = &replay.schema;
    println!("{}", serde_json::to_string_pretty(s).unwrap());
    assert!(s.tables["ads"].checks.contains_key("ads_slug_not_empty"));
    assert!(s.tables["users"].column("id").unwrap().auto_increment);
}

/// A generated history of `n` sqlx migrations: tables, added columns, indexes and foreign keys.
pub(crate) fn generated_history(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..n {
        let sql = match i % 3 {
            0 if i >= 3 => format!(
                "CREATE TABLE t{i} (id integer PRIMARY KEY, name varchar(100) NOT NULL, parent_id integer REFERENCES t{} (id));\n",
                i - 3
            ),
            0 => {
                format!("CREATE TABLE t{i} (id integer PRIMARY KEY, name varchar(100) NOT NULL, parent_id integer);\n")
            }
            1 => format!(
                "ALTER TABLE t{} ADD COLUMN note text;\nINSERT INTO t{} (id, name) VALUES (1, 'x');\n",
                i - 1,
                i - 1
            ),
            _ => format!("CREATE INDEX t{}_name_idx ON t{} (name);\n", i - 2, i - 2),
        };
        std::fs::write(dir.path().join(format!("{}_step_{i}.sql", 20240101000000u64 + i as u64)), sql).unwrap();
    }
    dir
}

async fn replays_a_long_history(db: TestDb) {
    let dir = generated_history(300);
    let replay = replay_dir(&db, dir.path()).await;
    assert!(replay.complete, "{:#?}", replay.findings);
    assert_eq!(replay.applied, 300);
    assert_eq!(replay.schema.tables.len(), 100);
    assert!(replay.schema.tables["t297"].foreign_keys.len() == 1);
    assert!(replay.schema.tables["t297"].indexes.contains_key("t297_name_idx"));
}

#[tokio::test]
async fn three_hundred_migrations_replay_on_postgres() {
    replays_a_long_history(dbcheck_tests::require_db!(TestDb::postgres().await)).await;
}

#[tokio::test]
async fn three_hundred_migrations_replay_on_sqlite() {
    replays_a_long_history(dbcheck_tests::require_db!(TestDb::sqlite().await)).await;
}

/// A failing migration is a finding naming the file and the exact statement; replay stops there.
async fn failure_names_file_and_statement(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("1_a.sql"), "CREATE TABLE a (id integer PRIMARY KEY);\n").unwrap();
    let bad = "CREATE TABLE b (id integer PRIMARY KEY);\n-- the typo:\nALTER TABLE nope ADD COLUMN x integer;\n";
    std::fs::write(dir.path().join("2_b.sql"), bad).unwrap();
    std::fs::write(dir.path().join("3_c.sql"), "CREATE TABLE c (id integer);\n").unwrap();
    let replay = replay_dir(&db, dir.path()).await;
    assert!(!replay.complete);
    assert_eq!(replay.applied, 1);
    assert_eq!(replay.findings.len(), 1);
    let f = &replay.findings[0];
    assert_eq!(f.code, "replay-failed");
    assert!(f.message.contains("nope"), "the server's error: {}", f.message);
    match &f.location {
        Some(dbcheck_core::Location::File { path, span: Some(span) }) => {
            assert!(path.ends_with("2_b.sql"));
            assert_eq!(&bad[span.clone()], "ALTER TABLE nope ADD COLUMN x integer");
        }
        other => panic!("no span: {other:?}"),
    }
    // The failed migration ran in a transaction: its first statement is gone too (not on MySQL,
    // whose DDL commits implicitly).
    if db.backend() != Backend::Mysql {
        assert!(!replay.schema.tables.contains_key("b"), "{:?}", replay.schema.tables.keys());
    }
}

#[tokio::test]
async fn failure_is_a_finding_on_postgres() {
    failure_names_file_and_statement(dbcheck_tests::require_db!(TestDb::postgres().await)).await;
}

#[tokio::test]
async fn failure_is_a_finding_on_sqlite() {
    failure_names_file_and_statement(dbcheck_tests::require_db!(TestDb::sqlite().await)).await;
}

#[tokio::test]
async fn failure_is_a_finding_on_mysql() {
    failure_names_file_and_statement(dbcheck_tests::require_db!(TestDb::mysql().await)).await;
}

/// PostgreSQL keeps a replay as a template database: an unchanged history is served from it, and
/// a history that extends it starts from a `CREATE DATABASE … TEMPLATE` copy.
#[tokio::test]
async fn postgres_template_cache_serves_repeat_and_extended_histories() {
    use dbcheck_core::replay::CacheUse;
    let db = dbcheck_tests::require_db!(TestDb::postgres().await);
    let dir = generated_history(12);
    let owner = format!("test {}", db.name());
    let options = ReplayOptions { cache: true, owner: owner.clone(), ..ReplayOptions::default() };
    let target = target_for(&db);
    let run = |dir: PathBuf| {
        let (target, options) = (target.clone(), options.clone());
        async move {
            let discovery = discover_migrations(&dir, None).unwrap();
            replay_migrations(&discovery, &target, &options).await.unwrap()
        }
    };
    let first = run(dir.path().to_path_buf()).await;
    assert_eq!(first.cache, CacheUse::Miss);
    let second = run(dir.path().to_path_buf()).await;
    assert_eq!(second.cache, CacheUse::Hit);
    assert_eq!(second.applied, 0);
    assert_eq!(second.schema, first.schema);
    std::fs::write(dir.path().join("20250101000000_more.sql"), "CREATE TABLE more (id int);\n").unwrap();
    let third = run(dir.path().to_path_buf()).await;
    assert_eq!(third.cache, CacheUse::Prefix(12));
    assert_eq!(third.applied, 1);
    assert!(third.schema.tables.contains_key("more"));
    // Only the newest template of an owner is kept; drop it.
    let admin = dbcheck_tests::admin_url(Backend::Postgres).unwrap();
    let server = match &target {
        ReplayTarget::Server(s) => s.clone(),
        ReplayTarget::SqliteMemory => unreachable!(),
    };
    let mut pg = <::sqlx::PgConnection as ::sqlx::Connection>::connect(&admin).await.unwrap();
    let kept: Vec<String> =
        ::sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE shobj_description(oid, 'pg_database') = $1")
            .bind(&owner)
            .fetch_all(&mut pg)
            .await
            .unwrap();
    assert_eq!(kept.len(), 1, "{kept:?}");
    for name in kept {
        server.drop_database(&name).await.unwrap();
    }
}

/// SQLite keeps a replay as a file: an unchanged history is served from it.
#[tokio::test]
async fn sqlite_cache_serves_repeat_histories() {
    use dbcheck_core::replay::CacheUse;
    let cache = tempfile::tempdir().unwrap();
    let dir = generated_history(9);
    let options = ReplayOptions {
        cache: true,
        // A space and a `#` in the path must survive the cache file's URL.
        cache_dir: Some(cache.path().join("with space #1")),
        owner: "test".into(),
        ..ReplayOptions::default()
    };
    let discovery = discover_migrations(dir.path(), None).unwrap();
    let first = replay_migrations(&discovery, &ReplayTarget::SqliteMemory, &options).await.unwrap();
    assert_eq!(first.cache, CacheUse::Miss);
    let second = replay_migrations(&discovery, &ReplayTarget::SqliteMemory, &options).await.unwrap();
    assert_eq!(second.cache, CacheUse::Hit);
    assert_eq!(second.schema, first.schema);
}
