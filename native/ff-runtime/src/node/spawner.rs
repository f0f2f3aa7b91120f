//! Starting worker processes, following their output, and noticing when they end.

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use ff_core::ids::WorkerId;
use ff_core::task::EnvVars;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

use super::logs::{OutputFollower, Stream};
use super::shared::NodeShared;

/// Environment variables that tell a worker how to reach its node.
pub const ENV_SOCKET: &str = "FUSION_FLOW_NODE_SOCKET";
pub const ENV_WORKER_ID: &str = "FUSION_FLOW_WORKER_ID";

pub async fn start(shared: Arc<NodeShared>, worker: WorkerId, env: Arc<EnvVars>) {
    let config = &shared.config;
    let mut command = Command::new(&config.worker_program);
    command
        .args(&config.worker_args)
        .envs(config.worker_env.iter().map(|(k, v)| (k, v)))
        .envs(env.iter())
        .env(ENV_SOCKET, shared.info.session_dir.join(super::SOCKET_NAME))
        .env(ENV_WORKER_ID, worker.hex())
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
    shared.processes.lock().insert(worker, pid);
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
    if let Some(link) = shared.links.write().remove(&worker) {
        link.close();
    }
    shared.with_state(|state, out| state.core.worker_died(worker, &detail, out));
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
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

async fn forward_output(
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
