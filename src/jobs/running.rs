//! The scheduled jobs running on this instance, so that shutdown lets them finish.
//!
//! A job run holds a guard while it works. Shutdown first stops new runs, then waits a bounded
//! time for the guards to be dropped: a sweep finishes its step, an outbox drain finishes the
//! batch it claimed and starts no other. What a job could not finish in time is safe anyway: a
//! sweep's period is retried by the next, and claimed emails go back to the outbox when their
//! lease runs out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{RwLock, RwLockReadGuard};

/// How long shutdown waits for running jobs.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

#[derive(Default)]
pub struct Running {
    gate: RwLock<()>,
    stopping: AtomicBool,
}

/// Held by a job while it runs.
pub struct Run<'a>(#[allow(dead_code)] RwLockReadGuard<'a, ()>);

impl Running {
    /// Leave to run a job; `None` once shutdown has begun.
    pub async fn begin(&self) -> Option<Run<'_>> {
        if self.stopping() {
            return None;
        }
        let guard = self.gate.read().await;
        (!self.stopping()).then_some(Run(guard))
    }

    /// Whether shutdown has begun: a job that loops stops at its next step.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Lets no new run begin and waits up to `grace` for the running ones. `false` when some
    /// were still running at the end.
    pub async fn stop(&self, grace: Duration) -> bool {
        self.stopping.store(true, Ordering::SeqCst);
        tokio::time::timeout(grace, self.gate.write()).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn shutdown_waits_for_a_running_job_and_then_lets_no_new_one_begin() {
        let running = Arc::new(Running::default());
        let (started_tx, started) = tokio::sync::oneshot::channel();
        let job = {
            let running = Arc::clone(&running);
            tokio::spawn(async move {
                let _run = running.begin().await.expect("not stopping yet");
                let _ = started_tx.send(());
                tokio::time::sleep(Duration::from_millis(200)).await;
                "finished"
            })
        };
        started.await.expect("the job began");
        let stopped = tokio::time::Instant::now();
        assert!(
            running.stop(Duration::from_secs(5)).await,
            "the job finished within the grace"
        );
        assert!(
            stopped.elapsed() >= Duration::from_millis(150),
            "shutdown waited for it"
        );
        assert_eq!(job.await.expect("joined"), "finished");
        assert!(
            running.begin().await.is_none(),
            "nothing begins after shutdown"
        );
        assert!(running.stopping());
    }

    #[tokio::test]
    async fn shutdown_gives_up_on_a_job_that_outlasts_the_grace() {
        let running = Arc::new(Running::default());
        let run = running.begin().await.expect("not stopping yet");
        assert!(!running.stop(Duration::from_millis(50)).await);
        drop(run);
    }
}
