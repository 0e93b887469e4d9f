//! MariaDB/MySQL specifics: the password reaches `mysqldump`/`mysql` only through `MYSQL_PWD`
//! (never argv, never a file of the generation); everything the manifest says about the database
//! comes from the dump's own snapshot, even under a continuous writer; the restore's table swap
//! keeps foreign keys working, recreates views and drops tables and views the backup did not
//! have, recreates triggers, routines and events; non-InnoDB tables and connected applications
//! are refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dbcheck_tests::{Backend, TestDb, admin_url, require_db};
use sqlx::Connection as _;

use super::writer::{Writer, restore_written};
use super::*;

async fn scalar(url: &str, sql: &str) -> i64 {
    let mut c = sqlx::MySqlConnection::connect(url).await.unwrap();
    let v: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&mut c).await.unwrap();
    c.close().await.unwrap();
    v
}

async fn admin_execute(sql: &str) {
    let admin = admin_url(Backend::Mysql).unwrap();
    let mut c = sqlx::MySqlConnection::connect(&admin).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut c).await.unwrap();
    c.close().await.unwrap();
}

/// Databases whose name starts with `prefix` (leftovers of a restore).
async fn databases_like(prefix: &str) -> i64 {
    let admin = admin_url(Backend::Mysql).unwrap();
    scalar(&admin, &format!("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '{prefix}%'"))
        .await
}

fn generations(dir: &Path) -> Vec<String> {
    dbcheck_core::backup::list_generations(dir).generations.into_iter().map(|g| g.id).collect()
}

/// Every file under `dir`, read whole.
fn all_bytes(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            all_bytes(&p, out);
        } else if p.is_file() {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_password_goes_through_the_environment_never_argv_or_the_generation() {
    let db = require_db!(TestDb::mysql().await);
    let user = format!("bk_{}", db.name().rsplit('_').next().unwrap());
    let secret = format!("Pw-{user}#;x y");
    admin_execute(&format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY '{secret}'; GRANT ALL PRIVILEGES ON *.* TO '{user}'@'%'"
    ))
    .await;
    let mut url = url::Url::parse(db.url()).unwrap();
    url.set_username(&user).unwrap();
    url.set_password(Some(&secret)).unwrap();
    let url = url.to_string();
    assert!(!url.contains(&secret), "the secret is percent-encoded in the URL");

    // Wrappers in `mysql_bin_dir` record how dbcheck runs the client programs, then run the real
    // ones (found on PATH; the wrapper folder is not on it).
    let s = Scenario::new(&db, 3).await;
    let bin = s.folder("bin");
    let log = s.work.path().join("calls.log");
    for name in ["mariadb-dump", "mysqldump", "mariadb", "mysql"] {
        let script = format!(
            "#!/bin/sh\nprintf 'argv: %s\\n' \"$*\" >> '{log}'\n\
             if [ \"$MYSQL_PWD\" = '{secret}' ]; then echo 'env: MYSQL_PWD is the password' >> '{log}'; fi\n\
             case \"$1\" in --version) ;; *) sleep 0.3 ;; esac\nexec {name} \"$@\"\n",
            log = log.display()
        );
        let p = bin.join(name);
        std::fs::write(&p, script).unwrap();
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    // Meanwhile, every process's command line as `ps` shows it.
    let stop = Arc::new(AtomicBool::new(false));
    let scanner = {
        let (stop, secret, bin) = (stop.clone(), secret.clone(), bin.to_string_lossy().into_owned());
        std::thread::spawn(move || {
            let (mut seen, mut leaked) = (0usize, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                for e in std::fs::read_dir("/proc").unwrap().flatten() {
                    let Ok(raw) = std::fs::read(e.path().join("cmdline")) else { continue };
                    let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
                    if cmdline.contains(&bin) || cmdline.contains("--single-transaction") {
                        seen += 1;
                    }
                    if cmdline.contains(&secret) {
                        leaked.push(cmdline);
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            (seen, leaked)
        })
    };

    let mut opts = s.options();
    opts.settings.mysql_bin_dir = Some(bin.clone());
    let parsed = DatabaseUrl::parse(&url).unwrap();
    let outcome = create_backup(&parsed, &opts).await.unwrap();
    assert!(verify(&s.dir, &outcome.id).await.ok());
    db.execute("DELETE FROM ad_images").await;
    restore_with(&s.dir, &outcome.id, &url, &s.uploads, false, opts.clone()).await.unwrap();
    assert_eq!(references(db.url()).await.len(), 3, "restored through the password-protected account");
    stop.store(true, Ordering::Relaxed);
    let (seen, leaked) = scanner.join().unwrap();
    admin_execute(&format!("DROP USER '{user}'@'%'")).await;

    assert!(seen > 0, "the scanner saw the client programs run");
    assert!(leaked.is_empty(), "the password was on a command line: {leaked:?}");
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(!calls.contains(&secret), "{calls}");
    let runs = calls.lines().filter(|l| l.starts_with("argv: ") && !l.contains("--version")).count();
    let with_env = calls.lines().filter(|l| *l == "env: MYSQL_PWD is the password").count();
    // backup: dump + scratch load; restore: load into the new database, then the safety
    // backup's dump + scratch load.
    assert_eq!(runs, 5, "{calls}");
    assert_eq!(with_env, runs, "every run got the password through MYSQL_PWD:\n{calls}");
    assert!(calls.contains("--single-transaction"), "{calls}");
    let mut files = Vec::new();
    all_bytes(&s.dir, &mut files);
    assert!(files.len() > 5);
    for (p, bytes) in &files {
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "{} holds the password", p.display());
    }
    assert!(!serde_json::to_string(&outcome).unwrap().contains(&secret));
}

#[tokio::test]
async fn mysql_tables_outside_innodb_are_refused() {
    let db = require_db!(TestDb::mysql().await);
    let s = Scenario::new(&db, 1).await;
    db.execute("CREATE TABLE counters (id INT PRIMARY KEY) ENGINE=MyISAM").await;
    let url = DatabaseUrl::parse(db.url()).unwrap();
    let err = create_backup(&url, &s.options()).await.unwrap_err().to_string();
    assert!(err.contains("counters (MyISAM)") && err.contains("InnoDB"), "{err}");
    assert!(generations(&s.dir).is_empty());
    // Converted to InnoDB, the same database backs up.
    db.execute("ALTER TABLE counters ENGINE=InnoDB").await;
    create_backup(&url, &s.options()).await.unwrap();
}

#[tokio::test]
async fn mysql_restore_swaps_tables_and_recreates_views_triggers_routines_and_events() {
    let db = require_db!(TestDb::mysql().await);
    let s = Scenario::new(&db, 0).await;
    db.execute(
        "CREATE TABLE ad_tags (id INT PRIMARY KEY, ad_id INT NOT NULL, FOREIGN KEY (ad_id) REFERENCES ads (id))",
    )
    .await;
    for i in 1..=5 {
        add_ad(&db, &s.uploads, i).await;
        db.execute(&format!("INSERT INTO ad_tags (id, ad_id) VALUES ({i}, {i})")).await;
    }
    // Bytes that a text-mode client would mangle: CR LF, backslashes, quotes, NUL, binary.
    db.execute(
        "CREATE TABLE raw_bytes (id INT PRIMARY KEY, s TEXT, b BLOB); \
         INSERT INTO raw_bytes VALUES (1, 'a\\nb\\r\\nc\\\\d''e\\0f', x'00ff0d0a5c27'), (2, 'ünï', NULL)",
    )
    .await;
    let digest =
        "SELECT CAST(CRC32(GROUP_CONCAT(CONCAT_WS('|', id, HEX(s), HEX(b)) ORDER BY id)) AS SIGNED) FROM raw_bytes";
    let raw_before = scalar(db.url(), digest).await;
    let id = backup(db.url(), &s.options()).await;
    let before = references(db.url()).await;
    db.execute(
        "CREATE TABLE added_later (id INT PRIMARY KEY); DELETE FROM ad_tags; DELETE FROM ad_images WHERE id > 2",
    )
    .await;
    restore(&s.dir, &id, db.url(), &s.uploads, false).await.unwrap();
    assert_eq!(references(db.url()).await, before);
    let name = db.name();
    let tables = |t: &str| {
        format!("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{name}' AND TABLE_NAME = '{t}'")
    };
    let admin = admin_url(Backend::Mysql).unwrap();
    assert_eq!(scalar(&admin, &tables("added_later")).await, 0, "a table the backup did not have is gone");
    assert_eq!(scalar(db.url(), "SELECT COUNT(*) FROM ad_tags").await, 5);
    assert_eq!(scalar(db.url(), digest).await, raw_before, "every byte of text and blobs restored");
    assert_eq!(scalar(db.url(), "SELECT CAST(LENGTH(s) AS SIGNED) FROM raw_bytes WHERE id = 1").await, 12);
    // The foreign key moved with the tables and still points at this database's `ads`.
    let mut c = sqlx::MySqlConnection::connect(db.url()).await.unwrap();
    let orphan = sqlx::raw_sql("INSERT INTO ad_tags (id, ad_id) VALUES (100, 9999)").execute(&mut c).await;
    assert!(orphan.unwrap_err().to_string().contains("foreign key constraint"));
    sqlx::raw_sql("INSERT INTO ad_tags (id, ad_id) VALUES (101, 1)").execute(&mut c).await.unwrap();
    c.close().await.unwrap();
    assert_eq!(databases_like(&format!("{name}_dbcheck")).await, 0, "the new and old databases are dropped");
    assert!(dbcheck_core::backup::list_generations(&s.dir).generations.iter().any(|g| g.kind == "safety"));

    // Views cannot change database: they are recreated in the target from the backup (a view
    // over a view included), and a view the backup did not have is gone.
    db.execute(
        "CREATE VIEW ad_titles AS SELECT id, title FROM ads; \
         CREATE VIEW a_upper AS SELECT UPPER(title) AS t FROM ad_titles",
    )
    .await;
    let with_views = backup(db.url(), &s.options()).await;
    db.execute("DROP VIEW a_upper; CREATE VIEW only_here AS SELECT 1 AS x; DELETE FROM ad_tags WHERE id = 101").await;
    restore(&s.dir, &with_views, db.url(), &s.uploads, false).await.unwrap();
    assert_eq!(scalar(db.url(), "SELECT COUNT(*) FROM ad_tags").await, 6);
    assert_eq!(scalar(db.url(), "SELECT COUNT(*) FROM a_upper WHERE t LIKE 'AD %'").await, 5);
    let views = format!("SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = '{name}'");
    assert_eq!(scalar(&admin, &views).await, 2, "ad_titles and a_upper; only_here is gone");
    let stray = format!(
        "SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = '{name}' AND VIEW_DEFINITION LIKE '%dbcheck\\_restore%'"
    );
    assert_eq!(scalar(&admin, &stray).await, 0, "the views read this database's tables");
    let reads_own = format!(
        "SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = '{name}' AND TABLE_NAME = 'ad_titles' \
         AND VIEW_DEFINITION LIKE '%`{name}`.`ads`%'"
    );
    assert_eq!(scalar(&admin, &reads_own).await, 1);
    assert_eq!(databases_like(&format!("{name}_dbcheck")).await, 0);

    // Triggers, routines and events belong to the database and cannot move with RENAME TABLE:
    // they are recreated in the target from their definitions, under the sql_mode they were
    // written in (the second trigger only parses with ANSI_QUOTES), triggers in their order.
    db.execute(
        "CREATE TRIGGER ad_upper BEFORE UPDATE ON ads FOR EACH ROW SET NEW.title = UPPER(NEW.title); \
         SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',ANSI_QUOTES'); \
         CREATE TRIGGER ad_mark BEFORE UPDATE ON ads FOR EACH ROW FOLLOWS ad_upper SET NEW.\"title\" = CONCAT(NEW.\"title\", '!'); \
         SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'ANSI_QUOTES', ''); \
         CREATE FUNCTION ad_label(i INT) RETURNS VARCHAR(200) READS SQL DATA \
           RETURN (SELECT CONCAT('#', id, ' ', title) FROM ads WHERE id = i); \
         CREATE PROCEDURE tag_count(OUT n INT) BEGIN DECLARE x INT; SELECT COUNT(*) INTO x FROM ad_tags; SET n = x; END; \
         CREATE EVENT purge_tags ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM ad_tags WHERE ad_id < 0",
    )
    .await;
    let with_objects = backup(db.url(), &s.options()).await;
    db.execute(
        "DROP TRIGGER ad_mark; DROP FUNCTION ad_label; \
         CREATE TRIGGER only_here AFTER INSERT ON ad_tags FOR EACH ROW SET @x = 1; \
         CREATE PROCEDURE only_here_too() SELECT 1; DELETE FROM ad_tags WHERE id = 101",
    )
    .await;
    let message = restore(&s.dir, &with_objects, db.url(), &s.uploads, false).await.unwrap();
    // Two triggers, a function, a procedure and an event.
    assert!(message.contains("5 trigger(s), routine(s) and event(s) recreated"), "{message}");
    assert_eq!(scalar(db.url(), "SELECT COUNT(*) FROM ad_tags").await, 6);
    let names = |table: &str, column: &str, schema: &str, order: &str| {
        format!(
            "SELECT CAST(GROUP_CONCAT({column} ORDER BY {order}) AS CHAR) FROM information_schema.{table} \
             WHERE {schema} = '{name}'"
        )
    };
    let text = |sql: String| async move {
        let mut c = sqlx::MySqlConnection::connect(&admin_url(Backend::Mysql).unwrap()).await.unwrap();
        let v: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&mut c).await.unwrap();
        c.close().await.unwrap();
        v.unwrap_or_default()
    };
    assert_eq!(text(names("TRIGGERS", "TRIGGER_NAME", "TRIGGER_SCHEMA", "ACTION_ORDER")).await, "ad_upper,ad_mark");
    assert_eq!(text(names("ROUTINES", "ROUTINE_NAME", "ROUTINE_SCHEMA", "ROUTINE_NAME")).await, "ad_label,tag_count");
    assert_eq!(
        text(names("EVENTS", "CONCAT(EVENT_NAME, ':', STATUS)", "EVENT_SCHEMA", "EVENT_NAME")).await,
        "purge_tags:DISABLED"
    );
    // They work, on this database's tables: upper-cased, then marked, in that order.
    let mut c = sqlx::MySqlConnection::connect(db.url()).await.unwrap();
    sqlx::raw_sql("UPDATE ads SET title = 'red car' WHERE id = 1").execute(&mut c).await.unwrap();
    let label: String = sqlx::query_scalar("SELECT ad_label(1)").fetch_one(&mut c).await.unwrap();
    assert_eq!(label, "#1 RED CAR!");
    sqlx::raw_sql("CALL tag_count(@n)").execute(&mut c).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT CAST(@n AS SIGNED)").fetch_one(&mut c).await.unwrap();
    assert_eq!(n, 6);
    c.close().await.unwrap();
    assert_eq!(databases_like(&format!("{name}_dbcheck")).await, 0);
}

#[tokio::test]
async fn mysql_restore_stops_while_the_application_is_connected_unless_forced() {
    let db = require_db!(TestDb::mysql().await);
    restore_waits_for_the_application(&db).await;
}

/// Under a continuous writer (inserts; deletes whose files a sweeper removes after a grace
/// period), every generation verifies, and what its manifest says about the database — row
/// counts and the references list — equals what its dump restores: they come from the dump's
/// own snapshot, not from a later read of the live database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_backups_under_a_continuous_writer_describe_the_dump_snapshot() {
    let db = require_db!(TestDb::mysql().await);
    let s = Scenario::new(&db, 0).await;
    let writer = Writer::start(db.url(), &s.uploads, Duration::from_secs(8)).await;
    let opts = s.options();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let before = writer.written();
        ids.push(backup(db.url(), &opts).await);
        assert!(writer.written() > before, "the writer wrote during the backup");
    }
    writer.stop().await;
    for id in &ids {
        let fresh = require_db!(TestDb::mysql().await);
        let (report, refs) = restore_written(&s, id, &fresh).await;
        let m = report.manifest.unwrap();
        assert_eq!(m.row_counts["ad_images"], refs.len() as u64, "{id}: row count from the dump's snapshot");
        assert_eq!(m.row_counts["ad_images"], m.references.references);
        let ads = scalar(fresh.url(), "SELECT COUNT(*) FROM ads").await;
        assert_eq!(ads as u64, refs.len() as u64, "{id}: every ad has its image in one snapshot");
        let listed = std::fs::read_to_string(gen_dir(&s.dir, id).join("meta/refs.jsonl")).unwrap();
        let mut listed: Vec<String> = listed
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["value"].as_str().unwrap().to_owned())
            .collect();
        let mut restored = refs.clone();
        listed.sort();
        restored.sort();
        assert_eq!(listed, restored, "{id}: refs.jsonl is the dump's references");
    }
}

/// A target database that does not exist is created (with the backup's character set) and the
/// restored tables are moved into it; there is nothing to save, so no safety backup.
#[tokio::test]
async fn mysql_restore_creates_a_missing_target_database() {
    let db = require_db!(TestDb::mysql().await);
    let s = Scenario::new(&db, 0).await;
    db.execute("ALTER DATABASE CHARACTER SET latin1 COLLATE latin1_swedish_ci").await;
    for i in 1..=3 {
        add_ad(&db, &s.uploads, i).await;
    }
    let id = backup(db.url(), &s.options()).await;
    let target_name = format!("{}_new", db.name());
    let mut target = url::Url::parse(db.url()).unwrap();
    target.set_path(&format!("/{target_name}"));
    let folder = s.folder("fresh");
    let restored = restore(&s.dir, &id, target.as_str(), &folder, false).await;
    let refs = if restored.is_ok() { references(target.as_str()).await } else { Vec::new() };
    let admin = admin_url(Backend::Mysql).unwrap();
    let charset = {
        let mut c = sqlx::MySqlConnection::connect(&admin).await.unwrap();
        let cs: Option<String> = sqlx::query_scalar(
            "SELECT CAST(DEFAULT_CHARACTER_SET_NAME AS CHAR) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
        )
        .bind(&target_name)
        .fetch_optional(&mut c)
        .await
        .unwrap();
        c.close().await.unwrap();
        cs
    };
    admin_execute(&format!("DROP DATABASE IF EXISTS `{target_name}`")).await;
    restored.unwrap();
    assert_eq!(refs, references(db.url()).await);
    assert_eq!(charset.as_deref(), Some("latin1"), "the new database has the backed-up one's character set");
    assert_eq!(tree(&folder).len(), 3);
    assert!(dbcheck_core::backup::list_generations(&s.dir).generations.iter().all(|g| g.kind == "backup"));
    assert_eq!(databases_like(&format!("{target_name}_dbcheck")).await, 0);
}

/// A backup killed while its scratch database exists leaves a marker in its `.tmp-*` folder; the
/// next run drops that database (and only databases named like dbcheck's scratch databases).
#[tokio::test]
async fn mysql_scratch_database_of_a_killed_backup_is_dropped_by_the_next_run() {
    let db = require_db!(TestDb::mysql().await);
    let s = Scenario::new(&db, 1).await;
    let suffix = db.name().rsplit('_').next().unwrap().to_owned();
    let leftover = format!("_dbcheck_shadow_killed_{suffix}");
    let innocent = format!("dbcheck_keep_{suffix}");
    admin_execute(&format!("CREATE DATABASE `{leftover}`; CREATE DATABASE `{innocent}`")).await;
    for (tmp, name) in [(".tmp-20260101T000000000Z", &leftover), (".tmp-20260101T000000001Z", &innocent)] {
        std::fs::create_dir_all(s.dir.join(tmp)).unwrap();
        std::fs::write(s.dir.join(tmp).join(".scratch-database"), name).unwrap();
    }
    let url = DatabaseUrl::parse(db.url()).unwrap();
    let outcome = create_backup(&url, &s.options()).await.unwrap();
    let left = databases_like(&leftover).await;
    let kept = databases_like(&innocent).await;
    admin_execute(&format!("DROP DATABASE IF EXISTS `{leftover}`; DROP DATABASE IF EXISTS `{innocent}`")).await;
    assert_eq!(left, 0, "the scratch database of the killed run is dropped");
    assert_eq!(kept, 1, "a marker naming any other database is ignored");
    assert_eq!(outcome.cleaned.len(), 2, "{:?}", outcome.cleaned);
    assert!(!gen_dir(&s.dir, &outcome.id).join(".scratch-database").exists());
    assert!(verify(&s.dir, &outcome.id).await.ok());
}
