//! Backup → change everything → restore, on SQLite, PostgreSQL (custom and `-Fd -j 2` directory
//! format) and MariaDB/MySQL; `meta/schema.sql` and `meta/schema.json` in every generation; hard
//! links between generations and retention (7 generations pruned to 3, each still verifying on
//! its own).

use std::os::unix::fs::MetadataExt as _;
use std::os::unix::fs::PermissionsExt as _;

use dbcheck_tests::{TestDb, require_db};

use super::*;

/// `meta/schema.sql` holds the DDL of both tables and no data; `meta/schema.json` is the
/// introspected schema with both tables; both are listed in the manifest.
fn assert_schema_files(g: &std::path::Path) {
    let sql = std::fs::read_to_string(g.join("meta/schema.sql")).unwrap();
    let lower = sql.to_lowercase();
    for table in ["ads", "ad_images"] {
        let created = ["create table ", "create table public."].iter().any(|p| {
            [format!("{p}{table} "), format!("{p}\"{table}\""), format!("{p}`{table}`")]
                .iter()
                .any(|c| lower.contains(c.as_str()))
        });
        assert!(created, "{table} in schema.sql:\n{sql}");
    }
    assert!(lower.contains("file_path"), "{sql}");
    assert!(
        !lower.contains("insert into") && !sql.contains("ad 1'") && !sql.contains("ads/1/1.jpg"),
        "no data:\n{sql}"
    );
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(g.join("meta/schema.json")).unwrap()).unwrap();
    let text = json.to_string();
    assert!(text.contains("ad_images") && text.contains("file_path"), "{text}");
    let m: dbcheck_core::backup::Manifest =
        serde_json::from_slice(&std::fs::read(g.join("manifest.json")).unwrap()).unwrap();
    for f in ["meta/schema.sql", "meta/schema.json"] {
        assert!(m.files.iter().any(|e| e.path == f), "{f} in the manifest");
    }
}

async fn roundtrip(db: &TestDb, fresh: &TestDb) {
    roundtrip_with(db, fresh, 1).await;
}

async fn roundtrip_with(db: &TestDb, fresh: &TestDb, jobs: u32) {
    let s = Scenario::new(db, 20).await;
    std::fs::write(s.uploads.join("stray.txt"), "not referenced").unwrap();
    let mut opts = s.options();
    opts.settings.jobs = jobs;
    let id = backup(db.url(), &opts).await;
    let before_refs = references(db.url()).await;
    let before_files = tree(&s.uploads);

    // The generation: complete, private, verifying.
    let g = gen_dir(&s.dir, &id);
    assert!(g.join("manifest.json").is_file());
    assert_eq!(std::fs::metadata(&g).unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(std::fs::metadata(g.join("manifest.json")).unwrap().permissions().mode() & 0o777, 0o600);
    for name in ["meta/history.csv", "meta/refs.jsonl", "meta/schema.json", "meta/versions.json", "meta/env.template"] {
        if name.contains("history") {
            continue; // no history table in this scenario
        }
        assert!(g.join(name).is_file(), "{name}");
    }
    assert!(!g.join("files/0/stray.txt").exists(), "include_uploads = referenced copies referenced files only");
    assert_schema_files(&g);
    let report = verify(&s.dir, &id).await;
    assert!(report.ok(), "{:?}", report.findings);
    assert_eq!(report.references_checked, 20);

    // Restore into a fresh database and folder.
    let fresh_uploads = s.folder("fresh-uploads");
    if jobs > 1 {
        let m = report.manifest.as_ref().unwrap();
        assert_eq!((m.dump_format.as_str(), m.dump_path.as_str()), ("directory", "db/dump.dir"));
        assert!(g.join("db/dump.dir/toc.dat").is_file());
        let parts = m.files.iter().filter(|f| f.path.starts_with("db/dump.dir/")).count();
        assert!(parts >= 3, "toc.dat and one data file per table: {parts}");
    }
    restore_with(&s.dir, &id, fresh.url(), &fresh_uploads, false, opts.clone()).await.unwrap();
    assert_eq!(references(fresh.url()).await, before_refs);
    let restored = tree(&fresh_uploads);
    for r in &before_refs {
        assert_eq!(restored.get(r), before_files.get(r), "{r}");
    }

    // Change the original, then restore over it: the safety backup saves the changed state.
    db.execute("DELETE FROM ad_images WHERE id <= 5; DELETE FROM ads WHERE id <= 5").await;
    std::fs::write(s.uploads.join("ads/6/6.jpg"), "overwritten").unwrap();
    restore_with(&s.dir, &id, db.url(), &s.uploads, false, opts.clone()).await.unwrap();
    assert_eq!(references(db.url()).await, before_refs);
    assert_eq!(tree(&s.uploads).get("ads/6/6.jpg"), before_files.get("ads/6/6.jpg"));
    let listing = dbcheck_core::backup::list_generations(&s.dir);
    assert!(listing.generations.iter().any(|g| g.kind == "safety"), "{listing:?}");
}

#[tokio::test]
async fn sqlite_roundtrip() {
    let db = require_db!(TestDb::sqlite().await);
    let fresh = require_db!(TestDb::sqlite().await);
    roundtrip(&db, &fresh).await;
}

#[tokio::test]
async fn postgres_roundtrip() {
    let db = require_db!(TestDb::postgres().await);
    let fresh = require_db!(TestDb::postgres().await);
    roundtrip(&db, &fresh).await;
}

#[tokio::test]
async fn mysql_roundtrip() {
    let db = require_db!(TestDb::mysql().await);
    let fresh = require_db!(TestDb::mysql().await);
    roundtrip(&db, &fresh).await;
}

/// `jobs = 2`: `pg_dump -Fd -j 2` into `db/dump.dir/`, verified (every file of the folder in the
/// manifest, `pg_restore` reads it) and restored with `pg_restore -j 2`.
#[tokio::test]
async fn postgres_directory_format_with_two_jobs_roundtrip() {
    let db = require_db!(TestDb::postgres().await);
    let fresh = require_db!(TestDb::postgres().await);
    roundtrip_with(&db, &fresh, 2).await;
}

#[tokio::test]
async fn retention_prunes_to_keep_and_hard_links_survive() {
    let db = require_db!(TestDb::sqlite().await);
    let s = Scenario::new(&db, 10).await;
    let mut opts = s.options();
    let mut ids = Vec::new();
    for round in 0..7 {
        // One new file per generation; the rest are unchanged and hard-linked.
        add_ad(&db, &s.uploads, 100 + round).await;
        ids.push(backup(db.url(), &opts).await);
    }
    let last = gen_dir(&s.dir, ids.last().unwrap());
    let nlink = std::fs::metadata(last.join("files/0/ads/1/1.jpg")).unwrap().nlink();
    assert_eq!(nlink, 7, "an unchanged file is one inode shared by all seven generations");
    opts.settings.keep = 3;
    let removed = dbcheck_core::backup::store::prune(&s.dir, 3).unwrap();
    assert_eq!(removed, ids[..4].to_vec());
    let left: Vec<String> =
        dbcheck_core::backup::list_generations(&s.dir).generations.into_iter().map(|g| g.id).collect();
    assert_eq!(left, ids[4..].to_vec());
    for id in &ids[4..] {
        let r = verify(&s.dir, id).await;
        assert!(r.ok(), "{id}: {:?}", r.findings);
    }
    assert_eq!(std::fs::metadata(last.join("files/0/ads/1/1.jpg")).unwrap().nlink(), 3);
}

#[tokio::test]
async fn a_dangling_reference_fails_the_backup_and_leaves_nothing() {
    let db = require_db!(TestDb::sqlite().await);
    let s = Scenario::new(&db, 1).await;
    db.execute("INSERT INTO ad_images (id, ad_id, file_path) VALUES (2, 1, 'gone.jpg'), (3, 1, '../../etc/passwd')")
        .await;
    let url = DatabaseUrl::parse(db.url()).unwrap();
    let err = create_backup(&url, &s.options()).await.unwrap_err().to_string();
    assert!(err.contains("1 file(s)") && err.contains("gone.jpg"), "{err}");
    let entries: Vec<_> = std::fs::read_dir(&s.dir).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(entries.iter().all(|n| n.to_string_lossy().starts_with('.')), "no generation: {entries:?}");
    assert!(entries.iter().all(|n| !n.to_string_lossy().starts_with(".tmp-")), "{entries:?}");
}

#[tokio::test]
async fn postgres_dump_is_reused_only_when_nothing_was_written() {
    let db = require_db!(TestDb::postgres().await);
    let s = Scenario::new(&db, 1).await;
    let opts = s.options();
    let url = DatabaseUrl::parse(db.url()).unwrap();
    let first = create_backup(&url, &opts).await.unwrap();
    assert!(!first.dump_reused);
    // Another backup right away may reuse the dump (if nothing on the server wrote WAL since);
    // either way it is complete on its own.
    let second = create_backup(&url, &opts).await.unwrap();
    let dump = |id: &str| gen_dir(&s.dir, id).join("db/dump.pgdump");
    if second.dump_reused {
        assert_eq!(std::fs::metadata(dump(&second.id)).unwrap().nlink(), 2);
    }
    assert!(verify(&s.dir, &second.id).await.ok());
    // After a write the dump is taken again, and holds the write.
    add_ad(&db, &s.uploads, 2).await;
    let third = create_backup(&url, &opts).await.unwrap();
    assert!(!third.dump_reused);
    assert_eq!(std::fs::metadata(dump(&third.id)).unwrap().nlink(), 1);
    let fresh = require_db!(TestDb::postgres().await);
    let folder = s.folder("fresh");
    restore(&s.dir, &third.id, fresh.url(), &folder, false).await.unwrap();
    assert_eq!(references(fresh.url()).await.len(), 2);
}

#[tokio::test]
async fn postgres_restore_stops_while_the_application_is_connected_unless_forced() {
    let db = require_db!(TestDb::postgres().await);
    restore_waits_for_the_application(&db).await;
}
