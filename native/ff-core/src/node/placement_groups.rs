//! Placement groups on one node: bundles of resources reserved together, which tasks and
//! actors then use by name.
//!
//! A group is placed once the node's free resources hold all its bundles (STRICT_SPREAD with
//! more than one bundle needs a node per bundle and so never fits one node). Placing takes
//! the bundles' resources from the node and adds them back under Ray's bundle names: for
//! bundle `i` of group `G`, `CPU: 2` becomes `CPU_group_i_G: 2` and adds 2 to the group-wide
//! `CPU_group_G`, plus `bundle_group_i_G: 1000` and `bundle_group_G` that a task asking for
//! nothing else still takes a sliver of. A task in a bundle asks for the renamed resources,
//! so the scheduler needs nothing new. Removing the group fails what waits for it, kills
//! what runs in it (no retry, no restart) and gives the node its resources back.

use std::collections::VecDeque;

use super::*;
use crate::ids::PlacementGroupId;

/// How much of `bundle_group_*` each bundle offers (Ray's figure).
const BUNDLE_UNITS: u32 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlacementStrategy {
    Pack,
    Spread,
    StrictPack,
    StrictSpread,
}

#[derive(Debug, Clone)]
pub struct PlacementGroupSpec {
    pub id: PlacementGroupId,
    /// Registered in its namespace when set; names need not be unique (as in Ray).
    pub name: Option<ActorName>,
    pub bundles: Vec<ResourceSet>,
    pub strategy: PlacementStrategy,
    pub detached: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlacementGroupState {
    Pending,
    Created,
    Removed,
}

#[derive(Debug)]
pub(super) struct PlacementGroupEntry {
    spec: Arc<PlacementGroupSpec>,
    state: PlacementGroupState,
    /// The renamed resources the node gained when the group was placed.
    added: ResourceSet,
    /// The detached actor that made it: the group goes when that actor dies (as in Ray; a
    /// group made by the driver, a task or another actor lives as long as the job).
    made_by_detached: Option<ActorId>,
}

#[derive(Debug, Default)]
pub(super) struct PlacementGroups {
    entries: FxHashMap<PlacementGroupId, PlacementGroupEntry>,
    /// Not placed yet, in creation order.
    pending: VecDeque<PlacementGroupId>,
}

impl PlacementGroups {
    /// The node resources that placed groups hold (for the bookkeeping check).
    pub(super) fn reserved(&self) -> ResourceSet {
        let mut reserved = ResourceSet::new();
        for entry in self.entries.values() {
            if entry.state == PlacementGroupState::Created {
                reserved.add_all(&total_of(&entry.spec));
            }
        }
        reserved
    }

    pub(super) fn state(&self, id: PlacementGroupId) -> Option<PlacementGroupState> {
        self.entries.get(&id).map(|entry| entry.state)
    }
}

/// Ray's name for `resource` in bundle `index` of group `group` (None: the group-wide name).
pub fn bundle_resource_name(
    resource: &str,
    group: PlacementGroupId,
    index: Option<usize>,
) -> String {
    match index {
        Some(index) => format!("{resource}_group_{index}_{}", group.hex()),
        None => format!("{resource}_group_{}", group.hex()),
    }
}

/// Every renamed resource a placed group adds to the node.
fn bundle_resources(spec: &PlacementGroupSpec) -> ResourceSet {
    let mut added = ResourceSet::new();
    for (index, bundle) in spec.bundles.iter().enumerate() {
        for (name, amount) in bundle.iter() {
            added.add(&bundle_resource_name(name, spec.id, Some(index)), amount);
            added.add(&bundle_resource_name(name, spec.id, None), amount);
        }
        let units = Quantity::whole(BUNDLE_UNITS);
        added.add(&bundle_resource_name("bundle", spec.id, Some(index)), units);
        added.add(&bundle_resource_name("bundle", spec.id, None), units);
    }
    added
}

fn total_of(spec: &PlacementGroupSpec) -> ResourceSet {
    let mut total = ResourceSet::new();
    for bundle in &spec.bundles {
        total.add_all(bundle);
    }
    total
}

/// What the API layer shows of a group (`placement_group_table`).
#[derive(Debug, Clone)]
pub struct PlacementGroupInfo {
    pub spec: Arc<PlacementGroupSpec>,
    pub state: PlacementGroupState,
}

impl Node {
    /// Registers a group that `creator` asked for and places it if its bundles fit now; else
    /// it waits for resources.
    pub fn create_placement_group(
        &mut self,
        creator: ClientId,
        spec: PlacementGroupSpec,
        out: &mut Vec<Action>,
    ) {
        let id = spec.id;
        let made_by_detached = match spec.detached {
            true => None,
            false => self.detached_actor_of(creator),
        };
        self.placement_groups.entries.insert(
            id,
            PlacementGroupEntry {
                spec: Arc::new(spec),
                state: PlacementGroupState::Pending,
                added: ResourceSet::new(),
                made_by_detached,
            },
        );
        self.placement_groups.pending.push_back(id);
        self.schedule(out);
    }

    /// Places every pending group whose bundles fit, oldest first (part of `schedule`).
    pub(super) fn place_pending_groups(&mut self) {
        let pending = std::mem::take(&mut self.placement_groups.pending);
        for id in pending {
            let Some(entry) = self.placement_groups.entries.get(&id) else {
                continue;
            };
            let spec = entry.spec.clone();
            let needed = total_of(&spec);
            let one_node_suffices =
                spec.strategy != PlacementStrategy::StrictSpread || spec.bundles.len() <= 1;
            // GPUs go to tasks by device slot; the API layer refuses GPU bundles for now.
            if !one_node_suffices || !self.available.contains(&needed) {
                self.placement_groups.pending.push_back(id);
                continue;
            }
            self.available.subtract(&needed);
            let added = bundle_resources(&spec);
            self.config.total.add_all(&added);
            self.available.add_all(&added);
            let entry = self
                .placement_groups
                .entries
                .get_mut(&id)
                .expect("found above");
            entry.state = PlacementGroupState::Created;
            entry.added = added;
        }
    }

    /// Removes a group: its waiting tasks fail, its running tasks and actors are killed, its
    /// resources return to the node. Removing it again does nothing.
    pub fn remove_placement_group(&mut self, id: PlacementGroupId, out: &mut Vec<Action>) {
        let Some(entry) = self.placement_groups.entries.get_mut(&id) else {
            return;
        };
        let was = entry.state;
        if was == PlacementGroupState::Removed {
            return;
        }
        entry.state = PlacementGroupState::Removed;
        let added = std::mem::take(&mut entry.added);
        let spec = entry.spec.clone();
        self.placement_groups
            .pending
            .retain(|pending| *pending != id);
        self.end_work_in_group(id, out);
        if was == PlacementGroupState::Created {
            for (name, _) in added.iter() {
                self.config.total.set(name, Quantity::ZERO);
                self.available.set(name, Quantity::ZERO);
            }
            self.available.add_all(&total_of(&spec));
        }
        self.schedule(out);
    }

    /// Fails the tasks that wait for group `id` and kills the workers running in it.
    fn end_work_in_group(&mut self, id: PlacementGroupId, out: &mut Vec<Action>) {
        let in_group: Vec<(TaskId, TaskState)> = self
            .tasks
            .iter()
            .filter(|(_, task)| task.spec.options.placement_group == Some(id))
            .map(|(task_id, task)| (*task_id, task.state))
            .collect();
        let mut work = StoreWork::new();
        for (task_id, state) in in_group {
            let actor = match &self.tasks[&task_id].spec.kind {
                TaskKind::ActorCreation(actor) => Some(actor.actor_id),
                _ => None,
            };
            match (state, actor) {
                (TaskState::Running(worker), Some(actor)) => {
                    self.end_actor_of_group(actor, Some(worker), out)
                }
                (TaskState::Running(worker), None) => out.push(Action::KillWorker { worker }),
                (_, Some(actor)) => self.end_actor_of_group(actor, None, out),
                (_, None) => {
                    let task = self.tasks.remove(&task_id).expect("listed above");
                    self.fail_task_entry(task, group_removed_error(), &mut work, out);
                }
            }
        }
        // Actors already constructed run no task of their own: find them by their spec.
        let hosted: Vec<(ActorId, WorkerId)> = self
            .actors
            .iter()
            .filter(|(_, actor)| actor.creation_placement_group() == Some(id))
            .filter_map(|(actor_id, actor)| match actor.state {
                super::actors::ActorState::Alive(worker) => Some((*actor_id, worker)),
                _ => None,
            })
            .collect();
        for (actor, worker) in hosted {
            self.end_actor_of_group(actor, Some(worker), out);
        }
        self.store_all(work, out);
    }

    /// Whether a task of group `id` may run or be retried: not once the group is removed.
    pub(super) fn group_removed(&self, spec: &TaskSpec) -> bool {
        spec.options
            .placement_group
            .is_some_and(|id| self.placement_groups.state(id) == Some(PlacementGroupState::Removed))
    }

    /// The detached actor hosted by the worker behind `client`, if it is one.
    fn detached_actor_of(&self, client: ClientId) -> Option<ActorId> {
        let worker = self.workers.get(self.worker_of(client)?)?;
        let WorkerState::Hosting(actor, _) = worker.state else {
            return None;
        };
        self.actors
            .get(&actor)
            .filter(|entry| entry.is_detached())
            .map(|_| actor)
    }

    /// A detached actor died (restarting or not): the groups it made go with it.
    pub(super) fn remove_groups_made_by(&mut self, actor: ActorId, out: &mut Vec<Action>) {
        let made: Vec<PlacementGroupId> = self
            .placement_groups
            .entries
            .iter()
            .filter(|(_, entry)| entry.made_by_detached == Some(actor))
            .map(|(id, _)| *id)
            .collect();
        for id in made {
            self.remove_placement_group(id, out);
        }
    }

    pub fn placement_group(&self, id: PlacementGroupId) -> Option<PlacementGroupInfo> {
        self.placement_groups
            .entries
            .get(&id)
            .map(|entry| PlacementGroupInfo {
                spec: entry.spec.clone(),
                state: entry.state,
            })
    }

    /// Every group ever created in this session, removed ones included (as Ray lists them).
    pub fn placement_groups(&self) -> Vec<PlacementGroupInfo> {
        self.placement_groups
            .entries
            .values()
            .map(|entry| PlacementGroupInfo {
                spec: entry.spec.clone(),
                state: entry.state,
            })
            .collect()
    }

    /// The newest group that is not removed with this name in this namespace.
    pub fn placement_group_named(&self, name: &ActorName) -> Option<PlacementGroupId> {
        self.placement_groups
            .entries
            .values()
            .filter(|entry| entry.state != PlacementGroupState::Removed)
            .find(|entry| entry.spec.name.as_ref() == Some(name))
            .map(|entry| entry.spec.id)
    }
}

pub(super) fn group_removed_error() -> StoredObject {
    Arc::new(Payload::system_error(ErrorKind::PlacementGroupRemoved, ""))
}

/// The worker-death detail of an actor whose group was removed (Ray's wording).
pub(super) fn group_removed_detail(id: PlacementGroupId) -> String {
    format!(
        "Worker exit type: INTENDED_SYSTEM_EXIT Worker exit detail: Destroying worker since \
         its placement group was removed. Placement group id: {}",
        id.hex()
    )
}
