//! The node's object table and its reference counting.
//!
//! An object stays alive while anything holds it:
//! - a process with a live ObjectRef to it (`clients`: each process reports only its 0<->1
//!   changes; the node still counts them, so that a worker may send its additions early and
//!   its removals late without the count ever dropping below the truth),
//! - a submitted task that has not finished and takes it as an argument (`task_pins`),
//! - another stored object whose value has a ref to it inside (`containers`).
//!
//! When the last holder goes, a stored object is freed at once and the objects nested in it
//! lose a container, which may free them in turn. A pending object (its task still running)
//! with no holders is freed the moment its value arrives.

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use crate::ids::{ObjectId, TaskId};
use crate::object::StoredObject;

/// A process that holds ObjectRefs: the driver is 0, each worker gets its own number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub u32);

impl ClientId {
    pub const DRIVER: Self = Self(0);
}

/// A pending `get` or `wait`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WaiterId(pub u64);

#[derive(Debug, Default)]
struct ObjectEntry {
    value: Option<StoredObject>,
    /// Holding processes with the number of their unmatched additions.
    clients: SmallVec<[(ClientId, u32); 2]>,
    task_pins: u32,
    containers: u32,
    dependents: SmallVec<[TaskId; 1]>,
    waiters: SmallVec<[WaiterId; 1]>,
    /// Objects kept alive by this one besides those nested in its value: the items a
    /// streaming task yields live as long as its completion object.
    attached: Vec<ObjectId>,
}

impl ObjectEntry {
    fn is_referenced(&self) -> bool {
        !self.clients.is_empty() || self.task_pins > 0 || self.containers > 0
    }
}

/// What the table knows of an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Ready(StoredObject),
    Pending,
    Unknown,
}

/// An object's state, without its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ready,
    /// It has a value, and the value is an error.
    Failed,
    Pending,
    Unknown,
}

/// Who was waiting for a value that has just been stored.
#[derive(Debug, Default)]
pub struct Woken {
    pub dependents: SmallVec<[TaskId; 1]>,
    pub waiters: SmallVec<[WaiterId; 1]>,
}

#[derive(Debug, Default)]
pub struct ObjectTable {
    entries: FxHashMap<ObjectId, ObjectEntry>,
}

impl ObjectTable {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn contains(&self, id: ObjectId) -> bool {
        self.entries.contains_key(&id)
    }

    pub fn lookup(&self, id: ObjectId) -> Lookup {
        match self.entries.get(&id) {
            Some(ObjectEntry {
                value: Some(value), ..
            }) => Lookup::Ready(value.clone()),
            Some(_) => Lookup::Pending,
            None => Lookup::Unknown,
        }
    }

    pub fn status(&self, id: ObjectId) -> Status {
        match self.entries.get(&id) {
            Some(ObjectEntry {
                value: Some(value), ..
            }) if value.is_error() => Status::Failed,
            Some(ObjectEntry { value: Some(_), .. }) => Status::Ready,
            Some(_) => Status::Pending,
            None => Status::Unknown,
        }
    }

    /// Swaps the value of a stored object for an equivalent one (the same bytes elsewhere).
    pub fn replace_value(&mut self, id: ObjectId, value: StoredObject) {
        if let Some(entry) = self.entries.get_mut(&id) {
            if entry.value.is_some() {
                entry.value = Some(value);
            }
        }
    }

    /// A task's return value that does not exist yet, held by the process that submitted it.
    pub fn create_pending(&mut self, id: ObjectId, owner: ClientId) {
        add_holder(self.entries.entry(id).or_default(), owner);
    }

    /// A value made by `put`, held by the process that put it.
    pub fn insert_ready(&mut self, id: ObjectId, owner: ClientId, value: StoredObject) {
        self.create_pending(id, owner);
        let mut freed = Vec::new();
        self.store(id, value, &mut freed);
        debug_assert!(freed.is_empty(), "the owner holds a freshly put object");
    }

    /// Gives a pending object its value. Returns who waited for it, or None when the object
    /// is unknown or already has a value (a late duplicate result is ignored).
    pub fn store(
        &mut self,
        id: ObjectId,
        value: StoredObject,
        freed: &mut Vec<ObjectId>,
    ) -> Option<Woken> {
        let entry = self.entries.get_mut(&id)?;
        if entry.value.is_some() {
            return None;
        }
        let nested = value.nested.clone();
        entry.value = Some(value);
        let woken = Woken {
            dependents: std::mem::take(&mut entry.dependents),
            waiters: std::mem::take(&mut entry.waiters),
        };
        for inner in nested {
            if let Some(inner_entry) = self.entries.get_mut(&inner) {
                inner_entry.containers += 1;
            }
        }
        self.free_if_unreferenced(id, freed);
        Some(woken)
    }

    /// Stores a value kept alive by `container` (not by any process): freed with it, or at
    /// once if the container is gone already.
    pub fn insert_attached(
        &mut self,
        container: ObjectId,
        id: ObjectId,
        value: StoredObject,
        freed: &mut Vec<ObjectId>,
    ) -> Option<Woken> {
        let attached = match self.entries.get_mut(&container) {
            Some(entry) if !entry.attached.contains(&id) => {
                entry.attached.push(id);
                true
            }
            Some(_) => false,
            None => false,
        };
        let entry = self.entries.entry(id).or_default();
        if attached {
            entry.containers += 1;
        }
        self.store(id, value, freed)
    }

    /// Records that `client` now holds a ref. False when the object is unknown.
    pub fn add_client(&mut self, id: ObjectId, client: ClientId) -> bool {
        match self.entries.get_mut(&id) {
            Some(entry) => {
                add_holder(entry, client);
                true
            }
            None => false,
        }
    }

    pub fn remove_client(&mut self, id: ObjectId, client: ClientId, freed: &mut Vec<ObjectId>) {
        if let Some(entry) = self.entries.get_mut(&id) {
            if let Some(position) = entry.clients.iter().position(|(held, _)| *held == client) {
                entry.clients[position].1 -= 1;
                if entry.clients[position].1 == 0 {
                    entry.clients.swap_remove(position);
                }
            }
            self.free_if_unreferenced(id, freed);
        }
    }

    /// Drops every ref a process held (the process has exited).
    pub fn release_client(&mut self, client: ClientId, freed: &mut Vec<ObjectId>) {
        let held: Vec<ObjectId> = self
            .entries
            .iter()
            .filter(|(_, entry)| entry.clients.iter().any(|(held, _)| *held == client))
            .map(|(id, _)| *id)
            .collect();
        for id in held {
            if let Some(entry) = self.entries.get_mut(&id) {
                entry.clients.retain(|(held, _)| *held != client);
            }
            self.free_if_unreferenced(id, freed);
        }
    }

    /// Keeps an object alive for a submitted task. False when the object is unknown.
    pub fn pin(&mut self, id: ObjectId) -> bool {
        match self.entries.get_mut(&id) {
            Some(entry) => {
                entry.task_pins += 1;
                true
            }
            None => false,
        }
    }

    pub fn unpin(&mut self, id: ObjectId, freed: &mut Vec<ObjectId>) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.task_pins = entry.task_pins.saturating_sub(1);
            self.free_if_unreferenced(id, freed);
        }
    }

    /// `task` waits for this pending object's value.
    pub fn add_dependent(&mut self, id: ObjectId, task: TaskId) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.dependents.push(task);
        }
    }

    pub fn add_waiter(&mut self, id: ObjectId, waiter: WaiterId) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.waiters.push(waiter);
        }
    }

    pub fn remove_waiter(&mut self, id: ObjectId, waiter: WaiterId) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.waiters.retain(|w| *w != waiter);
        }
    }

    /// Holder counts, for tests and introspection: (clients, task pins, containers).
    pub fn holders(&self, id: ObjectId) -> Option<(Vec<ClientId>, u32, u32)> {
        self.entries.get(&id).map(|entry| {
            let clients = entry.clients.iter().map(|(client, _)| *client).collect();
            (clients, entry.task_pins, entry.containers)
        })
    }

    fn free_if_unreferenced(&mut self, id: ObjectId, freed: &mut Vec<ObjectId>) {
        let mut work = vec![id];
        while let Some(id) = work.pop() {
            let Some(entry) = self.entries.get(&id) else {
                continue;
            };
            if entry.is_referenced() || entry.value.is_none() {
                continue;
            }
            let entry = self.entries.remove(&id).expect("entry checked above");
            freed.push(id);
            let nested = entry.value.iter().flat_map(|value| value.nested.iter());
            for inner in nested.chain(entry.attached.iter()) {
                if let Some(inner_entry) = self.entries.get_mut(inner) {
                    inner_entry.containers = inner_entry.containers.saturating_sub(1);
                    work.push(*inner);
                }
            }
        }
    }
}

fn add_holder(entry: &mut ObjectEntry, client: ClientId) {
    match entry.clients.iter_mut().find(|(held, _)| *held == client) {
        Some((_, count)) => *count += 1,
        None => entry.clients.push((client, 1)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ids::{JobId, TaskIdGenerator};
    use crate::object::Payload;

    const WORKER: ClientId = ClientId(1);

    fn ids(n: usize) -> Vec<ObjectId> {
        let gen = TaskIdGenerator::new(JobId::from_index(1));
        (0..n).map(|_| ObjectId::for_task(gen.next(), 1)).collect()
    }

    fn value() -> StoredObject {
        Arc::new(Payload::value(&b"v"[..]))
    }

    fn containing(inner: &[ObjectId]) -> StoredObject {
        Arc::new(Payload::value(&b"c"[..]).with_nested(inner.to_vec()))
    }

    #[test]
    fn a_put_object_lives_until_its_last_client_lets_go() {
        let [a] = ids(1).try_into().unwrap();
        let mut table = ObjectTable::new();
        let mut freed = Vec::new();
        table.insert_ready(a, ClientId::DRIVER, value());
        assert!(table.add_client(a, WORKER));
        table.remove_client(a, ClientId::DRIVER, &mut freed);
        assert!(freed.is_empty());
        table.remove_client(a, WORKER, &mut freed);
        assert_eq!(freed, [a]);
        assert_eq!(table.lookup(a), Lookup::Unknown);
    }

    #[test]
    fn a_task_pin_keeps_an_object_after_its_owner_drops_it() {
        let [a] = ids(1).try_into().unwrap();
        let mut table = ObjectTable::new();
        let mut freed = Vec::new();
        table.insert_ready(a, ClientId::DRIVER, value());
        assert!(table.pin(a));
        table.remove_client(a, ClientId::DRIVER, &mut freed);
        assert!(freed.is_empty());
        table.unpin(a, &mut freed);
        assert_eq!(freed, [a]);
    }

    #[test]
    fn an_unreferenced_pending_result_is_freed_when_it_arrives() {
        let [a] = ids(1).try_into().unwrap();
        let mut table = ObjectTable::new();
        let mut freed = Vec::new();
        table.create_pending(a, ClientId::DRIVER);
        table.remove_client(a, ClientId::DRIVER, &mut freed);
        assert!(
            freed.is_empty(),
            "a pending object is kept until its value arrives"
        );
        assert_eq!(table.lookup(a), Lookup::Pending);
        assert!(table.store(a, value(), &mut freed).is_some());
        assert_eq!(freed, [a]);
    }

    #[test]
    fn nested_refs_live_as_long_as_their_container() {
        let [inner, outer] = ids(2).try_into().unwrap();
        let mut table = ObjectTable::new();
        let mut freed = Vec::new();
        table.insert_ready(inner, ClientId::DRIVER, value());
        table.insert_ready(outer, ClientId::DRIVER, containing(&[inner]));
        assert_eq!(table.holders(inner).unwrap().2, 1);
        table.remove_client(inner, ClientId::DRIVER, &mut freed);
        assert!(freed.is_empty(), "the container still holds it");
        table.remove_client(outer, ClientId::DRIVER, &mut freed);
        assert_eq!(freed, [outer, inner]);
        assert!(table.is_empty());
    }

    #[test]
    fn freeing_cascades_through_chains_of_containers() {
        let chain = ids(50);
        let mut table = ObjectTable::new();
        let mut freed = Vec::new();
        table.insert_ready(chain[0], ClientId::DRIVER, value());
        for pair in chain.windows(2) {
            table.insert_ready(pair[1], ClientId::DRIVER, containing(&[pair[0]]));
            table.remove_client(pair[0], ClientId::DRIVER, &mut freed);
        }
        assert!(freed.is_empty());
        table.remove_client(*chain.last().unwrap(), ClientId::DRIVER, &mut freed);
        assert_eq!(freed.len(), 50);
        assert!(table.is_empty());
    }

    #[test]
    fn a_dead_process_releases_everything_it_held() {
        let objects = ids(3);
        let mut table = ObjectTable::new();
        let mut freed = Vec::new();
        for id in &objects {
            table.insert_ready(*id, WORKER, value());
        }
        table.add_client(objects[0], ClientId::DRIVER);
        table.release_client(WORKER, &mut freed);
        freed.sort();
        let mut expected = objects[1..].to_vec();
        expected.sort();
        assert_eq!(freed, expected);
        assert!(table.contains(objects[0]));
    }

    #[test]
    fn a_removal_reported_after_a_readdition_keeps_the_object() {
        // A worker dropped its last ref, got a new one, and reported the addition first.
        let [a] = ids(1).try_into().unwrap();
        let mut table = ObjectTable::new();
        let mut freed = Vec::new();
        table.insert_ready(a, WORKER, value());
        table.add_client(a, WORKER);
        table.remove_client(a, WORKER, &mut freed);
        assert!(freed.is_empty());
        table.remove_client(a, WORKER, &mut freed);
        assert_eq!(freed, [a]);
    }

    #[test]
    fn attached_objects_live_as_long_as_their_container() {
        let [container, item, late] = ids(3).try_into().unwrap();
        let mut table = ObjectTable::new();
        let mut freed = Vec::new();
        table.create_pending(container, ClientId::DRIVER);
        table.insert_attached(container, item, value(), &mut freed);
        assert!(freed.is_empty());
        table.add_client(item, WORKER);
        table.store(container, value(), &mut freed);
        table.remove_client(container, ClientId::DRIVER, &mut freed);
        assert_eq!(freed, [container], "the worker still holds the item");
        table.remove_client(item, WORKER, &mut freed);
        assert_eq!(freed, [container, item]);
        table.insert_attached(container, late, value(), &mut freed);
        assert_eq!(
            freed,
            [container, item, late],
            "nothing keeps an item of a freed stream"
        );
    }

    #[test]
    fn storing_twice_keeps_the_first_value_and_wakes_waiters_once() {
        let [a] = ids(1).try_into().unwrap();
        let mut table = ObjectTable::new();
        let mut freed = Vec::new();
        table.create_pending(a, ClientId::DRIVER);
        table.add_waiter(a, WaiterId(7));
        let woken = table.store(a, value(), &mut freed).unwrap();
        assert_eq!(woken.waiters.as_slice(), [WaiterId(7)]);
        assert!(table.store(a, containing(&[]), &mut freed).is_none());
        assert_eq!(table.lookup(a), Lookup::Ready(value()));
    }
}
