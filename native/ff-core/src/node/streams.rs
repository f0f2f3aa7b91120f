//! Streaming generators: each value a streaming task yields is stored as it arrives, attached
//! to the task's completion object (so items live as long as the generator that reads them),
//! and a consumer waits for "item `i`, or the end".

use std::sync::Arc;

use super::*;

#[derive(Debug, Default)]
pub(super) struct Stream {
    /// Items yielded so far (item `i` exists for every `i` below this).
    produced: u32,
    /// Items a consumer has taken with `next` (every `i` below this).
    consumed: u32,
    /// The task pauses once this many items are not consumed (0: never).
    backpressure: u32,
    /// The task has finished (its completion object holds the count or the error).
    finished: bool,
    waiters: Vec<WaiterId>,
}

impl Stream {
    pub(super) fn produced(&self) -> u32 {
        self.produced
    }

    pub(super) fn is_finished(&self) -> bool {
        self.finished
    }

    /// A `wait` stands on this stream's next item.
    pub(super) fn add_waiter(&mut self, waiter: WaiterId) {
        self.waiters.push(waiter);
    }
}

impl Node {
    /// `worker` yielded the `index`-th value of the streaming task `task` it runs.
    pub fn stream_item(
        &mut self,
        worker: WorkerId,
        task: TaskId,
        index: u32,
        value: Payload,
        out: &mut Vec<Action>,
    ) -> Result<(), CoreError> {
        match self.tasks.get(&task).map(|t| t.state) {
            Some(TaskState::Running(running_on)) if running_on == worker => {}
            _ => return Err(CoreError::UnexpectedTaskResult { worker, task }),
        }
        let completion = ObjectId::for_task(task, 1);
        let mut freed = Vec::new();
        let item = TaskSpec::stream_item(task, index);
        let value = self.admit_result(item, Arc::new(value), out);
        self.objects
            .insert_attached(completion, item, value, &mut freed);
        if !self.objects.contains(item) {
            self.memory.forget(item); // its generator is gone: not stored
        }
        self.report_freed(freed, out);
        if let Some(stream) = self.streams.get_mut(&task) {
            stream.produced = stream.produced.max(index + 1);
        }
        self.wake_stream(task, out);
        Ok(())
    }

    /// Starts waiting on a stream: for its `index`-th item or its end (a consumer), or for
    /// leave to yield the item after `index` (its producer, under backpressure).
    pub(super) fn stream_wait(
        &mut self,
        client: ClientId,
        tag: u64,
        task: TaskId,
        kind: WaitKind,
        block: bool,
        out: &mut Vec<Action>,
    ) -> WaitStart {
        if let Some(result) = self.stream_ready(kind, out) {
            return WaitStart::Done(result);
        }
        if !block {
            return WaitStart::Done(WaitResult::TimedOut);
        }
        let waiter = WaiterId(self.next_waiter);
        self.next_waiter += 1;
        let blocks = self.workers.by_client(client);
        self.waiters.insert(
            waiter,
            Waiter {
                client,
                tag,
                ids: Vec::new(),
                kind,
                remaining: 1,
                blocks,
            },
        );
        self.streams
            .get_mut(&task)
            .expect("pending streams exist")
            .waiters
            .push(waiter);
        if let Some(worker) = blocks {
            self.block_worker(worker, out);
        }
        WaitStart::Pending(waiter)
    }

    /// The result a stream wait has now, if it is done. A consumer that gets an item has
    /// consumed it, which may let the producer go on.
    fn stream_ready(&mut self, kind: WaitKind, out: &mut Vec<Action>) -> Option<WaitResult> {
        match kind {
            WaitKind::StreamNext { task, index } => {
                let result = self.stream_status(task, index)?;
                if let (WaitResult::StreamItem(_), Some(stream)) =
                    (&result, self.streams.get_mut(&task))
                {
                    if index + 1 > stream.consumed {
                        stream.consumed = index + 1;
                        if stream.backpressure > 0 {
                            self.wake_stream(task, out);
                        }
                    }
                }
                Some(result)
            }
            WaitKind::StreamCredit { task, index } => self
                .has_credit(task, index)
                .then_some(WaitResult::StreamEnd),
            _ => None,
        }
    }

    /// Whether the producer that yielded item `index` may yield the next one: fewer than
    /// `backpressure` items would then be unconsumed (or nobody reads the stream any more).
    pub(super) fn has_credit(&self, task: TaskId, index: u32) -> bool {
        self.streams.get(&task).is_none_or(|stream| {
            stream.backpressure == 0 || index + 1 < stream.consumed + stream.backpressure
        })
    }

    /// The item if it exists, the end if the stream is over (or unknown), else None.
    pub(super) fn stream_status(&self, task: TaskId, index: u32) -> Option<WaitResult> {
        let Some(stream) = self.streams.get(&task) else {
            return Some(WaitResult::StreamEnd);
        };
        if stream.produced > index {
            return Some(WaitResult::StreamItem(TaskSpec::stream_item(task, index)));
        }
        stream.finished.then_some(WaitResult::StreamEnd)
    }

    pub(super) fn open_stream(&mut self, task: TaskId, backpressure: u32) {
        self.streams.entry(task).or_default().backpressure = backpressure;
    }

    /// The task behind a stream finished (for good, not to be retried).
    pub(super) fn finish_stream(&mut self, task: TaskId, out: &mut Vec<Action>) {
        if let Some(stream) = self.streams.get_mut(&task) {
            stream.finished = true;
            self.wake_stream(task, out);
        }
    }

    /// A stream is forgotten with its completion object (no generator reads it any more);
    /// a producer waiting for leave to go on gets it.
    pub(super) fn close_stream(&mut self, completion: ObjectId, out: &mut Vec<Action>) {
        if completion.index() != 1 {
            return;
        }
        if let Some(stream) = self.streams.remove(&completion.task_id()) {
            for waiter in stream.waiters {
                if let Some(WaitKind::StreamCredit { .. }) =
                    self.waiters.get(&waiter).map(|w| w.kind)
                {
                    self.finish_waiter(waiter, WaitResult::StreamEnd, out);
                }
            }
        }
    }

    pub(super) fn forget_stream_waiter(&mut self, task: TaskId, waiter: WaiterId) {
        if let Some(stream) = self.streams.get_mut(&task) {
            stream.waiters.retain(|w| *w != waiter);
        }
    }

    fn wake_stream(&mut self, task: TaskId, out: &mut Vec<Action>) {
        let Some(stream) = self.streams.get(&task) else {
            return;
        };
        let waiting = stream.waiters.clone();
        for waiter in waiting {
            match self.waiters.get(&waiter).map(|w| w.kind) {
                Some(kind @ (WaitKind::StreamNext { .. } | WaitKind::StreamCredit { .. })) => {
                    if let Some(result) = self.stream_ready(kind, out) {
                        self.finish_waiter(waiter, result, out);
                    }
                }
                Some(WaitKind::Wait { .. }) => self.advance_stream_wait(waiter, task, out),
                _ => {}
            }
        }
    }
}
