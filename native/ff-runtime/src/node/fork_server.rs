//! The fork server: one Python process, started with the node, that imports the worker's
//! modules once and then forks a worker whenever the node asks. A forked worker shares the
//! interpreter's pages with the fork server (copy-on-write), so an idle worker costs a few MiB
//! of its own instead of a whole interpreter, and starts in about a millisecond instead of the
//! tens an interpreter start and the imports take. The Python side is
//! `fusion_flow/_fork_server.py`.
//!
//! The node and the fork server talk over a `SOCK_SEQPACKET` socket pair: one JSON message per
//! request or event, and end-of-file when either side goes. A fork request carries the write
//! ends of the new worker's stdout and stderr pipes as `SCM_RIGHTS`, so output reaches the
//! node exactly as it does from a worker the node started itself.
//!
//! The fork server is the parent of the workers it forks: it reaps them and reports each exit,
//! and only it signals them (on the node's request), so a pid is never signalled after it was
//! reaped and perhaps reused. Its workers die with it (parent-death signal), as it dies with
//! the node.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ff_core::ids::WorkerId;
use ff_core::task::EnvVars;
use nix::sys::socket::{
    recv, sendmsg, socketpair, AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType,
};
use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use tokio::io::unix::AsyncFd;
use tokio::net::unix::pipe;
use tokio::process::{Child, Command};

use super::logs::Stream;
use super::shared::{NodeShared, WorkerProcess};
use super::spawner;
use super::NodeConfig;

/// The descriptor number of the control socket inside the fork server process.
pub const CONTROL_FD: i32 = 3;
/// Large enough for any event the fork server sends.
const MAX_EVENT: usize = 64 * 1024;

#[derive(Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Request<'a> {
    /// Fork a worker with `env` added to the fork server's environment. With `outputs`, two
    /// descriptors (stdout, stderr) come with the message; without, output is discarded.
    Fork {
        worker: String,
        env: Vec<(&'a str, &'a str)>,
        outputs: bool,
    },
    /// SIGKILL a worker the fork server forked and has not reaped yet.
    Kill { pid: u32 },
}

#[derive(Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Event {
    Started {
        worker: String,
        pid: u32,
    },
    Failed {
        worker: String,
        error: String,
    },
    Exited {
        pid: u32,
        code: Option<i32>,
        signal: Option<i32>,
    },
}

/// A fork requested but not reported started yet: what is needed to finish it, or to start
/// the worker the ordinary way if the fork server goes.
struct Pending {
    env: Arc<EnvVars>,
    outputs: Option<(pipe::Receiver, pipe::Receiver)>,
}

pub struct ForkServer {
    socket: AsyncFd<OwnedFd>,
    pending: Mutex<FxHashMap<WorkerId, Pending>>,
    /// Cleared once its socket reaches end-of-file: no more forks.
    alive: AtomicBool,
    /// Set once its process has been reaped.
    reaped: AtomicBool,
    pid: Option<u32>,
}

impl ForkServer {
    /// Starts the fork server process. Must run on one of the node's runtime threads: the
    /// parent-death signal is tied to the thread that starts a process.
    pub fn launch(config: &NodeConfig, args: &[String]) -> std::io::Result<(Arc<Self>, Child)> {
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        )?;
        let mut command = Command::new(&config.worker_program);
        command
            .args(args)
            .envs(config.worker_env.iter().map(|(k, v)| (k, v)))
            .current_dir(&config.worker_cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .process_group(0);
        let theirs_fd = theirs.as_raw_fd();
        // SAFETY: only async-signal-safe calls (fcntl, dup2, prctl); nothing is allocated.
        unsafe {
            command.pre_exec(move || {
                // The fork server blocks on its socket; ours is non-blocking for tokio.
                let flags = libc::fcntl(theirs_fd, libc::F_GETFL);
                libc::fcntl(theirs_fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
                if theirs_fd == CONTROL_FD {
                    libc::fcntl(CONTROL_FD, libc::F_SETFD, 0);
                } else if libc::dup2(theirs_fd, CONTROL_FD) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command.spawn()?;
        drop(theirs);
        // SAFETY: `ours` is an open socket that the AsyncFd owns from here until it drops.
        let socket = unsafe { AsyncFd::register(ours) }.map_err(std::io::Error::from)?;
        let server = Arc::new(Self {
            socket,
            pending: Mutex::new(FxHashMap::default()),
            alive: AtomicBool::new(true),
            reaped: AtomicBool::new(false),
            pid: child.id(),
        });
        Ok((server, child))
    }

    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Tells the fork server to end (it exits at end-of-file on its socket) and waits up to
    /// `grace` for it to be reaped. Its remaining workers die with it.
    pub fn stop(&self, grace: Duration) {
        let _ = nix::sys::socket::shutdown(
            self.socket.get_ref().as_raw_fd(),
            nix::sys::socket::Shutdown::Both,
        );
        let until = Instant::now() + grace;
        while Instant::now() < until && !self.reaped.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Asks for a worker; it is reported started (or failed) through [`serve`].
    pub async fn fork(
        &self,
        worker: WorkerId,
        env: Arc<EnvVars>,
        extra_env: &[(&str, String)],
        log_to_driver: bool,
    ) -> std::io::Result<()> {
        let (readers, writers) = if log_to_driver {
            let (out_read, out_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
            let (err_read, err_write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
            let readers = (
                pipe::Receiver::from_owned_fd(out_read)?,
                pipe::Receiver::from_owned_fd(err_read)?,
            );
            (Some(readers), Some([out_write, err_write]))
        } else {
            (None, None)
        };
        let mut all_env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (&**k, &**v)).collect();
        all_env.extend(extra_env.iter().map(|(k, v)| (*k, v.as_str())));
        let request = Request::Fork {
            worker: worker.hex(),
            env: all_env,
            outputs: log_to_driver,
        };
        let message = serde_json::to_vec(&request).map_err(std::io::Error::other)?;
        self.pending.lock().insert(
            worker,
            Pending {
                env: env.clone(),
                outputs: readers,
            },
        );
        let fds: Vec<i32> = writers
            .iter()
            .flatten()
            .map(|fd| fd.as_fd().as_raw_fd())
            .collect();
        let sent = self.send(&message, &fds).await;
        if sent.is_err() {
            self.pending.lock().remove(&worker);
        }
        sent
    }

    /// Asks the fork server to SIGKILL one of its workers (a no-op once it has reaped it).
    pub async fn kill(&self, pid: u32) -> std::io::Result<()> {
        let message = serde_json::to_vec(&Request::Kill { pid }).map_err(std::io::Error::other)?;
        self.send(&message, &[]).await
    }

    async fn send(&self, message: &[u8], fds: &[i32]) -> std::io::Result<()> {
        let rights = [ControlMessage::ScmRights(fds)];
        let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &rights };
        loop {
            let mut guard = self.socket.writable().await?;
            let sent = guard.try_io(|socket| {
                sendmsg::<()>(
                    socket.as_raw_fd(),
                    &[IoSlice::new(message)],
                    cmsgs,
                    MsgFlags::MSG_NOSIGNAL,
                    None,
                )
                .map_err(std::io::Error::from)
            });
            match sent {
                Ok(result) => return result.map(|_| ()),
                Err(_would_block) => continue,
            }
        }
    }

    async fn next_event(&self, buffer: &mut [u8]) -> std::io::Result<Option<Event>> {
        loop {
            let mut guard = self.socket.readable().await?;
            let received = guard.try_io(|socket| {
                recv(socket.as_raw_fd(), buffer, MsgFlags::empty()).map_err(std::io::Error::from)
            });
            match received {
                Ok(Ok(0)) => return Ok(None),
                Ok(Ok(n)) => {
                    return serde_json::from_slice(&buffer[..n])
                        .map(Some)
                        .map_err(std::io::Error::other)
                }
                Ok(Err(error)) => return Err(error),
                Err(_would_block) => continue,
            }
        }
    }
}

/// Whether a worker with `env` can be forked: variables the interpreter reads only when it
/// starts (PYTHON*, the dynamic loader's, the allocator's, the locale) need a fresh one.
pub fn can_fork_with(env: &EnvVars) -> bool {
    const AT_START: [&str; 5] = ["PYTHON", "LD_", "MALLOC_", "LC_", "LANG"];
    env.iter()
        .all(|(key, _)| !AT_START.iter().any(|prefix| key.starts_with(prefix)))
}

/// Follows the fork server's events until it ends; then starts what it still owed the
/// ordinary way and declares the workers it had forked dead (they die with it).
pub async fn serve(shared: Arc<NodeShared>, server: Arc<ForkServer>, mut child: Child) {
    let mut buffer = vec![0u8; MAX_EVENT];
    loop {
        match server.next_event(&mut buffer).await {
            Ok(Some(event)) => handle(&shared, &server, event),
            Ok(None) => break,
            Err(error) => {
                tracing::warn!(%error, "fork server connection failed");
                break;
            }
        }
    }
    server.alive.store(false, Ordering::Release);
    let status = child.wait().await;
    server.reaped.store(true, Ordering::Release);
    if !shared.is_stopping() {
        tracing::warn!(
            ?status,
            "the fork server ended; workers start as new processes now"
        );
    }
    let orphaned: Vec<(WorkerId, Pending)> = server.pending.lock().drain().collect();
    for (worker, pending) in orphaned {
        if !shared.is_stopping() {
            tokio::spawn(spawner::start_process(shared.clone(), worker, pending.env));
        }
    }
    let forked: Vec<WorkerId> = {
        let mut processes = shared.processes.lock();
        let gone: Vec<WorkerId> = processes
            .iter()
            .filter(|(_, process)| matches!(process, WorkerProcess::Forked(_)))
            .map(|(worker, _)| *worker)
            .collect();
        for worker in &gone {
            processes.remove(worker);
        }
        gone
    };
    for worker in forked {
        spawner::process_ended(
            &shared,
            worker,
            "the fork server that started it ended".into(),
        );
    }
}

fn handle(shared: &Arc<NodeShared>, server: &ForkServer, event: Event) {
    match event {
        Event::Started { worker, pid } => {
            let Ok(worker) = WorkerId::from_hex(&worker) else {
                return;
            };
            let pending = server.pending.lock().remove(&worker);
            shared
                .processes
                .lock()
                .insert(worker, WorkerProcess::Forked(pid));
            if let Some((stdout, stderr)) = pending.and_then(|p| p.outputs) {
                tokio::spawn(spawner::forward_output(
                    stdout,
                    pid,
                    Stream::Stdout,
                    shared.clone(),
                ));
                tokio::spawn(spawner::forward_output(
                    stderr,
                    pid,
                    Stream::Stderr,
                    shared.clone(),
                ));
            }
        }
        Event::Failed { worker, error } => {
            let Ok(worker) = WorkerId::from_hex(&worker) else {
                return;
            };
            server.pending.lock().remove(&worker);
            let detail = format!("could not fork a worker: {error}");
            shared.with_state(|state, out| state.core.worker_died(worker, &detail, out));
        }
        Event::Exited { pid, code, signal } => {
            let worker = {
                let mut processes = shared.processes.lock();
                let found = processes
                    .iter()
                    .find(|(_, process)| **process == WorkerProcess::Forked(pid))
                    .map(|(worker, _)| *worker);
                if let Some(worker) = found {
                    processes.remove(&worker);
                }
                found
            };
            if let Some(worker) = worker {
                spawner::process_ended(shared, worker, spawner::describe_exit(code, signal));
            }
        }
    }
}
