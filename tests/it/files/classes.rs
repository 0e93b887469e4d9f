//! Every class of mismatch and hostile value, each asserted on its own, with sentinels outside the
//! root that must stay unread and unmoved; then the fix script and quarantine round trip.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use dbcheck_core::files::path::PathProblem;
use dbcheck_core::files::{Class, FilesEntry, FixTarget, OnDangling, OnParentMissing, ParentConfig};
use dbcheck_tests::{Backend, TestDb};
use sha2::{Digest as _, Sha256};

use super::{check, class, entry, lit, mkfifo, per_backend, set_times, write};

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The folder layout: `uploads/` (the root) and `outside/` (sentinels) in one temp dir.
struct Scene {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    outside: std::path::PathBuf,
    sentinel_atime: SystemTime,
    sentinel_mtime: SystemTime,
}

fn build_scene() -> Scene {
    let dir = tempfile::Builder::new().prefix("dbcheck-files-").tempdir().unwrap();
    let base = dir.path().canonicalize().unwrap();
    let root = base.join("uploads");
    let outside = base.join("outside");
    fs::create_dir_all(&root).unwrap();
    fs::create_dir_all(&outside).unwrap();

    let old = SystemTime::now() - Duration::from_secs(7 * 24 * 3600);
    for (rel, body) in [
        ("ok.jpg", &b"ok"[..]),
        ("sized.jpg", b"sized"),
        ("hashed.jpg", b"hashed"),
        ("shared.jpg", b"shared"),
        ("orphan.jpg", b"orphan!"),
        (".gitkeep", b""),
        ("cache/thumb.jpg", b"t"),
        ("folder/inner.jpg", b"inner"),
        ("real/inner.jpg", b"real"),
        ("cover.jpg", b"cover"),
        ("parent.jpg", b"parent"),
    ] {
        let p = write(&root, rel, body);
        set_times(&p, old, old);
    }
    // Unreferenced but fresh: in flight, not orphaned.
    write(&root, "fresh.jpg", b"fresh");
    mkfifo(&root.join("pipe"));
    std::os::unix::fs::symlink("ok.jpg", root.join("alias.jpg")).unwrap();
    std::os::unix::fs::symlink("real", root.join("aliasdir")).unwrap();

    // Sentinels outside the root: a file whose atime is older than its mtime (so any read would
    // update it, even under relatime) and a FIFO that would block whoever opened it.
    let sentinel = write(&outside, "sentinel.txt", b"do not read");
    let sentinel_atime = SystemTime::now() - Duration::from_secs(2 * 24 * 3600);
    let sentinel_mtime = SystemTime::now() - Duration::from_secs(24 * 3600);
    set_times(&sentinel, sentinel_atime, sentinel_mtime);
    mkfifo(&outside.join("sentinel.fifo"));
    std::os::unix::fs::symlink("../outside/sentinel.txt", root.join("escape.jpg")).unwrap();
    std::os::unix::fs::symlink(outside.join("sentinel.fifo"), root.join("fifo-link")).unwrap();
    std::os::unix::fs::symlink("../outside", root.join("outdir")).unwrap();
    Scene { _dir: dir, root, outside, sentinel_atime, sentinel_mtime }
}

fn assert_sentinels_untouched(scene: &Scene) {
    let s = scene.outside.join("sentinel.txt");
    let meta = fs::metadata(&s).expect("the sentinel was moved");
    // Reading it here would change its atime: size and mtime stand in for the contents.
    assert_eq!(meta.accessed().unwrap(), scene.sentinel_atime, "the sentinel outside the root was read");
    assert_eq!(meta.modified().unwrap(), scene.sentinel_mtime, "the sentinel outside the root was written");
    assert_eq!(meta.len(), 11);
    let fifo = fs::symlink_metadata(scene.outside.join("sentinel.fifo")).expect("the FIFO sentinel was moved");
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&fifo.file_type()));
    assert_eq!(fs::read_dir(&scene.outside).unwrap().count(), 2, "something was moved into the sentinel folder");
}

/// One row: (id, ad_id, stored value, size, sha256, deleted). `None` = NULL.
type Row = (u32, u32, Option<Vec<u8>>, Option<String>, Option<String>, u8);

fn rows(scene: &Scene, backend: Backend) -> Vec<Row> {
    let v = |s: &str| Some(format!("/uploads/{s}").into_bytes());
    let abs = scene.outside.join("sentinel.txt").display().to_string();
    let mut rows = vec![
        (1, 1, v("ok.jpg"), Some("2".into()), Some(sha(b"ok")), 0),
        (2, 1, v("sized.jpg"), Some("999".into()), None, 0),
        (3, 1, v("hashed.jpg"), Some("6".into()), Some(sha(b"tampered")), 0),
        (4, 1, v("shared.jpg"), None, None, 0),
        (5, 2, v("shared.jpg"), None, None, 0),
        (6, 1, v("missing.jpg"), None, None, 0),
        (7, 1, v("../outside/sentinel.txt"), None, None, 0),
        (8, 1, v(&abs), None, None, 0),
        (9, 1, v("..\\outside\\sentinel.txt"), None, None, 0),
        (10, 1, v("%2e%2e/outside/sentinel.txt"), None, None, 0),
        (11, 1, v("a//b.jpg"), None, None, 0),
        (12, 1, Some(b"https://cdn.example.com/x.jpg".to_vec()), None, None, 0),
        (13, 1, v("escape.jpg"), None, None, 0),
        (14, 1, v("outdir/sentinel.txt"), None, None, 0),
        (15, 1, v("folder"), None, None, 0),
        (16, 1, v("pipe"), None, None, 0),
        (17, 1, v("alias.jpg"), Some("2".into()), Some(sha(b"ok")), 0),
        (18, 1, v("aliasdir/inner.jpg"), Some("4".into()), None, 0),
        (19, 1, v("real/inner.jpg"), None, None, 0),
        (20, 999, v("parent.jpg"), None, None, 0),
        (21, 1, v("deleted-missing.jpg"), None, None, 1),
        (22, 1, v("folder/inner.jpg"), None, None, 0),
        (23, 1, None, None, None, 0),
        (25, 1, v("../outside/sentinel.fifo"), None, None, 0),
        (26, 1, v("fifo-link"), None, None, 0),
    ];
    // PostgreSQL text cannot hold NUL bytes; SQLite and MySQL can.
    if backend != Backend::Postgres {
        rows.push((24, 1, Some(b"/uploads/a\0b.jpg".to_vec()), None, None, 0));
    }
    rows
}

fn value_sql(backend: Backend, v: &Option<Vec<u8>>) -> String {
    match v {
        None => "NULL".into(),
        Some(b) if b.contains(&0) => match backend {
            Backend::Sqlite => format!("CAST(X'{}' AS TEXT)", hex::encode(b)),
            _ => format!("X'{}'", hex::encode(b)),
        },
        Some(b) => lit(backend, std::str::from_utf8(b).unwrap()),
    }
}

async fn load(db: &TestDb, scene: &Scene) {
    let b = db.backend();
    let mut sql = String::from(
        "CREATE TABLE ads (id INTEGER PRIMARY KEY, title VARCHAR(200), cover VARCHAR(500));\n\
         CREATE TABLE ad_images (id INTEGER PRIMARY KEY, ad_id INTEGER, file_path VARCHAR(500), size_bytes BIGINT, \
         sha256 VARCHAR(64), deleted INTEGER NOT NULL DEFAULT 0);\n\
         INSERT INTO ads (id, title, cover) VALUES (1, 'one', '/uploads/cover.jpg'), (2, 'two', NULL);\n",
    );
    let values: Vec<String> = rows(scene, b)
        .iter()
        .map(|(id, ad, v, size, sha, deleted)| {
            let opt = |o: &Option<String>| o.as_deref().map_or_else(|| "NULL".to_owned(), |s| lit(b, s));
            format!("({id}, {ad}, {}, {}, {}, {deleted})", value_sql(b, v), opt(size), opt(sha))
        })
        .collect();
    sql.push_str(&format!(
        "INSERT INTO ad_images (id, ad_id, file_path, size_bytes, sha256, deleted) VALUES {};\n",
        values.join(",\n")
    ));
    db.execute(&sql).await;
}

fn entries(scene: &Scene) -> Vec<FilesEntry> {
    let mut images = entry(0, "ad_images", "file_path", &scene.root);
    images.config.strip_prefix = Some("/uploads/".into());
    images.config.filter = Some("deleted = 0".into());
    images.config.ignore = vec![".gitkeep".into(), "cache/".into()];
    images.config.size_column = Some("size_bytes".into());
    images.config.sha256_column = Some("sha256".into());
    images.config.parent = Some(ParentConfig { table: "ads".into(), key: None, column: "ad_id".into() });
    // The same root, spelled differently: one walk serves both entries.
    let mut covers = entry(1, "ads", "cover", &scene.root.join("cache/.."));
    covers.config.strip_prefix = Some("/uploads/".into());
    covers.config.key = Some("id".into());
    vec![images, covers]
}

async fn every_class(db: &TestDb) {
    let scene = build_scene();
    assert_sentinels_untouched(&scene);
    load(db, &scene).await;
    let entries = entries(&scene);
    let report = check(db, &entries, |_| {}).await;
    assert_sentinels_untouched(&scene);

    let e = &report.entries[0];
    let nul = db.backend() != Backend::Postgres;
    assert_eq!(e.key, "id", "the key is looked up from the primary key");
    assert_eq!(e.references, 23 + u64::from(nul), "non-NULL references selected by `where`");
    assert_eq!(
        e.ok, 8,
        "ok.jpg, shared.jpg ×2, alias.jpg, aliasdir/inner.jpg, real/inner.jpg, parent.jpg, folder/inner.jpg"
    );
    let c = &e.classes;
    assert_eq!(class(c, Class::Missing), (1, vec!["6".into()]), "missing file");
    assert_eq!(class(c, Class::SizeMismatch), (1, vec!["2".into()]), "size mismatch");
    assert_eq!(class(c, Class::HashMismatch), (1, vec!["3".into()]), "hash mismatch");
    assert_eq!(class(c, Class::ParentMissing), (1, vec!["20".into()]), "parent gone");
    assert_eq!(class(c, Class::DuplicateReference), (1, vec!["5".into()]), "shared file");
    assert_eq!(class(c, Class::UnsafePath(PathProblem::Traversal)), (2, vec!["25".into(), "7".into()]), "..");
    assert_eq!(class(c, Class::UnsafePath(PathProblem::Absolute)), (1, vec!["8".into()]), "absolute");
    assert_eq!(class(c, Class::UnsafePath(PathProblem::Backslash)), (1, vec!["9".into()]), "backslash");
    assert_eq!(class(c, Class::UnsafePath(PathProblem::Encoded)), (1, vec!["10".into()]), "encoded");
    assert_eq!(class(c, Class::UnsafePath(PathProblem::Invalid)), (1, vec!["11".into()]), "invalid");
    let nul_expected = if nul { (1, vec!["24".to_owned()]) } else { (0, vec![]) };
    assert_eq!(class(c, Class::UnsafePath(PathProblem::Nul)), nul_expected, "NUL");
    assert_eq!(class(c, Class::PrefixMismatch), (1, vec!["12".into()]), "other prefix");
    assert_eq!(
        class(c, Class::SymlinkEscape),
        (3, vec!["13".into(), "14".into(), "26".into()]),
        "through symlinks out of the root"
    );
    assert_eq!(class(c, Class::NotRegular), (2, vec!["15".into(), "16".into()]), "a directory and a FIFO");
    assert_eq!(class(c, Class::Unreadable).0, 0);
    let counted: u64 = c.iter().filter(|c| c.class != Class::DuplicateReference).map(|c| c.count).sum();
    assert_eq!(
        counted - 1 + e.ok,
        e.references,
        "every reference is ok or in exactly one class (20 is ok and parentless)"
    );

    let covers = &report.entries[1];
    assert_eq!((covers.references, covers.ok, covers.classes.len()), (1, 1, 0), "ads.cover");

    assert_eq!(report.roots.len(), 1, "both entries share one root");
    let r = &report.roots[0];
    assert_eq!((r.files, r.referenced, r.ignored), (13, 9, 2));
    assert_eq!(class(&r.classes, Class::Orphan), (1, vec!["orphan.jpg".into()]), "orphan");
    assert_eq!(class(&r.classes, Class::InFlight), (1, vec!["fresh.jpg".into()]), "in flight");
    assert_eq!(
        class(&r.classes, Class::SymlinkEscape),
        (3, vec!["escape.jpg".into(), "fifo-link".into(), "outdir".into()]),
        "symlinks out of the root"
    );
    assert_eq!(class(&r.classes, Class::NotRegular), (1, vec!["pipe".into()]), "the FIFO");

    // One finding per class, never one per row.
    let codes: Vec<&str> = report.findings.iter().map(|f| f.code).collect();
    let mut unique = codes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(codes.len(), unique.len() + 2, "symlink-escape and not-regular appear once per entry and once per root");

    fix_script_round_trip(db, &scene, &entries).await;
    quarantine_round_trip(db, &scene, &entries).await;
}
per_backend!(every_class);

/// `on_dangling = "delete"` and `on_parent_missing = "delete"`: the script, run by hand, removes
/// exactly the dangling and parentless rows; unsafe values stay (commented statements only).
async fn fix_script_round_trip(db: &TestDb, scene: &Scene, entries: &[FilesEntry]) {
    let mut entries = entries.to_vec();
    entries[0].config.on_dangling = Some(OnDangling::Delete);
    entries[0].config.on_parent_missing = Some(OnParentMissing::Delete);
    let out = tempfile::tempdir().unwrap();
    let report = check(db, &entries, |o| o.fix = Some(FixTarget::Dir(out.path().join("fix")))).await;
    let fix = report.fix.unwrap();
    assert_eq!((fix.statements, fix.commented), (2, 1));
    let script = fs::read_to_string(out.path().join("fix/files-fix.sql")).unwrap();
    assert!(script.contains("-- UPDATE"), "unsafe values are commented out:\n{script}");
    let list = fs::read_to_string(out.path().join("fix/files-findings.jsonl")).unwrap();
    assert!(list.lines().any(|l| l.contains("\"file-orphan\"") && l.contains("orphan.jpg")), "{list}");
    assert!(list.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));

    db.execute(&script).await;
    let after = check(db, &entries, |_| {}).await;
    let c = &after.entries[0].classes;
    assert_eq!(class(c, Class::Missing).0, 0, "dangling row deleted");
    assert_eq!(class(c, Class::ParentMissing).0, 0, "parentless row deleted");
    assert_eq!(class(c, Class::UnsafePath(PathProblem::Traversal)).0, 2, "unsafe rows left for a human");
    // parent.jpg lost its only reference with the parentless row.
    assert_eq!(class(&after.roots[0].classes, Class::Orphan).1, vec!["orphan.jpg".to_owned(), "parent.jpg".to_owned()]);
    assert_sentinels_untouched(scene);
}

/// Orphans move to quarantine with a manifest (not in-flight files, not symlinks, not the
/// sentinels) and come back byte for byte.
async fn quarantine_round_trip(db: &TestDb, scene: &Scene, entries: &[FilesEntry]) {
    let q = tempfile::tempdir().unwrap();
    let qdir = q.path().join("quarantine");
    let inside = check_err(db, entries, &scene.root.join("q")).await;
    assert!(inside.contains("overlaps"), "{inside}");

    let report = check(db, entries, |o| o.quarantine = Some(qdir.clone())).await;
    let moved = report.quarantine.unwrap();
    // orphan.jpg, and parent.jpg once the fix above deleted its row.
    assert_eq!((moved.moved, moved.skipped), (2, 0));
    assert!(!scene.root.join("orphan.jpg").exists());
    assert!(scene.root.join("fresh.jpg").exists(), "in-flight files stay");
    assert!(fs::symlink_metadata(scene.root.join("escape.jpg")).is_ok(), "symlinks stay");
    assert_sentinels_untouched(scene);
    let manifest = fs::read_to_string(qdir.join("manifest.jsonl")).unwrap();
    assert_eq!(manifest.lines().count(), 2);
    assert!(manifest.contains(&sha(b"orphan!")), "{manifest}");

    let again = check(db, entries, |_| {}).await;
    assert_eq!(class(&again.roots[0].classes, Class::Orphan).0, 0);

    let restored = dbcheck_core::files::restore_quarantine(&qdir, 10).unwrap();
    assert_eq!((restored.restored, restored.left), (2, 0));
    assert_eq!(fs::read(scene.root.join("orphan.jpg")).unwrap(), b"orphan!");
    assert_eq!(fs::read_to_string(qdir.join("manifest.jsonl")).unwrap(), "");
    assert_sentinels_untouched(scene);
}

async fn check_err(db: &TestDb, entries: &[FilesEntry], quarantine: &Path) -> String {
    let url = dbcheck_core::db::DatabaseUrl::parse(db.url()).unwrap();
    let mut opts = dbcheck_core::files::CheckOptions::new(dbcheck_core::db::ConnectOptions::default());
    opts.quarantine = Some(quarantine.to_path_buf());
    match dbcheck_core::files::check_files(&url, entries, &opts).await {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}
