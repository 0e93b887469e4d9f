//! Backups of a PostgreSQL database that a writer keeps changing: ads with image rows and files
//! are inserted (each file written before its row commits) and deleted (rows first, files a
//! grace period later, as a sweeper does). Every backup, restored into a fresh database and
//! folder, has a file for every reference and verifies.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dbcheck_tests::{TestDb, require_db};
use sqlx::Connection as _;

use super::*;

fn content(i: i64) -> String {
    format!("image {i} {}", "y".repeat((i % 97) as usize))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backups_under_a_continuous_writer_restore_consistently() {
    let db = require_db!(TestDb::postgres().await);
    let work = tempfile::tempdir().unwrap();
    let uploads = work.path().join("uploads");
    let dir = work.path().join("backups");
    std::fs::create_dir_all(&uploads).unwrap();
    db.execute(SCHEMA).await;
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (url, uploads, stop, written) = (db.url().to_owned(), uploads.clone(), stop.clone(), written.clone());
        tokio::spawn(async move {
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let mut pending: Vec<(Instant, PathBuf)> = Vec::new();
            let mut i: i64 = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let rel = format!("ads/{}/{i}.jpg", i % 13);
                let path = uploads.join(&rel);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, content(i)).unwrap();
                let mut tx = conn.begin().await.unwrap();
                sqlx::query("INSERT INTO ads (id, title) VALUES ($1, 'ad')")
                    .bind(i as i32)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                sqlx::query("INSERT INTO ad_images (id, ad_id, file_path) VALUES ($1, $1, $2)")
                    .bind(i as i32)
                    .bind(&rel)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                if i % 3 == 0 {
                    let old = i - 2;
                    let mut tx = conn.begin().await.unwrap();
                    let gone: Option<String> =
                        sqlx::query_scalar("DELETE FROM ad_images WHERE ad_id = $1 RETURNING file_path")
                            .bind(old as i32)
                            .fetch_optional(&mut *tx)
                            .await
                            .unwrap();
                    sqlx::query("DELETE FROM ads WHERE id = $1").bind(old as i32).execute(&mut *tx).await.unwrap();
                    tx.commit().await.unwrap();
                    if let Some(rel) = gone {
                        pending.push((Instant::now(), uploads.join(rel)));
                    }
                }
                // The sweeper: files of deleted rows go after a grace period longer than a backup.
                while pending.first().is_some_and(|(t, _)| t.elapsed() > Duration::from_secs(3)) {
                    let (_, p) = pending.remove(0);
                    let _ = std::fs::remove_file(p);
                }
                written.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    while written.load(Ordering::Relaxed) < 50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let opts = options(&dir, &uploads, 7);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(backup(db.url(), &opts).await);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    assert!(written.load(Ordering::Relaxed) > 60, "the writer kept writing during the backups");
    for id in &ids {
        let report = verify(&dir, id).await;
        assert!(report.ok(), "{id}: {:?}", report.findings);
        let fresh = require_db!(TestDb::postgres().await);
        let folder = work.path().join(format!("restore-{id}"));
        std::fs::create_dir_all(&folder).unwrap();
        restore(&dir, id, fresh.url(), &folder, false).await.unwrap();
        let refs = references(fresh.url()).await;
        assert!(!refs.is_empty());
        for r in &refs {
            let i: i64 = r.rsplit('/').next().unwrap().trim_end_matches(".jpg").parse().unwrap();
            let got = std::fs::read_to_string(folder.join(r)).unwrap_or_else(|e| panic!("{id}: dangling {r}: {e}"));
            assert_eq!(got, content(i), "{id}: {r}");
        }
    }
}
