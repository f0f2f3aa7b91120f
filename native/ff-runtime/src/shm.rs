//! Shared-memory segments: one anonymous memory file (memfd) per large object.
//!
//! The process that serializes a large value creates a segment and writes the value into it;
//! the node keeps the segment's descriptor for as long as the object lives, and hands
//! duplicates to readers, who map it. The kernel frees the memory once the last descriptor is
//! closed and the last mapping is gone, so a reader's mapping stays valid after the object is
//! freed, and nothing outlives the processes that used it.
//!
//! A segment whose memory no other process can still see may be written again (see
//! [`shm_pool`](crate::shm_pool)): one the driver made and kept, or one a worker *lent* the
//! node, which the node returns once it has closed its descriptor (a [`Lender`] is told).

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Weak;

use ff_core::object::SharedSegment;
use memmap2::MmapMut;
use nix::sys::memfd::{memfd_create, MFdFlags};
use parking_lot::Mutex;

use crate::error::{Result, RuntimeError};
use crate::shm_pool;

/// The memory behind a segment: its descriptor and, once written here, a writable mapping
/// (kept, so that a recycled segment is written without faulting its pages in again).
#[derive(Debug)]
pub(crate) struct Backing {
    pub fd: OwnedFd,
    pub map: Mutex<Option<MmapMut>>,
}

#[derive(Debug)]
pub struct Segment {
    backing: Option<Backing>,
    len: u64,
    origin: Origin,
    /// A descriptor of it went to another process (not on loan), or it was spilled: never
    /// recycle it.
    retired: AtomicBool,
}

#[derive(Debug)]
enum Origin {
    /// Made by this process, so it may be recycled here. `loan` is nonzero once its
    /// descriptor went to the node on loan ([`SharedSegment::lend`]).
    Own { loan: AtomicU64 },
    /// Received from another process, which is told when it is dropped if it lent it.
    Received { lender: Option<Lender> },
}

/// The process that lent the node a segment, to be told when the node has closed it.
pub trait SegmentOwner: Send + Sync {
    /// `reusable`: no other process got the memory, so the owner may write into it again.
    fn segment_returned(&self, loan: u64, reusable: bool);
}

/// Who lent a received segment, and the loan's token.
pub struct Lender {
    pub owner: Weak<dyn SegmentOwner>,
    pub loan: u64,
}

impl std::fmt::Debug for Lender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lender(loan {})", self.loan)
    }
}

impl Segment {
    /// A segment of `len` bytes to write into: a recycled one of that size when the pool has
    /// one (its old contents are overwritten), else a new zero-filled one.
    pub fn create(len: u64) -> Result<Self> {
        let backing = match shm_pool::take(len) {
            Some(backing) => backing,
            None => {
                let name = CString::new("fusion-flow-object").expect("no NUL in the name");
                let fd = memfd_create(name.as_c_str(), MFdFlags::MFD_CLOEXEC).map_err(shm_error)?;
                let size = i64::try_from(len).map_err(|_| shm_error(nix::Error::EFBIG))?;
                nix::unistd::ftruncate(&fd, size).map_err(shm_error)?;
                Backing {
                    fd,
                    map: Mutex::new(None),
                }
            }
        };
        Ok(Self {
            backing: Some(backing),
            len,
            origin: Origin::Own {
                loan: AtomicU64::new(0),
            },
            retired: AtomicBool::new(false),
        })
    }

    /// A segment received from another process. Its size is checked against the file's.
    /// `lender` is told when it is dropped, if the sender lent it.
    pub fn from_fd(fd: OwnedFd, len: u64, lender: Option<Lender>) -> Result<Self> {
        let actual = nix::sys::stat::fstat(&fd).map_err(shm_error)?.st_size;
        if u64::try_from(actual).ok() != Some(len) {
            return Err(RuntimeError::Protocol(format!(
                "a shared segment of {actual} bytes was announced as {len}"
            )));
        }
        Ok(Self {
            backing: Some(Backing {
                fd,
                map: Mutex::new(None),
            }),
            len,
            origin: Origin::Received { lender },
            retired: AtomicBool::new(false),
        })
    }

    fn backing(&self) -> &Backing {
        self.backing.as_ref().expect("present until dropped")
    }

    /// Copies each `(offset, bytes)` part into the segment. Large copies are split over a few
    /// threads: on a fresh segment the cost is the kernel providing the pages, which scales
    /// with cores, as the copy itself does.
    pub fn write_parts(&self, parts: &[(u64, &[u8])]) -> Result<()> {
        for (at, bytes) in parts {
            let end = at.checked_add(bytes.len() as u64);
            if end.is_none_or(|end| end > self.len) {
                return Err(RuntimeError::Protocol(format!(
                    "a write of {} bytes at {at} overruns a segment of {}",
                    bytes.len(),
                    self.len
                )));
            }
        }
        let mut mapped = self.backing().map.lock();
        if mapped.is_none() {
            let file = std::fs::File::from(self.duplicate_fd()?);
            // SAFETY: the segment is a memfd only this process writes while it is being
            // filled (no reader has it yet), and it is never resized while mapped.
            *mapped = Some(unsafe { MmapMut::map_mut(&file)? });
        }
        let map = mapped.as_mut().expect("mapped above");
        let total: usize = parts.iter().map(|(_, b)| b.len()).sum();
        let threads = copy_threads(total);
        let mut chunks: Vec<(&mut [u8], &[u8])> = Vec::new();
        let mut rest: &mut [u8] = &mut map[..];
        let mut consumed = 0u64;
        let mut sorted: Vec<&(u64, &[u8])> = parts.iter().collect();
        sorted.sort_by_key(|(at, _)| *at);
        for (at, bytes) in sorted {
            if *at < consumed {
                return Err(RuntimeError::Protocol(
                    "overlapping writes to a segment".into(),
                ));
            }
            let (_, tail) = std::mem::take(&mut rest).split_at_mut((at - consumed) as usize);
            let (target, tail) = tail.split_at_mut(bytes.len());
            rest = tail;
            consumed = at + bytes.len() as u64;
            let piece = bytes.len().div_ceil(threads).max(1);
            for (target, source) in target.chunks_mut(piece).zip(bytes.chunks(piece)) {
                chunks.push((target, source));
            }
        }
        if threads == 1 {
            chunks.into_iter().for_each(|(t, s)| t.copy_from_slice(s));
        } else {
            let mut lanes: Vec<Vec<(&mut [u8], &[u8])>> =
                (0..threads).map(|_| Vec::new()).collect();
            for (i, chunk) in chunks.into_iter().enumerate() {
                lanes[i % threads].push(chunk);
            }
            std::thread::scope(|scope| {
                for lane in lanes {
                    scope.spawn(move || lane.into_iter().for_each(|(t, s)| t.copy_from_slice(s)));
                }
            });
        }
        Ok(())
    }

    /// A new descriptor for the same memory, for a reader (closed independently).
    pub fn duplicate_fd(&self) -> Result<OwnedFd> {
        self.backing().fd.try_clone().map_err(RuntimeError::from)
    }
}

impl AsFd for Segment {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.backing().fd.as_fd()
    }
}

impl SharedSegment for Segment {
    fn len(&self) -> u64 {
        self.len
    }

    fn retire(&self) {
        self.retired.store(true, Ordering::Release);
    }

    /// Lends a segment this process wrote, when it recycles segments; a segment lent once
    /// already is retired instead (two loans could not both be returned before reuse).
    fn lend(&self) -> u64 {
        let Origin::Own { loan } = &self.origin else {
            self.retire();
            return 0;
        };
        let written = self.backing().map.lock().is_some();
        let token = match shm_pool::loan_token() {
            Some(token) if written && !self.retired.load(Ordering::Acquire) => token,
            _ => {
                self.retire();
                return 0;
            }
        };
        if loan
            .compare_exchange(0, token, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            self.retire();
            return 0;
        }
        token
    }
}

/// The last reference here is gone. A segment this process made is recycled if no other
/// process can see its memory: at once if it never left the process, once the node returns
/// it if it is on loan. A lent segment received from a worker tells that worker.
impl Drop for Segment {
    fn drop(&mut self) {
        let Some(backing) = self.backing.take() else {
            return;
        };
        let reusable = !self.retired.load(Ordering::Acquire);
        match &self.origin {
            Origin::Own { loan } => {
                let reusable = reusable && backing.map.lock().is_some();
                match loan.load(Ordering::Acquire) {
                    0 if reusable => shm_pool::give(backing, self.len),
                    0 => {}
                    token => shm_pool::park(token, reusable.then_some(backing), self.len),
                }
            }
            Origin::Received {
                lender: Some(lender),
            } => {
                drop(backing); // closed before the owner may write into the memory again
                if let Some(owner) = lender.owner.upgrade() {
                    owner.segment_returned(lender.loan, reusable);
                }
            }
            Origin::Received { lender: None } => {}
        }
    }
}

/// Every live large object holds a descriptor in the node, and every mapped one a descriptor
/// in the process that maps it: lift this process's soft limit on open files to the hard
/// limit (workers inherit it). Returns the limit now in force.
pub fn raise_open_file_limit() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 0;
    };
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return hard;
    }
    soft
}

/// Below this a copy stays on the calling thread (starting threads costs more).
const PARALLEL_COPY_MIN: usize = 8 << 20;
const MAX_COPY_THREADS: usize = 4;

fn copy_threads(total: usize) -> usize {
    if total < PARALLEL_COPY_MIN {
        return 1;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores
        .min(MAX_COPY_THREADS)
        .min(total / (PARALLEL_COPY_MIN / 2))
        .max(1)
}

fn shm_error(error: nix::Error) -> RuntimeError {
    RuntimeError::from(std::io::Error::from(error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, SeekFrom, Write};

    #[test]
    fn a_segment_holds_what_is_written_through_any_descriptor() {
        let segment = Segment::create(5).unwrap();
        let mut writer = std::fs::File::from(segment.duplicate_fd().unwrap());
        writer.write_all(b"hello").unwrap();
        let mut reader = std::fs::File::from(segment.duplicate_fd().unwrap());
        reader.seek(SeekFrom::Start(0)).unwrap();
        let mut text = String::new();
        reader.read_to_string(&mut text).unwrap();
        assert_eq!(text, "hello");
        assert_eq!(SharedSegment::len(&segment), 5);
    }

    #[test]
    fn parts_land_at_their_offsets_even_when_copied_by_several_threads() {
        let big: Vec<u8> = (0..(20u32 << 20)).map(|i| (i % 251) as u8).collect();
        let len = 64 + big.len() as u64 + 8;
        let segment = Segment::create(len).unwrap();
        segment
            .write_parts(&[(64, &big), (0, b"head"), (len - 8, b"tailtail")])
            .unwrap();
        let mut reader = std::fs::File::from(segment.duplicate_fd().unwrap());
        reader.seek(SeekFrom::Start(0)).unwrap();
        let mut all = Vec::new();
        reader.read_to_end(&mut all).unwrap();
        assert_eq!(&all[..4], b"head");
        assert_eq!(&all[64..64 + big.len()], &big[..]);
        assert_eq!(&all[all.len() - 8..], b"tailtail");
        assert!(segment.write_parts(&[(len - 1, b"xy")]).is_err());
    }

    #[test]
    fn a_received_segment_must_have_the_announced_size() {
        let segment = Segment::create(10).unwrap();
        assert!(Segment::from_fd(segment.duplicate_fd().unwrap(), 10, None).is_ok());
        assert!(Segment::from_fd(segment.duplicate_fd().unwrap(), 11, None).is_err());
    }
}
