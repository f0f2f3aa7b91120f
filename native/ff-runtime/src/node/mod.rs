//! The node, hosted in the driver process: it starts on its own tokio threads, listens on a Unix
//! socket in a per-session directory, starts the workers, and serves the driver in-process.

mod connection;
mod fork_server;
mod link;
pub mod logs;
mod shared;
mod spawner;
mod spill;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ff_core::ids::{
    ActorId, FunctionId, JobId, NodeId, ObjectId, PlacementGroupId, TaskId, TaskIdGenerator,
};
use ff_core::node::{
    ActorCreated, Node as CoreNode, NodeConfig as CoreConfig, PlacementGroupInfo,
    PlacementGroupSpec, WaitKind, WaitResult, WaitStart,
};
use ff_core::object::Payload;
use ff_core::object_table::ClientId;
use ff_core::resources::ResourceSet;
use ff_core::task::{ActorName, TaskSpec};
use parking_lot::Mutex;
use tokio::net::UnixListener;

pub use self::logs::{DriverEvent, Stream, TASK_NAME_MARKER};
use self::shared::{NodeShared, WaitSlot};
pub use self::spawner::{ENV_SOCKET, ENV_WORKER_ID};
use crate::client::{deadline, next_pause, Client, GetOutcome, Interrupt, SessionInfo, StreamStep};
use crate::error::{Result, RuntimeError};
use crate::local_refs::{LocalRefs, RefSink};
use crate::session_dir;

/// The node's socket, inside the session directory.
pub const SOCKET_NAME: &str = "node.sock";

/// How often idle workers are looked at.
const TICK: Duration = Duration::from_millis(500);

#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub resources: ResourceSet,
    pub namespace: String,
    /// The command that starts a worker (program and arguments).
    pub worker_program: PathBuf,
    pub worker_args: Vec<String>,
    /// Arguments (after `worker_program`) that start the fork server, which forks workers
    /// from one pre-imported interpreter; None starts every worker as a new process.
    pub fork_server_args: Option<Vec<String>>,
    /// Environment for every worker: the job's env_vars and whatever the Python layer needs.
    pub worker_env: Vec<(String, String)>,
    pub worker_cwd: PathBuf,
    /// Forward worker stdout/stderr to the driver.
    pub log_to_driver: bool,
    pub prestart_workers: u32,
    /// Where session directories are made (e.g. /tmp/fusion_flow).
    pub session_root: PathBuf,
}

pub struct Node {
    shared: Arc<NodeShared>,
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    events: logs::EventReceiver,
    client: Arc<DriverClient>,
    stopped: AtomicBool,
}

impl Node {
    pub fn start(config: NodeConfig) -> Result<Arc<Node>> {
        let session_dir = session_dir::create(&config.session_root)
            .map_err(|e| RuntimeError::Startup(format!("session directory: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ff-node")
            .enable_all()
            .build()
            .map_err(|e| RuntimeError::Startup(format!("tokio runtime: {e}")))?;
        let listener = {
            let _context = runtime.enter();
            UnixListener::bind(session_dir.join(SOCKET_NAME))
                .map_err(|e| RuntimeError::Startup(format!("node socket: {e}")))?
        };
        let info = SessionInfo {
            node_id: NodeId::random(),
            job_id: JobId::from_index(1),
            namespace: config.namespace.clone(),
            session_dir,
            worker_id: None,
        };
        let prestart = config.prestart_workers;
        let core = CoreNode::new(CoreConfig::with_total(config.resources.clone()));
        let (event_sender, event_receiver) = logs::channel();
        crate::shm::raise_open_file_limit(); // before any worker starts: they inherit it
        crate::shm_pool::enable();
        let fork_server = launch_fork_server(&runtime, &config);
        let shared = Arc::new(NodeShared::new(
            core,
            event_sender,
            info.clone(),
            config,
            runtime.handle().clone(),
            fork_server.as_ref().map(|(server, _)| server.clone()),
        ));
        if let Some((server, child)) = fork_server {
            runtime.spawn(fork_server::serve(shared.clone(), server, child));
        }
        runtime.spawn(connection::accept_loop(shared.clone(), listener));
        runtime.spawn(tick_loop(shared.clone()));
        shared.with_state(|state, out| state.core.prestart_workers(prestart, out));
        let client = Arc::new(DriverClient {
            refs: Arc::new(LocalRefs::new(Box::new(DriverRefSink(shared.clone())))),
            ids: TaskIdGenerator::new(info.job_id),
            shared: shared.clone(),
        });
        Ok(Arc::new(Node {
            shared,
            runtime: Mutex::new(Some(runtime)),
            events: event_receiver,
            client,
            stopped: AtomicBool::new(false),
        }))
    }

    pub fn client(&self) -> Arc<DriverClient> {
        self.client.clone()
    }

    pub fn info(&self) -> &SessionInfo {
        &self.shared.info
    }

    /// Output and notices for the driver to show: waits up to `timeout` for the first.
    pub fn next_events(&self, timeout: Duration) -> Vec<DriverEvent> {
        self.events.next_batch(timeout)
    }

    pub fn worker_pids(&self) -> Vec<u32> {
        let processes = self.shared.processes.lock();
        processes.values().map(|process| process.pid()).collect()
    }

    /// The fork server's pid, while it runs.
    pub fn fork_server_pid(&self) -> Option<u32> {
        let server = self.shared.fork_server.as_ref()?;
        server.is_alive().then(|| server.pid()).flatten()
    }

    /// The shared store's resident bytes and objects, and its capacity.
    pub fn store_usage(&self) -> ff_core::node::StoreUsage {
        self.shared.state.lock().core.store_usage()
    }

    /// Objects the node holds (values and pending results); for tests and introspection.
    pub fn object_count(&self) -> usize {
        self.shared.state.lock().core.objects().len()
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Stops the node. It takes no more work from the driver and hands out none of what is
    /// queued; tasks already running get up to `grace` to finish. Then every worker is
    /// stopped (killed if it does not exit), the node's threads end and the session
    /// directory, with the shared memory it names, is removed. Idempotent.
    pub fn shutdown(&self, grace: Duration) {
        if self.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        self.shared.begin_stop();
        self.shared.drain(grace);
        self.shared.stop_workers(Duration::from_millis(500));
        if let Some(server) = &self.shared.fork_server {
            server.stop(Duration::from_secs(1));
        }
        if let Some(runtime) = self.runtime.lock().take() {
            runtime.shutdown_timeout(Duration::from_millis(200));
        }
        session_dir::remove(&self.shared.info.session_dir);
        crate::shm_pool::disable();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.shutdown(Duration::ZERO);
    }
}

/// Starts the fork server, if configured, on a runtime thread (its parent-death signal is
/// tied to the thread that starts it, and the runtime's threads live as long as the node).
/// Without one (or if it cannot start), workers start as new processes.
fn launch_fork_server(
    runtime: &tokio::runtime::Runtime,
    config: &NodeConfig,
) -> Option<(Arc<fork_server::ForkServer>, tokio::process::Child)> {
    let args = config.fork_server_args.clone()?;
    let config = config.clone();
    let launched = runtime.block_on(async move {
        tokio::spawn(async move { fork_server::ForkServer::launch(&config, &args) }).await
    });
    match launched {
        Ok(Ok(launched)) => Some(launched),
        Ok(Err(error)) => {
            tracing::warn!(%error, "could not start the fork server");
            None
        }
        Err(error) => {
            tracing::warn!(%error, "could not start the fork server");
            None
        }
    }
}

async fn tick_loop(shared: Arc<NodeShared>) {
    let mut interval = tokio::time::interval(TICK);
    loop {
        interval.tick().await;
        shared.with_state(|state, out| state.core.tick(out));
        crate::shm_pool::trim(std::time::Instant::now());
    }
}

/// The driver's ref changes go straight into the node's table.
struct DriverRefSink(Arc<NodeShared>);

impl RefSink for DriverRefSink {
    fn added(&self, id: ObjectId) {
        self.0
            .with_state(|state, _| state.core.add_refs(ClientId::DRIVER, &[id]));
    }

    fn removed(&self, id: ObjectId) {
        self.0
            .with_state(|state, out| state.core.remove_refs(ClientId::DRIVER, &[id], out));
    }
}

/// The driver's handle on the node it hosts: every call is a direct state transition.
pub struct DriverClient {
    shared: Arc<NodeShared>,
    refs: Arc<LocalRefs>,
    ids: TaskIdGenerator,
}

impl DriverClient {
    fn check_running(&self) -> Result<()> {
        if self.shared.is_stopping() {
            return Err(RuntimeError::ShutDown);
        }
        Ok(())
    }

    /// Starts a get or wait and blocks until it ends, the timeout passes, or `interrupt`.
    fn block_on(
        &self,
        ids: Vec<ObjectId>,
        kind: WaitKind,
        timeout: Option<Duration>,
        interrupt: Interrupt<'_>,
    ) -> Result<WaitResult> {
        self.check_running()?;
        let block = timeout != Some(Duration::ZERO);
        let started = self.shared.with_state(|state, out| {
            match state
                .core
                .get_or_wait(ClientId::DRIVER, 0, ids, kind, block, out)
            {
                WaitStart::Done(result) => Ok(result),
                WaitStart::Pending(waiter) => {
                    let slot = Arc::new(WaitSlot::default());
                    state.driver_waiters.insert(waiter, slot.clone());
                    Err((waiter, slot))
                }
            }
        });
        let (waiter, slot) = match started {
            Ok(result) => return Ok(result),
            Err(pending) => pending,
        };
        let deadline = deadline(timeout);
        loop {
            if let Some(result) = slot.wait_for(next_pause(deadline)) {
                return Ok(result);
            }
            let expired = deadline.is_some_and(|at| std::time::Instant::now() >= at);
            let interrupted = !expired && interrupt();
            let stopping = self.shared.is_stopping();
            if !(expired || interrupted || stopping) {
                continue;
            }
            let cancelled = self.shared.with_state(|state, out| {
                state.driver_waiters.remove(&waiter);
                state.core.cancel_waiter(waiter, out)
            });
            // None: the result was produced meanwhile and is on its way to the slot.
            let result = match cancelled {
                Some(result) => result,
                None => loop {
                    if let Some(result) = slot.wait_for(Duration::from_millis(50)) {
                        break result;
                    }
                },
            };
            return match (interrupted, stopping) {
                (true, _) => Err(RuntimeError::Interrupted),
                (_, true) => Err(RuntimeError::ShutDown),
                _ => Ok(result),
            };
        }
    }
}

impl Client for DriverClient {
    fn info(&self) -> &SessionInfo {
        &self.shared.info
    }

    fn task_ids(&self) -> &TaskIdGenerator {
        &self.ids
    }

    fn refs(&self) -> &Arc<LocalRefs> {
        &self.refs
    }

    fn register_function(&self, id: FunctionId, function: Bytes) -> Result<()> {
        self.shared.functions.write().entry(id).or_insert(function);
        Ok(())
    }

    fn submit(&self, spec: TaskSpec, _confirm: bool) -> Result<()> {
        self.check_running()?;
        self.shared
            .with_state(|state, out| state.core.submit(ClientId::DRIVER, spec, out))?;
        Ok(())
    }

    fn create_actor(&self, spec: TaskSpec, get_if_exists: bool) -> Result<ActorCreated> {
        self.check_running()?;
        Ok(self.shared.with_state(|state, out| {
            state
                .core
                .create_actor(ClientId::DRIVER, spec, get_if_exists, out)
        })?)
    }

    fn named_actor(&self, name: ActorName) -> Result<Option<(ActorId, Bytes)>> {
        self.check_running()?;
        Ok(self
            .shared
            .with_state(|state, _| state.core.named_actor(ClientId::DRIVER, &name)))
    }

    fn named_actors(&self, namespace: Option<String>) -> Result<Vec<ActorName>> {
        Ok(self
            .shared
            .with_state(|state, _| state.core.named_actors(namespace.as_deref())))
    }

    fn kill_actor(&self, actor: ActorId, no_restart: bool) -> Result<()> {
        self.check_running()?;
        self.shared
            .with_state(|state, out| state.core.kill_actor(actor, no_restart, out));
        Ok(())
    }

    fn cancel(&self, object: ObjectId, force: bool, recursive: bool) -> Result<()> {
        self.check_running()?;
        self.shared
            .with_state(|state, out| state.core.cancel(object, force, recursive, out))
            .map_err(RuntimeError::from)
    }

    fn actor_exiting(&self, _actor: ActorId, _call: Option<TaskId>) -> Result<()> {
        Err(RuntimeError::Protocol("the driver hosts no actor".into()))
    }

    fn stream_next(
        &self,
        task: TaskId,
        index: u32,
        timeout: Option<Duration>,
        interrupt: Interrupt<'_>,
    ) -> Result<StreamStep> {
        let kind = WaitKind::StreamNext { task, index };
        Ok(match self.block_on(Vec::new(), kind, timeout, interrupt)? {
            WaitResult::StreamItem(id) => StreamStep::Item(id),
            WaitResult::StreamEnd => StreamStep::End,
            _ => StreamStep::TimedOut,
        })
    }

    fn stream_item(&self, _task: TaskId, _index: u32, _payload: Payload) -> Result<()> {
        Err(RuntimeError::Protocol("the driver runs no task".into()))
    }

    fn put(&self, id: ObjectId, payload: Payload) -> Result<()> {
        self.check_running()?;
        self.shared
            .with_state(|state, out| state.core.put(ClientId::DRIVER, id, payload, out))
            .map_err(RuntimeError::from)
    }

    fn get(
        &self,
        ids: Vec<ObjectId>,
        timeout: Option<Duration>,
        interrupt: Interrupt<'_>,
    ) -> Result<GetOutcome> {
        Ok(
            match self.block_on(ids, WaitKind::Get, timeout, interrupt)? {
                WaitResult::Values(values) => GetOutcome::Values(values),
                WaitResult::Failed(error) => GetOutcome::Failed(error),
                WaitResult::TimedOut
                | WaitResult::Ready(_)
                | WaitResult::StreamItem(_)
                | WaitResult::StreamEnd => GetOutcome::TimedOut,
            },
        )
    }

    fn wait(
        &self,
        ids: Vec<ObjectId>,
        num_returns: usize,
        timeout: Option<Duration>,
        interrupt: Interrupt<'_>,
    ) -> Result<Vec<u32>> {
        match self.block_on(ids, WaitKind::Wait { num_returns }, timeout, interrupt)? {
            WaitResult::Ready(ready) => Ok(ready),
            other => Err(RuntimeError::Protocol(format!("a wait ended as {other:?}"))),
        }
    }

    fn resources(&self) -> Result<(ResourceSet, ResourceSet)> {
        Ok(self
            .shared
            .with_state(|state, _| (state.core.total().clone(), state.core.available())))
    }

    fn create_placement_group(&self, spec: PlacementGroupSpec) -> Result<()> {
        self.check_running()?;
        self.shared.with_state(|state, out| {
            state
                .core
                .create_placement_group(ClientId::DRIVER, spec, out)
        });
        Ok(())
    }

    fn remove_placement_group(&self, id: PlacementGroupId) -> Result<()> {
        self.check_running()?;
        self.shared
            .with_state(|state, out| state.core.remove_placement_group(id, out));
        Ok(())
    }

    fn placement_group(&self, id: PlacementGroupId) -> Result<Option<PlacementGroupInfo>> {
        Ok(self.shared.state.lock().core.placement_group(id))
    }

    fn placement_groups(&self) -> Result<Vec<PlacementGroupInfo>> {
        Ok(self.shared.state.lock().core.placement_groups())
    }

    fn placement_group_named(&self, name: ActorName) -> Result<Option<PlacementGroupInfo>> {
        let core = &self.shared.state.lock().core;
        Ok(core
            .placement_group_named(&name)
            .and_then(|id| core.placement_group(id)))
    }
}
