//! The ObjectRefs alive in one process, counted per object id.
//!
//! Only the first ref to an object and the drop of the last one are reported to the node
//! (through a [`RefSink`]); the node counts processes, not Python objects.

use ff_core::ids::ObjectId;
use parking_lot::Mutex;
use rustc_hash::FxHashMap;

/// Where a process's 0<->1 changes go: straight into the node for the driver, into the
/// outgoing message stream for a worker.
pub trait RefSink: Send + Sync {
    fn added(&self, id: ObjectId);
    fn removed(&self, id: ObjectId);
}

pub struct LocalRefs {
    counts: Mutex<FxHashMap<ObjectId, u32>>,
    sink: Box<dyn RefSink>,
}

impl LocalRefs {
    pub fn new(sink: Box<dyn RefSink>) -> Self {
        Self {
            counts: Mutex::new(FxHashMap::default()),
            sink,
        }
    }

    /// A new ref to an object the node already counts this process as holding (a fresh
    /// task return or put): counted here, not reported again.
    pub fn adopt(&self, id: ObjectId) {
        *self.counts.lock().entry(id).or_insert(0) += 1;
    }

    /// A new ref from elsewhere (unpickled, or made from an id).
    pub fn add(&self, id: ObjectId) {
        let mut counts = self.counts.lock();
        let count = counts.entry(id).or_insert(0);
        *count += 1;
        if *count == 1 {
            // Reported under the lock, so the node sees this process's changes in order.
            self.sink.added(id);
        }
    }

    pub fn remove(&self, id: ObjectId) {
        let mut counts = self.counts.lock();
        let Some(count) = counts.get_mut(&id) else {
            return;
        };
        *count -= 1;
        if *count == 0 {
            counts.remove(&id);
            self.sink.removed(id);
        }
    }

    pub fn len(&self) -> usize {
        self.counts.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use ff_core::ids::{JobId, TaskIdGenerator};

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(bool, ObjectId)>>);

    impl RefSink for Arc<Recorder> {
        fn added(&self, id: ObjectId) {
            self.0.lock().push((true, id));
        }
        fn removed(&self, id: ObjectId) {
            self.0.lock().push((false, id));
        }
    }

    #[test]
    fn only_first_and_last_refs_are_reported() {
        let recorder = Arc::new(Recorder::default());
        let refs = LocalRefs::new(Box::new(recorder.clone()));
        let id = ObjectId::for_task(TaskIdGenerator::new(JobId::from_index(1)).next(), 1);
        refs.add(id);
        refs.add(id);
        refs.remove(id);
        assert_eq!(recorder.0.lock().len(), 1);
        refs.remove(id);
        assert_eq!(*recorder.0.lock(), vec![(true, id), (false, id)]);
        refs.remove(id);
        assert_eq!(recorder.0.lock().len(), 2, "an extra drop is ignored");
    }

    #[test]
    fn adopted_refs_are_not_reported_when_made_but_are_when_dropped() {
        let recorder = Arc::new(Recorder::default());
        let refs = LocalRefs::new(Box::new(recorder.clone()));
        let id = ObjectId::for_task(TaskIdGenerator::new(JobId::from_index(1)).next(), 1);
        refs.adopt(id);
        assert!(recorder.0.lock().is_empty());
        refs.remove(id);
        assert_eq!(*recorder.0.lock(), vec![(false, id)]);
    }
}
