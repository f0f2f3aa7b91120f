//! State shared by the node's tasks and the driver's threads, and the one way to change it:
//! [`NodeShared::with_state`] runs a transition under the lock, then carries out the actions it
//! produced after the lock is released.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ff_core::ids::ObjectId;
use ff_core::ids::{FunctionId, TaskId, WorkerId};
use ff_core::node::{Action, Dispatch, Node as CoreNode, WaitResult};
use ff_core::object::{ErrorKind, Payload, SharedSegment};
use ff_core::object_table::{ClientId, WaiterId};
use ff_core::task::EnvVars;
use ff_proto as pb;
use parking_lot::{Condvar, Mutex, RwLock};
use rustc_hash::FxHashMap;

use super::fork_server::ForkServer;
use super::link::WorkerLink;
use super::logs::{DriverEvent, EventSender};
use super::NodeConfig;
use crate::client::SessionInfo;
use crate::convert::{self, FrameFds};

/// Where a driver thread blocked in get/wait receives its result.
#[derive(Default)]
pub struct WaitSlot {
    result: Mutex<Option<WaitResult>>,
    filled: Condvar,
}

impl WaitSlot {
    fn fill(&self, result: WaitResult) {
        *self.result.lock() = Some(result);
        self.filled.notify_all();
    }

    /// The result, if it arrives before `pause` is over.
    pub fn wait_for(&self, pause: Duration) -> Option<WaitResult> {
        let mut result = self.result.lock();
        if result.is_none() {
            self.filled.wait_for(&mut result, pause);
        }
        result.take()
    }
}

/// A live worker process, and who reaps (and may signal) it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerProcess {
    /// Started by the node: a child of the driver, reaped by its watcher task.
    Child(u32),
    /// Forked by the fork server, which reaps it and signals it on the node's behalf.
    Forked(u32),
}

impl WorkerProcess {
    pub fn pid(self) -> u32 {
        match self {
            Self::Child(pid) | Self::Forked(pid) => pid,
        }
    }
}

pub struct NodeState {
    pub core: CoreNode,
    pub driver_waiters: FxHashMap<WaiterId, Arc<WaitSlot>>,
}

/// What is left to do once the state lock is released.
enum Effect {
    Dispatch(Box<Dispatch>),
    Start {
        worker: WorkerId,
        env: Arc<EnvVars>,
    },
    Stop(WorkerId),
    Kill(WorkerId),
    CancelRunning {
        worker: WorkerId,
        task: TaskId,
    },
    WakeDriver {
        slot: Arc<WaitSlot>,
        result: WaitResult,
    },
    ReplyToWorker {
        worker: WorkerId,
        tag: u64,
        result: WaitResult,
    },
    Tell(DriverEvent),
    Spill {
        id: ObjectId,
        segment: Arc<dyn SharedSegment>,
    },
}

pub struct NodeShared {
    pub state: Mutex<NodeState>,
    pub links: RwLock<FxHashMap<WorkerId, Arc<WorkerLink>>>,
    pub functions: RwLock<FxHashMap<FunctionId, Bytes>>,
    /// Live worker processes, so they can be killed and shutdown can end them.
    pub processes: Mutex<FxHashMap<WorkerId, WorkerProcess>>,
    pub fork_server: Option<Arc<ForkServer>>,
    pub events: EventSender,
    pub info: SessionInfo,
    pub config: NodeConfig,
    pub runtime: tokio::runtime::Handle,
    /// Worker output streams still being read; shutdown lets them drain.
    pub open_outputs: AtomicUsize,
    stopping: AtomicBool,
}

impl NodeShared {
    pub fn new(
        core: CoreNode,
        events: EventSender,
        info: SessionInfo,
        config: NodeConfig,
        runtime: tokio::runtime::Handle,
        fork_server: Option<Arc<ForkServer>>,
    ) -> Self {
        Self {
            state: Mutex::new(NodeState {
                core,
                driver_waiters: FxHashMap::default(),
            }),
            links: RwLock::new(FxHashMap::default()),
            functions: RwLock::new(FxHashMap::default()),
            processes: Mutex::new(FxHashMap::default()),
            fork_server,
            events,
            info,
            config,
            runtime,
            open_outputs: AtomicUsize::new(0),
            stopping: AtomicBool::new(false),
        }
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    pub fn begin_stop(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// Runs `transition` on the state, then carries out the resulting actions unlocked.
    pub fn with_state<R>(
        self: &Arc<Self>,
        transition: impl FnOnce(&mut NodeState, &mut Vec<Action>) -> R,
    ) -> R {
        let mut actions = Vec::new();
        let (result, effects) = {
            let mut state = self.state.lock();
            let result = transition(&mut state, &mut actions);
            let effects = prepare(&mut state, actions);
            (result, effects)
        };
        for effect in effects {
            self.carry_out(effect);
        }
        result
    }

    fn carry_out(self: &Arc<Self>, effect: Effect) {
        match effect {
            Effect::Dispatch(dispatch) => {
                let function = dispatch
                    .send_function
                    .then(|| {
                        self.functions
                            .read()
                            .get(&dispatch.spec.options.function_id)
                            .cloned()
                    })
                    .flatten();
                match convert::execute_message(&dispatch, function) {
                    Ok((message, fds)) => self.send_with_fds(dispatch.worker, &message, fds),
                    Err(error) => {
                        // Out of descriptors, say: the task fails instead of going out.
                        tracing::warn!(%error, "could not send a task to its worker");
                        self.kill_process(dispatch.worker);
                    }
                }
            }
            Effect::Start { worker, env } => {
                if !self.is_stopping() {
                    let shared = self.clone();
                    self.runtime
                        .spawn(async move { super::spawner::start(shared, worker, env).await });
                }
            }
            Effect::Stop(worker) => self.send(
                worker,
                &pb::ToWorker {
                    fd_count: 0,
                    msg: Some(pb::to_worker::Msg::Exit(pb::Exit {})),
                },
            ),
            Effect::Kill(worker) => self.kill_process(worker),
            Effect::CancelRunning { worker, task } => self.send(
                worker,
                &pb::ToWorker {
                    fd_count: 0,
                    msg: Some(pb::to_worker::Msg::Cancel(pb::CancelRunning {
                        task_id: Bytes::copy_from_slice(task.as_bytes()),
                    })),
                },
            ),
            Effect::WakeDriver { slot, result } => slot.fill(result),
            Effect::ReplyToWorker {
                worker,
                tag,
                result,
            } => {
                let (message, fds) = reply_message(tag, result);
                self.send_with_fds(worker, &message, fds);
            }
            Effect::Tell(event) => self.events.send(event),
            Effect::Spill { id, segment } => {
                let shared = self.clone();
                self.runtime
                    .spawn_blocking(move || super::spill::spill(&shared, id, &*segment));
            }
        }
    }

    pub fn send(&self, worker: WorkerId, message: &pb::ToWorker) {
        self.send_with_fds(worker, message, Vec::new());
    }

    pub fn send_with_fds(&self, worker: WorkerId, message: &pb::ToWorker, fds: FrameFds) {
        let link = self.links.read().get(&worker).cloned();
        match link {
            Some(link) => link.send_with_fds(message, fds),
            None => tracing::debug!(%worker, "message for a worker that is not connected"),
        }
    }

    /// Ends a worker process at once (SIGKILL); its death is handled when the process is
    /// reaped, like any other.
    pub fn kill_process(&self, worker: WorkerId) {
        let process = self.processes.lock().get(&worker).copied();
        if let Some(process) = process {
            self.signal_kill(process);
        }
    }

    fn signal_kill(&self, process: WorkerProcess) {
        match process {
            WorkerProcess::Child(pid) => {
                // SAFETY: kill(2) on a child not reaped yet (its watcher removes it from
                // `processes` before anything else once it reaps), so the pid is not reused.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
            WorkerProcess::Forked(pid) => {
                if let Some(server) = self.fork_server.clone() {
                    self.runtime.spawn(async move {
                        if let Err(error) = server.kill(pid).await {
                            tracing::debug!(%error, pid, "could not ask the fork server to kill");
                        }
                    });
                }
            }
        }
    }

    /// Answers a worker's get/wait when its timeout passes, unless it was answered already.
    pub fn expire_worker_wait(self: &Arc<Self>, worker: WorkerId, waiter: WaiterId, tag: u64) {
        let result = self.with_state(|state, out| state.core.cancel_waiter(waiter, out));
        if let Some(result) = result {
            let (message, fds) = reply_message(tag, result);
            self.send_with_fds(worker, &message, fds);
        }
    }

    /// Lets the tasks that are running finish, up to `grace`, while nothing new starts.
    pub fn drain(self: &Arc<Self>, grace: Duration) {
        self.with_state(|state, _| state.core.begin_drain());
        let until = Instant::now() + grace;
        while Instant::now() < until && self.state.lock().core.running_task_count() > 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops every worker process: closes their connections (they exit on end-of-file), waits
    /// up to `grace` for them, then kills what is left.
    pub fn stop_workers(&self, grace: Duration) {
        for link in self.links.write().drain().map(|(_, link)| link) {
            link.close();
        }
        let until = Instant::now() + grace;
        while Instant::now() < until && !self.processes.lock().is_empty() {
            std::thread::sleep(Duration::from_millis(5));
        }
        let left: Vec<WorkerProcess> = self.processes.lock().values().copied().collect();
        for process in left {
            self.signal_kill(process);
        }
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until && !self.processes.lock().is_empty() {
            std::thread::sleep(Duration::from_millis(5));
        }
        // The processes are gone; what they printed last is still on its way.
        let until = Instant::now() + Duration::from_millis(500);
        while Instant::now() < until && self.open_outputs.load(Ordering::Acquire) > 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

fn prepare(state: &mut NodeState, actions: Vec<Action>) -> Vec<Effect> {
    let mut effects = Vec::with_capacity(actions.len());
    for action in actions {
        match action {
            Action::Dispatch(dispatch) => effects.push(Effect::Dispatch(dispatch)),
            Action::StartWorker { worker, env } => effects.push(Effect::Start {
                worker,
                env: state.core.env_vars(env),
            }),
            Action::StopWorker { worker } => effects.push(Effect::Stop(worker)),
            Action::KillWorker { worker } => effects.push(Effect::Kill(worker)),
            Action::CancelRunning { worker, task } => {
                effects.push(Effect::CancelRunning { worker, task })
            }
            Action::WaiterDone {
                waiter,
                client,
                tag,
                result,
            } => {
                if client == ClientId::DRIVER {
                    if let Some(slot) = state.driver_waiters.remove(&waiter) {
                        effects.push(Effect::WakeDriver { slot, result });
                    }
                } else if let Some(worker) = state.core.worker_of(client) {
                    effects.push(Effect::ReplyToWorker {
                        worker,
                        tag,
                        result,
                    });
                }
            }
            Action::Freed(id) => tracing::trace!(%id, "object freed"),
            Action::Spill { id, segment } => effects.push(Effect::Spill { id, segment }),
            Action::Infeasible { task_name, request } => {
                effects.push(Effect::Tell(DriverEvent::Infeasible {
                    task_name: task_name.to_string(),
                    request: (*request).clone(),
                }))
            }
        }
    }
    effects
}

/// The reply to a worker's get (values, an error, or a timeout) or wait (ready indices), and
/// the descriptors of its shared values.
pub fn reply_message(request_id: u64, result: WaitResult) -> (pb::ToWorker, FrameFds) {
    use pb::to_worker::Msg;
    let mut fds = FrameFds::new();
    let msg = match result {
        WaitResult::Values(values) => {
            let payloads = values
                .iter()
                .map(|v| convert::payload_to_wire(v, &mut fds))
                .collect::<crate::Result<Vec<_>>>();
            let payloads = payloads.unwrap_or_else(|error| {
                fds.clear();
                let message = format!("could not pass a shared object to the worker: {error}");
                let failure = Payload::system_error(ErrorKind::SystemError, message);
                vec![convert::payload_to_wire(&failure, &mut fds).expect("no descriptor")]
            });
            Msg::GetReply(pb::GetReply {
                request_id,
                payloads,
                timed_out: false,
            })
        }
        WaitResult::Failed(error) => Msg::GetReply(pb::GetReply {
            request_id,
            payloads: vec![convert::payload_to_wire(&error, &mut fds).expect("errors are inline")],
            timed_out: false,
        }),
        WaitResult::TimedOut => Msg::GetReply(pb::GetReply {
            request_id,
            payloads: Vec::new(),
            timed_out: true,
        }),
        WaitResult::Ready(ready) => Msg::WaitReply(pb::WaitReply { request_id, ready }),
        WaitResult::StreamItem(id) => Msg::Stream(pb::StreamReply {
            request_id,
            item: id.as_bytes().to_vec().into(),
            end: false,
        }),
        WaitResult::StreamEnd => Msg::Stream(pb::StreamReply {
            request_id,
            item: Default::default(),
            end: true,
        }),
    };
    let message = pb::ToWorker {
        fd_count: fds.len() as u32,
        msg: Some(msg),
    };
    (message, fds)
}
