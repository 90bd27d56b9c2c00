//! Bounded fan-out: run a task per host, at most `workers` at a time, and
//! start none after the batch deadline.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

/// What became of one host.
#[derive(Debug)]
pub enum Outcome<T> {
    /// The task ran (it may still have failed; `T` says how).
    Ran(T),
    /// The batch deadline passed before the host's turn came.
    NotStarted,
}

/// Runs `task(host, time_left)` for every host, `workers` at a time, calling
/// `done` as each finishes (in completion order). Results come back in the
/// order of `hosts`. `time_left` is what remains of the batch, so a task can
/// cap its own timeout by it.
pub async fn fan_out<T, F, Fut>(
    hosts: &[String],
    workers: usize,
    deadline: Instant,
    task: F,
    mut done: impl FnMut(&str, &Outcome<T>),
) -> Vec<Outcome<T>>
where
    T: Send + 'static,
    F: Fn(String, Duration) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let workers = workers.max(1);
    let hosts: Arc<[String]> = hosts.into();
    let mut results: Vec<Option<Outcome<T>>> = (0..hosts.len()).map(|_| None).collect();
    let mut running = JoinSet::new();
    let mut next = 0;
    loop {
        while running.len() < workers && next < hosts.len() {
            let index = next;
            next += 1;
            let now = Instant::now();
            if now >= deadline {
                let outcome = Outcome::NotStarted;
                done(&hosts[index], &outcome);
                results[index] = Some(outcome);
                continue;
            }
            let work = task(hosts[index].clone(), deadline - now);
            running.spawn(async move { (index, work.await) });
        }
        let Some(joined) = running.join_next().await else { break };
        let (index, value) = joined.expect("a host task panicked");
        let outcome = Outcome::Ran(value);
        done(&hosts[index], &outcome);
        results[index] = Some(outcome);
    }
    results.into_iter().map(|r| r.expect("every host has an outcome")).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn hosts(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("h{i}")).collect()
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn never_more_than_workers_at_once_and_results_in_host_order() {
        let active = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let deadline = Instant::now() + Duration::from_secs(3600);
        let (a, p) = (active.clone(), peak.clone());
        let results = fan_out(
            &hosts(25),
            4,
            deadline,
            move |host, _| {
                let (active, peak) = (a.clone(), p.clone());
                async move {
                    let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    let n: u64 = host[1..].parse().unwrap();
                    tokio::time::sleep(Duration::from_millis(50 - n)).await;
                    active.fetch_sub(1, Ordering::SeqCst);
                    host
                }
            },
            |_, _| {},
        )
        .await;
        assert_eq!(peak.load(Ordering::SeqCst), 4);
        let names: Vec<String> = results
            .into_iter()
            .map(|o| match o {
                Outcome::Ran(host) => host,
                Outcome::NotStarted => panic!("all should run"),
            })
            .collect();
        assert_eq!(names, hosts(25));
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn hosts_after_the_deadline_do_not_start() {
        let deadline = Instant::now() + Duration::from_secs(7);
        let mut seen = Vec::new();
        let results = fan_out(
            &hosts(6),
            2,
            deadline,
            |_, left| async move {
                tokio::time::sleep(Duration::from_secs(4)).await;
                left
            },
            |host, _| seen.push(host.to_owned()),
        )
        .await;
        let started = results.iter().filter(|o| matches!(o, Outcome::Ran(_))).count();
        assert_eq!(started, 4, "waves start at 0 s and 4 s; the one due at 8 s is past the 7 s deadline");
        assert!(matches!(results[5], Outcome::NotStarted));
        assert_eq!(seen.len(), 6, "every host is reported, started or not");
        let Outcome::Ran(left) = &results[2] else { panic!("host 2 ran") };
        assert_eq!(*left, Duration::from_secs(3), "a task is told what is left of the batch");
    }
}
