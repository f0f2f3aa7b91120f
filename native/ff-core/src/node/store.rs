//! The node's shared memory: which large objects are resident, in order of last use, and
//! which to spill to disk when the store would go over its capacity (`object_store_memory`).
//!
//! Accounting only; the runtime copies a spilled object's bytes to a file and reports back
//! ([`Node::object_spilled`]), after which the object is read from that file.

use std::collections::BTreeMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::*;
use crate::object::SharedSegment;

#[derive(Debug)]
struct Resident {
    size: u64,
    used_at: u64,
    spilling: bool,
}

/// Resident bytes against the capacity, least recently used first.
#[derive(Debug)]
pub(super) struct SharedMemory {
    capacity: u64,
    /// Bytes of resident objects, counting those being spilled until they are on disk.
    used: u64,
    /// Bytes of resident objects whose spill has started.
    releasing: u64,
    clock: u64,
    resident: FxHashMap<ObjectId, Resident>,
    by_use: BTreeMap<u64, ObjectId>,
}

/// A new object that can never fit: it is larger than the whole store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreFull {
    pub size: u64,
    pub capacity: u64,
}

impl SharedMemory {
    pub(super) fn new(capacity: u64) -> Self {
        Self {
            capacity,
            used: 0,
            releasing: 0,
            clock: 0,
            resident: FxHashMap::default(),
            by_use: BTreeMap::new(),
        }
    }

    /// Takes in a new object of `size` bytes. Returns the objects to spill (least recently
    /// used first) so that what stays resident fits the capacity again.
    pub(super) fn admit(&mut self, id: ObjectId, size: u64) -> Result<Vec<ObjectId>, StoreFull> {
        if size > self.capacity {
            return Err(StoreFull {
                size,
                capacity: self.capacity,
            });
        }
        self.forget(id);
        self.clock += 1;
        self.used += size;
        self.resident.insert(
            id,
            Resident {
                size,
                used_at: self.clock,
                spilling: false,
            },
        );
        self.by_use.insert(self.clock, id);
        let mut victims = Vec::new();
        let mut candidates = self.by_use.values();
        while self.used - self.releasing > self.capacity {
            let Some(&victim) = candidates.next() else {
                break;
            };
            let entry = self
                .resident
                .get_mut(&victim)
                .expect("indexed objects are resident");
            if victim == id || entry.spilling {
                continue;
            }
            entry.spilling = true;
            self.releasing += entry.size;
            victims.push(victim);
        }
        Ok(victims)
    }

    /// The object was just read: it is the last to be spilled now.
    pub(super) fn touch(&mut self, id: ObjectId) {
        let Some(entry) = self.resident.get_mut(&id) else {
            return;
        };
        self.by_use.remove(&entry.used_at);
        self.clock += 1;
        entry.used_at = self.clock;
        self.by_use.insert(self.clock, id);
    }

    /// The object was freed, or its spill finished: its bytes no longer count.
    pub(super) fn forget(&mut self, id: ObjectId) {
        let Some(entry) = self.resident.remove(&id) else {
            return;
        };
        self.by_use.remove(&entry.used_at);
        self.used -= entry.size;
        if entry.spilling {
            self.releasing -= entry.size;
        }
    }

    /// A spill could not be written: the object stays resident (and may be chosen again).
    pub(super) fn spill_failed(&mut self, id: ObjectId) {
        if let Some(entry) = self.resident.get_mut(&id) {
            if entry.spilling {
                entry.spilling = false;
                self.releasing -= entry.size;
            }
        }
    }

    pub(super) fn usage(&self) -> StoreUsage {
        StoreUsage {
            resident_bytes: self.used,
            capacity: self.capacity,
            resident_objects: self.resident.len(),
        }
    }
}

/// What the store holds right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreUsage {
    pub resident_bytes: u64,
    pub capacity: u64,
    pub resident_objects: usize,
}

impl Node {
    /// Accounts for a new shared object and asks for the spills that make room for it.
    /// A value too large for the whole store becomes an ObjectStoreFull error instead.
    pub(super) fn admit_shared(
        &mut self,
        id: ObjectId,
        value: StoredObject,
        out: &mut Vec<Action>,
    ) -> Result<StoredObject, StoreFull> {
        let size = value.shared_size();
        if size == 0 {
            return Ok(value);
        }
        for victim in self.memory.admit(id, size)? {
            match self.objects.lookup(victim) {
                Lookup::Ready(stored) if stored.shared.is_some() => out.push(Action::Spill {
                    id: victim,
                    segment: stored.shared.clone().expect("checked"),
                }),
                _ => self.memory.forget(victim),
            }
        }
        Ok(value)
    }

    /// Like [`Node::admit_shared`] for a task's result: too large a value is stored as the
    /// error the reader gets.
    pub(super) fn admit_result(
        &mut self,
        id: ObjectId,
        value: StoredObject,
        out: &mut Vec<Action>,
    ) -> StoredObject {
        self.admit_shared(id, value, out)
            .unwrap_or_else(|full| Arc::new(store_full_error(full)))
    }

    /// The runtime wrote a spilled object to disk: from now on it is read from `file`.
    pub fn object_spilled(&mut self, id: ObjectId, file: Arc<dyn SharedSegment>) {
        if let Lookup::Ready(stored) = self.objects.lookup(id) {
            if stored.shared.is_some() {
                let mut moved = (*stored).clone();
                moved.shared = Some(file);
                self.objects.replace_value(id, Arc::new(moved));
            }
        }
        self.memory.forget(id);
    }

    /// The runtime could not spill the object; it stays in memory.
    pub fn spill_failed(&mut self, id: ObjectId) {
        self.memory.spill_failed(id);
    }

    pub fn store_usage(&self) -> StoreUsage {
        self.memory.usage()
    }
}

/// The error a value gets that is larger than the whole object store.
pub fn store_full_error(full: StoreFull) -> Payload {
    Payload::system_error(
        ErrorKind::ObjectStoreFull,
        format!(
            "Failed to put an object of {} bytes into the object store: it is larger than the \
             store's capacity of {} bytes (object_store_memory).",
            full.size, full.capacity
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{JobId, TaskIdGenerator};

    fn ids(n: usize) -> Vec<ObjectId> {
        let tasks = TaskIdGenerator::new(JobId::from_index(1));
        (0..n)
            .map(|_| ObjectId::for_task(tasks.next(), 1))
            .collect()
    }

    #[test]
    fn the_least_recently_used_objects_are_spilled_first() {
        let ids = ids(4);
        let mut memory = SharedMemory::new(100);
        assert!(memory.admit(ids[0], 40).unwrap().is_empty());
        assert!(memory.admit(ids[1], 40).unwrap().is_empty());
        memory.touch(ids[0]);
        assert_eq!(memory.admit(ids[2], 40).unwrap(), vec![ids[1]]);
        // Spilling in progress counts as released: no second victim for the same room.
        assert!(memory.admit(ids[3], 10).unwrap().is_empty());
        memory.forget(ids[1]);
        assert_eq!(memory.usage().resident_bytes, 90);
    }

    #[test]
    fn an_object_larger_than_the_store_is_refused() {
        let ids = ids(2);
        let mut memory = SharedMemory::new(100);
        memory.admit(ids[0], 60).unwrap();
        assert_eq!(
            memory.admit(ids[1], 101),
            Err(StoreFull {
                size: 101,
                capacity: 100
            })
        );
        assert_eq!(memory.usage().resident_bytes, 60);
    }

    #[test]
    fn a_failed_spill_makes_the_object_a_candidate_again() {
        let ids = ids(3);
        let mut memory = SharedMemory::new(100);
        memory.admit(ids[0], 60).unwrap();
        assert_eq!(memory.admit(ids[1], 60).unwrap(), vec![ids[0]]);
        memory.spill_failed(ids[0]);
        assert_eq!(memory.admit(ids[2], 10).unwrap(), vec![ids[0]]);
    }
}
