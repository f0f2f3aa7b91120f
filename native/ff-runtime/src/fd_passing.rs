//! File descriptors that travel with frames on a node<->worker stream socket (SCM_RIGHTS).
//!
//! A sender attaches every descriptor it has queued to its next write, so a descriptor
//! arrives with or before the first byte of the frame it belongs to. A reader keeps what it
//! received in arrival order ([`ReceivedFds`]) and hands each decoded frame as many as the
//! frame's `fd_count` says. The kernel keeps its own reference to a descriptor in flight, so
//! a sender may close its copy as soon as the write returns.

use std::collections::VecDeque;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};

use crate::error::{Result, RuntimeError};

/// At most this many descriptors in one write; a frame with more is refused by the reader.
pub const MAX_FDS_PER_WRITE: usize = 64;

/// Writes (some of) `bytes` with `fds` attached to the first byte. Returns the bytes written;
/// the descriptors went with them unless the write failed.
pub fn send_with_fds(socket: RawFd, bytes: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
    let raw: Vec<RawFd> = fds.iter().map(|fd| fd.as_raw_fd()).collect();
    let rights = [ControlMessage::ScmRights(&raw)];
    let cmsgs: &[ControlMessage] = if raw.is_empty() { &[] } else { &rights };
    sendmsg::<()>(
        socket,
        &[IoSlice::new(bytes)],
        cmsgs,
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .map_err(io::Error::from)
}

/// Reads into `buffer`, keeping any descriptors that arrive in `fds`. Returns the bytes
/// read (0 at end-of-file).
pub fn recv_with_fds(socket: RawFd, buffer: &mut [u8], fds: &mut ReceivedFds) -> io::Result<usize> {
    let mut space = nix::cmsg_space!([RawFd; MAX_FDS_PER_WRITE]);
    let mut iov = [IoSliceMut::new(buffer)];
    let message = recvmsg::<()>(
        socket,
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(io::Error::from)?;
    let read = message.bytes;
    let truncated = message.flags.contains(MsgFlags::MSG_CTRUNC);
    for control in message.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(received) = control {
            for raw in received {
                // SAFETY: the kernel just installed this descriptor in our table for us.
                fds.queue.push_back(unsafe { OwnedFd::from_raw_fd(raw) });
            }
        }
    }
    if truncated {
        return Err(io::Error::other(
            "descriptors were dropped: too many in one write",
        ));
    }
    Ok(read)
}

/// Descriptors received and not yet claimed by a frame, oldest first.
#[derive(Debug, Default)]
pub struct ReceivedFds {
    queue: VecDeque<OwnedFd>,
}

impl ReceivedFds {
    /// The next `count` descriptors, for the frame just decoded.
    pub fn take(&mut self, count: u32) -> Result<Vec<OwnedFd>> {
        let count = count as usize;
        if count > self.queue.len() {
            return Err(RuntimeError::Protocol(format!(
                "a frame claims {count} file descriptors, {} arrived",
                self.queue.len()
            )));
        }
        Ok(self.queue.drain(..count).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, SeekFrom, Write};
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn descriptors_arrive_in_order_with_the_bytes() {
        let (left, right) = UnixStream::pair().unwrap();
        let mut files = Vec::new();
        for text in ["first", "second"] {
            let mut file = tempfile::tempfile().unwrap();
            file.write_all(text.as_bytes()).unwrap();
            files.push(file);
        }
        let sent = send_with_fds(left.as_raw_fd(), b"ab", &[files[0].as_fd()]).unwrap();
        assert_eq!(sent, 2);
        send_with_fds(left.as_raw_fd(), b"c", &[files[1].as_fd()]).unwrap();
        drop(files);

        let mut received = ReceivedFds::default();
        let mut buffer = [0u8; 16];
        let mut bytes = Vec::new();
        while bytes.len() < 3 {
            let read = recv_with_fds(right.as_raw_fd(), &mut buffer, &mut received).unwrap();
            bytes.extend_from_slice(&buffer[..read]);
        }
        assert_eq!(bytes, b"abc");
        let fds = received.take(2).unwrap();
        let texts: Vec<String> = fds
            .into_iter()
            .map(|fd| {
                let mut file = std::fs::File::from(fd);
                file.seek(SeekFrom::Start(0)).unwrap();
                let mut text = String::new();
                file.read_to_string(&mut text).unwrap();
                text
            })
            .collect();
        assert_eq!(texts, ["first", "second"]);
        assert!(received.take(1).is_err());
    }
}
