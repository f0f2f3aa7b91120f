//! Recycling of shared-memory segments, in the driver and in workers.
//!
//! Writing a large value into fresh memory is bound by the kernel providing its pages (about
//! 3 GB/s here); writing into pages that are already there, through a mapping that is
//! already there, runs at memory speed. So a segment this process wrote comes back here with
//! its writable mapping once no other process can see its memory, and the next segment of
//! the same size reuses it:
//!
//! - in the driver, a segment whose descriptor never went to another process and that was
//!   never spilled ([`SharedSegment::retire`](ff_core::object::SharedSegment::retire)), once
//!   its last `Arc` is gone (a reader in this process holds one for as long as it maps it);
//! - in a worker, a segment it *lent* the node (its descriptor went there with a loan token):
//!   it is [`park`]ed when the worker drops it, and the node says when it has closed its own
//!   descriptor ([`returned`]), reusable if no other process ever had it.
//!
//! The pool holds at most [`MAX_POOL_BYTES`], and what sits unused for
//! [`IDLE_BEFORE_RELEASE`] goes back to the OS ([`trim`]: the node's tick in the driver, the
//! I/O thread's idle wake-ups in a worker). Recycling is on only in a process that has a node
//! or a connection to one ([`enable`]); segments are made from Python, which holds no
//! session object at that point, so the pool belongs to the process.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::shm::Backing;

pub const MAX_POOL_BYTES: u64 = 2 << 30;
pub const IDLE_BEFORE_RELEASE: Duration = Duration::from_secs(1);

static ENABLED: AtomicBool = AtomicBool::new(false);
static POOL: Mutex<Vec<Entry>> = Mutex::new(Vec::new());
static NEXT_LOAN: AtomicU64 = AtomicU64::new(1);
static LOANS: Mutex<Loans> = Mutex::new(Loans {
    parked: BTreeMap::new(),
    answered: BTreeMap::new(),
});

struct Entry {
    len: u64,
    backing: Backing,
    since: Instant,
}

/// Segments on loan to the node that this process no longer uses, and the node's answers
/// that arrived before the segment was dropped here.
struct Loans {
    /// `None`: the segment was retired here meanwhile; only the node's answer is awaited.
    parked: BTreeMap<u64, Option<(Backing, u64)>>,
    answered: BTreeMap<u64, bool>,
}

/// This process hosts a node or is connected to one: recycle its segments from now on.
pub fn enable() {
    ENABLED.store(true, Ordering::Release);
}

/// Stops recycling and releases every pooled segment (the node is shutting down).
pub fn disable() {
    ENABLED.store(false, Ordering::Release);
    let released: Vec<Entry> = std::mem::take(&mut *POOL.lock());
    drop(released);
}

/// A token for a new loan, if this process recycles segments.
pub(crate) fn loan_token() -> Option<u64> {
    ENABLED
        .load(Ordering::Acquire)
        .then(|| NEXT_LOAN.fetch_add(1, Ordering::Relaxed))
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

/// A segment on loan `token` is no longer used here: it waits for the node's answer (or
/// takes the answer that came first). `backing` is `None` when it must not be reused anyway.
pub(crate) fn park(token: u64, backing: Option<Backing>, len: u64) {
    let answer = {
        let mut loans = LOANS.lock();
        match loans.answered.remove(&token) {
            Some(reusable) => Some(reusable),
            None => {
                loans.parked.insert(token, backing.map(|b| (b, len)));
                return;
            }
        }
    };
    if let (Some(true), Some(backing)) = (answer, backing) {
        give(backing, len);
    }
}

/// The node closed its descriptor of the segment on loan `token`; `reusable` if no other
/// process ever had it.
pub fn returned(token: u64, reusable: bool) {
    let parked = {
        let mut loans = LOANS.lock();
        match loans.parked.remove(&token) {
            Some(parked) => parked,
            None => {
                loans.answered.insert(token, reusable);
                return;
            }
        }
    };
    if let (true, Some((backing, len))) = (reusable, parked) {
        give(backing, len);
    }
}

/// Releases the segments unused for [`IDLE_BEFORE_RELEASE`].
pub fn trim(now: Instant) {
    let released: Vec<Entry> = {
        let mut pool = POOL.lock();
        if pool.is_empty() {
            return;
        }
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
