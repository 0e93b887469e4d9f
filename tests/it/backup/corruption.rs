//! Every kind of damage to a generation is found by `verify` with its own code, and `restore`
//! refuses the generation without touching the database or the files.

use dbcheck_tests::{TestDb, require_db};

use super::*;

/// Damage a fresh copy of a generation in one way and expect exactly `code`.
async fn case(db: &TestDb, code: &str, damage: impl FnOnce(&Path)) {
    db.execute("DROP TABLE IF EXISTS ad_images; DROP TABLE IF EXISTS ads").await;
    let s = Scenario::new(db, 5).await;
    let id = backup(db.url(), &s.options()).await;
    assert!(verify(&s.dir, &id).await.ok(), "sound before the damage");
    let g = gen_dir(&s.dir, &id);
    damage(&g);
    let report = verify(&s.dir, &id).await;
    let codes: Vec<&str> = report.findings.iter().map(|f| f.code).collect();
    assert!(codes.contains(&code), "{code}: {codes:?}");
    assert!(!report.ok());
    // Restore touches nothing.
    db.execute("INSERT INTO ads (id, title) VALUES (99, 'after the backup')").await;
    let refs = references(db.url()).await;
    let files = tree(&s.uploads);
    let err = restore(&s.dir, &id, db.url(), &s.uploads, true).await.unwrap_err();
    assert!(err.contains("does not verify"), "{err}");
    assert_eq!(references(db.url()).await, refs);
    assert_eq!(tree(&s.uploads), files);
    let n: Vec<String> =
        std::fs::read_dir(&s.dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(n.iter().filter(|n| !n.starts_with('.')).count(), 1, "no safety backup either: {n:?}");
}

fn first_upload(g: &Path) -> PathBuf {
    g.join("files/0/ads/1/1.jpg")
}

fn flip_byte(p: &Path, at: usize) {
    let mut bytes = std::fs::read(p).unwrap();
    let at = at.min(bytes.len() - 1);
    bytes[at] ^= 0x01;
    std::fs::write(p, bytes).unwrap();
}

async fn all_kinds(db: &TestDb, dump: &str) {
    case(db, "backup-file-checksum", |g| flip_byte(&first_upload(g), 3)).await;
    case(db, "backup-file-size", |g| {
        let p = first_upload(g);
        let len = std::fs::metadata(&p).unwrap().len();
        std::fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(len - 2).unwrap();
    })
    .await;
    case(db, "backup-file-missing", |g| std::fs::remove_file(first_upload(g)).unwrap()).await;
    case(db, "backup-file-extra", |g| std::fs::write(g.join("files/0/ads/planted.jpg"), "x").unwrap()).await;
    case(db, "backup-manifest-checksum", |g| {
        let p = g.join("manifest.json");
        let text = std::fs::read_to_string(&p).unwrap();
        let edited = text.replacen("\"kind\": \"backup\"", "\"kind\": \"backup \"", 1);
        assert_ne!(text, edited);
        std::fs::write(&p, edited).unwrap();
    })
    .await;
    case(db, "backup-manifest-invalid", |g| std::fs::write(g.join("manifest.json"), "{ not json").unwrap()).await;
    case(db, "backup-manifest-missing", |g| std::fs::remove_file(g.join("manifest.json")).unwrap()).await;
    case(db, "backup-dump-unreadable", |g| {
        let p = g.join(dump);
        let len = std::fs::metadata(&p).unwrap().len();
        std::fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(len / 2).unwrap();
    })
    .await;
    case(db, "backup-reference-missing", |g| {
        // A consistent-looking generation that lacks a referenced file: the file and its manifest
        // entry removed, the manifest checksum recomputed.
        let p = g.join("manifest.json");
        let mut m: dbcheck_core::backup::Manifest = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        m.files.retain(|f| f.path != "files/0/ads/1/1.jpg");
        m.checksum = m.compute_checksum();
        std::fs::write(&p, m.to_bytes()).unwrap();
        std::fs::remove_file(first_upload(g)).unwrap();
    })
    .await;
}

#[tokio::test]
async fn sqlite_every_corruption_has_its_own_code() {
    let db = require_db!(TestDb::sqlite().await);
    all_kinds(&db, "db/database.sqlite").await;
}

#[tokio::test]
async fn mysql_every_corruption_has_its_own_code() {
    let db = require_db!(TestDb::mysql().await);
    all_kinds(&db, "db/dump.sql").await;
}

#[tokio::test]
async fn postgres_every_corruption_has_its_own_code() {
    let db = require_db!(TestDb::postgres().await);
    all_kinds(&db, "db/dump.pgdump").await;
}
