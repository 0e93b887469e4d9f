//! Backups of a database that a writer keeps changing: ads with image rows and files are inserted
//! (each file written before its row commits) and deleted (rows first, files a grace period later,
//! as a sweeper does). The writer serves PostgreSQL here and MySQL in `mysql.rs`. Every backup,
//! restored into a fresh database and folder, has a file for every reference and verifies.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dbcheck_tests::{TestDb, require_db};

use super::*;

/// What the writer puts in the file of ad `i`.
fn content(i: usize) -> String {
    format!("image {i} {}", "y".repeat(i % 97))
}

/// A task that keeps writing to a scenario database until stopped.
pub(crate) struct Writer {
    stop: Arc<AtomicBool>,
    written: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Writer {
    /// Starts writing to the database at `url` with files under `uploads`; files of deleted rows
    /// are removed `grace` after their rows, which must be longer than a backup takes. Returns once
    /// 50 writes are done, so that every backup starts from a populated database.
    pub(crate) async fn start(url: &str, uploads: &Path, grace: Duration) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(write(url.to_owned(), uploads.to_path_buf(), grace, stop.clone(), written.clone()));
        let writer = Writer { stop, written, task };
        while writer.written() < 50 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        writer
    }

    /// How many writes are done so far.
    pub(crate) fn written(&self) -> usize {
        self.written.load(Ordering::Relaxed)
    }

    /// Stops the writer, waits for it, and returns how many writes it did.
    pub(crate) async fn stop(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap();
        self.written.load(Ordering::Relaxed)
    }
}

/// The writer's loop: one insert a round, and every third round a delete of an older ad.
async fn write(url: String, uploads: PathBuf, grace: Duration, stop: Arc<AtomicBool>, written: Arc<AtomicUsize>) {
    let mut conn = Client::connect(&url).await;
    let mut pending: Vec<(Instant, PathBuf)> = Vec::new();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let rel = format!("ads/{}/{i}.jpg", i % 13);
        let path = uploads.join(&rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content(i)).unwrap();
        conn.execute(&format!(
            "BEGIN; INSERT INTO ads (id, title) VALUES ({i}, 'ad'); \
             INSERT INTO ad_images (id, ad_id, file_path) VALUES ({i}, {i}, '{rel}'); COMMIT"
        ))
        .await;
        if i % 3 == 0 {
            let old = i - 2;
            let gone = conn.strings(&format!("SELECT file_path FROM ad_images WHERE ad_id = {old}")).await;
            conn.execute(&format!(
                "BEGIN; DELETE FROM ad_images WHERE ad_id = {old}; DELETE FROM ads WHERE id = {old}; COMMIT"
            ))
            .await;
            pending.extend(gone.into_iter().map(|rel| (Instant::now(), uploads.join(rel))));
        }
        // The sweeper: files of deleted rows go after a grace period longer than a backup.
        while pending.first().is_some_and(|(t, _)| t.elapsed() > grace) {
            let (_, p) = pending.remove(0);
            let _ = std::fs::remove_file(p);
        }
        written.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Verifies generation `id` of `s`, restores it into `fresh` and a new folder, and checks that
/// every restored reference has its file with what the writer wrote. Returns the report and the
/// restored references.
pub(crate) async fn restore_written(s: &Scenario, id: &str, fresh: &TestDb) -> (VerifyReport, Vec<String>) {
    let report = verify(&s.dir, id).await;
    assert!(report.ok(), "{id}: {:?}", report.findings);
    let folder = s.folder(&format!("restore-{id}"));
    restore(&s.dir, id, fresh.url(), &folder, false).await.unwrap();
    let refs = references(fresh.url()).await;
    assert!(!refs.is_empty());
    for r in &refs {
        let i: usize = r.rsplit('/').next().unwrap().trim_end_matches(".jpg").parse().unwrap();
        let got = std::fs::read_to_string(folder.join(r)).unwrap_or_else(|e| panic!("{id}: dangling {r}: {e}"));
        assert_eq!(got, content(i), "{id}: {r}");
    }
    (report, refs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backups_under_a_continuous_writer_restore_consistently() {
    let db = require_db!(TestDb::postgres().await);
    let s = Scenario::new(&db, 0).await;
    let writer = Writer::start(db.url(), &s.uploads, Duration::from_secs(3)).await;
    let opts = s.options();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(backup(db.url(), &opts).await);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(writer.stop().await > 60, "the writer kept writing during the backups");
    for id in &ids {
        let fresh = require_db!(TestDb::postgres().await);
        restore_written(&s, id, &fresh).await;
    }
}
