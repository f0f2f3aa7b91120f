//! Actors: creation on a dedicated worker, per-caller call queues, restarts, kills, names, and
//! ending an anonymous actor once no handle to it remains.
//!
//! An actor's constructor is an ordinary task in the scheduling queues (it asks for the
//! actor's placement resources); the worker that runs it then hosts the actor for good. Method
//! calls skip the queues: each caller's calls wait in that caller's own FIFO on the actor and
//! go to the host in order, each as soon as its arguments are ready. One caller's call waiting
//! for an argument never holds up another caller (whose call the argument may depend on).
//!
//! Every handle to an actor refers to the actor's handle object, so the object table counts
//! handles across processes like any ref; when the object is freed, the actor's last handle is
//! gone and (unless detached) the actor ends after the calls already submitted.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

use super::*;
use crate::ids::ActorId;
use crate::task::{ActorName, ActorSpec, TaskKind};

/// Why an actor is dead, as told to its callers (the Python layer words it as Ray does).
pub mod death {
    pub const CREATION_FAILED: &str = "creation_failed";
    pub const KILLED: &str = "killed";
    pub const EXITED: &str = "exited";
    pub const OUT_OF_SCOPE: &str = "out_of_scope";
    pub const CRASHED: &str = "crashed";
    pub const UNKNOWN: &str = "unknown";
    pub const PLACEMENT_GROUP_REMOVED: &str = "placement_group_removed";
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ActorState {
    /// The constructor waits for its arguments or for a worker.
    Pending,
    Creating(WorkerId),
    Alive(WorkerId),
    Dead,
}

#[derive(Debug)]
pub(super) struct ActorEntry {
    spec: Arc<ActorSpec>,
    creation: TaskSpec,
    pub(super) state: ActorState,
    /// How many times it has been re-created after a death.
    restarts: u32,
    callers: Vec<(ClientId, VecDeque<TaskId>)>,
    /// Calls sent to the host and not finished, in the order sent, with their caller.
    in_flight: Vec<(TaskId, ClientId)>,
    /// Set once the actor is on its way out: killed, exiting on its own, or out of scope.
    ending: Option<&'static str>,
    /// The process that hosts (or last hosted) it, for error messages.
    host_pid: u32,
    /// `ray.kill(no_restart=False)`: the coming death may restart the actor.
    kill_may_restart: bool,
    death: Option<StoredObject>,
}

impl ActorEntry {
    fn pending_calls(&self, caller: ClientId) -> usize {
        let queued = self
            .callers
            .iter()
            .find(|(client, _)| *client == caller)
            .map_or(0, |(_, queue)| queue.len());
        queued + self.in_flight.iter().filter(|(_, c)| *c == caller).count()
    }

    fn is_idle(&self) -> bool {
        self.in_flight.is_empty() && self.callers.iter().all(|(_, queue)| queue.is_empty())
    }

    /// The placement group the actor was created in, if any.
    pub(super) fn creation_placement_group(&self) -> Option<crate::ids::PlacementGroupId> {
        self.creation.options.placement_group
    }

    /// The worker that hosts the actor (or runs its constructor) now.
    pub(super) fn host(&self) -> Option<WorkerId> {
        match self.state {
            ActorState::Creating(worker) | ActorState::Alive(worker) => Some(worker),
            ActorState::Pending | ActorState::Dead => None,
        }
    }

    pub(super) fn is_detached(&self) -> bool {
        self.spec.detached
    }

    fn may_restart(&self) -> bool {
        let max = self.spec.max_restarts;
        max < 0 || self.restarts < max as u32
    }
}

/// What `create_actor` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorCreated {
    New,
    /// `get_if_exists` found a live actor of that name: the caller now holds a handle to it.
    Existing {
        actor: ActorId,
        descriptor: Bytes,
    },
}

impl Node {
    /// Creates an actor from its creation task. Its handle object exists from now on, held by
    /// `creator`. A name already taken in its namespace fails, or with `get_if_exists` returns
    /// the existing actor instead.
    pub fn create_actor(
        &mut self,
        creator: ClientId,
        spec: TaskSpec,
        get_if_exists: bool,
        out: &mut Vec<Action>,
    ) -> Result<ActorCreated, CoreError> {
        let TaskKind::ActorCreation(actor) = &spec.kind else {
            return Err(CoreError::NotAnActorCreation(spec.task_id));
        };
        let actor = actor.clone();
        if let Some(name) = &actor.name {
            if let Some(existing) = self.named.get(name).copied() {
                if !get_if_exists {
                    return Err(CoreError::ActorNameTaken {
                        name: name.name.clone(),
                        namespace: name.namespace.clone(),
                    });
                }
                let descriptor = self.actors[&existing].spec.descriptor.clone();
                self.objects.add_client(existing.handle_object(), creator);
                return Ok(ActorCreated::Existing {
                    actor: existing,
                    descriptor,
                });
            }
            self.named.insert(name.clone(), actor.actor_id);
        }
        let handle = actor.actor_id.handle_object();
        self.objects
            .insert_ready(handle, creator, Arc::new(Payload::value(Bytes::new())));
        self.actor_by_object.insert(handle, actor.actor_id);
        self.actors.insert(
            actor.actor_id,
            ActorEntry {
                spec: actor,
                creation: spec.clone(),
                state: ActorState::Pending,
                restarts: 0,
                callers: Vec::new(),
                in_flight: Vec::new(),
                ending: None,
                host_pid: 0,
                kill_may_restart: false,
                death: None,
            },
        );
        self.submit_task(creator, spec, out);
        Ok(ActorCreated::New)
    }

    /// A live actor registered under `name`: `client` now holds a handle to it.
    pub fn named_actor(&mut self, client: ClientId, name: &ActorName) -> Option<(ActorId, Bytes)> {
        let actor = *self.named.get(name)?;
        self.objects.add_client(actor.handle_object(), client);
        Some((actor, self.actors[&actor].spec.descriptor.clone()))
    }

    /// Names of live named actors, of one namespace or of all.
    pub fn named_actors(&self, namespace: Option<&str>) -> Vec<ActorName> {
        let mut names: Vec<ActorName> = self
            .named
            .keys()
            .filter(|name| namespace.is_none_or(|ns| name.namespace == ns))
            .cloned()
            .collect();
        names.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        names
    }

    /// How many times an actor has been re-created, or None if it is unknown.
    pub fn actor_restarts(&self, actor: ActorId) -> Option<u32> {
        self.actors.get(&actor).map(|entry| entry.restarts)
    }

    pub fn actor_is_alive(&self, actor: ActorId) -> bool {
        self.actors
            .get(&actor)
            .is_some_and(|entry| entry.state != ActorState::Dead)
    }

    /// `ray.kill`: ends the actor's process now. With `no_restart` false it may be re-created
    /// (if restarts are left).
    pub fn kill_actor(&mut self, actor_id: ActorId, no_restart: bool, out: &mut Vec<Action>) {
        let Some(actor) = self.actors.get_mut(&actor_id) else {
            return;
        };
        match actor.state.clone() {
            ActorState::Dead => {}
            ActorState::Creating(worker) | ActorState::Alive(worker) => {
                actor.kill_may_restart = !no_restart;
                if no_restart {
                    actor.ending = Some(death::KILLED);
                }
                out.push(Action::KillWorker { worker });
            }
            ActorState::Pending if no_restart => {
                actor.ending = Some(death::KILLED);
                self.actor_dead(actor_id, death::KILLED, "", Bytes::new(), out);
            }
            ActorState::Pending => {}
        }
    }

    /// The actor's placement group was removed: it dies without a restart, its process
    /// (if it has one by now) killed.
    pub(super) fn end_actor_of_group(
        &mut self,
        actor_id: ActorId,
        worker: Option<WorkerId>,
        out: &mut Vec<Action>,
    ) {
        let Some(actor) = self.actors.get_mut(&actor_id) else {
            return;
        };
        if actor.state == ActorState::Dead {
            return;
        }
        actor.ending = Some(death::PLACEMENT_GROUP_REMOVED);
        match worker.or(actor.host()) {
            Some(worker) => out.push(Action::KillWorker { worker }),
            None => {
                let group = actor.creation_placement_group();
                let detail = group.map(super::placement_groups::group_removed_detail);
                self.actor_dead(
                    actor_id,
                    death::PLACEMENT_GROUP_REMOVED,
                    &detail.unwrap_or_default(),
                    Bytes::new(),
                    out,
                );
            }
        }
    }

    /// The actor's worker says it is about to exit on purpose (`exit_actor`,
    /// `__ray_terminate__`): its death will not restart it, and the call that asked for it
    /// (if any) fails now with that death, while calls already running finish.
    pub fn actor_exiting(
        &mut self,
        actor_id: ActorId,
        call: Option<TaskId>,
        out: &mut Vec<Action>,
    ) {
        let Some(actor) = self.actors.get_mut(&actor_id) else {
            return;
        };
        actor.ending.get_or_insert(death::EXITED);
        let Some(call) = call else { return };
        let Some(position) = actor.in_flight.iter().position(|(task, _)| *task == call) else {
            return;
        };
        actor.in_flight.remove(position);
        let error = actor_died(
            Some((&actor.spec, actor.host_pid)),
            death::EXITED,
            "",
            Bytes::new(),
        );
        if let Some(task) = self.tasks.remove(&call) {
            let mut work = StoreWork::new();
            self.fail_task_entry(task, error, &mut work, out);
            self.store_all(work, out);
        }
    }

    // ------------------------------------------------------------------ internals

    /// Queues a method call on its caller's FIFO (or fails it if the actor is dead).
    pub(super) fn submit_actor_call(
        &mut self,
        submitter: ClientId,
        spec: TaskSpec,
        out: &mut Vec<Action>,
    ) -> Result<(), CoreError> {
        let call = spec.actor_call().expect("an actor call").clone();
        let Some(actor) = self.actors.get(&call.actor) else {
            let error = actor_died(None, death::UNKNOWN, "", Bytes::new());
            self.fail_unqueued(submitter, spec, error, out);
            return Ok(());
        };
        let limit = actor.spec.max_pending_calls;
        if limit >= 0 && actor.pending_calls(submitter) >= limit as usize {
            return Err(CoreError::PendingCallsLimitExceeded {
                actor: call.actor,
                limit,
            });
        }
        if let Some(death) = &actor.death {
            let error = death.clone();
            self.fail_unqueued(submitter, spec, error, out);
            return Ok(());
        }
        let task_id = spec.task_id;
        let missing = self.register_task(submitter, &spec);
        let state = if missing == 0 {
            TaskState::ActorQueued
        } else {
            TaskState::WaitingForArgs(missing)
        };
        let class = self
            .queues
            .class_for(&spec.options.resources, EnvId::DEFAULT);
        self.tasks.insert(
            task_id,
            TaskEntry {
                spec,
                class,
                state,
                attempt: 0,
                cancelled: false,
            },
        );
        let actor = self.actors.get_mut(&call.actor).expect("checked above");
        match actor
            .callers
            .iter_mut()
            .find(|(client, _)| *client == submitter)
        {
            Some((_, queue)) => queue.push_back(task_id),
            None => actor.callers.push((submitter, VecDeque::from([task_id]))),
        }
        self.pump_actor(call.actor, out);
        Ok(())
    }

    /// A call that never reaches a queue: its returns get `error` at once.
    pub(super) fn fail_unqueued(
        &mut self,
        submitter: ClientId,
        spec: TaskSpec,
        error: StoredObject,
        out: &mut Vec<Action>,
    ) {
        self.register_task(submitter, &spec);
        let entry = TaskEntry {
            class: self
                .queues
                .class_for(&spec.options.resources, EnvId::DEFAULT),
            spec,
            state: TaskState::ActorQueued,
            attempt: 0,
            cancelled: false,
        };
        let mut work = StoreWork::new();
        self.fail_task_entry(entry, error, &mut work, out);
        self.store_all(work, out);
    }

    /// Sends every call that is at the head of its caller's queue with its arguments ready.
    pub(super) fn pump_actor(&mut self, actor_id: ActorId, out: &mut Vec<Action>) {
        if self.draining {
            return;
        }
        let Some(actor) = self.actors.get_mut(&actor_id) else {
            return;
        };
        let ActorState::Alive(worker) = actor.state else {
            return;
        };
        // Its process is being killed for good: calls wait and fail with its death.
        if matches!(
            actor.ending,
            Some(death::KILLED | death::PLACEMENT_GROUP_REMOVED)
        ) {
            return;
        }
        let mut sent = Vec::new();
        for (caller, queue) in &mut actor.callers {
            while let Some(head) = queue.front() {
                match self.tasks.get(head).map(|t| t.state) {
                    Some(TaskState::ActorQueued) => {}
                    Some(TaskState::WaitingForArgs(_)) => break,
                    _ => {
                        // Failed or gone meanwhile: drop it from the queue.
                        queue.pop_front();
                        continue;
                    }
                }
                let task = queue.pop_front().expect("peeked");
                actor.in_flight.push((task, *caller));
                sent.push(task);
            }
        }
        for task_id in sent {
            let task = self
                .tasks
                .get_mut(&task_id)
                .expect("queued calls are in the table");
            task.state = TaskState::Running(worker);
            let arg_values = resolved_args(&self.objects, &task.spec);
            out.push(Action::Dispatch(Box::new(Dispatch {
                worker,
                spec: task.spec.clone(),
                arg_values,
                send_function: false,
                assigned: Arc::new(ResourceSet::new()),
                gpu_ids: Vec::new(),
                attempt: task.attempt,
            })));
        }
        self.stop_if_done(actor_id, out);
    }

    /// The creation task was handed to `worker`.
    pub(super) fn actor_placed(&mut self, actor_id: ActorId, worker: WorkerId) {
        let pid = self.workers.get(worker).map_or(0, |w| w.pid);
        if let Some(actor) = self.actors.get_mut(&actor_id) {
            actor.state = ActorState::Creating(worker);
            actor.host_pid = pid;
        }
    }

    /// The constructor returned: the worker hosts the actor from now on, holding the actor's
    /// running resources instead of its placement resources.
    pub(super) fn actor_created(
        &mut self,
        actor_id: ActorId,
        worker_id: WorkerId,
        mut running: Running,
        out: &mut Vec<Action>,
    ) {
        let Some(actor) = self.actors.get_mut(&actor_id) else {
            return;
        };
        let held = Arc::new(actor.spec.running.clone());
        self.available.add_all(&running.grant.resources);
        self.available.subtract(&held);
        running.grant.resources = held;
        actor.state = ActorState::Alive(worker_id);
        if let Some(worker) = self.workers.get_mut(worker_id) {
            worker.state = WorkerState::Hosting(actor_id, running);
        }
        self.pump_actor(actor_id, out);
    }

    /// A call on the actor that `worker` hosts finished.
    pub(super) fn actor_call_finished(
        &mut self,
        actor_id: ActorId,
        task_id: TaskId,
        returns: Vec<Payload>,
        retryable: bool,
        out: &mut Vec<Action>,
    ) -> Result<(), CoreError> {
        let actor = self
            .actors
            .get_mut(&actor_id)
            .ok_or(CoreError::UnknownActor(actor_id))?;
        let position = actor
            .in_flight
            .iter()
            .position(|(task, _)| *task == task_id)
            .ok_or(CoreError::UnknownActorCall(task_id))?;
        let (_, caller) = actor.in_flight.remove(position);
        let mut task = self
            .tasks
            .remove(&task_id)
            .expect("an in-flight call is in the table");
        let mut work = StoreWork::new();
        match returns.iter().find(|p| p.is_error()).cloned() {
            Some(_) if retryable && task.may_retry() => {
                task.attempt += 1;
                task.state = TaskState::ActorQueued;
                self.requeue_call(actor_id, caller, task);
            }
            Some(error) => self.fail_task_entry(task, Arc::new(error), &mut work, out),
            None => self.complete_task_entry(task, returns, &mut work, out),
        }
        self.store_all(work, out);
        self.pump_actor(actor_id, out);
        Ok(())
    }

    /// Takes a call out of its caller's queue on the actor (it was cancelled there).
    pub(super) fn drop_queued_call(&mut self, actor_id: ActorId, task_id: TaskId) {
        if let Some(actor) = self.actors.get_mut(&actor_id) {
            for (_, queue) in &mut actor.callers {
                queue.retain(|queued| *queued != task_id);
            }
        }
    }

    /// Puts a call back at the head of its caller's queue.
    fn requeue_call(&mut self, actor_id: ActorId, caller: ClientId, task: TaskEntry) {
        let task_id = task.spec.task_id;
        self.tasks.insert(task_id, task);
        let actor = self
            .actors
            .get_mut(&actor_id)
            .expect("requeued on a known actor");
        match actor
            .callers
            .iter_mut()
            .find(|(client, _)| *client == caller)
        {
            Some((_, queue)) => queue.push_front(task_id),
            None => actor.callers.push((caller, VecDeque::from([task_id]))),
        }
    }

    /// The process hosting (or creating) the actor died: restart the actor or let it die.
    pub(super) fn actor_host_died(
        &mut self,
        actor_id: ActorId,
        detail: &str,
        out: &mut Vec<Action>,
    ) {
        if self.actors.get(&actor_id).is_some_and(|a| a.is_detached()) {
            self.remove_groups_made_by(actor_id, out);
        }
        let Some(actor) = self.actors.get_mut(&actor_id) else {
            return;
        };
        let restart = actor.may_restart() && actor.ending.is_none();
        let in_flight = std::mem::take(&mut actor.in_flight);
        if !restart {
            let reason = match actor.ending {
                Some(reason) => reason,
                None if actor.kill_may_restart => death::KILLED,
                None => death::CRASHED,
            };
            actor.in_flight = in_flight;
            let detail = match (reason, actor.creation_placement_group()) {
                (death::PLACEMENT_GROUP_REMOVED, Some(group)) => {
                    super::placement_groups::group_removed_detail(group)
                }
                _ => detail.to_string(),
            };
            self.actor_dead(actor_id, reason, &detail, Bytes::new(), out);
            return;
        }
        actor.restarts += 1;
        actor.state = ActorState::Pending;
        actor.ending = None;
        actor.kill_may_restart = false;
        let creation = actor.creation.clone();
        // In-flight calls run again on the new instance while their retries last; the others
        // are lost with the process.
        let mut work = StoreWork::new();
        for (task_id, caller) in in_flight.into_iter().rev() {
            let Some(mut task) = self.tasks.remove(&task_id) else {
                continue;
            };
            if task.may_retry() {
                task.attempt += 1;
                task.state = TaskState::ActorQueued;
                self.requeue_call(actor_id, caller, task);
            } else {
                // First line the actor's id, then what happened (for the Python message).
                let message = format!("{}\n{detail}", actor_id.hex());
                let error = Arc::new(Payload::system_error(ErrorKind::ActorUnavailable, message));
                self.fail_task_entry(task, error, &mut work, out);
            }
        }
        self.store_all(work, out);
        self.requeue_creation(creation, out);
    }

    /// Runs the constructor again, for a restart (its arguments are still pinned).
    fn requeue_creation(&mut self, creation: TaskSpec, out: &mut Vec<Action>) {
        let class = self.class_of(&creation);
        let task_id = creation.task_id;
        self.queues.push(class, task_id, creation.parent.is_some());
        self.tasks.insert(
            task_id,
            TaskEntry {
                spec: creation,
                class,
                state: TaskState::Queued,
                attempt: 0,
                cancelled: false,
            },
        );
        self.schedule(out);
    }

    /// The constructor raised: every call fails with that error, now and later.
    pub(super) fn actor_creation_failed(
        &mut self,
        actor_id: ActorId,
        error: &Payload,
        out: &mut Vec<Action>,
    ) {
        self.actor_dead(
            actor_id,
            death::CREATION_FAILED,
            "",
            error.data.clone(),
            out,
        );
    }

    /// The actor is dead for good: its queued and in-flight calls fail, its name is free, and
    /// what its creation task kept alive (the constructor's arguments) is released, here and
    /// only here.
    pub(super) fn actor_dead(
        &mut self,
        actor_id: ActorId,
        reason: &'static str,
        detail: &str,
        data: Bytes,
        out: &mut Vec<Action>,
    ) {
        let Some(actor) = self.actors.get_mut(&actor_id) else {
            return;
        };
        if actor.state == ActorState::Dead {
            return;
        }
        let error = actor_died(Some((&actor.spec, actor.host_pid)), reason, detail, data);
        actor.state = ActorState::Dead;
        actor.death = Some(error.clone());
        let mut calls: Vec<TaskId> = actor.in_flight.drain(..).map(|(task, _)| task).collect();
        for (_, queue) in actor.callers.drain(..) {
            calls.extend(queue);
        }
        let name = actor.spec.name.clone();
        let creation = actor.creation.clone();
        if let Some(name) = name {
            if self.named.get(&name) == Some(&actor_id) {
                self.named.remove(&name);
            }
        }
        let mut work = StoreWork::new();
        for task_id in calls {
            if let Some(task) = self.tasks.remove(&task_id) {
                self.fail_task_entry(task, error.clone(), &mut work, out);
            }
        }
        if let Some(task) = self.tasks.remove(&creation.task_id) {
            if task.state == TaskState::Queued {
                self.queues.remove(task.class, task.spec.task_id);
            }
        }
        self.unpin_task_objects(&creation, out);
        self.store_all(work, out);
    }

    /// The actor's last handle is gone: it ends once the calls already made are done.
    pub(super) fn actor_out_of_scope(&mut self, actor_id: ActorId, out: &mut Vec<Action>) {
        let Some(actor) = self.actors.get_mut(&actor_id) else {
            return;
        };
        if actor.spec.detached || actor.state == ActorState::Dead {
            return;
        }
        actor.ending.get_or_insert(death::OUT_OF_SCOPE);
        // Calls already submitted still run (the actor is created for them if need be).
        if actor.state == ActorState::Pending && actor.is_idle() {
            self.actor_dead(actor_id, death::OUT_OF_SCOPE, "", Bytes::new(), out);
            return;
        }
        self.stop_if_done(actor_id, out);
    }

    /// An actor that is ending and has nothing left to run is told to exit.
    fn stop_if_done(&mut self, actor_id: ActorId, out: &mut Vec<Action>) {
        let Some(actor) = self.actors.get(&actor_id) else {
            return;
        };
        if actor.ending != Some(death::OUT_OF_SCOPE) || !actor.is_idle() {
            return;
        }
        if let ActorState::Alive(worker) = actor.state {
            out.push(Action::StopWorker { worker });
        }
    }
}

/// The error every call on a dead actor gets. Its message holds, one per line: the reason
/// (see [`death`]), class name, actor id, name, namespace, pid, then any detail; its data
/// holds the constructor's error when that is the reason.
fn actor_died(
    spec: Option<(&ActorSpec, u32)>,
    reason: &'static str,
    detail: &str,
    data: Bytes,
) -> StoredObject {
    let (class, id, name, namespace, pid) = match spec {
        Some((spec, pid)) => (
            spec.class_name.to_string(),
            spec.actor_id.hex(),
            spec.name.as_ref().map_or(String::new(), |n| n.name.clone()),
            spec.namespace.clone(),
            pid,
        ),
        None => Default::default(),
    };
    let message = format!("{reason}\n{class}\n{id}\n{name}\n{namespace}\n{pid}\n{detail}");
    let mut payload = Payload::system_error(ErrorKind::ActorDied, message);
    payload.data = data;
    Arc::new(payload)
}
