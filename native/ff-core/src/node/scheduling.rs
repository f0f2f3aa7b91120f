//! Handing queued tasks to idle workers while resources last, and asking for workers.

use std::sync::Arc;

use super::*;

impl Node {
    /// Hands queued tasks to idle workers while resources last, and starts workers for
    /// tasks that fit but have none.
    pub(super) fn schedule(&mut self, out: &mut Vec<Action>) {
        if self.draining {
            return;
        }
        self.place_pending_groups();
        for class_id in self.queues.nonempty() {
            loop {
                let class = self.queues.class(class_id);
                let Some(&task_id) = class.queue.front() else {
                    break;
                };
                let request = class.request.clone();
                let must_exist_missing = !self.config.total.contains(&class.must_exist);
                let env = class.env;
                if must_exist_missing || self.is_infeasible(&request) {
                    // A task in a placement group waits for the group (or, too big for its
                    // bundle, forever) without the infeasible warning, as in Ray.
                    let in_group = self.tasks[&task_id].spec.options.placement_group.is_some();
                    if !in_group && self.warned_infeasible.insert(class_id) {
                        let task_name = self.tasks[&task_id].spec.options.name.clone();
                        let mut shown = (*request).clone();
                        for (name, amount) in self.queues.class(class_id).must_exist.iter() {
                            if shown.get(name) < amount {
                                shown.set(name, amount);
                            }
                        }
                        out.push(Action::Infeasible {
                            task_name,
                            request: Arc::new(shown),
                        });
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

    pub(super) fn start_workers_for(&mut self, class_id: ClassId, out: &mut Vec<Action>) {
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

    pub(super) fn dispatch(
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
        let arg_values = resolved_args(&self.objects, &task.spec);
        if let TaskKind::ActorCreation(actor) = &task.spec.kind {
            let actor = actor.actor_id;
            let spec = task.spec.clone();
            // A constructor's "attempt" is how many times the actor has been restarted.
            let attempt = self.actor_restarts(actor).unwrap_or(0);
            self.actor_placed(actor, worker_id);
            out.push(Action::Dispatch(Box::new(Dispatch {
                worker: worker_id,
                spec,
                arg_values,
                send_function,
                assigned: request,
                gpu_ids,
                attempt,
            })));
            return;
        }
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

    pub(super) fn fits(&self, request: &ResourceSet) -> bool {
        let gpus = request.get(GPU);
        self.available.contains(request) && (gpus.is_zero() || self.gpus.can_allocate(gpus))
    }

    /// How many tasks asking for `request` the free resources could run at once.
    pub(super) fn fit_count(&self, request: &ResourceSet) -> usize {
        request
            .iter()
            .filter(|(_, amount)| !amount.is_zero())
            .map(|(name, amount)| {
                (self.available.get(name).units().max(0) / amount.units()) as usize
            })
            .min()
            .unwrap_or(usize::MAX)
    }

    pub(super) fn is_infeasible(&self, request: &ResourceSet) -> bool {
        if !self.config.total.contains(request) {
            return true;
        }
        let gpus = request.get(GPU);
        !gpus.is_zero() && !GpuSlots::new(self.gpus_total()).can_allocate(gpus)
    }

    pub(super) fn gpus_total(&self) -> u32 {
        self.config.total.get(GPU).to_f64().floor() as u32
    }
}
