//! Recycling of shared-memory segments in the driver.
//!
//! Writing a large value into fresh memory is bound by the kernel providing its pages (about
//! 3 GB/s here); writing into pages that are already there, through a mapping that is
//! already there, runs at memory speed. So a segment made and dropped in the driver without
//! ever reaching another process (a put whose ref went away before any worker read it) comes
//! back here with its writable mapping, and the next segment of the same size reuses it.
//!
//! The pool is safe because of what it takes: only segments this process created, whose
//! descriptor never went to another process and that were never spilled
//! ([`SharedSegment::retire`](ff_core::object::SharedSegment::retire)), and only once their
//! last `Arc` is gone, which a reader in this process holds for as long as it maps one. It
//! holds at most [`MAX_POOL_BYTES`], and what sits unused for [`IDLE_BEFORE_RELEASE`] goes
//! back to the OS (the node's tick calls [`trim`]). Only the process that hosts the node
//! recycles ([`enable`]): a worker has no tick to trim its pool.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::shm::Backing;

pub const MAX_POOL_BYTES: u64 = 2 << 30;
pub const IDLE_BEFORE_RELEASE: Duration = Duration::from_secs(1);

static ENABLED: AtomicBool = AtomicBool::new(false);
static POOL: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

struct Entry {
    len: u64,
    backing: Backing,
    since: Instant,
}

/// This process hosts a node: recycle its segments from now on.
pub fn enable() {
    ENABLED.store(true, Ordering::Release);
}

/// Stops recycling and releases every pooled segment (the node is shutting down).
pub fn disable() {
    ENABLED.store(false, Ordering::Release);
    let released: Vec<Entry> = std::mem::take(&mut *POOL.lock());
    drop(released);
}

/// A pooled segment of exactly `len` bytes, if there is one.
pub(crate) fn take(len: u64) -> Option<Backing> {
    if !ENABLED.load(Ordering::Acquire) {
        return None;
    }
    let mut pool = POOL.lock();
    let at = pool.iter().rposition(|entry| entry.len == len)?;
    Some(pool.swap_remove(at).backing)
}

/// Keeps a dropped segment for reuse (or lets it go when recycling is off or it is too big).
pub(crate) fn give(backing: Backing, len: u64) {
    if !ENABLED.load(Ordering::Acquire) || len > MAX_POOL_BYTES {
        return;
    }
    let released = {
        let mut pool = POOL.lock();
        pool.push(Entry {
            len,
            backing,
            since: Instant::now(),
        });
        let mut total: u64 = pool.iter().map(|entry| entry.len).sum();
        let mut released = Vec::new();
        while total > MAX_POOL_BYTES {
            let oldest = pool.remove(0);
            total -= oldest.len;
            released.push(oldest);
        }
        released
    };
    drop(released); // unmapping and closing outside the lock
}

/// Releases the segments unused for [`IDLE_BEFORE_RELEASE`].
pub fn trim(now: Instant) {
    let released: Vec<Entry> = {
        let mut pool = POOL.lock();
        let (keep, release): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut *pool)
            .into_iter()
            .partition(|entry| now.duration_since(entry.since) < IDLE_BEFORE_RELEASE);
        *pool = keep;
        release
    };
    drop(released);
}

/// Bytes held in the pool (for tests and introspection).
pub fn pooled_bytes() -> u64 {
    POOL.lock().iter().map(|entry| entry.len).sum()
}
