//! What the Python layer can ask of the runtime, the same in the driver (which hosts the node)
//! and in a worker (which talks to the node over its socket).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ff_core::ids::{
    ActorId, FunctionId, JobId, NodeId, ObjectId, PlacementGroupId, TaskId, TaskIdGenerator,
    WorkerId,
};
use ff_core::node::{ActorCreated, PlacementGroupInfo, PlacementGroupSpec};
use ff_core::object::{Payload, StoredObject};
use ff_core::resources::ResourceSet;
use ff_core::task::{ActorName, TaskSpec};

use crate::error::Result;
use crate::local_refs::LocalRefs;

/// Facts about the session a process belongs to.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub node_id: NodeId,
    pub job_id: JobId,
    pub namespace: String,
    pub session_dir: PathBuf,
    /// The worker this process is; None in the driver.
    pub worker_id: Option<WorkerId>,
}

#[derive(Debug, Clone)]
pub enum GetOutcome {
    /// Every value, in request order.
    Values(Vec<StoredObject>),
    /// The first error met.
    Failed(StoredObject),
    TimedOut,
}

/// One step of reading a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamStep {
    /// The next item's object id.
    Item(ObjectId),
    End,
    TimedOut,
}

/// Called now and then while a call blocks; returning true abandons the call
/// (Ctrl-C in the driver).
pub type Interrupt<'a> = &'a mut dyn FnMut() -> bool;

/// How often a blocked call checks for interruption.
pub const INTERRUPT_POLL: Duration = Duration::from_millis(100);

pub trait Client: Send + Sync {
    fn info(&self) -> &SessionInfo;
    fn task_ids(&self) -> &TaskIdGenerator;
    fn refs(&self) -> &Arc<LocalRefs>;
    /// Makes a pickled function available to every worker (a no-op if already known).
    fn register_function(&self, id: FunctionId, function: Bytes) -> Result<()>;
    /// Submits a task; this process then holds its return objects (see `LocalRefs::adopt`).
    /// With `confirm`, waits until the node has accepted it (an actor call may be refused
    /// for max_pending_calls); otherwise a worker does not wait.
    fn submit(&self, spec: TaskSpec, confirm: bool) -> Result<()>;
    /// Creates an actor from its creation task; this process then holds its handle object.
    /// With `get_if_exists`, a live actor of the same name is returned instead.
    fn create_actor(&self, spec: TaskSpec, get_if_exists: bool) -> Result<ActorCreated>;
    /// A live actor of that name (this process then holds its handle object).
    fn named_actor(&self, name: ActorName) -> Result<Option<(ActorId, Bytes)>>;
    /// Names of live named actors, of one namespace or (None) of all.
    fn named_actors(&self, namespace: Option<String>) -> Result<Vec<ActorName>>;
    fn kill_actor(&self, actor: ActorId, no_restart: bool) -> Result<()>;
    /// `ray.cancel` of the task that makes `object` (refused: force on an actor call).
    fn cancel(&self, object: ObjectId, force: bool, recursive: bool) -> Result<()>;
    /// The actor this process hosts is about to exit on purpose, asked by `call` if any.
    fn actor_exiting(&self, actor: ActorId, call: Option<TaskId>) -> Result<()>;
    /// Stores a value; this process then holds it.
    fn put(&self, id: ObjectId, payload: Payload) -> Result<()>;
    fn get(
        &self,
        ids: Vec<ObjectId>,
        timeout: Option<Duration>,
        interrupt: Interrupt<'_>,
    ) -> Result<GetOutcome>;
    /// Indices of the ready objects once `num_returns` are ready or the timeout passes.
    fn wait(
        &self,
        ids: Vec<ObjectId>,
        num_returns: usize,
        timeout: Option<Duration>,
        interrupt: Interrupt<'_>,
    ) -> Result<Vec<u32>>;
    /// (total, available) resources of the node.
    fn resources(&self) -> Result<(ResourceSet, ResourceSet)>;
    /// Waits for the `index`-th item of a streaming task, or for the end of its stream.
    fn stream_next(
        &self,
        task: TaskId,
        index: u32,
        timeout: Option<Duration>,
        interrupt: Interrupt<'_>,
    ) -> Result<StreamStep>;
    /// The streaming task this worker runs yielded its `index`-th value.
    fn stream_item(&self, task: TaskId, index: u32, payload: Payload) -> Result<()>;
    /// Creates a placement group (placed at once if its bundles fit, else when they do).
    fn create_placement_group(&self, spec: PlacementGroupSpec) -> Result<()>;
    /// Removes a placement group: what waits for it fails, what runs in it is killed.
    fn remove_placement_group(&self, id: PlacementGroupId) -> Result<()>;
    fn placement_group(&self, id: PlacementGroupId) -> Result<Option<PlacementGroupInfo>>;
    /// Every group of the session, removed ones included.
    fn placement_groups(&self) -> Result<Vec<PlacementGroupInfo>>;
    /// The newest live group of that name in its namespace.
    fn placement_group_named(&self, name: ActorName) -> Result<Option<PlacementGroupInfo>>;
}

/// The moment a timeout runs out, if there is one.
pub fn deadline(timeout: Option<Duration>) -> Option<Instant> {
    timeout.map(|t| Instant::now() + t)
}

/// How long to sleep before the next interrupt check or the deadline.
pub fn next_pause(deadline: Option<Instant>) -> Duration {
    match deadline {
        Some(at) => at
            .saturating_duration_since(Instant::now())
            .min(INTERRUPT_POLL),
        None => INTERRUPT_POLL,
    }
}
