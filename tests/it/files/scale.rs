//! 200,000 rows and 200,000 files with a few hundred planted mismatches: exact counts, in well
//! under a minute, with every side streamed.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::Instant;

use dbcheck_core::files::Class;
use dbcheck_core::files::path::PathProblem;
use dbcheck_tests::{Backend, TestDb};

use super::{check, class, entry};

const N: usize = 200_000;

fn rel(i: usize) -> String {
    format!("d{:03}/f{i:06}.jpg", i / 1000)
}

/// Rows whose file is missing.
fn missing(i: usize) -> bool {
    i % 1333 == 7
}

/// Files no row references.
fn orphan(i: usize) -> bool {
    i % 1000 == 500
}

/// The uploads tree, on tmpfs when there is one (creating 200,000 files on a journaling disk
/// takes longer than the whole check).
fn build_tree() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    let builder = {
        let mut b = tempfile::Builder::new();
        b.prefix("dbcheck-files-scale-");
        b
    };
    let dir = if shm.is_dir() { builder.tempdir_in(shm) } else { builder.tempdir() }.unwrap();
    let root = dir.path().join("uploads");
    for d in 0..N / 1000 {
        fs::create_dir_all(root.join(format!("d{d:03}"))).unwrap();
    }
    for i in (0..N).filter(|&i| !missing(i)) {
        fs::File::create(root.join(rel(i))).unwrap();
    }
    dir
}

/// One test for all backends, so that the tree is built once.
#[tokio::test]
async fn planted_mismatches_are_found_exactly() {
    let started = Instant::now();
    let tree = build_tree();
    eprintln!("files scale: {N} files created in {:?}", started.elapsed());
    for backend in Backend::ALL {
        if let Some(db) = TestDb::new(backend).await {
            on(&db, &tree.path().join("uploads")).await;
        }
    }
}

async fn on(db: &TestDb, root: &Path) {
    let started = Instant::now();
    let mut sql = String::from("CREATE TABLE ad_images (id INTEGER PRIMARY KEY, file_path VARCHAR(200));\nBEGIN;\n");
    let mut values = Vec::with_capacity(1000);
    let mut id = 0usize;
    let flush = |values: &mut Vec<String>, sql: &mut String| {
        if !values.is_empty() {
            let _ = writeln!(sql, "INSERT INTO ad_images (id, file_path) VALUES {};", values.join(","));
            values.clear();
        }
    };
    let mut push = |values: &mut Vec<String>, sql: &mut String, path: String| {
        id += 1;
        values.push(format!("({id}, '{path}')"));
        if values.len() == 1000 {
            flush(values, sql);
        }
    };
    for i in (0..N).filter(|&i| !orphan(i)) {
        push(&mut values, &mut sql, rel(i));
    }
    // 50 hostile values and 50 second references to existing files.
    for j in 0..50 {
        push(&mut values, &mut sql, format!("../outside/{j}.jpg"));
        push(&mut values, &mut sql, rel(j * 3001 + 1));
    }
    flush(&mut values, &mut sql);
    sql.push_str("COMMIT;\n");
    db.execute(&sql).await;
    let prepared = started.elapsed();

    let mut e = entry(0, "ad_images", "file_path", root);
    e.config.grace_secs = Some(0);
    let checked = Instant::now();
    let report = check(db, &[e], |o| o.samples = 3).await;
    let took = checked.elapsed();
    eprintln!("files scale on {}: rows inserted in {prepared:?}, checked in {took:?}", db.backend());

    let n_missing = (0..N).filter(|&i| missing(i)).count() as u64;
    let n_orphan = (0..N).filter(|&i| orphan(i)).count() as u64;
    assert!(n_missing > 100 && n_orphan > 100, "a few hundred planted mismatches");
    let e = &report.entries[0];
    assert_eq!(e.references, (N as u64 - n_orphan) + 100);
    assert_eq!(e.ok, N as u64 - n_orphan - n_missing + 50);
    let first_missing: Vec<String> = (0..N)
        .filter(|&i| missing(i))
        .take(3)
        .map(|i| (i + 1 - (0..i).filter(|&k| orphan(k)).count()).to_string())
        .collect();
    let (count, mut keys) = class(&e.classes, Class::Missing);
    assert_eq!(count, n_missing, "missing files");
    keys.sort_by_key(|k| k.parse::<u64>().unwrap());
    assert_eq!(keys, first_missing, "samples are the first in byte order");
    assert_eq!(class(&e.classes, Class::UnsafePath(PathProblem::Traversal)).0, 50);
    assert_eq!(class(&e.classes, Class::DuplicateReference).0, 50);
    assert_eq!(e.classes.len(), 3, "{:?}", e.classes);

    let r = &report.roots[0];
    assert_eq!(r.files, N as u64 - n_missing);
    assert_eq!(r.referenced, N as u64 - n_missing - n_orphan);
    let (orphans, samples) = class(&r.classes, Class::Orphan);
    assert_eq!(orphans, n_orphan, "orphan files");
    assert_eq!(samples, vec![rel(500), rel(1500), rel(2500)]);
    assert_eq!(r.classes.len(), 1, "{:?}", r.classes);
    assert!(took.as_secs() < 30, "the check took {took:?}");
}
