//! Making appended records durable: the sync step, and the background thread
//! that runs it for group commit and the timed/size policies.
//!
//! One sync takes a snapshot of the last published index, then makes durable,
//! in this order: the seals of segments rotated out (each seal makes its frames
//! durable before its trailer), the directory (new segment names), and the
//! active segment up to its published end. Everything appended before the
//! snapshot, by any number of writers, becomes durable with that one sync: that
//! is group commit. `durable_index` advances only after every step succeeded.

use crate::error::{Error, IoContext, Result};
use crate::options::SyncPolicy;
use crate::shared::{Shared, SyncEvent};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

impl Shared {
    /// Makes everything published so far durable and returns the durable index.
    pub(crate) fn sync_now(&self) -> Result<u64> {
        let _g = self.sync_lock.lock();
        self.check_poison()?;
        let target = self.last_index.load(Ordering::Acquire);
        if target <= self.durable_index.load(Ordering::Acquire)
            && self.queue.lock().seals.is_empty()
        {
            return Ok(self.durable_index.load(Ordering::Acquire));
        }
        // Rotation pushes the old segment's seal and the new segment under the
        // queue lock; reading both under it keeps seal-before-data ordering.
        let (seals, dir_dirty, active) = {
            let mut q = self.queue.lock();
            let active = self.segments.read().last().cloned();
            (
                std::mem::take(&mut q.seals),
                std::mem::take(&mut q.dir_dirty),
                active,
            )
        };
        let started = Instant::now();
        let result = (|| -> Result<()> {
            for (seg, trailer) in &seals {
                seg.seal(trailer).ctx(|| format!("sealing {}", seg.name))?;
            }
            if dir_dirty {
                self.fs
                    .sync_dir(&self.dir)
                    .ctx(|| "syncing the log directory".into())?;
            }
            if let Some(seg) = active {
                let (from, to) = (seg.synced_off(), seg.write_off());
                seg.sync_upto(to).ctx(|| format!("syncing {}", seg.name))?;
                self.note_sync_bytes(to.saturating_sub(from));
            }
            Ok(())
        })();
        self.counters.record_sync(started.elapsed(), result.is_ok());
        match result {
            Ok(()) => {
                for (seg, _) in &seals {
                    self.emit(SyncEvent::Sealed {
                        segment: seg.name.clone(),
                        first_index: seg.first_index(),
                        last_index: seg.last_index(),
                    });
                }
                self.durable_index.fetch_max(target, Ordering::AcqRel);
                self.wake_durable_waiters();
                self.emit(SyncEvent::Durable(
                    self.durable_index.load(Ordering::Acquire),
                ));
                Ok(target)
            }
            Err(e) => {
                self.set_poison(&e);
                self.emit(SyncEvent::Failed {
                    code: e.code(),
                    message: e.to_string(),
                });
                Err(e)
            }
        }
    }

    fn note_sync_bytes(&self, bytes: usize) {
        // Only the sync thread or the appending thread under `sync_lock` get
        // here, so a load and a store do not lose updates.
        let avg = self.sync_bytes.load(Ordering::Relaxed);
        let next = (avg * 7 + bytes as u64).div_ceil(8);
        self.sync_bytes.store(next, Ordering::Relaxed);
    }

    /// Asks the syncer to make `index` durable soon, without waiting.
    pub(crate) fn request_sync(&self, index: u64) {
        self.expect_small_syncs();
        let mut q = self.queue.lock();
        if index > q.wanted {
            q.wanted = index;
        }
        self.queue_cv.notify_one();
    }

    /// Blocks until `index` is durable, the log fails, or `timeout` passes
    /// (`Ok(false)`).
    pub(crate) fn wait_durable(&self, index: u64, timeout: Option<Duration>) -> Result<bool> {
        self.request_sync(index);
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut g = self.durable_mx.lock();
        loop {
            self.check_poison()?;
            if self.durable_index.load(Ordering::Acquire) >= index {
                return Ok(true);
            }
            if self.closed.load(Ordering::Acquire) {
                return Err(Error::Closed);
            }
            match deadline {
                Some(d) => {
                    if self.durable_cv.wait_until(&mut g, d).timed_out()
                        && self.durable_index.load(Ordering::Acquire) < index
                    {
                        return Ok(false);
                    }
                }
                None => self.durable_cv.wait(&mut g),
            }
        }
    }
}

/// Starts the background syncer of a writable log.
pub(crate) fn spawn(shared: Arc<Shared>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("walnut-sync".into())
        .spawn(move || run(&shared))
}

fn run(shared: &Shared) {
    let tick = match shared.opts.sync {
        SyncPolicy::EveryMs(ms) => Some(Duration::from_millis(ms)),
        _ => None,
    };
    loop {
        {
            let mut q = shared.queue.lock();
            loop {
                if q.stop {
                    return;
                }
                let behind = q.wanted > shared.durable_index.load(Ordering::Acquire);
                if behind || !q.seals.is_empty() {
                    break;
                }
                match tick {
                    Some(t) => {
                        if shared.queue_cv.wait_for(&mut q, t).timed_out()
                            && shared.last_index.load(Ordering::Acquire)
                                > shared.durable_index.load(Ordering::Acquire)
                        {
                            break;
                        }
                    }
                    None => shared.queue_cv.wait(&mut q),
                }
            }
        }
        if shared.sync_now().is_err() {
            // Poisoned: nothing more can be made durable. Wait for close.
            let mut q = shared.queue.lock();
            while !q.stop {
                shared.queue_cv.wait(&mut q);
            }
            return;
        }
    }
}

/// Stops the syncer and waits for it.
pub(crate) fn stop(shared: &Shared, handle: JoinHandle<()>) {
    shared.queue.lock().stop = true;
    shared.queue_cv.notify_all();
    let _ = handle.join();
}
