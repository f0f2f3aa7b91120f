//! The node's side of one worker connection: an outbox that any thread can send frames
//! through. A send first tries to write straight to the socket from the calling thread (no
//! hand-off on the hot path); what does not fit waits in the outbox for the link's writer task.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use bytes::BytesMut;
use parking_lot::Mutex;
use prost::Message;
use tokio::io::Interest;
use tokio::net::UnixStream;
use tokio::sync::Notify;

use crate::fd_passing::send_with_fds;
use crate::frame;
use crate::shm::SegmentOwner;

#[derive(Default)]
struct Outbox {
    pending: BytesMut,
    /// Descriptors of frames in `pending`: they go with the next write.
    pending_fds: Vec<OwnedFd>,
    /// The writer task owns the socket's write side until `pending` is drained.
    flushing: bool,
    closed: bool,
}

pub struct WorkerLink {
    stream: Arc<UnixStream>,
    outbox: Mutex<Outbox>,
    wake_writer: Notify,
}

impl WorkerLink {
    /// Creates the link and starts its writer task on the current tokio runtime.
    pub fn start(stream: Arc<UnixStream>) -> Arc<Self> {
        let link = Arc::new(Self {
            stream,
            outbox: Mutex::new(Outbox::default()),
            wake_writer: Notify::new(),
        });
        tokio::spawn(link.clone().write_loop());
        link
    }

    pub fn send<M: Message>(&self, message: &M) {
        self.send_frame(frame::encode(message), Vec::new());
    }

    /// Sends a message whose `fd_count` descriptors are `fds` (closed here once sent).
    pub fn send_with_fds<M: Message>(&self, message: &M, fds: Vec<OwnedFd>) {
        self.send_frame(frame::encode(message), fds);
    }

    fn send_frame(&self, bytes: BytesMut, fds: Vec<OwnedFd>) {
        let mut outbox = self.outbox.lock();
        if outbox.closed {
            return;
        }
        if outbox.flushing {
            outbox.pending.extend_from_slice(&bytes);
            outbox.pending_fds.extend(fds);
            return;
        }
        let written = if fds.is_empty() {
            self.stream.try_write(&bytes)
        } else {
            self.try_write_with_fds(&bytes, &fds)
        };
        match written {
            Ok(written) if written == bytes.len() => return,
            Ok(written) => outbox.pending.extend_from_slice(&bytes[written..]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                outbox.pending.extend_from_slice(&bytes);
                outbox.pending_fds.extend(fds);
            }
            Err(_) => {
                outbox.closed = true;
                return;
            }
        }
        outbox.flushing = true;
        drop(outbox);
        self.wake_writer.notify_one();
    }

    fn try_write_with_fds(&self, bytes: &[u8], fds: &[OwnedFd]) -> io::Result<usize> {
        let borrowed: Vec<BorrowedFd<'_>> = fds.iter().map(|fd| fd.as_fd()).collect();
        self.stream.try_io(Interest::WRITABLE, || {
            send_with_fds(self.stream.as_raw_fd(), bytes, &borrowed)
        })
    }

    /// Ends the connection both ways: the worker sees end-of-file and exits.
    pub fn close(&self) {
        let mut outbox = self.outbox.lock();
        outbox.closed = true;
        outbox.pending.clear();
        drop(outbox);
        let _ = self.shutdown_socket();
        self.wake_writer.notify_one();
    }

    async fn write_loop(self: Arc<Self>) {
        loop {
            self.wake_writer.notified().await;
            loop {
                let (chunk, fds) = {
                    let mut outbox = self.outbox.lock();
                    if outbox.closed {
                        return;
                    }
                    if outbox.pending.is_empty() {
                        outbox.flushing = false;
                        break;
                    }
                    (
                        outbox.pending.split(),
                        std::mem::take(&mut outbox.pending_fds),
                    )
                };
                if self.write_all(&chunk, fds).await.is_err() {
                    self.outbox.lock().closed = true;
                    return;
                }
            }
        }
    }

    /// Writes `bytes`, with `fds` attached to the first write that takes any of them.
    async fn write_all(&self, mut bytes: &[u8], mut fds: Vec<OwnedFd>) -> io::Result<()> {
        while !bytes.is_empty() {
            self.stream.writable().await?;
            let written = if fds.is_empty() {
                self.stream.try_write(bytes)
            } else {
                self.try_write_with_fds(bytes, &fds)
            };
            match written {
                Ok(written) => {
                    bytes = &bytes[written..];
                    fds.clear();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn shutdown_socket(&self) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        // SAFETY: shutdown(2) on a socket we own; it neither frees nor invalidates the fd.
        let rc = unsafe { libc::shutdown(self.stream.as_raw_fd(), libc::SHUT_RDWR) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

/// The node returns a worker's lent segments over its link.
impl SegmentOwner for WorkerLink {
    fn segment_returned(&self, loan: u64, reusable: bool) {
        let (reusable, released) = match reusable {
            true => (vec![loan], Vec::new()),
            false => (Vec::new(), vec![loan]),
        };
        self.send(&ff_proto::ToWorker {
            fd_count: 0,
            msg: Some(ff_proto::to_worker::Msg::SegmentsReturned(
                ff_proto::SegmentsReturned { reusable, released },
            )),
        });
    }
}
