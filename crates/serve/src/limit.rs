//! Bounded concurrency for CPU-bound work: a few workers, a bounded queue, a bounded wait.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Why a request got no worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Busy {
    /// The queue was full when it arrived.
    QueueFull,
    /// It waited as long as it may.
    Waited,
}

pub(crate) struct Limiter {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
    wait: Duration,
}

impl Limiter {
    pub fn new(workers: usize, queue: usize, wait: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(workers.max(1))),
            waiting: AtomicUsize::new(0),
            queue,
            wait,
        }
    }

    /// A worker slot, held until the permit drops (so a blocking task keeps it to its end,
    /// even when the client has gone).
    pub async fn acquire(&self) -> Result<OwnedSemaphorePermit, Busy> {
        if let Ok(p) = self.permits.clone().try_acquire_owned() {
            return Ok(p);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Busy::QueueFull);
        }
        let got = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match got {
            Ok(Ok(p)) => Ok(p),
            // The semaphore is never closed; a timeout is the only way here.
            _ => Err(Busy::Waited),
        }
    }
}
