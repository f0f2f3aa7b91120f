//! The node's side of one worker connection: an outbox that any thread can send frames
//! through. A send first tries to write straight to the socket from the calling thread (no
//! hand-off on the hot path); what does not fit waits in the outbox for the link's writer task.

use std::io;
use std::sync::Arc;

use bytes::BytesMut;
use parking_lot::Mutex;
use prost::Message;
use tokio::net::UnixStream;
use tokio::sync::Notify;

use crate::frame;

#[derive(Default)]
struct Outbox {
    pending: BytesMut,
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
        self.send_frame(frame::encode(message));
    }

    pub fn send_frame(&self, bytes: BytesMut) {
        let mut outbox = self.outbox.lock();
        if outbox.closed {
            return;
        }
        if outbox.flushing {
            outbox.pending.extend_from_slice(&bytes);
            return;
        }
        match self.stream.try_write(&bytes) {
            Ok(written) if written == bytes.len() => return,
            Ok(written) => outbox.pending.extend_from_slice(&bytes[written..]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                outbox.pending.extend_from_slice(&bytes)
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
                let chunk = {
                    let mut outbox = self.outbox.lock();
                    if outbox.closed {
                        return;
                    }
                    if outbox.pending.is_empty() {
                        outbox.flushing = false;
                        break;
                    }
                    outbox.pending.split()
                };
                if self.write_all(&chunk).await.is_err() {
                    self.outbox.lock().closed = true;
                    return;
                }
            }
        }
    }

    async fn write_all(&self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            self.stream.writable().await?;
            match self.stream.try_write(bytes) {
                Ok(written) => bytes = &bytes[written..],
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
