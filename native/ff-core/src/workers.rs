//! The node's worker processes as records: which are starting, idle, busy or leaving.

use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::ids::{ActorId, FunctionId, TaskId, WorkerId};
use crate::object_table::ClientId;
use crate::resources::{GpuGrant, ResourceSet};

/// A set of environment variables workers are started with (0 is the job's own).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnvId(pub u32);

impl EnvId {
    pub const DEFAULT: Self = Self(0);
}

/// Resources a running task holds.
#[derive(Clone, Debug, Default)]
pub struct Grant {
    pub resources: Arc<ResourceSet>,
    pub gpus: GpuGrant,
}

#[derive(Debug)]
pub struct Running {
    pub task: TaskId,
    pub grant: Grant,
    /// Gets/waits this worker is blocked in; while any, its CPUs are lent back to the node.
    pub blocked: u32,
}

#[derive(Debug)]
pub enum WorkerState {
    /// Spawned, not yet connected.
    Starting,
    /// Connected and free since the given scheduler tick.
    Idle {
        since_tick: u64,
    },
    Busy(Running),
    /// Dedicated to an actor for the rest of its life, holding the actor's resources.
    Hosting(ActorId, Running),
    /// Told to exit; gone from scheduling, waiting for the process to end.
    Retiring,
    /// Not a worker: a driver attached over the node's socket (the Ray Client's connection).
    /// It submits work and holds objects like any client, and is never given a task.
    Attached,
}

#[derive(Debug)]
pub struct Worker {
    pub id: WorkerId,
    pub client: ClientId,
    pub env: EnvId,
    /// The process id, once the worker has said it (0 until then).
    pub pid: u32,
    pub state: WorkerState,
    known_functions: FxHashSet<FunctionId>,
    calls: FxHashMap<FunctionId, u32>,
}

impl Worker {
    /// Records that the worker will have `function` after this dispatch; true if it is new.
    pub fn learn_function(&mut self, function: FunctionId) -> bool {
        self.known_functions.insert(function)
    }

    /// Counts one finished call of `function` and returns the calls so far.
    pub fn count_call(&mut self, function: FunctionId) -> u32 {
        let calls = self.calls.entry(function).or_insert(0);
        *calls += 1;
        *calls
    }

    /// What the worker holds while it runs a task or hosts an actor.
    pub fn running(&self) -> Option<&Running> {
        match &self.state {
            WorkerState::Busy(running) | WorkerState::Hosting(_, running) => Some(running),
            _ => None,
        }
    }

    pub fn running_mut(&mut self) -> Option<&mut Running> {
        match &mut self.state {
            WorkerState::Busy(running) | WorkerState::Hosting(_, running) => Some(running),
            _ => None,
        }
    }
}

#[derive(Debug, Default)]
pub struct WorkerPool {
    workers: FxHashMap<WorkerId, Worker>,
    by_client: FxHashMap<ClientId, WorkerId>,
    /// Idle workers per environment, most recently used last.
    idle: FxHashMap<EnvId, Vec<WorkerId>>,
    starting: FxHashMap<EnvId, u32>,
    next_client: u32,
}

impl WorkerPool {
    pub fn new() -> Self {
        Self {
            next_client: 1,
            ..Self::default()
        }
    }

    pub fn add_starting(&mut self, env: EnvId) -> WorkerId {
        let id = WorkerId::random();
        self.insert(id, env, WorkerState::Starting);
        *self.starting.entry(env).or_default() += 1;
        id
    }

    /// Records a driver attached over the socket under its connection's id; None if the id
    /// is taken.
    pub fn add_attached(&mut self, id: WorkerId) -> Option<ClientId> {
        if self.workers.contains_key(&id) {
            return None;
        }
        Some(self.insert(id, EnvId::DEFAULT, WorkerState::Attached))
    }

    /// Adds a record under a fresh client id.
    fn insert(&mut self, id: WorkerId, env: EnvId, state: WorkerState) -> ClientId {
        let client = ClientId(self.next_client);
        self.next_client += 1;
        self.workers.insert(
            id,
            Worker {
                id,
                client,
                env,
                pid: 0,
                state,
                known_functions: FxHashSet::default(),
                calls: FxHashMap::default(),
            },
        );
        self.by_client.insert(client, id);
        client
    }

    pub fn get(&self, id: WorkerId) -> Option<&Worker> {
        self.workers.get(&id)
    }

    pub fn get_mut(&mut self, id: WorkerId) -> Option<&mut Worker> {
        self.workers.get_mut(&id)
    }

    pub fn by_client(&self, client: ClientId) -> Option<WorkerId> {
        self.by_client.get(&client).copied()
    }

    pub fn starting(&self, env: EnvId) -> u32 {
        self.starting.get(&env).copied().unwrap_or(0)
    }

    pub fn starting_total(&self) -> u32 {
        self.starting.values().sum()
    }

    /// A starting worker connected; it is idle from `tick`.
    pub fn mark_connected(&mut self, id: WorkerId, tick: u64) -> Option<ClientId> {
        let worker = self.workers.get_mut(&id)?;
        if !matches!(worker.state, WorkerState::Starting) {
            return None;
        }
        if let Some(count) = self.starting.get_mut(&worker.env) {
            *count -= 1;
        }
        worker.state = WorkerState::Idle { since_tick: tick };
        self.idle.entry(worker.env).or_default().push(id);
        Some(worker.client)
    }

    /// Takes the most recently used idle worker of `env`.
    pub fn take_idle(&mut self, env: EnvId) -> Option<WorkerId> {
        self.idle.get_mut(&env)?.pop()
    }

    pub fn make_idle(&mut self, id: WorkerId, tick: u64) {
        if let Some(worker) = self.workers.get_mut(&id) {
            worker.state = WorkerState::Idle { since_tick: tick };
            self.idle.entry(worker.env).or_default().push(id);
        }
    }

    /// Takes a worker out of scheduling for good (it has been told to exit).
    pub fn retire(&mut self, id: WorkerId) {
        if let Some(worker) = self.workers.get_mut(&id) {
            if matches!(worker.state, WorkerState::Idle { .. }) {
                if let Some(stack) = self.idle.get_mut(&worker.env) {
                    stack.retain(|idle| *idle != id);
                }
            }
            worker.state = WorkerState::Retiring;
        }
    }

    /// Forgets a worker whose process has ended, returning its last record.
    pub fn remove(&mut self, id: WorkerId) -> Option<Worker> {
        let worker = self.workers.remove(&id)?;
        self.by_client.remove(&worker.client);
        match worker.state {
            WorkerState::Starting => {
                if let Some(count) = self.starting.get_mut(&worker.env) {
                    *count -= 1;
                }
            }
            WorkerState::Idle { .. } => {
                if let Some(stack) = self.idle.get_mut(&worker.env) {
                    stack.retain(|idle| *idle != id);
                }
            }
            WorkerState::Busy(_)
            | WorkerState::Hosting(..)
            | WorkerState::Retiring
            | WorkerState::Attached => {}
        }
        Some(worker)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Worker> {
        self.workers.values()
    }

    /// Worker processes that are not leaving: starting, idle or busy.
    pub fn live_count(&self) -> usize {
        self.workers
            .values()
            .filter(|w| !matches!(w.state, WorkerState::Retiring | WorkerState::Attached))
            .count()
    }

    pub fn len(&self) -> usize {
        self.workers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }
}
