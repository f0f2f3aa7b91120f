//! Conversions between the wire types (ff-proto) and the core's own types.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Weak};

use bytes::Bytes;
use ff_core::ids::{ActorId, FunctionId, ObjectId, PlacementGroupId, TaskId, WorkerId};
use ff_core::node::Dispatch;
use ff_core::object::{ErrorKind, Payload, SharedSegment};
use ff_core::resources::{Quantity, ResourceSet};
use ff_core::task::{ActorCall, ActorName, ActorSpec, TaskKind, TaskOptions, TaskSpec};
use ff_proto as pb;

use crate::error::{Result, RuntimeError};
use crate::shm::{Lender, Segment, SegmentOwner};

fn bad(what: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Protocol(what.to_string())
}

pub fn object_id(bytes: &[u8]) -> Result<ObjectId> {
    ObjectId::from_bytes(bytes).map_err(bad)
}

pub fn object_ids(list: &[Bytes]) -> Result<Vec<ObjectId>> {
    list.iter().map(|b| object_id(b)).collect()
}

pub fn task_id(bytes: &[u8]) -> Result<TaskId> {
    TaskId::from_bytes(bytes).map_err(bad)
}

pub fn worker_id(bytes: &[u8]) -> Result<WorkerId> {
    WorkerId::from_bytes(bytes).map_err(bad)
}

pub fn actor_id(bytes: &[u8]) -> Result<ActorId> {
    ActorId::from_bytes(bytes).map_err(bad)
}

pub fn function_id(bytes: &[u8]) -> Result<FunctionId> {
    FunctionId::from_bytes(bytes).map_err(bad)
}

pub fn id_bytes(ids: impl IntoIterator<Item = ObjectId>) -> Vec<Bytes> {
    ids.into_iter()
        .map(|id| Bytes::copy_from_slice(id.as_bytes()))
        .collect()
}

fn error_kind_to_wire(kind: Option<ErrorKind>) -> pb::ErrorKind {
    match kind {
        None => pb::ErrorKind::NotAnError,
        Some(ErrorKind::TaskError) => pb::ErrorKind::TaskError,
        Some(ErrorKind::WorkerCrashed) => pb::ErrorKind::WorkerCrashed,
        Some(ErrorKind::ObjectLost) => pb::ErrorKind::ObjectLost,
        Some(ErrorKind::TaskCancelled) => pb::ErrorKind::TaskCancelled,
        Some(ErrorKind::SystemError) => pb::ErrorKind::SystemError,
        Some(ErrorKind::ActorDied) => pb::ErrorKind::ActorDied,
        Some(ErrorKind::ActorUnavailable) => pb::ErrorKind::ActorUnavailable,
        Some(ErrorKind::PendingCallsLimitExceeded) => pb::ErrorKind::PendingCallsLimitExceeded,
        Some(ErrorKind::ObjectStoreFull) => pb::ErrorKind::ObjectStoreFull,
        Some(ErrorKind::PlacementGroupRemoved) => pb::ErrorKind::PlacementGroupRemoved,
    }
}

fn error_kind_from_wire(kind: i32) -> Result<Option<ErrorKind>> {
    let kind = pb::ErrorKind::try_from(kind).map_err(bad)?;
    Ok(match kind {
        pb::ErrorKind::NotAnError => None,
        pb::ErrorKind::TaskError => Some(ErrorKind::TaskError),
        pb::ErrorKind::WorkerCrashed => Some(ErrorKind::WorkerCrashed),
        pb::ErrorKind::ObjectLost => Some(ErrorKind::ObjectLost),
        pb::ErrorKind::TaskCancelled => Some(ErrorKind::TaskCancelled),
        pb::ErrorKind::SystemError => Some(ErrorKind::SystemError),
        pb::ErrorKind::ActorDied => Some(ErrorKind::ActorDied),
        pb::ErrorKind::ActorUnavailable => Some(ErrorKind::ActorUnavailable),
        pb::ErrorKind::PendingCallsLimitExceeded => Some(ErrorKind::PendingCallsLimitExceeded),
        pb::ErrorKind::ObjectStoreFull => Some(ErrorKind::ObjectStoreFull),
        pb::ErrorKind::PlacementGroupRemoved => Some(ErrorKind::PlacementGroupRemoved),
    })
}

/// Descriptors that go with one frame: one per shared payload, in message order.
pub type FrameFds = Vec<OwnedFd>;

/// The wire form of `payload` for a reader; a shared value adds a duplicate of its segment's
/// descriptor to `fds` (and is retired: another process will map it).
pub fn payload_to_wire(payload: &Payload, fds: &mut FrameFds) -> Result<pb::Payload> {
    payload_with(payload, fds, |segment| {
        segment.retire();
        0
    })
}

/// The wire form of a worker's `payload` for the node: a segment the worker wrote goes on
/// loan, so that it can reuse the memory once the node returns it.
pub fn payload_to_node(payload: &Payload, fds: &mut FrameFds) -> Result<pb::Payload> {
    payload_with(payload, fds, |segment| segment.lend())
}

fn payload_with(
    payload: &Payload,
    fds: &mut FrameFds,
    hand_over: impl FnOnce(&dyn SharedSegment) -> u64,
) -> Result<pb::Payload> {
    let (shared_size, loan) = match &payload.shared {
        Some(segment) => {
            let loan = hand_over(segment.as_ref());
            fds.push(segment.as_fd().try_clone_to_owned()?);
            (segment.len(), loan)
        }
        None => (0, 0),
    };
    Ok(pb::Payload {
        data: payload.data.clone(),
        nested_refs: id_bytes(payload.nested.iter().copied()),
        error: error_kind_to_wire(payload.error) as i32,
        error_message: payload.message.clone(),
        shared_size,
        loan,
    })
}

/// Where a frame's shared payloads come from: its descriptors, in payload order, and the
/// process to return lent segments to (for frames a worker sent the node).
pub struct Incoming<'a, I> {
    pub fds: &'a mut I,
    pub lender: Option<&'a Weak<dyn SegmentOwner>>,
}

impl<'a, I: Iterator<Item = OwnedFd>> Incoming<'a, I> {
    /// Descriptors from a process that lends nothing (the node, to a worker).
    pub fn fds(fds: &'a mut I) -> Self {
        Self { fds, lender: None }
    }
}

/// A payload off the wire; a shared one takes the next of the frame's descriptors.
pub fn payload_from_wire<I: Iterator<Item = OwnedFd>>(
    payload: pb::Payload,
    incoming: &mut Incoming<'_, I>,
) -> Result<Payload> {
    let shared: Option<Arc<dyn SharedSegment>> = match payload.shared_size {
        0 => None,
        size => {
            let fd = incoming
                .fds
                .next()
                .ok_or_else(|| bad("a shared payload came without its descriptor"))?;
            let lender = match (payload.loan, incoming.lender) {
                (0, _) | (_, None) => None,
                (loan, Some(owner)) => Some(Lender {
                    owner: owner.clone(),
                    loan,
                }),
            };
            Some(Arc::new(Segment::from_fd(fd, size, lender)?))
        }
    };
    Ok(Payload {
        nested: object_ids(&payload.nested_refs)?,
        error: error_kind_from_wire(payload.error)?,
        message: payload.error_message,
        data: payload.data,
        shared,
    })
}

/// Payloads of a message that carries no descriptors (they are an error there).
pub fn no_fds() -> std::iter::Empty<OwnedFd> {
    std::iter::empty()
}

pub fn resources_to_wire(set: &ResourceSet) -> Vec<pb::Resource> {
    set.iter()
        .map(|(name, amount)| pb::Resource {
            name: name.to_string(),
            amount: amount.units(),
        })
        .collect()
}

pub fn resources_from_wire(list: &[pb::Resource]) -> Result<ResourceSet> {
    if let Some(negative) = list.iter().find(|r| r.amount < 0) {
        return Err(bad(format!("negative amount of {}", negative.name)));
    }
    Ok(ResourceSet::from_pairs(list.iter().map(|r| {
        (r.name.as_str(), Quantity::from_units(r.amount))
    })))
}

pub fn actor_spec_to_wire(actor: &ActorSpec) -> pb::ActorSpec {
    let name = actor
        .name
        .as_ref()
        .map_or(String::new(), |n| n.name.clone());
    pb::ActorSpec {
        actor_id: Bytes::copy_from_slice(actor.actor_id.as_bytes()),
        class_name: actor.class_name.to_string(),
        running: resources_to_wire(&actor.running),
        max_restarts: actor.max_restarts,
        namespace: actor.namespace.clone(),
        name,
        detached: actor.detached,
        max_pending_calls: actor.max_pending_calls,
        descriptor: actor.descriptor.clone(),
        placement: resources_to_wire(&actor.placement),
    }
}

pub fn actor_spec_from_wire(actor: pb::ActorSpec) -> Result<ActorSpec> {
    Ok(ActorSpec {
        actor_id: actor_id(&actor.actor_id)?,
        class_name: actor.class_name.into(),
        running: resources_from_wire(&actor.running)?,
        placement: resources_from_wire(&actor.placement)?,
        max_restarts: actor.max_restarts,
        name: (!actor.name.is_empty()).then(|| ActorName {
            namespace: actor.namespace.clone(),
            name: actor.name,
        }),
        namespace: actor.namespace,
        detached: actor.detached,
        max_pending_calls: actor.max_pending_calls,
        descriptor: actor.descriptor,
    })
}

fn actor_call_to_wire(call: &ActorCall) -> pb::ActorCall {
    pb::ActorCall {
        actor_id: Bytes::copy_from_slice(call.actor.as_bytes()),
        method: call.method.to_string(),
        concurrency_group: call.concurrency_group.as_deref().unwrap_or("").to_string(),
    }
}

fn actor_call_from_wire(call: pb::ActorCall) -> Result<ActorCall> {
    Ok(ActorCall {
        actor: actor_id(&call.actor_id)?,
        method: call.method.into(),
        concurrency_group: (!call.concurrency_group.is_empty())
            .then(|| call.concurrency_group.into()),
    })
}

fn spec_kind_to_wire(kind: &TaskKind) -> Option<pb::task_spec::Kind> {
    match kind {
        TaskKind::Function => None,
        TaskKind::ActorCreation(actor) => Some(pb::task_spec::Kind::ActorCreation(
            actor_spec_to_wire(actor),
        )),
        TaskKind::ActorCall(call) => Some(pb::task_spec::Kind::ActorCall(actor_call_to_wire(call))),
    }
}

pub fn task_spec_to_wire(spec: &TaskSpec, fds: &mut FrameFds) -> Result<pb::TaskSpec> {
    let options = &spec.options;
    Ok(pb::TaskSpec {
        task_id: Bytes::copy_from_slice(spec.task_id.as_bytes()),
        function_id: Bytes::copy_from_slice(options.function_id.as_bytes()),
        name: options.name.to_string(),
        args: Some(payload_to_wire(&spec.args, fds)?),
        arg_refs: id_bytes(spec.arg_refs.iter().copied()),
        num_returns: options.num_returns,
        resources: resources_to_wire(&options.resources),
        max_retries: options.max_retries,
        retry_exceptions: options.retry_exceptions,
        retry_exception_allowlist: options.retry_allowlist.clone(),
        max_calls: options.max_calls,
        env_vars: options
            .env_vars
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        kind: spec_kind_to_wire(&spec.kind),
        streaming: options.streaming,
        backpressure: options.backpressure,
        placement_group_id: options
            .placement_group
            .map_or_else(Bytes::new, |g| Bytes::copy_from_slice(g.as_bytes())),
        capture_child_tasks: options.capture_child_tasks,
        parent_task_id: spec
            .parent
            .map_or_else(Bytes::new, |t| Bytes::copy_from_slice(t.as_bytes())),
    })
}

pub fn task_spec_from_wire<I: Iterator<Item = OwnedFd>>(
    spec: pb::TaskSpec,
    incoming: &mut Incoming<'_, I>,
) -> Result<TaskSpec> {
    let options = TaskOptions {
        function_id: function_id(&spec.function_id)?,
        name: spec.name.into(),
        num_returns: spec.num_returns,
        resources: resources_from_wire(&spec.resources)?,
        max_retries: spec.max_retries,
        retry_exceptions: spec.retry_exceptions,
        retry_allowlist: spec.retry_exception_allowlist,
        max_calls: spec.max_calls,
        streaming: spec.streaming,
        backpressure: spec.backpressure,
        env_vars: Arc::new(spec.env_vars.into_iter().collect()),
        placement_group: match spec.placement_group_id.is_empty() {
            true => None,
            false => Some(PlacementGroupId::from_bytes(&spec.placement_group_id).map_err(bad)?),
        },
        capture_child_tasks: spec.capture_child_tasks,
    };
    let kind = match spec.kind {
        None => TaskKind::Function,
        Some(pb::task_spec::Kind::ActorCreation(actor)) => {
            TaskKind::ActorCreation(Arc::new(actor_spec_from_wire(actor)?))
        }
        Some(pb::task_spec::Kind::ActorCall(call)) => {
            TaskKind::ActorCall(actor_call_from_wire(call)?)
        }
    };
    Ok(TaskSpec {
        task_id: task_id(&spec.task_id)?,
        kind,
        options: Arc::new(options),
        args: payload_from_wire(spec.args.unwrap_or_default(), incoming)?,
        arg_refs: object_ids(&spec.arg_refs)?,
        parent: match spec.parent_task_id.is_empty() {
            true => None,
            false => Some(task_id(&spec.parent_task_id)?),
        },
    })
}

/// The message that hands a dispatched task to its worker.
/// The message that hands a dispatched task to its worker, and the descriptors of its
/// shared arguments.
pub fn execute_message(
    dispatch: &Dispatch,
    function: Option<Bytes>,
) -> Result<(pb::ToWorker, FrameFds)> {
    let spec = &dispatch.spec;
    let options = &spec.options;
    let mut fds = FrameFds::new();
    let args = payload_to_wire(&spec.args, &mut fds)?;
    let arg_values = dispatch
        .arg_values
        .iter()
        .map(|v| payload_to_wire(v, &mut fds))
        .collect::<Result<_>>()?;
    let execute = pb::ExecuteTask {
        task_id: Bytes::copy_from_slice(spec.task_id.as_bytes()),
        function_id: Bytes::copy_from_slice(options.function_id.as_bytes()),
        function: function.unwrap_or_default(),
        name: options.name.to_string(),
        args: Some(args),
        arg_values,
        num_returns: options.num_returns,
        assigned: resources_to_wire(&dispatch.assigned),
        gpu_ids: dispatch.gpu_ids.clone(),
        retry_exceptions: options.retry_exceptions,
        retry_exception_allowlist: options.retry_allowlist.clone(),
        attempt: dispatch.attempt,
        streaming: options.streaming,
        backpressure: options.backpressure,
        capture_child_tasks: options.capture_child_tasks,
        kind: match &spec.kind {
            TaskKind::Function => None,
            TaskKind::ActorCreation(actor) => Some(pb::execute_task::Kind::ActorCreation(
                actor_spec_to_wire(actor),
            )),
            TaskKind::ActorCall(call) => {
                Some(pb::execute_task::Kind::ActorCall(actor_call_to_wire(call)))
            }
        },
    };
    let message = pb::ToWorker {
        fd_count: fds.len() as u32,
        msg: Some(pb::to_worker::Msg::Execute(execute)),
    };
    Ok((message, fds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff_core::ids::{JobId, TaskIdGenerator};

    #[test]
    fn a_task_spec_survives_the_wire() {
        let ids = TaskIdGenerator::new(JobId::from_index(1));
        let nested = ObjectId::for_task(ids.next(), 1);
        let arg = ObjectId::for_task(ids.next(), 1);
        let spec = TaskSpec {
            task_id: ids.next(),
            kind: TaskKind::ActorCall(ActorCall {
                actor: ActorId::new(JobId::from_index(1)),
                method: "step".into(),
                concurrency_group: Some("io".into()),
            }),
            options: Arc::new(TaskOptions {
                function_id: FunctionId::from_array([3; 16]),
                name: "work".into(),
                num_returns: 2,
                resources: ResourceSet::from_pairs([("CPU", Quantity::from_f64(0.5).unwrap())]),
                max_retries: -1,
                retry_exceptions: true,
                retry_allowlist: Bytes::from_static(b"classes"),
                max_calls: 3,
                streaming: true,
                backpressure: 4,
                env_vars: Arc::new([("A".to_string(), "1".to_string())].into_iter().collect()),
                placement_group: None,
                capture_child_tasks: false,
            }),
            args: Payload::value(&b"args"[..]).with_nested(vec![nested]),
            arg_refs: vec![arg],
            parent: None,
        };
        let mut fds = FrameFds::new();
        let wire = task_spec_to_wire(&spec, &mut fds).unwrap();
        let back = task_spec_from_wire(wire, &mut Incoming::fds(&mut fds.into_iter())).unwrap();
        assert_eq!(back.task_id, spec.task_id);
        assert_eq!(back.args, spec.args);
        assert_eq!(back.arg_refs, spec.arg_refs);
        assert_eq!(back.options.resources, spec.options.resources);
        assert_eq!(back.options.env_vars, spec.options.env_vars);
        assert_eq!(back.options.max_retries, -1);
        assert!(back.options.streaming);
        let (TaskKind::ActorCall(sent), TaskKind::ActorCall(got)) = (&spec.kind, &back.kind) else {
            panic!("the call kind survives")
        };
        assert_eq!(
            (sent.actor, &sent.method, &sent.concurrency_group),
            (got.actor, &got.method, &got.concurrency_group)
        );
    }

    #[test]
    fn an_actor_spec_survives_the_wire() {
        let actor = ActorSpec {
            actor_id: ActorId::new(JobId::from_index(1)),
            class_name: "Counter".into(),
            running: ResourceSet::from_pairs([("CPU", Quantity::ONE)]),
            placement: ResourceSet::from_pairs([("CPU", Quantity::ONE)]),
            max_restarts: -1,
            namespace: "ns".into(),
            name: Some(ActorName {
                namespace: "ns".into(),
                name: "c".into(),
            }),
            detached: true,
            max_pending_calls: 3,
            descriptor: Bytes::from_static(b"class description"),
        };
        let back = actor_spec_from_wire(actor_spec_to_wire(&actor)).unwrap();
        assert_eq!(back.actor_id, actor.actor_id);
        assert_eq!(back.name, actor.name);
        assert_eq!(back.running, actor.running);
        assert_eq!(
            (back.max_restarts, back.detached, back.max_pending_calls),
            (-1, true, 3)
        );
        assert_eq!(back.descriptor, actor.descriptor);
    }

    #[test]
    fn error_payloads_keep_their_kind_and_message() {
        let payload = Payload::system_error(ErrorKind::WorkerCrashed, "signal 9");
        let mut fds = FrameFds::new();
        let wire = payload_to_wire(&payload, &mut fds).unwrap();
        assert!(fds.is_empty());
        let back = payload_from_wire(wire, &mut Incoming::fds(&mut no_fds())).unwrap();
        assert_eq!(back, payload);
    }

    #[test]
    fn a_shared_payload_travels_as_a_descriptor() {
        let segment: Arc<dyn SharedSegment> = Arc::new(Segment::create(4096).unwrap());
        let payload = Payload::shared(segment).with_nested(vec![ObjectId::for_task(
            TaskIdGenerator::new(JobId::from_index(1)).next(),
            1,
        )]);
        let mut fds = FrameFds::new();
        let wire = payload_to_wire(&payload, &mut fds).unwrap();
        assert_eq!((wire.shared_size, fds.len()), (4096, 1));
        let back = payload_from_wire(wire.clone(), &mut Incoming::fds(&mut fds.into_iter()));
        let back = back.unwrap();
        assert_eq!(back.shared_size(), 4096);
        assert_eq!(back.nested, payload.nested);
        assert!(payload_from_wire(wire, &mut Incoming::fds(&mut no_fds())).is_err());
    }

    /// Records what the node says of the segments lent to it.
    #[derive(Default)]
    struct Returns(parking_lot::Mutex<Vec<(u64, bool)>>);

    impl SegmentOwner for Returns {
        fn segment_returned(&self, loan: u64, reusable: bool) {
            self.0.lock().push((loan, reusable));
        }
    }

    fn lent_copy(owner: &Arc<Returns>, wire: pb::Payload, fd: OwnedFd) -> Payload {
        let owner: Weak<dyn SegmentOwner> = Arc::downgrade(owner) as Weak<dyn SegmentOwner>;
        let mut fds = std::iter::once(fd);
        let mut incoming = Incoming {
            fds: &mut fds,
            lender: Some(&owner),
        };
        payload_from_wire(wire, &mut incoming).unwrap()
    }

    #[test]
    fn a_lent_segment_is_returned_to_its_owner_when_the_receiver_drops_it() {
        crate::shm_pool::enable();
        let segment = Arc::new(Segment::create(8192).unwrap());
        segment.write_parts(&[(0, b"lent")]).unwrap();
        let mut fds = FrameFds::new();
        let wire = payload_to_node(&Payload::shared(segment.clone()), &mut fds).unwrap();
        assert_ne!(wire.loan, 0);
        let owner = Arc::new(Returns::default());
        let received = lent_copy(&owner, wire.clone(), fds.pop().unwrap());
        assert!(owner.0.lock().is_empty());
        drop(received);
        assert_eq!(*owner.0.lock(), vec![(wire.loan, true)]);

        // Lending the same segment twice retires it: neither loan may be reused.
        let mut fds = FrameFds::new();
        let again = payload_to_node(&Payload::shared(segment), &mut fds).unwrap();
        assert_eq!(again.loan, 0);
    }

    #[test]
    fn a_lent_segment_that_went_to_a_reader_is_released_not_reused() {
        crate::shm_pool::enable();
        let segment = Arc::new(Segment::create(12288).unwrap());
        segment.write_parts(&[(0, b"lent")]).unwrap();
        let mut fds = FrameFds::new();
        let wire = payload_to_node(&Payload::shared(segment), &mut fds).unwrap();
        let owner = Arc::new(Returns::default());
        let received = lent_copy(&owner, wire.clone(), fds.pop().unwrap());
        let mut to_reader = FrameFds::new();
        payload_to_wire(&received, &mut to_reader).unwrap();
        drop(received);
        assert_eq!(*owner.0.lock(), vec![(wire.loan, false)]);
    }
}
