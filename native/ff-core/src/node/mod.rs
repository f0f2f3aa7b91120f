//! The node as one state machine: tasks, objects, workers and resources.
//!
//! Every event (a submission, a result, a worker connecting or dying, a get) is a method that
//! changes the state and appends [`Action`]s for the runtime to carry out: send a task to a
//! worker, start or stop a process, wake a waiting get. Nothing here does I/O or reads a clock,
//! so every path can be driven and checked directly in tests.
//!
//! The events are grouped by concern: `tasks` (submission, results, stored values),
//! `actors` (actor creation, calls, restarts, names), `lifecycle` (worker processes),
//! `waiting` (gets and waits), `scheduling` (handing queued tasks to workers).

mod actors;
mod cancel;
mod drain;
mod lifecycle;
mod placement_groups;
mod scheduling;
mod store;
mod streams;
mod tasks;
mod waiting;

use actors::ActorEntry;
pub use actors::{death, ActorCreated};
use placement_groups::PlacementGroups;
pub use placement_groups::{
    bundle_resource_name, PlacementGroupInfo, PlacementGroupSpec, PlacementGroupState,
    PlacementStrategy,
};
use store::SharedMemory;
pub use store::{store_full_error, StoreFull, StoreUsage};
use waiting::Waiter;
pub use waiting::{WaitKind, WaitResult, WaitStart};

use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::error::CoreError;
use crate::ids::{ActorId, ObjectId, TaskId, WorkerId};
use crate::object::{ErrorKind, Payload, StoredObject};
use crate::object_table::{ClientId, Lookup, ObjectTable, Status, WaiterId};
use crate::queues::{ClassId, ReadyQueues};
use crate::resources::{GpuSlots, Quantity, ResourceSet, CPU, GPU};

/// The resource whose amount is the shared store's capacity in bytes.
const OBJECT_STORE_MEMORY: &str = "object_store_memory";
use crate::task::{ActorName, EnvVars, TaskKind, TaskSpec};
use crate::workers::{EnvId, Grant, Running, WorkerPool, WorkerState};

#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Everything the node offers: CPU, GPU, memory and custom resources.
    pub total: ResourceSet,
    /// Idle workers beyond this many are stopped after `idle_ticks_before_stop` ticks.
    pub worker_soft_limit: u32,
    /// Worker processes that may be starting at once.
    pub max_starting_workers: u32,
    /// Consecutive start-up failures of one environment after which its queued tasks fail.
    pub max_startup_failures: u32,
    pub idle_ticks_before_stop: u64,
}

impl NodeConfig {
    pub fn with_total(total: ResourceSet) -> Self {
        let cpus = total.get(CPU).to_f64().ceil().max(1.0) as u32;
        Self {
            total,
            worker_soft_limit: cpus,
            max_starting_workers: cpus.max(2),
            max_startup_failures: 3,
            idle_ticks_before_stop: 2,
        }
    }
}

/// A task handed to a worker, with everything the worker needs to run it.
#[derive(Debug, Clone)]
pub struct Dispatch {
    pub worker: WorkerId,
    pub spec: TaskSpec,
    /// Values of `spec.arg_refs`, in order.
    pub arg_values: Vec<StoredObject>,
    /// The worker has not run this function before: send its definition along.
    pub send_function: bool,
    pub assigned: Arc<ResourceSet>,
    pub gpu_ids: Vec<u32>,
    /// 0 for the first attempt, then one more per retry.
    pub attempt: u32,
}

#[derive(Debug, Clone)]
pub enum Action {
    Dispatch(Box<Dispatch>),
    StartWorker {
        worker: WorkerId,
        env: EnvId,
    },
    /// Tell a worker to exit once it is idle (max_calls reached, or too many idle workers).
    StopWorker {
        worker: WorkerId,
    },
    /// A pending get or wait finished; `tag` is what its client asked to be told.
    WaiterDone {
        waiter: WaiterId,
        client: ClientId,
        tag: u64,
        result: WaitResult,
    },
    /// No holder is left: the object's memory can go.
    Freed(ObjectId),
    /// End a worker process now (`ray.kill` of the actor it hosts, `ray.cancel(force=True)`).
    KillWorker {
        worker: WorkerId,
    },
    /// Tell a worker that `ray.cancel` reached a task it was handed.
    CancelRunning {
        worker: WorkerId,
        task: TaskId,
    },
    /// The shared store is over its capacity: copy this object's bytes to disk, then report
    /// back with [`Node::object_spilled`] (or [`Node::spill_failed`]).
    Spill {
        id: ObjectId,
        segment: Arc<dyn crate::object::SharedSegment>,
    },
    /// No amount of waiting gives this task the resources it asks for.
    Infeasible {
        task_name: Arc<str>,
        request: Arc<ResourceSet>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TaskState {
    WaitingForArgs(u32),
    /// In its scheduling class's queue, waiting for resources and a worker.
    Queued,
    /// An actor call with its arguments ready, in its caller's queue on the actor.
    ActorQueued,
    Running(WorkerId),
}

#[derive(Debug)]
struct TaskEntry {
    spec: TaskSpec,
    class: ClassId,
    state: TaskState,
    attempt: u32,
    /// `ray.cancel` reached it while it ran: it is not retried, whatever happens to it.
    cancelled: bool,
}

impl TaskEntry {
    fn may_retry(&self) -> bool {
        let max = self.spec.options.max_retries;
        !self.cancelled && (max < 0 || self.attempt < max as u32)
    }
}

#[derive(Debug, Default)]
struct EnvTable {
    ids: FxHashMap<Arc<EnvVars>, EnvId>,
    vars: Vec<Arc<EnvVars>>,
}

impl EnvTable {
    fn new() -> Self {
        let default = Arc::new(EnvVars::new());
        let mut ids = FxHashMap::default();
        ids.insert(default.clone(), EnvId::DEFAULT);
        Self {
            ids,
            vars: vec![default],
        }
    }

    fn intern(&mut self, vars: &Arc<EnvVars>) -> EnvId {
        if vars.is_empty() {
            return EnvId::DEFAULT;
        }
        if let Some(id) = self.ids.get(vars) {
            return *id;
        }
        let id = EnvId(self.vars.len() as u32);
        self.vars.push(vars.clone());
        self.ids.insert(vars.clone(), id);
        id
    }
}

#[derive(Debug)]
pub struct Node {
    config: NodeConfig,
    objects: ObjectTable,
    tasks: FxHashMap<TaskId, TaskEntry>,
    queues: ReadyQueues,
    available: ResourceSet,
    gpus: GpuSlots,
    workers: WorkerPool,
    envs: EnvTable,
    waiters: FxHashMap<WaiterId, Waiter>,
    next_waiter: u64,
    tick: u64,
    warned_infeasible: FxHashSet<ClassId>,
    startup_failures: FxHashMap<EnvId, u32>,
    actors: FxHashMap<ActorId, ActorEntry>,
    named: FxHashMap<ActorName, ActorId>,
    actor_by_object: FxHashMap<ObjectId, ActorId>,
    streams: FxHashMap<TaskId, streams::Stream>,
    memory: SharedMemory,
    /// Tasks (and actor calls) that each unfinished task submitted and that are unfinished.
    children: FxHashMap<TaskId, FxHashSet<TaskId>>,
    /// Shutdown has begun: nothing new is dispatched or started (see `drain`).
    draining: bool,
    placement_groups: PlacementGroups,
}

/// A stored value waiting to be handed to the object table (see `store_all`).
type StoreWork = Vec<(ObjectId, StoredObject)>;

impl Node {
    pub fn new(config: NodeConfig) -> Self {
        let gpu_count = config.total.get(GPU).to_f64().floor() as u32;
        // No object_store_memory in the resources: no cap.
        let store = config.total.get(OBJECT_STORE_MEMORY).to_f64();
        let capacity = if store > 0.0 { store as u64 } else { u64::MAX };
        Self {
            memory: SharedMemory::new(capacity),
            available: config.total.clone(),
            gpus: GpuSlots::new(gpu_count),
            config,
            objects: ObjectTable::new(),
            tasks: FxHashMap::default(),
            queues: ReadyQueues::new(),
            workers: WorkerPool::new(),
            envs: EnvTable::new(),
            waiters: FxHashMap::default(),
            next_waiter: 1,
            tick: 0,
            warned_infeasible: FxHashSet::default(),
            startup_failures: FxHashMap::default(),
            actors: FxHashMap::default(),
            named: FxHashMap::default(),
            actor_by_object: FxHashMap::default(),
            streams: FxHashMap::default(),
            children: FxHashMap::default(),
            draining: false,
            placement_groups: PlacementGroups::default(),
        }
    }

    pub fn total(&self) -> &ResourceSet {
        &self.config.total
    }

    /// Free resources, never below zero (a worker back from a get may briefly over-subscribe).
    pub fn available(&self) -> ResourceSet {
        ResourceSet::from_pairs(
            self.available
                .iter()
                .filter(|(_, amount)| *amount > Quantity::ZERO),
        )
    }

    pub fn objects(&self) -> &ObjectTable {
        &self.objects
    }

    pub fn lookup(&self, id: ObjectId) -> Lookup {
        self.objects.lookup(id)
    }

    pub fn env_vars(&self, env: EnvId) -> Arc<EnvVars> {
        self.envs.vars[env.0 as usize].clone()
    }

    pub fn task_count(&self) -> usize {
        self.tasks.len()
    }

    pub fn worker_client(&self, worker: WorkerId) -> Option<ClientId> {
        self.workers.get(worker).map(|w| w.client)
    }

    /// The worker process behind a client, if the client is a worker.
    pub fn worker_of(&self, client: ClientId) -> Option<WorkerId> {
        self.workers.by_client(client)
    }

    /// Checks the bookkeeping that must always hold; for tests.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut accounted = self.available.clone();
        for worker in self.workers.iter() {
            if let WorkerState::Hosting(_, running) = &worker.state {
                accounted.add_all(&running.grant.resources);
                if running.blocked > 0 {
                    accounted.add(CPU, Quantity::ZERO - running.grant.resources.get(CPU));
                }
            }
            if let WorkerState::Busy(running) = &worker.state {
                accounted.add_all(&running.grant.resources);
                if running.blocked > 0 {
                    accounted.add(CPU, Quantity::ZERO - running.grant.resources.get(CPU));
                }
                match self.tasks.get(&running.task).map(|t| t.state) {
                    Some(TaskState::Running(w)) if w == worker.id => {}
                    other => return Err(format!("{} runs a task in state {other:?}", worker.id)),
                }
            }
        }
        accounted.add_all(&self.placement_groups.reserved());
        // A removed group's bundle resources may still be held by workers being killed.
        let gone: Vec<String> = accounted
            .iter()
            .filter(|(name, _)| self.config.total.get(name).is_zero())
            .map(|(name, _)| name.to_string())
            .collect();
        for name in gone {
            accounted.set(&name, Quantity::ZERO);
        }
        if accounted != self.config.total {
            return Err(format!(
                "resources leak: {accounted:?} != {:?}",
                self.config.total
            ));
        }
        let queued = self
            .tasks
            .values()
            .filter(|t| t.state == TaskState::Queued)
            .count();
        if queued != self.queues.queued() {
            return Err(format!(
                "{queued} tasks queued but {} in queues",
                self.queues.queued()
            ));
        }
        Ok(())
    }
}

/// The values of a task's ref arguments, in order (lost ones as errors).
fn resolved_args(objects: &ObjectTable, spec: &TaskSpec) -> Vec<StoredObject> {
    spec.arg_refs
        .iter()
        .map(|id| match objects.lookup(*id) {
            Lookup::Ready(value) => value,
            Lookup::Pending | Lookup::Unknown => lost_object(*id),
        })
        .collect()
}

/// The message is the object's id in hex: Python words the error as Ray does.
fn lost_object(id: ObjectId) -> StoredObject {
    Arc::new(Payload::system_error(ErrorKind::ObjectLost, id.hex()))
}
