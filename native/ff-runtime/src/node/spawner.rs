//! Starting worker processes, following their output, and noticing when they end.
//!
//! A worker is forked by the fork server when there is one and the worker's environment
//! allows it (see [`fork_server`](super::fork_server)); otherwise the node starts a new
//! interpreter for it.

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use ff_core::ids::WorkerId;
use ff_core::task::EnvVars;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

use super::fork_server;
use super::logs::{OutputFollower, Stream};
use super::shared::{NodeShared, WorkerProcess};

/// Environment variables that tell a worker how to reach its node.
pub const ENV_SOCKET: &str = "FUSION_FLOW_NODE_SOCKET";
pub const ENV_WORKER_ID: &str = "FUSION_FLOW_WORKER_ID";

pub async fn start(shared: Arc<NodeShared>, worker: WorkerId, env: Arc<EnvVars>) {
    if let Some(server) = shared.fork_server.as_ref() {
        if server.is_alive() && fork_server::can_fork_with(&env) {
            let extra = node_env(&shared, worker);
            let log_to_driver = shared.config.log_to_driver;
            match server
                .fork(worker, env.clone(), &extra, log_to_driver)
                .await
            {
                Ok(()) => return,
                Err(error) => tracing::warn!(%error, "fork request failed; starting a process"),
            }
        }
    }
    start_process(shared, worker, env).await;
}

/// The variables that tell a worker where its node is and who it is.
fn node_env(shared: &NodeShared, worker: WorkerId) -> [(&'static str, String); 2] {
    let socket = shared.info.session_dir.join(super::SOCKET_NAME);
    [
        (ENV_SOCKET, socket.display().to_string()),
        (ENV_WORKER_ID, worker.hex()),
    ]
}

/// Starts a worker as a new interpreter process, a child of the node.
pub async fn start_process(shared: Arc<NodeShared>, worker: WorkerId, env: Arc<EnvVars>) {
    let config = &shared.config;
    let mut command = Command::new(&config.worker_program);
    command
        .args(&config.worker_args)
        .envs(config.worker_env.iter().map(|(k, v)| (k, v)))
        .envs(env.iter())
        .envs(node_env(&shared, worker))
        .current_dir(&config.worker_cwd)
        .stdin(Stdio::null())
        // Its own process group: Ctrl-C in the driver's terminal reaches only the driver.
        .process_group(0);
    if config.log_to_driver {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
    } else {
        command.stdout(Stdio::null()).stderr(Stdio::null());
    }
    // SAFETY: prctl is async-signal-safe; the closure allocates nothing. If the node's thread
    // dies (the driver was killed), the kernel kills the worker too: no orphans.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            let detail = format!("could not run {}: {error}", config.worker_program.display());
            shared.with_state(|state, out| state.core.worker_died(worker, &detail, out));
            return;
        }
    };
    let Some(pid) = child.id() else { return };
    shared
        .processes
        .lock()
        .insert(worker, WorkerProcess::Child(pid));
    if let Some(stdout) = child.stdout.take() {
        tokio::spawn(forward_output(stdout, pid, Stream::Stdout, shared.clone()));
    }
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(forward_output(stderr, pid, Stream::Stderr, shared.clone()));
    }
    tokio::spawn(watch(shared, worker, child));
}

async fn watch(shared: Arc<NodeShared>, worker: WorkerId, mut child: Child) {
    let detail = match child.wait().await {
        Ok(status) => describe(status),
        Err(error) => format!("could not wait for the worker process: {error}"),
    };
    shared.processes.lock().remove(&worker);
    process_ended(&shared, worker, detail);
}

/// A worker's process is gone (and no longer in `processes`): its connection and its work.
pub fn process_ended(shared: &Arc<NodeShared>, worker: WorkerId, detail: String) {
    if let Some(link) = shared.links.write().remove(&worker) {
        link.close();
    }
    shared.with_state(|state, out| state.core.worker_died(worker, &detail, out));
}

fn describe(status: ExitStatus) -> String {
    describe_exit(status.code(), status.signal())
}

pub fn describe_exit(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (Some(code), _) => format!("the worker process exited with code {code}"),
        (None, Some(signal)) => format!("the worker process was killed by signal {signal}"),
        (None, None) => "the worker process ended".to_string(),
    }
}

/// Counts an open output stream for as long as it is alive.
struct OpenOutput(Arc<NodeShared>);

impl OpenOutput {
    fn new(shared: Arc<NodeShared>) -> Self {
        shared.open_outputs.fetch_add(1, Ordering::AcqRel);
        Self(shared)
    }
}

impl Drop for OpenOutput {
    fn drop(&mut self) {
        self.0.open_outputs.fetch_sub(1, Ordering::AcqRel);
    }
}

pub async fn forward_output(
    output: impl AsyncRead + Unpin,
    pid: u32,
    stream: Stream,
    shared: Arc<NodeShared>,
) {
    let open = OpenOutput::new(shared);
    let mut reader = BufReader::new(output);
    let mut follower = OutputFollower::new(stream, pid);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    line.pop();
                }
                if let Some(event) = follower.line(&String::from_utf8_lossy(&line)) {
                    open.0.events.send(event);
                }
            }
        }
    }
}
