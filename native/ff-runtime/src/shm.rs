//! Shared-memory segments: one anonymous memory file (memfd) per large object.
//!
//! The process that serializes a large value creates a segment and writes the value into it;
//! the node keeps the segment's descriptor for as long as the object lives, and hands
//! duplicates to readers, who map it. The kernel frees the memory once the last descriptor is
//! closed and the last mapping is gone, so a reader's mapping stays valid after the object is
//! freed, and nothing outlives the processes that used it.

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use ff_core::object::SharedSegment;
use nix::sys::memfd::{memfd_create, MFdFlags};

use crate::error::{Result, RuntimeError};

#[derive(Debug)]
pub struct Segment {
    fd: OwnedFd,
    len: u64,
}

impl Segment {
    /// A new zero-filled segment of `len` bytes.
    pub fn create(len: u64) -> Result<Self> {
        let name = CString::new("fusion-flow-object").expect("no NUL in the name");
        let fd = memfd_create(name.as_c_str(), MFdFlags::MFD_CLOEXEC).map_err(shm_error)?;
        let size = i64::try_from(len).map_err(|_| shm_error(nix::Error::EFBIG))?;
        nix::unistd::ftruncate(&fd, size).map_err(shm_error)?;
        Ok(Self { fd, len })
    }

    /// A segment received from another process. Its size is checked against the file's.
    pub fn from_fd(fd: OwnedFd, len: u64) -> Result<Self> {
        let actual = nix::sys::stat::fstat(&fd).map_err(shm_error)?.st_size;
        if u64::try_from(actual).ok() != Some(len) {
            return Err(RuntimeError::Protocol(format!(
                "a shared segment of {actual} bytes was announced as {len}"
            )));
        }
        Ok(Self { fd, len })
    }

    /// A new descriptor for the same memory, for a reader (closed independently).
    pub fn duplicate_fd(&self) -> Result<OwnedFd> {
        self.fd.try_clone().map_err(RuntimeError::from)
    }
}

impl AsFd for Segment {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl SharedSegment for Segment {
    fn len(&self) -> u64 {
        self.len
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
    fn a_received_segment_must_have_the_announced_size() {
        let segment = Segment::create(10).unwrap();
        assert!(Segment::from_fd(segment.duplicate_fd().unwrap(), 10).is_ok());
        assert!(Segment::from_fd(segment.duplicate_fd().unwrap(), 11).is_err());
    }
}
