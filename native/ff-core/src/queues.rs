//! Ready tasks, queued per scheduling class: tasks that ask for the same resources in the same
//! environment. A class whose head does not fit never holds up the classes behind it.
//!
//! Within a class, tasks submitted by running tasks go before those the driver submitted.
//! A parent blocked in `get` on its children lends its CPU; if the children queued behind
//! every top-level task, each queued parent would start and block in turn, one new worker
//! each (a thousand nested parents, a thousand processes). Serving children first lets a
//! parent finish before the next one starts. Each part stays first in, first out.

use std::collections::VecDeque;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::ids::TaskId;
use crate::resources::ResourceSet;
use crate::workers::EnvId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClassId(pub u32);

#[derive(Debug)]
pub struct SchedulingClass {
    pub request: Arc<ResourceSet>,
    /// Resources the node must have (not free ones: they are not taken), e.g. the CPU a
    /// default actor needs to be placed although it holds none.
    pub must_exist: ResourceSet,
    pub env: EnvId,
    pub queue: ClassQueue,
}

/// One class's ready tasks: nested ones (submitted by a running task) before top-level ones.
#[derive(Debug, Default)]
pub struct ClassQueue {
    nested: VecDeque<TaskId>,
    top_level: VecDeque<TaskId>,
}

impl ClassQueue {
    pub fn front(&self) -> Option<&TaskId> {
        self.nested.front().or_else(|| self.top_level.front())
    }

    pub fn pop_front(&mut self) -> Option<TaskId> {
        self.nested
            .pop_front()
            .or_else(|| self.top_level.pop_front())
    }

    pub fn len(&self) -> usize {
        self.nested.len() + self.top_level.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nested.is_empty() && self.top_level.is_empty()
    }

    fn push_back(&mut self, task: TaskId, nested: bool) {
        if nested {
            self.nested.push_back(task);
        } else {
            self.top_level.push_back(task);
        }
    }

    /// Removes `task`; true if it was queued.
    fn remove(&mut self, task: TaskId) -> bool {
        let before = self.len();
        self.nested.retain(|queued| *queued != task);
        self.top_level.retain(|queued| *queued != task);
        self.len() != before
    }
}

#[derive(Debug, Default)]
pub struct ReadyQueues {
    classes: Vec<SchedulingClass>,
    by_key: FxHashMap<(EnvId, ResourceSet), FxHashMap<ResourceSet, ClassId>>,
}

impl ReadyQueues {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn class_for(&mut self, request: &ResourceSet, env: EnvId) -> ClassId {
        self.class_with(request, &ResourceSet::new(), env)
    }

    /// The class of tasks that take `request` and need `must_exist` to be on the node.
    pub fn class_with(
        &mut self,
        request: &ResourceSet,
        must_exist: &ResourceSet,
        env: EnvId,
    ) -> ClassId {
        let by_request = self.by_key.entry((env, must_exist.clone())).or_default();
        if let Some(id) = by_request.get(request) {
            return *id;
        }
        let id = ClassId(self.classes.len() as u32);
        self.classes.push(SchedulingClass {
            request: Arc::new(request.clone()),
            must_exist: must_exist.clone(),
            env,
            queue: ClassQueue::default(),
        });
        by_request.insert(request.clone(), id);
        id
    }

    /// Queues a ready task at the back of its part of the class's queue; `nested`: it was
    /// submitted by a running task.
    pub fn push(&mut self, class: ClassId, task: TaskId, nested: bool) {
        self.classes[class.0 as usize].queue.push_back(task, nested);
    }

    /// Puts a task back at the head of its class's queue (a retry goes first).
    pub fn push_front(&mut self, class: ClassId, task: TaskId) {
        self.classes[class.0 as usize].queue.nested.push_front(task);
    }

    pub fn class(&self, class: ClassId) -> &SchedulingClass {
        &self.classes[class.0 as usize]
    }

    pub fn class_mut(&mut self, class: ClassId) -> &mut SchedulingClass {
        &mut self.classes[class.0 as usize]
    }

    /// Classes with queued tasks, in creation order.
    pub fn nonempty(&self) -> Vec<ClassId> {
        (0..self.classes.len() as u32)
            .map(ClassId)
            .filter(|id| !self.classes[id.0 as usize].queue.is_empty())
            .collect()
    }

    pub fn queued(&self) -> usize {
        self.classes.iter().map(|c| c.queue.len()).sum()
    }

    /// Removes a task wherever it is queued; true if it was.
    pub fn remove(&mut self, class: ClassId, task: TaskId) -> bool {
        self.classes[class.0 as usize].queue.remove(task)
    }
}
