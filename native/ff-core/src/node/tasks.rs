//! Tasks: submission, results and failures, and storing values (which may wake dependents).

use std::sync::Arc;

use super::*;

impl Node {
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
        self.unpin_task_objects(&task.spec, out);
    }

    pub(super) fn unpin_task_objects(&mut self, spec: &TaskSpec, out: &mut Vec<Action>) {
        let mut freed = Vec::new();
        for id in spec.pinned_objects() {
            self.objects.unpin(id, &mut freed);
        }
        out.extend(freed.into_iter().map(Action::Freed));
    }

    /// Stores values and wakes whoever waits for them: gets, waits, and tasks whose last
    /// missing argument this was.
    pub(super) fn store_all(&mut self, mut work: StoreWork, out: &mut Vec<Action>) {
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
}
