//! `files` through the binary: configuration errors, exit codes per class, JSON, the fix script
//! (run by hand, then clean), quarantine and restore, on every backend.

use std::fs;

use dbcheck_tests::{Backend, TestDb, require_db};

use crate::project::{TempProject, output_text};

const ENTRY: &str =
    "[[package.metadata.dbcheck.files]]\ntable = \"ad_images\"\ncolumn = \"file_path\"\nroot = \"uploads\"\n";

fn assert_no_panic(stderr: &str) {
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn files_without_configuration_is_a_usage_error() {
    let p = TempProject::new("");
    let out = p.cmd().args(["files", "--database-url", "sqlite::memory:"]).output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no [[files]] entries"), "{stderr}");
}

#[test]
fn bad_files_configuration_names_file_and_key() {
    for (toml, needle) in [
        (format!("{ENTRY}colum = \"x\"\n"), "colum"),
        (format!("{ENTRY}ignore = [\"a/[\"]\n"), "files.ignore"),
        (format!("{ENTRY}prefix = \"../up\"\n"), "files.prefix"),
        (format!("{ENTRY}on_dangling = \"drop\"\n"), "drop"),
        ("[[package.metadata.dbcheck.files]]\ntable = \"t\"\nroot = \"u\"\n".to_owned(), "column"),
    ] {
        let p = TempProject::new(&toml);
        let out = p.cmd().args(["files", "--database-url", "sqlite::memory:"]).output().unwrap();
        let (_, stderr) = output_text(&out);
        assert_eq!(out.status.code(), Some(2), "{toml}\n{stderr}");
        assert!(stderr.contains(needle), "{needle}: {stderr}");
        assert!(stderr.contains("Cargo.toml"), "{stderr}");
        assert_no_panic(&stderr);
    }
}

/// A project with `ad_images` on `db` and an `uploads` folder.
async fn project(db: &TestDb, extra: &str) -> TempProject {
    let p = TempProject::new(&format!("{ENTRY}{extra}"));
    fs::create_dir_all(p.path().join("uploads/2024")).unwrap();
    p.write("uploads/2024/a.jpg", "a");
    p.write("uploads/2024/b.jpg", "bb");
    db.execute(
        "CREATE TABLE ad_images (id INTEGER PRIMARY KEY, file_path VARCHAR(300));\n\
         INSERT INTO ad_images (id, file_path) VALUES (1, '2024/a.jpg'), (2, '2024/b.jpg');",
    )
    .await;
    p
}

async fn exit_codes_and_fix(db: TestDb) {
    let p = project(&db, "on_dangling = \"null\"\ngrace_secs = 0\n").await;
    let run = |args: &[&str]| {
        let mut cmd = p.cmd();
        cmd.arg("files").args(args).args(["--database-url", db.url()]);
        cmd.output().unwrap()
    };

    let out = run(&[]);
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("2 reference(s), 2 file(s): in sync"), "{stdout}");
    assert!(!stderr.contains("rows read"), "no progress line when stderr is not a terminal: {stderr}");

    // An orphan is a warning: exit 0, or 1 with --fail-on warning.
    p.write("uploads/2024/orphan.jpg", "o");
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(0), "{:?}", output_text(&out));
    assert!(output_text(&out).1.contains("warning[file-orphan]"));
    assert_eq!(run(&["--fail-on", "warning"]).status.code(), Some(1));

    // A dangling reference is an error; the fix script nulls it and dbcheck runs none of it.
    db.execute("INSERT INTO ad_images (id, file_path) VALUES (3, '2024/gone.jpg'), (4, '../../etc/passwd');").await;
    let fix = p.path().join("fix.sql");
    let out = run(&["--message-format", "json", "--fix-sql", fix.to_str().unwrap()]);
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let result = &doc["results"][0];
    assert_eq!(result["command"], "files");
    let entry = &result["files"]["entries"][0];
    assert_eq!(entry["references"], 4);
    assert_eq!(entry["ok"], 2);
    let codes: Vec<&str> = result["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["file-missing", "file-path-traversal", "file-orphan"]);
    assert_eq!(result["files"]["roots"][0]["classes"][0]["samples"][0]["value"], "2024/orphan.jpg");
    assert_eq!(result["files"]["fix"]["statements"], 1);
    let script = fs::read_to_string(&fix).unwrap();
    assert!(script.contains("UPDATE") && script.contains("'2024/gone.jpg'"), "{script}");
    assert!(fs::read_dir(p.path()).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().contains(".tmp-")));
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1), "the script was not run by dbcheck");

    db.execute(&script).await;
    db.execute("DELETE FROM ad_images WHERE id = 4;").await;
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(0), "{:?}", output_text(&out));
}

#[tokio::test]
async fn exit_codes_and_fix_on_postgres() {
    exit_codes_and_fix(require_db!(TestDb::postgres().await)).await;
}

#[tokio::test]
async fn exit_codes_and_fix_on_sqlite() {
    exit_codes_and_fix(require_db!(TestDb::sqlite().await)).await;
}

#[tokio::test]
async fn exit_codes_and_fix_on_mysql() {
    exit_codes_and_fix(require_db!(TestDb::mysql().await)).await;
}

#[tokio::test]
async fn missing_root_table_or_key_are_errors_with_help() {
    let db = require_db!(TestDb::sqlite().await);
    let p = TempProject::new(ENTRY);
    let out = p.cmd().args(["files", "--database-url", db.url()]).output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("uploads") && stderr.contains("ad_images.file_path"), "{stderr}");

    fs::create_dir_all(p.path().join("uploads")).unwrap();
    let out = p.cmd().args(["files", "--database-url", db.url()]).output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "a table without a primary key (or no table): {stderr}");
    assert!(stderr.contains("key = "), "{stderr}");

    p.write("dbcheck.toml", "[[files]]\ntable = \"nope\"\ncolumn = \"f\"\nroot = \"uploads\"\nkey = \"id\"\n");
    let out = p.cmd().args(["files", "--database-url", db.url()]).output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(3), "a missing table is a database error: {stderr}");
    assert!(stderr.contains("nope"), "{stderr}");
    assert_no_panic(&stderr);
}

#[tokio::test]
async fn quarantine_and_restore_round_trip() {
    let db = require_db!(TestDb::new(Backend::Sqlite).await);
    let p = project(&db, "grace_secs = 0\n").await;
    p.write("uploads/old/orphan.jpg", "orphan");
    p.write("outside/sentinel.txt", "sentinel");
    std::os::unix::fs::symlink("../outside/sentinel.txt", p.path().join("uploads/link.jpg")).unwrap();
    let q = p.path().join("q");
    let out = p.cmd().args(["files", "--database-url", db.url(), "--quarantine"]).arg(&q).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "the escaping symlink is an error: {stdout}\n{stderr}");
    assert!(stdout.contains("quarantine: moved 1 file(s)"), "{stdout}");
    assert!(!p.path().join("uploads/old/orphan.jpg").exists());
    assert!(p.path().join("uploads/link.jpg").symlink_metadata().is_ok(), "symlinks are never moved");
    assert_eq!(fs::read_to_string(p.path().join("outside/sentinel.txt")).unwrap(), "sentinel");

    // --restore-quarantine needs no database and conflicts with the check's flags.
    let out = p.cmd().args(["files", "--fix", "x", "--restore-quarantine"]).arg(&q).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = p.cmd().args(["files", "--restore-quarantine"]).arg(&q).output().unwrap();
    let (stdout, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("1 file(s) moved back"), "{stdout}");
    assert_eq!(fs::read_to_string(p.path().join("uploads/old/orphan.jpg")).unwrap(), "orphan");

    // A manifest is untrusted: a line pointing outside the root is refused and kept.
    let manifest = q.join("manifest.jsonl");
    fs::write(
        &manifest,
        format!(
            "{{\"run\":\"r\",\"group\":0,\"root\":\"{}\",\"path\":\"../outside/sentinel.txt\",\"size\":8,\"sha256\":\"00\",\"mtime\":0,\"moved_at\":\"\"}}\n",
            p.path().join("uploads").display()
        ),
    )
    .unwrap();
    let out = p.cmd().args(["files", "--restore-quarantine"]).arg(&q).output().unwrap();
    let (_, stderr) = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("file-restore-skipped") && stderr.contains("unsafe path"), "{stderr}");
    assert_eq!(fs::read_to_string(&manifest).unwrap().lines().count(), 1);
    assert_eq!(fs::read_to_string(p.path().join("outside/sentinel.txt")).unwrap(), "sentinel");
}

/// `--restore-from GEN` finds a missing file in a backup generation and lists it; with
/// `--apply-restore` it copies it back (same bytes), and the check is clean again.
#[tokio::test]
async fn missing_files_are_found_and_restored_from_a_backup() {
    let db = dbcheck_tests::require_db!(dbcheck_tests::TestDb::sqlite().await);
    let p = crate::project::TempProject::new(
        "[[package.metadata.dbcheck.files]]\ntable = \"ad_images\"\ncolumn = \"file_path\"\nroot = \"uploads\"\n\n\
         [package.metadata.dbcheck.backup]\ndir = \"backups\"\n",
    );
    p.write("migrations/1_ads.sql", "CREATE TABLE ad_images (id INTEGER PRIMARY KEY, file_path TEXT NOT NULL);\n");
    crate::project::sqlx_migrate(p.path(), db.url()).await;
    p.write("uploads/ads/1/a.jpg", b"first image");
    p.write("uploads/ads/2/b.jpg", b"second image");
    db.execute("INSERT INTO ad_images VALUES (1, 'ads/1/a.jpg'), (2, 'ads/2/b.jpg');").await;
    let out = p.cmd().args(["backup", "--database-url", db.url()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", crate::project::output_text(&out));
    let generation = std::fs::read_dir(p.path().join("backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| !n.starts_with('.'))
        .unwrap();

    // After the backup: b.jpg is lost, and a row points at a file that was never uploaded (so it
    // is in no backup either).
    std::fs::remove_file(p.path().join("uploads/ads/2/b.jpg")).unwrap();
    db.execute("INSERT INTO ad_images VALUES (3, 'ads/3/never.jpg');").await;
    let out = p.cmd().args(["files", "--database-url", db.url(), "--restore-from", &generation]).output().unwrap();
    let (stdout, stderr) = crate::project::output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("1 missing file(s) in it, 1 not, 0 restored"), "{stdout}");
    assert!(stdout.contains("ads/2/b.jpg: in the backup"), "{stdout}");
    assert!(!p.path().join("uploads/ads/2/b.jpg").exists(), "listing must not restore");

    let out = p
        .cmd()
        .args(["files", "--database-url", db.url(), "--restore-from", &generation, "--apply-restore"])
        .output()
        .unwrap();
    let (stdout, _) = crate::project::output_text(&out);
    assert!(stdout.contains("1 restored, 0 failed"), "{stdout}");
    assert_eq!(std::fs::read(p.path().join("uploads/ads/2/b.jpg")).unwrap(), b"second image");

    // Only the file that was never uploaded is still missing.
    db.execute("DELETE FROM ad_images WHERE id = 3;").await;
    let out = p.cmd().args(["files", "--database-url", db.url()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", crate::project::output_text(&out));
}
