//! The node as one state machine: tasks, objects, workers and resources.
//!
//! Every event (a submission, a result, a worker connecting or dying, a get) is a method that
//! changes the state and appends [`Action`]s for the runtime to carry out: send a task to a
//! worker, start or stop a process, wake a waiting get. Nothing here does I/O or reads a clock,
//! so every path can be driven and checked directly in tests.

use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::error::CoreError;
use crate::ids::{ObjectId, TaskId, WorkerId};
use crate::object::{ErrorKind, Payload, StoredObject};
use crate::object_table::{ClientId, Lookup, ObjectTable, Status, WaiterId};
use crate::queues::{ClassId, ReadyQueues};
use crate::resources::{GpuSlots, Quantity, ResourceSet, CPU, GPU};
use crate::task::{EnvVars, TaskSpec};
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

/// How a get or wait ended.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitResult {
    /// A get: every value, in request order.
    Values(Vec<StoredObject>),
    /// A get stopped at the first error it met.
    Failed(StoredObject),
    /// A wait: indices (in request order) of the first `num_returns` objects that are ready
    /// (fewer when the wait timed out).
    Ready(Vec<u32>),
    /// A get whose time ran out.
    TimedOut,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitKind {
    /// All values, failing fast on the first error.
    Get,
    /// Until `num_returns` objects are ready.
    Wait { num_returns: usize },
}

#[derive(Debug)]
pub enum WaitStart {
    Done(WaitResult),
    Pending(WaiterId),
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
    /// No amount of waiting gives this task the resources it asks for.
    Infeasible {
        task_name: Arc<str>,
        request: Arc<ResourceSet>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TaskState {
    WaitingForArgs(u32),
    Queued,
    Running(WorkerId),
}

#[derive(Debug)]
struct TaskEntry {
    spec: TaskSpec,
    class: ClassId,
    state: TaskState,
    attempt: u32,
}

impl TaskEntry {
    fn may_retry(&self) -> bool {
        let max = self.spec.options.max_retries;
        max < 0 || self.attempt < max as u32
    }
}

#[derive(Debug)]
struct Waiter {
    client: ClientId,
    tag: u64,
    ids: Vec<ObjectId>,
    kind: WaitKind,
    /// Values still needed before the waiter is done.
    remaining: usize,
    /// The worker this waiter blocks, which lends its CPUs back meanwhile.
    blocks: Option<WorkerId>,
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
}

/// A stored value waiting to be handed to the object table (see `store_all`).
type StoreWork = Vec<(ObjectId, StoredObject)>;

impl Node {
    pub fn new(config: NodeConfig) -> Self {
        let gpu_count = config.total.get(GPU).to_f64().floor() as u32;
        Self {
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
        }
    }

    // ------------------------------------------------------------------ queries

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

    pub fn worker_count(&self) -> usize {
        self.workers.len()
    }

    pub fn worker_client(&self, worker: WorkerId) -> Option<ClientId> {
        self.workers.get(worker).map(|w| w.client)
    }

    /// The worker process behind a client, if the client is a worker.
    pub fn worker_of(&self, client: ClientId) -> Option<WorkerId> {
        self.workers.by_client(client)
    }

    /// The task a worker is running, if any.
    pub fn running_task(&self, worker: WorkerId) -> Option<TaskId> {
        self.workers
            .get(worker)
            .and_then(|w| w.running())
            .map(|r| r.task)
    }

    // ------------------------------------------------------------------ workers

    /// Starts `count` workers of the job's own environment ahead of any task.
    pub fn prestart_workers(&mut self, count: u32, out: &mut Vec<Action>) {
        for _ in 0..count {
            let worker = self.workers.add_starting(EnvId::DEFAULT);
            out.push(Action::StartWorker {
                worker,
                env: EnvId::DEFAULT,
            });
        }
    }

    /// A started worker connected. Returns its client id.
    pub fn worker_connected(
        &mut self,
        worker: WorkerId,
        out: &mut Vec<Action>,
    ) -> Result<ClientId, CoreError> {
        let client = self
            .workers
            .mark_connected(worker, self.tick)
            .ok_or(CoreError::UnknownWorker(worker))?;
        if let Some(env) = self.workers.get(worker).map(|w| w.env) {
            self.startup_failures.remove(&env);
        }
        self.schedule(out);
        Ok(client)
    }

    /// A worker finished `task` with `returns`: one payload per return value, or a single
    /// error payload. `retryable` says the error matches the task's `retry_exceptions`.
    pub fn task_finished(
        &mut self,
        worker_id: WorkerId,
        task_id: TaskId,
        returns: Vec<Payload>,
        retryable: bool,
        out: &mut Vec<Action>,
    ) -> Result<(), CoreError> {
        let worker = self
            .workers
            .get_mut(worker_id)
            .ok_or(CoreError::UnknownWorker(worker_id))?;
        if worker.running().map(|r| r.task) != Some(task_id) {
            return Err(CoreError::UnexpectedTaskResult {
                worker: worker_id,
                task: task_id,
            });
        }
        let WorkerState::Busy(running) =
            std::mem::replace(&mut worker.state, WorkerState::Retiring)
        else {
            unreachable!("checked above")
        };
        let task = self
            .tasks
            .remove(&task_id)
            .expect("a running task is in the table");
        let max_calls = task.spec.options.max_calls;
        let calls = worker.count_call(task.spec.options.function_id);
        self.release_grant(&running);
        if max_calls > 0 && calls >= max_calls {
            self.workers.retire(worker_id);
            out.push(Action::StopWorker { worker: worker_id });
        } else {
            self.workers.make_idle(worker_id, self.tick);
        }

        let mut work = StoreWork::new();
        let error = returns.iter().find(|payload| payload.is_error()).cloned();
        match error {
            Some(_) if retryable && task.may_retry() => self.requeue(task),
            Some(error) => self.fail_task_entry(task, Arc::new(error), &mut work, out),
            None if returns.len() != task.spec.options.num_returns as usize => {
                let expected = task.spec.options.num_returns as usize;
                let message = CoreError::WrongReturnCount {
                    expected,
                    got: returns.len(),
                };
                let error = Payload::system_error(ErrorKind::SystemError, message.to_string());
                self.fail_task_entry(task, Arc::new(error), &mut work, out);
            }
            None => {
                work.extend(
                    task.spec
                        .return_ids()
                        .zip(returns.into_iter().map(Arc::new)),
                );
                self.unpin_task_objects(&task.spec, out);
            }
        }
        self.store_all(work, out);
        self.schedule(out);
        Ok(())
    }

    /// A worker process ended (or its connection broke). `detail` says how, for error text.
    pub fn worker_died(&mut self, worker_id: WorkerId, detail: &str, out: &mut Vec<Action>) {
        let Some(worker) = self.workers.remove(worker_id) else {
            return;
        };
        let mut work = StoreWork::new();
        match worker.state {
            WorkerState::Starting => self.note_startup_failure(worker.env, detail, &mut work, out),
            WorkerState::Busy(running) => {
                self.release_grant(&running);
                if let Some(task) = self.tasks.remove(&running.task) {
                    if task.may_retry() {
                        self.requeue(task);
                    } else {
                        let error = Payload::system_error(ErrorKind::WorkerCrashed, detail);
                        self.fail_task_entry(task, Arc::new(error), &mut work, out);
                    }
                }
            }
            WorkerState::Idle { .. } | WorkerState::Retiring => {}
        }
        self.drop_waiters_of(worker.client);
        let mut freed = Vec::new();
        self.objects.release_client(worker.client, &mut freed);
        out.extend(freed.into_iter().map(Action::Freed));
        self.store_all(work, out);
        self.schedule(out);
    }

    /// Advances the idle clock; workers idle for a while beyond the soft limit are stopped.
    pub fn tick(&mut self, out: &mut Vec<Action>) {
        self.tick += 1;
        let live = self.workers.live_count();
        let excess = live.saturating_sub(self.config.worker_soft_limit as usize);
        if excess == 0 {
            return;
        }
        let idle_for = self.config.idle_ticks_before_stop;
        let mut idle: Vec<(bool, u64, WorkerId)> = self
            .workers
            .iter()
            .filter_map(|w| match w.state {
                WorkerState::Idle { since_tick } if since_tick + idle_for <= self.tick => {
                    Some((w.env == EnvId::DEFAULT, since_tick, w.id))
                }
                _ => None,
            })
            .collect();
        // Workers of task-specific environments go first, then the longest idle.
        idle.sort();
        for (_, _, worker) in idle.into_iter().take(excess) {
            self.workers.retire(worker);
            out.push(Action::StopWorker { worker });
        }
    }

    // ------------------------------------------------------------------ clients

    /// Submits a task. Its return objects exist (pending) from now on, held by `submitter`.
    pub fn submit(
        &mut self,
        submitter: ClientId,
        spec: TaskSpec,
        out: &mut Vec<Action>,
    ) -> Result<(), CoreError> {
        let task_id = spec.task_id;
        if self.tasks.contains_key(&task_id) {
            return Err(CoreError::DuplicateTask(task_id));
        }
        let env = self.envs.intern(&spec.options.env_vars);
        let class = self.queues.class_for(&spec.options.resources, env);
        for id in spec.return_ids() {
            self.objects.create_pending(id, submitter);
        }
        for id in spec.pinned_objects() {
            self.objects.pin(id);
        }
        // A failed or missing argument does not fail the task here: like Ray, the task is
        // dispatched and its worker raises the argument's error in the task's own name.
        let mut missing = 0;
        for id in &spec.arg_refs {
            if self.objects.lookup(*id) == Lookup::Pending {
                self.objects.add_dependent(*id, task_id);
                missing += 1;
            }
        }
        let state = if missing == 0 {
            TaskState::Queued
        } else {
            TaskState::WaitingForArgs(missing)
        };
        if state == TaskState::Queued {
            self.queues.push(class, task_id);
        }
        self.tasks.insert(
            task_id,
            TaskEntry {
                spec,
                class,
                state,
                attempt: 0,
            },
        );
        self.schedule(out);
        Ok(())
    }

    /// Stores a value made by `put`, held by `owner`.
    pub fn put(&mut self, owner: ClientId, id: ObjectId, value: Payload) {
        self.objects.insert_ready(id, owner, Arc::new(value));
    }

    /// `client` now holds refs to `ids` (it reports only its first ref to each).
    pub fn add_refs(&mut self, client: ClientId, ids: &[ObjectId]) {
        for id in ids {
            self.objects.add_client(*id, client);
        }
    }

    /// `client` no longer holds any ref to `ids`.
    pub fn remove_refs(&mut self, client: ClientId, ids: &[ObjectId], out: &mut Vec<Action>) {
        let mut freed = Vec::new();
        for id in ids {
            self.objects.remove_client(*id, client, &mut freed);
        }
        out.extend(freed.into_iter().map(Action::Freed));
    }

    /// Starts a get or wait. When it cannot finish now and `block` is set, it waits: the
    /// result arrives later as [`Action::WaiterDone`] (or from [`Node::cancel_waiter`]).
    /// A worker that waits lends its CPUs back to the node meanwhile.
    pub fn get_or_wait(
        &mut self,
        client: ClientId,
        tag: u64,
        ids: Vec<ObjectId>,
        kind: WaitKind,
        block: bool,
        out: &mut Vec<Action>,
    ) -> WaitStart {
        let mut pending: Vec<ObjectId> = Vec::new();
        // Duplicates are allowed in a get; long lists are deduplicated with a set.
        let mut seen = (ids.len() > 16).then(FxHashSet::<ObjectId>::default);
        let mut ready = 0usize;
        for id in &ids {
            match self.objects.status(*id) {
                Status::Failed if kind == WaitKind::Get => {
                    let Lookup::Ready(value) = self.objects.lookup(*id) else {
                        unreachable!()
                    };
                    return WaitStart::Done(WaitResult::Failed(value));
                }
                Status::Unknown if kind == WaitKind::Get => {
                    return WaitStart::Done(WaitResult::Failed(lost_object(*id)));
                }
                Status::Ready | Status::Failed | Status::Unknown => {
                    ready += 1;
                    if let WaitKind::Wait { num_returns } = kind {
                        if ready >= num_returns {
                            // Enough already: the first `num_returns` ready are the answer.
                            return WaitStart::Done(self.wait_result(&ids, kind));
                        }
                    }
                }
                Status::Pending => {
                    let new = match &mut seen {
                        Some(seen) => seen.insert(*id),
                        None => !pending.contains(id),
                    };
                    if new {
                        pending.push(*id);
                    }
                }
            }
        }
        let remaining = match kind {
            WaitKind::Get => pending.len(),
            WaitKind::Wait { num_returns } => num_returns.saturating_sub(ready),
        };
        if remaining == 0 {
            return WaitStart::Done(self.wait_result(&ids, kind));
        }
        if !block {
            return WaitStart::Done(match kind {
                WaitKind::Get => WaitResult::TimedOut,
                WaitKind::Wait { .. } => self.wait_result(&ids, kind),
            });
        }
        let waiter = WaiterId(self.next_waiter);
        self.next_waiter += 1;
        for id in &pending {
            self.objects.add_waiter(*id, waiter);
        }
        let blocks = self.workers.by_client(client);
        self.waiters.insert(
            waiter,
            Waiter {
                client,
                tag,
                ids,
                kind,
                remaining,
                blocks,
            },
        );
        if let Some(worker) = blocks {
            self.block_worker(worker, out);
        }
        WaitStart::Pending(waiter)
    }

    /// Ends a waiter early (its timeout passed). Returns its result, or None if it had
    /// already finished (its result was or will be delivered as `WaiterDone`).
    pub fn cancel_waiter(&mut self, waiter: WaiterId, out: &mut Vec<Action>) -> Option<WaitResult> {
        let entry = self.remove_waiter(waiter)?;
        if let Some(worker) = entry.blocks {
            self.unblock_worker(worker);
        }
        self.schedule(out);
        Some(match entry.kind {
            WaitKind::Get => WaitResult::TimedOut,
            WaitKind::Wait { .. } => self.wait_result(&entry.ids, entry.kind),
        })
    }

    // ------------------------------------------------------------------ internals

    fn requeue(&mut self, mut task: TaskEntry) {
        task.attempt += 1;
        task.state = TaskState::Queued;
        self.queues.push_front(task.class, task.spec.task_id);
        self.tasks.insert(task.spec.task_id, task);
    }

    /// Fails a task that is no longer in `self.tasks`: every return gets `error`.
    fn fail_task_entry(
        &mut self,
        task: TaskEntry,
        error: StoredObject,
        work: &mut StoreWork,
        out: &mut Vec<Action>,
    ) {
        if task.state == TaskState::Queued {
            self.queues.remove(task.class, task.spec.task_id);
        }
        work.extend(task.spec.return_ids().map(|id| (id, error.clone())));
        self.unpin_task_objects(&task.spec, out);
    }

    fn unpin_task_objects(&mut self, spec: &TaskSpec, out: &mut Vec<Action>) {
        let mut freed = Vec::new();
        for id in spec.pinned_objects() {
            self.objects.unpin(id, &mut freed);
        }
        out.extend(freed.into_iter().map(Action::Freed));
    }

    /// Stores values and wakes whoever waits for them: gets, waits, and tasks whose last
    /// missing argument this was.
    fn store_all(&mut self, mut work: StoreWork, out: &mut Vec<Action>) {
        while let Some((id, value)) = work.pop() {
            let mut freed = Vec::new();
            let Some(woken) = self.objects.store(id, value.clone(), &mut freed) else {
                continue;
            };
            out.extend(freed.into_iter().map(Action::Freed));
            for waiter in woken.waiters {
                self.advance_waiter(waiter, &value, out);
            }
            for task_id in woken.dependents {
                let Some(task) = self.tasks.get_mut(&task_id) else {
                    continue;
                };
                if let TaskState::WaitingForArgs(missing) = &mut task.state {
                    *missing -= 1;
                    if *missing == 0 {
                        task.state = TaskState::Queued;
                        let class = task.class;
                        self.queues.push(class, task_id);
                    }
                }
            }
        }
    }

    fn advance_waiter(&mut self, waiter: WaiterId, value: &StoredObject, out: &mut Vec<Action>) {
        let Some(entry) = self.waiters.get_mut(&waiter) else {
            return;
        };
        let result = if entry.kind == WaitKind::Get && value.is_error() {
            Some(WaitResult::Failed(value.clone()))
        } else {
            entry.remaining -= 1;
            (entry.remaining == 0)
                .then_some(())
                .map(|()| (entry.ids.clone(), entry.kind))
                .map(|(ids, kind)| self.wait_result(&ids, kind))
        };
        let Some(result) = result else { return };
        let entry = self.remove_waiter(waiter).expect("present above");
        if let Some(worker) = entry.blocks {
            self.unblock_worker(worker);
        }
        out.push(Action::WaiterDone {
            waiter,
            client: entry.client,
            tag: entry.tag,
            result,
        });
    }

    fn remove_waiter(&mut self, waiter: WaiterId) -> Option<Waiter> {
        let entry = self.waiters.remove(&waiter)?;
        for id in &entry.ids {
            self.objects.remove_waiter(*id, waiter);
        }
        Some(entry)
    }

    fn drop_waiters_of(&mut self, client: ClientId) {
        let gone: Vec<WaiterId> = self
            .waiters
            .iter()
            .filter(|(_, w)| w.client == client)
            .map(|(id, _)| *id)
            .collect();
        for waiter in gone {
            self.remove_waiter(waiter);
        }
    }

    fn wait_result(&self, ids: &[ObjectId], kind: WaitKind) -> WaitResult {
        match kind {
            WaitKind::Get => WaitResult::Values(
                ids.iter()
                    .map(|id| match self.objects.lookup(*id) {
                        Lookup::Ready(value) => value,
                        Lookup::Pending | Lookup::Unknown => lost_object(*id),
                    })
                    .collect(),
            ),
            WaitKind::Wait { num_returns } => WaitResult::Ready(
                ids.iter()
                    .enumerate()
                    .filter(|(_, id)| self.objects.status(**id) != Status::Pending)
                    .map(|(index, _)| index as u32)
                    .take(num_returns)
                    .collect(),
            ),
        }
    }

    fn block_worker(&mut self, worker: WorkerId, out: &mut Vec<Action>) {
        let Some(running) = self.workers.get_mut(worker).and_then(|w| w.running_mut()) else {
            return;
        };
        running.blocked += 1;
        if running.blocked == 1 {
            let cpus = running.grant.resources.get(CPU);
            self.available.add(CPU, cpus);
            self.schedule(out);
        }
    }

    fn unblock_worker(&mut self, worker: WorkerId) {
        let Some(running) = self.workers.get_mut(worker).and_then(|w| w.running_mut()) else {
            return;
        };
        running.blocked = running.blocked.saturating_sub(1);
        if running.blocked == 0 {
            let cpus = running.grant.resources.get(CPU);
            self.available.add(CPU, Quantity::ZERO - cpus);
        }
    }

    fn release_grant(&mut self, running: &Running) {
        self.available.add_all(&running.grant.resources);
        if running.blocked > 0 {
            // Its CPUs were lent back when it blocked.
            let cpus = running.grant.resources.get(CPU);
            self.available.add(CPU, Quantity::ZERO - cpus);
        }
        self.gpus.release(&running.grant.gpus);
    }

    fn note_startup_failure(
        &mut self,
        env: EnvId,
        detail: &str,
        work: &mut StoreWork,
        out: &mut Vec<Action>,
    ) {
        let failures = self.startup_failures.entry(env).or_default();
        *failures += 1;
        if *failures < self.config.max_startup_failures {
            return;
        }
        self.startup_failures.remove(&env);
        let stranded: Vec<TaskId> = self
            .tasks
            .iter()
            .filter(|(_, t)| t.state == TaskState::Queued && self.queues.class(t.class).env == env)
            .map(|(id, _)| *id)
            .collect();
        let message = format!("a worker process could not start: {detail}");
        let error = Arc::new(Payload::system_error(ErrorKind::SystemError, message));
        for task_id in stranded {
            let task = self.tasks.remove(&task_id).expect("collected above");
            self.fail_task_entry(task, error.clone(), work, out);
        }
    }

    fn is_infeasible(&self, request: &ResourceSet) -> bool {
        if !self.config.total.contains(request) {
            return true;
        }
        let gpus = request.get(GPU);
        !gpus.is_zero() && !GpuSlots::new(self.gpus_total()).can_allocate(gpus)
    }

    fn gpus_total(&self) -> u32 {
        self.config.total.get(GPU).to_f64().floor() as u32
    }

    fn fits(&self, request: &ResourceSet) -> bool {
        let gpus = request.get(GPU);
        self.available.contains(request) && (gpus.is_zero() || self.gpus.can_allocate(gpus))
    }

    /// How many tasks asking for `request` the free resources could run at once.
    fn fit_count(&self, request: &ResourceSet) -> usize {
        request
            .iter()
            .filter(|(_, amount)| !amount.is_zero())
            .map(|(name, amount)| {
                (self.available.get(name).units().max(0) / amount.units()) as usize
            })
            .min()
            .unwrap_or(usize::MAX)
    }

    /// Hands queued tasks to idle workers while resources last, and starts workers for
    /// tasks that fit but have none.
    fn schedule(&mut self, out: &mut Vec<Action>) {
        for class_id in self.queues.nonempty() {
            loop {
                let class = self.queues.class(class_id);
                let Some(&task_id) = class.queue.front() else {
                    break;
                };
                let request = class.request.clone();
                let env = class.env;
                if self.is_infeasible(&request) {
                    if self.warned_infeasible.insert(class_id) {
                        let task_name = self.tasks[&task_id].spec.options.name.clone();
                        out.push(Action::Infeasible { task_name, request });
                    }
                    break;
                }
                if !self.fits(&request) {
                    break;
                }
                let Some(worker) = self.workers.take_idle(env) else {
                    self.start_workers_for(class_id, out);
                    break;
                };
                self.queues.class_mut(class_id).queue.pop_front();
                self.dispatch(task_id, worker, request, out);
            }
        }
    }

    fn start_workers_for(&mut self, class_id: ClassId, out: &mut Vec<Action>) {
        let class = self.queues.class(class_id);
        let env = class.env;
        let wanted = class.queue.len().min(self.fit_count(&class.request));
        let starting = self.workers.starting(env) as usize;
        let budget = (self.config.max_starting_workers as usize)
            .saturating_sub(self.workers.starting_total() as usize);
        for _ in 0..wanted.saturating_sub(starting).min(budget) {
            let worker = self.workers.add_starting(env);
            out.push(Action::StartWorker { worker, env });
        }
    }

    fn dispatch(
        &mut self,
        task_id: TaskId,
        worker_id: WorkerId,
        request: Arc<ResourceSet>,
        out: &mut Vec<Action>,
    ) {
        let gpu_amount = request.get(GPU);
        let gpus = self
            .gpus
            .allocate(gpu_amount)
            .expect("fits() checked the GPUs");
        self.available.subtract(&request);
        let task = self
            .tasks
            .get_mut(&task_id)
            .expect("queued tasks are in the table");
        task.state = TaskState::Running(worker_id);
        let worker = self
            .workers
            .get_mut(worker_id)
            .expect("idle workers are in the pool");
        let send_function = worker.learn_function(task.spec.options.function_id);
        let gpu_ids = gpus.iter().map(|(slot, _)| *slot).collect();
        worker.state = WorkerState::Busy(Running {
            task: task_id,
            grant: Grant {
                resources: request.clone(),
                gpus,
            },
            blocked: 0,
        });
        let arg_values = task
            .spec
            .arg_refs
            .iter()
            .map(|id| match self.objects.lookup(*id) {
                Lookup::Ready(value) => value,
                Lookup::Pending | Lookup::Unknown => lost_object(*id),
            })
            .collect();
        out.push(Action::Dispatch(Box::new(Dispatch {
            worker: worker_id,
            spec: task.spec.clone(),
            arg_values,
            send_function,
            assigned: request,
            gpu_ids,
            attempt: task.attempt,
        })));
    }

    /// Checks the bookkeeping that must always hold; for tests.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut accounted = self.available.clone();
        for worker in self.workers.iter() {
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

fn lost_object(id: ObjectId) -> StoredObject {
    Arc::new(Payload::system_error(
        ErrorKind::ObjectLost,
        format!(
            "Object {} is not available: it was freed or never existed.",
            id.hex()
        ),
    ))
}
