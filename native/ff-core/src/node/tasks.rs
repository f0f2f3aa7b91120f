//! Tasks: submission, results and failures, and storing values (which may wake dependents).

use std::sync::Arc;

use super::*;

impl Node {
    /// Submits a function call or an actor method call. Its return objects exist (pending)
    /// from now on, held by `submitter`. (Actors are created with `create_actor`.)
    pub fn submit(
        &mut self,
        submitter: ClientId,
        spec: TaskSpec,
        out: &mut Vec<Action>,
    ) -> Result<(), CoreError> {
        if self.tasks.contains_key(&spec.task_id) {
            return Err(CoreError::DuplicateTask(spec.task_id));
        }
        match spec.kind {
            TaskKind::Function => {
                self.submit_task(submitter, spec, out);
                Ok(())
            }
            TaskKind::ActorCall(_) => self.submit_actor_call(submitter, spec, out),
            TaskKind::ActorCreation(_) => Err(CoreError::NotAnActorCreation(spec.task_id)),
        }
    }

    /// Queues a task that needs a worker of its own (a function call or an actor's
    /// constructor) in its scheduling class, once its arguments are ready.
    pub(super) fn submit_task(
        &mut self,
        submitter: ClientId,
        spec: TaskSpec,
        out: &mut Vec<Action>,
    ) {
        if self.group_removed(&spec) {
            let error = super::placement_groups::group_removed_error();
            self.fail_unqueued(submitter, spec, error, out);
            return;
        }
        let task_id = spec.task_id;
        let class = self.class_of(&spec);
        let missing = self.register_task(submitter, &spec);
        let state = if missing == 0 {
            TaskState::Queued
        } else {
            TaskState::WaitingForArgs(missing)
        };
        if state == TaskState::Queued {
            self.queues.push(class, task_id, spec.parent.is_some());
        }
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
        self.schedule(out);
    }

    /// The scheduling class of a task that needs a worker of its own.
    pub(super) fn class_of(&mut self, spec: &TaskSpec) -> ClassId {
        let env = self.envs.intern(&spec.options.env_vars);
        match &spec.kind {
            TaskKind::ActorCreation(actor) => {
                self.queues
                    .class_with(&spec.options.resources, &actor.placement, env)
            }
            _ => self.queues.class_for(&spec.options.resources, env),
        }
    }

    /// Makes a task's return objects (held by `submitter`), pins what it takes, and registers
    /// it as a dependent of its pending arguments. Returns how many it waits for.
    pub(super) fn register_task(&mut self, submitter: ClientId, spec: &TaskSpec) -> u32 {
        if spec.options.streaming {
            self.open_stream(spec.task_id, spec.options.backpressure);
        }
        self.note_child(spec);
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
                self.objects.add_dependent(*id, spec.task_id);
                missing += 1;
            }
        }
        missing
    }

    /// Stores a value made by `put`, held by `owner`.
    /// Stores a value a process put. A value larger than the whole store is refused.
    pub fn put(
        &mut self,
        owner: ClientId,
        id: ObjectId,
        value: Payload,
        out: &mut Vec<Action>,
    ) -> Result<(), CoreError> {
        let value = self
            .admit_shared(id, Arc::new(value), out)
            .map_err(|full| CoreError::ObjectStoreFull {
                size: full.size,
                capacity: full.capacity,
            })?;
        self.objects.insert_ready(id, owner, value);
        Ok(())
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
        self.report_freed(freed, out);
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
        if let WorkerState::Hosting(actor, _) = worker.state {
            return self.actor_call_finished(actor, task_id, returns, retryable, out);
        }
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
        let error = returns.iter().find(|payload| payload.is_error()).cloned();
        if let TaskKind::ActorCreation(actor) = &task.spec.kind {
            let actor = actor.actor_id;
            match error {
                None => self.actor_created(actor, worker_id, running, out),
                Some(error) => {
                    // The process keeps whatever the failed constructor left behind: retire it.
                    self.release_grant(&running);
                    self.workers.retire(worker_id);
                    out.push(Action::StopWorker { worker: worker_id });
                    self.actor_creation_failed(actor, &error, out);
                }
            }
            self.schedule(out);
            return Ok(());
        }
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
        match error {
            Some(_) if retryable && task.may_retry() => self.requeue(task),
            Some(error) => self.fail_task_entry(task, Arc::new(error), &mut work, out),
            None => self.complete_task_entry(task, returns, &mut work, out),
        }
        self.store_all(work, out);
        self.schedule(out);
        Ok(())
    }

    /// Stores a finished task's values (the task is no longer in `self.tasks`).
    pub(super) fn complete_task_entry(
        &mut self,
        task: TaskEntry,
        returns: Vec<Payload>,
        work: &mut StoreWork,
        out: &mut Vec<Action>,
    ) {
        let expected = task.spec.options.num_returns as usize;
        if returns.len() != expected {
            let message = CoreError::WrongReturnCount {
                expected,
                got: returns.len(),
            };
            let error = Payload::system_error(ErrorKind::SystemError, message.to_string());
            self.fail_task_entry(task, Arc::new(error), work, out);
            return;
        }
        work.extend(
            task.spec
                .return_ids()
                .zip(returns.into_iter().map(Arc::new)),
        );
        self.forget_family(&task.spec);
        self.unpin_task_objects(&task.spec, out);
        if task.spec.options.streaming {
            self.finish_stream(task.spec.task_id, out);
        }
    }

    pub(super) fn requeue(&mut self, mut task: TaskEntry) {
        task.attempt += 1;
        task.state = TaskState::Queued;
        self.queues.push_front(task.class, task.spec.task_id);
        self.tasks.insert(task.spec.task_id, task);
    }

    /// Fails a task that is no longer in `self.tasks`: every return gets `error`.
    pub(super) fn fail_task_entry(
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
        self.forget_family(&task.spec);
        self.unpin_task_objects(&task.spec, out);
        if task.spec.options.streaming {
            self.finish_stream(task.spec.task_id, out);
        }
    }

    pub(super) fn unpin_task_objects(&mut self, spec: &TaskSpec, out: &mut Vec<Action>) {
        let mut freed = Vec::new();
        for id in spec.pinned_objects() {
            self.objects.unpin(id, &mut freed);
        }
        self.report_freed(freed, out);
    }

    /// Reports freed objects; an actor's handle object going means its last handle is gone.
    pub(super) fn report_freed(&mut self, freed: Vec<ObjectId>, out: &mut Vec<Action>) {
        for id in freed {
            if let Some(actor) = self.actor_by_object.remove(&id) {
                self.actor_out_of_scope(actor, out);
            }
            self.close_stream(id, out);
            self.memory.forget(id);
            out.push(Action::Freed(id));
        }
    }

    /// Stores values and wakes whoever waits for them: gets, waits, and tasks whose last
    /// missing argument this was.
    pub(super) fn store_all(&mut self, mut work: StoreWork, out: &mut Vec<Action>) {
        while let Some((id, value)) = work.pop() {
            let mut freed = Vec::new();
            let value = if value.shared.is_none() {
                value
            } else if self.objects.contains(id) {
                self.admit_result(id, value, out)
            } else {
                continue; // freed while pending: nothing to store or account for
            };
            let Some(woken) = self.objects.store(id, value.clone(), &mut freed) else {
                self.memory.forget(id);
                continue;
            };
            self.report_freed(freed, out);
            for waiter in woken.waiters {
                self.advance_waiter(waiter, &value, out);
            }
            for task_id in woken.dependents {
                let Some(task) = self.tasks.get_mut(&task_id) else {
                    continue;
                };
                if let TaskState::WaitingForArgs(missing) = &mut task.state {
                    *missing -= 1;
                    if *missing > 0 {
                        continue;
                    }
                    if let Some(call) = task.spec.actor_call() {
                        let actor = call.actor;
                        task.state = TaskState::ActorQueued;
                        self.pump_actor(actor, out);
                    } else {
                        task.state = TaskState::Queued;
                        let class = task.class;
                        self.queues.push(class, task_id, task.spec.parent.is_some());
                    }
                }
            }
        }
    }
}
