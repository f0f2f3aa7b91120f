//! Gets and waits: finishing at once when values are there, or waiting for them.

use super::*;

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
    /// The stream item that was waited for.
    StreamItem(ObjectId),
    /// The stream ended before that item.
    StreamEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitKind {
    /// All values, failing fast on the first error.
    Get,
    /// Until `num_returns` objects are ready.
    Wait { num_returns: usize },
    /// Until the `index`-th item of `task`'s stream exists, or the stream ends.
    StreamNext { task: TaskId, index: u32 },
    /// Until the task that yielded `index` may yield the next item (backpressure).
    StreamCredit { task: TaskId, index: u32 },
}

impl WaitKind {
    /// The streaming task a stream wait is about (None for gets and waits on objects).
    pub fn stream_task(&self) -> Option<TaskId> {
        match self {
            WaitKind::StreamNext { task, .. } | WaitKind::StreamCredit { task, .. } => Some(*task),
            WaitKind::Get | WaitKind::Wait { .. } => None,
        }
    }
}

#[derive(Debug)]
pub enum WaitStart {
    Done(WaitResult),
    Pending(WaiterId),
}

#[derive(Debug)]
pub(super) struct Waiter {
    pub(super) client: ClientId,
    pub(super) tag: u64,
    pub(super) ids: Vec<ObjectId>,
    pub(super) kind: WaitKind,
    /// Values still needed before the waiter is done.
    pub(super) remaining: usize,
    /// The worker this waiter blocks, which lends its CPUs back meanwhile.
    pub(super) blocks: Option<WorkerId>,
}

impl Node {
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
        if let Some(task) = kind.stream_task() {
            return self.stream_wait(client, tag, task, kind, block, out);
        }
        if kind == WaitKind::Get {
            for id in &ids {
                self.memory.touch(*id); // read now: the last to be spilled
            }
        }
        let mut pending: Vec<ObjectId> = Vec::new();
        // Duplicates are allowed in a get; long lists are deduplicated with a set.
        let mut seen = (ids.len() > 16).then(FxHashSet::<ObjectId>::default);
        let mut ready = 0usize;
        let mut streams: Vec<TaskId> = Vec::new();
        let is_wait = matches!(kind, WaitKind::Wait { .. });
        for id in &ids {
            let status = self.objects.status(*id);
            if is_wait && status == Status::Unknown && self.is_future_stream_item(*id) {
                streams.push(id.task_id()); // a generator's next item: its stream wakes us
                continue;
            }
            match status {
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
            WaitKind::Get | WaitKind::StreamNext { .. } | WaitKind::StreamCredit { .. } => {
                pending.len()
            }
            WaitKind::Wait { num_returns } => num_returns.saturating_sub(ready),
        };
        if remaining == 0 {
            return WaitStart::Done(self.wait_result(&ids, kind));
        }
        if !block {
            return WaitStart::Done(match kind {
                WaitKind::Wait { .. } => self.wait_result(&ids, kind),
                _ => WaitResult::TimedOut,
            });
        }
        let waiter = WaiterId(self.next_waiter);
        self.next_waiter += 1;
        for id in &pending {
            self.objects.add_waiter(*id, waiter);
        }
        for task in streams {
            if let Some(stream) = self.streams.get_mut(&task) {
                stream.add_waiter(waiter);
            }
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
            WaitKind::Wait { .. } => self.wait_result(&entry.ids, entry.kind),
            _ => WaitResult::TimedOut,
        })
    }

    pub(super) fn advance_waiter(
        &mut self,
        waiter: WaiterId,
        value: &StoredObject,
        out: &mut Vec<Action>,
    ) {
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
        if let Some(result) = result {
            self.finish_waiter(waiter, result, out);
        }
    }

    /// Ends a waiter with `result`, delivered as [`Action::WaiterDone`].
    pub(super) fn finish_waiter(
        &mut self,
        waiter: WaiterId,
        result: WaitResult,
        out: &mut Vec<Action>,
    ) {
        let Some(entry) = self.remove_waiter(waiter) else {
            return;
        };
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

    pub(super) fn remove_waiter(&mut self, waiter: WaiterId) -> Option<Waiter> {
        let entry = self.waiters.remove(&waiter)?;
        for id in &entry.ids {
            self.objects.remove_waiter(*id, waiter);
        }
        if let Some(task) = entry.kind.stream_task() {
            self.forget_stream_waiter(task, waiter);
        } else if matches!(entry.kind, WaitKind::Wait { .. }) && !self.streams.is_empty() {
            // A wait may stand on generators' next items (see `is_future_stream_item`).
            for id in &entry.ids {
                self.forget_stream_waiter(id.task_id(), waiter);
            }
        }
        Some(entry)
    }

    pub(super) fn drop_waiters_of(&mut self, client: ClientId) {
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

    /// An object's status for `wait`, where a generator stands for its next item: an item
    /// its stream has not produced yet is pending until it is, or until the stream ends.
    fn wait_status(&self, id: ObjectId) -> Status {
        match self.objects.status(id) {
            Status::Unknown if self.is_future_stream_item(id) => Status::Pending,
            status => status,
        }
    }

    /// `id`, unknown to the object table, names an item an open stream has not produced yet.
    fn is_future_stream_item(&self, id: ObjectId) -> bool {
        id.index() >= 2
            && self
                .streams
                .get(&id.task_id())
                .is_some_and(|stream| !stream.is_finished() && stream.produced() <= id.index() - 2)
    }

    /// A stream produced an item or ended: a `wait` that stands on it may be done.
    pub(super) fn advance_stream_wait(
        &mut self,
        waiter: WaiterId,
        task: TaskId,
        out: &mut Vec<Action>,
    ) {
        let Some(entry) = self.waiters.get(&waiter) else {
            return;
        };
        let Some(id) = entry.ids.iter().find(|id| id.task_id() == task).copied() else {
            return;
        };
        if self.wait_status(id) == Status::Pending {
            return;
        }
        self.forget_stream_waiter(task, waiter);
        let entry = self.waiters.get_mut(&waiter).expect("found above");
        entry.remaining -= 1;
        if entry.remaining == 0 {
            let (ids, kind) = (entry.ids.clone(), entry.kind);
            let result = self.wait_result(&ids, kind);
            self.finish_waiter(waiter, result, out);
        }
    }

    pub(super) fn wait_result(&self, ids: &[ObjectId], kind: WaitKind) -> WaitResult {
        match kind {
            WaitKind::Get => WaitResult::Values(
                ids.iter()
                    .map(|id| match self.objects.lookup(*id) {
                        Lookup::Ready(value) => value,
                        Lookup::Pending | Lookup::Unknown => lost_object(*id),
                    })
                    .collect(),
            ),
            WaitKind::StreamNext { task, index } => self
                .stream_status(task, index)
                .unwrap_or(WaitResult::TimedOut),
            WaitKind::StreamCredit { task, index } => match self.has_credit(task, index) {
                true => WaitResult::StreamEnd,
                false => WaitResult::TimedOut,
            },
            WaitKind::Wait { num_returns } => WaitResult::Ready(
                ids.iter()
                    .enumerate()
                    .filter(|(_, id)| self.wait_status(**id) != Status::Pending)
                    .map(|(index, _)| index as u32)
                    .take(num_returns)
                    .collect(),
            ),
        }
    }
}
