//! Shared pieces of dbcheck's benchmarks: timing and ratio reporting. Each benchmark is a binary
//! in `src/bin/`, run with `cargo run --release -p dbcheck-bench --bin <name>`.

use std::time::{Duration, Instant};

/// Run `f` `runs` times and return the fastest wall-clock time (the least noisy estimate).
pub fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let timed = |f: &mut dyn FnMut() -> T| {
        let start = Instant::now();
        let out = f();
        (start.elapsed(), out)
    };
    let mut best = timed(&mut f);
    for _ in 1..runs {
        let next = timed(&mut f);
        if next.0 < best.0 {
            best = next;
        }
    }
    best
}

/// Print one comparison line: `name: ours vs baseline = ratio (target)`.
pub fn report(name: &str, ours: Duration, baseline_name: &str, baseline: Duration, target: &str) {
    let ratio = ours.as_secs_f64() / baseline.as_secs_f64().max(f64::MIN_POSITIVE);
    println!(
        "{name}: dbcheck {:.3} s, {baseline_name} {:.3} s, ratio {ratio:.2} (target {target})",
        ours.as_secs_f64(),
        baseline.as_secs_f64()
    );
}
