//! Worker processes: start-up, connection, death, idling, and blocking in gets.

use std::sync::Arc;

use bytes::Bytes;

use super::*;

impl Node {
    /// Starts `count` workers of the job's own environment ahead of any task.
    pub fn prestart_workers(&mut self, count: u32, out: &mut Vec<Action>) {
        if self.draining {
            return;
        }
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

    /// A driver attached over the socket (the Ray Client's connection); it is known by the
    /// id its connection chose. Returns its client id.
    pub fn driver_attached(&mut self, connection: WorkerId) -> Result<ClientId, CoreError> {
        self.workers
            .add_attached(connection)
            .ok_or(CoreError::UnknownWorker(connection))
    }

    /// Records the process id a worker reported (it shows in actor errors).
    pub fn set_worker_pid(&mut self, worker: WorkerId, pid: u32) {
        if let Some(worker) = self.workers.get_mut(worker) {
            worker.pid = pid;
        }
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
                    if let TaskKind::ActorCreation(actor) = &task.spec.kind {
                        self.actor_host_died(actor.actor_id, detail, out);
                    } else if task.cancelled {
                        let error = super::cancel::cancelled_error();
                        self.fail_task_entry(task, error, &mut work, out);
                    } else if self.group_removed(&task.spec) {
                        let error = super::placement_groups::group_removed_error();
                        self.fail_task_entry(task, error, &mut work, out);
                    } else if task.may_retry() {
                        self.requeue(task);
                    } else {
                        let error = Payload::system_error(ErrorKind::WorkerCrashed, detail);
                        self.fail_task_entry(task, Arc::new(error), &mut work, out);
                    }
                }
            }
            WorkerState::Hosting(actor, running) => {
                self.release_grant(&running);
                self.actor_host_died(actor, detail, out);
            }
            WorkerState::Idle { .. } | WorkerState::Retiring | WorkerState::Attached => {}
        }
        self.drop_waiters_of(worker.client);
        let mut freed = Vec::new();
        self.objects.release_client(worker.client, &mut freed);
        self.report_freed(freed, out);
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

    pub(super) fn note_startup_failure(
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
        let error = Arc::new(Payload::system_error(
            ErrorKind::SystemError,
            message.clone(),
        ));
        for task_id in stranded {
            let task = self.tasks.remove(&task_id).expect("collected above");
            if let TaskKind::ActorCreation(actor) = &task.spec.kind {
                self.queues.remove(task.class, task_id);
                self.actor_dead(
                    actor.actor_id,
                    actors::death::CRASHED,
                    &message,
                    Bytes::new(),
                    out,
                );
            } else {
                self.fail_task_entry(task, error.clone(), work, out);
            }
        }
    }

    pub(super) fn release_grant(&mut self, running: &Running) {
        self.available.add_all(&running.grant.resources);
        // Bundle resources of a placement group removed meanwhile are gone for good.
        for (name, _) in running.grant.resources.iter() {
            if self.config.total.get(name).is_zero() {
                self.available.set(name, Quantity::ZERO);
            }
        }
        if running.blocked > 0 {
            // Its CPUs were lent back when it blocked.
            let cpus = running.grant.resources.get(CPU);
            self.available.add(CPU, Quantity::ZERO - cpus);
        }
        self.gpus.release(&running.grant.gpus);
    }

    pub(super) fn block_worker(&mut self, worker: WorkerId, out: &mut Vec<Action>) {
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

    pub(super) fn unblock_worker(&mut self, worker: WorkerId) {
        let Some(running) = self.workers.get_mut(worker).and_then(|w| w.running_mut()) else {
            return;
        };
        running.blocked = running.blocked.saturating_sub(1);
        if running.blocked == 0 {
            let cpus = running.grant.resources.get(CPU);
            self.available.add(CPU, Quantity::ZERO - cpus);
        }
    }
}
