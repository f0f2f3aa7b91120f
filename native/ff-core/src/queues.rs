//! Ready tasks, queued per scheduling class: tasks that ask for the same resources in the same
//! environment. A class whose head does not fit never holds up the classes behind it.

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
    pub queue: VecDeque<TaskId>,
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
            queue: VecDeque::new(),
        });
        by_request.insert(request.clone(), id);
        id
    }

    pub fn push(&mut self, class: ClassId, task: TaskId) {
        self.classes[class.0 as usize].queue.push_back(task);
    }

    /// Puts a task back at the head of its queue (a retry goes first).
    pub fn push_front(&mut self, class: ClassId, task: TaskId) {
        self.classes[class.0 as usize].queue.push_front(task);
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
        let queue = &mut self.classes[class.0 as usize].queue;
        let before = queue.len();
        queue.retain(|queued| *queued != task);
        queue.len() != before
    }
}
