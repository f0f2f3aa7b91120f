//! `ray.cancel` as state transitions: pending tasks never run, running ones are interrupted
//! or their worker killed, cancelled tasks are not retried, children follow their parent.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use ff_core::ids::{ActorId, FunctionId, JobId, ObjectId, TaskId, TaskIdGenerator, WorkerId};
use ff_core::node::{Action, Dispatch, Node, NodeConfig};
use ff_core::object::{ErrorKind, Payload};
use ff_core::object_table::{ClientId, Lookup};
use ff_core::resources::{Quantity, ResourceSet, CPU};
use ff_core::task::{TaskKind, TaskOptions, TaskSpec};
use ff_core::CoreError;

struct Harness {
    node: Node,
    ids: TaskIdGenerator,
    actions: Vec<Action>,
    options: Arc<TaskOptions>,
}

impl Harness {
    fn new(cpus: f64, workers: u32, max_retries: i32) -> (Self, Vec<WorkerId>) {
        let total = ResourceSet::from_pairs([(CPU, Quantity::from_f64(cpus).unwrap())]);
        let mut harness = Self {
            node: Node::new(NodeConfig::with_total(total)),
            ids: TaskIdGenerator::new(JobId::from_index(1)),
            actions: Vec::new(),
            options: Arc::new(TaskOptions {
                function_id: FunctionId::from_array([3; 16]),
                name: "f".into(),
                num_returns: 1,
                resources: ResourceSet::from_pairs([(CPU, Quantity::from_f64(1.0).unwrap())]),
                max_retries,
                retry_exceptions: false,
                retry_allowlist: Bytes::new(),
                max_calls: 0,
                streaming: false,
                backpressure: 0,
                env_vars: Arc::new(BTreeMap::new()),
                placement_group: None,
                capture_child_tasks: false,
            }),
        };
        harness.node.prestart_workers(workers, &mut harness.actions);
        let started: Vec<WorkerId> = harness
            .take()
            .iter()
            .filter_map(|a| match a {
                Action::StartWorker { worker, .. } => Some(*worker),
                _ => None,
            })
            .collect();
        for worker in &started {
            harness
                .node
                .worker_connected(*worker, &mut harness.actions)
                .unwrap();
        }
        (harness, started)
    }

    fn take(&mut self) -> Vec<Action> {
        self.node.check_invariants().unwrap();
        std::mem::take(&mut self.actions)
    }

    fn submit(&mut self, parent: Option<TaskId>, client: ClientId) -> ObjectId {
        let spec = TaskSpec {
            task_id: self.ids.next(),
            kind: TaskKind::Function,
            options: self.options.clone(),
            args: Payload::value(Bytes::new()),
            arg_refs: Vec::new(),
            parent,
        };
        let result = spec.return_ids().next().unwrap();
        self.node.submit(client, spec, &mut self.actions).unwrap();
        result
    }

    fn dispatched(&mut self) -> Vec<Dispatch> {
        self.take()
            .into_iter()
            .filter_map(|a| match a {
                Action::Dispatch(d) => Some(*d),
                _ => None,
            })
            .collect()
    }

    fn cancel(&mut self, object: ObjectId, force: bool, recursive: bool) -> Vec<Action> {
        self.node
            .cancel(object, force, recursive, &mut self.actions)
            .unwrap();
        self.take()
    }

    fn error_of(&self, object: ObjectId) -> Option<ErrorKind> {
        match self.node.lookup(object) {
            Lookup::Ready(value) => value.error,
            other => panic!("{object:?} is {other:?}"),
        }
    }
}

#[test]
fn a_queued_task_is_cancelled_and_never_dispatched() {
    let (mut h, _) = Harness::new(1.0, 1, 3);
    let running = h.submit(None, ClientId::DRIVER);
    let queued = h.submit(None, ClientId::DRIVER);
    let first = h.dispatched();
    assert_eq!(first.len(), 1);
    h.cancel(queued, false, true);
    assert_eq!(h.error_of(queued), Some(ErrorKind::TaskCancelled));
    h.node
        .task_finished(
            first[0].worker,
            first[0].spec.task_id,
            vec![Payload::value(&b"v"[..])],
            false,
            &mut h.actions,
        )
        .unwrap();
    assert!(h.dispatched().is_empty(), "the cancelled task never runs");
    assert_eq!(h.error_of(running), None);
}

#[test]
fn a_running_task_is_told_and_a_forced_cancel_kills_its_worker_without_retry() {
    let (mut h, _) = Harness::new(2.0, 2, 3);
    let soft = h.submit(None, ClientId::DRIVER);
    let hard = h.submit(None, ClientId::DRIVER);
    let running = h.dispatched();
    let worker_of = |object: ObjectId| {
        running
            .iter()
            .find(|d| d.spec.task_id == object.task_id())
            .unwrap()
            .worker
    };
    let told = h.cancel(soft, false, true);
    assert!(told
        .iter()
        .any(|a| matches!(a, Action::CancelRunning { task, .. }
        if *task == soft.task_id())));
    assert!(h.cancel(soft, false, true).is_empty(), "told once");
    let killed = h.cancel(hard, true, true);
    assert!(killed
        .iter()
        .any(|a| matches!(a, Action::KillWorker { worker }
        if *worker == worker_of(hard))));
    h.node
        .worker_died(worker_of(hard), "killed", &mut h.actions);
    assert_eq!(h.error_of(hard), Some(ErrorKind::TaskCancelled));
    // The interrupted task fails on its own; even with retries left it is not run again.
    h.node
        .task_finished(
            worker_of(soft),
            soft.task_id(),
            vec![Payload::task_error(&b"cancelled"[..])],
            true,
            &mut h.actions,
        )
        .unwrap();
    assert!(h.dispatched().is_empty());
    assert_eq!(h.error_of(soft), Some(ErrorKind::TaskError));
}

#[test]
fn a_finished_task_is_left_as_it_is() {
    let (mut h, _) = Harness::new(1.0, 1, 0);
    let done = h.submit(None, ClientId::DRIVER);
    let running = h.dispatched();
    h.node
        .task_finished(
            running[0].worker,
            running[0].spec.task_id,
            vec![Payload::value(&b"v"[..])],
            false,
            &mut h.actions,
        )
        .unwrap();
    h.take();
    assert!(h.cancel(done, true, true).is_empty());
    assert_eq!(h.error_of(done), None);
}

#[test]
fn a_recursive_cancel_reaches_the_children_and_a_plain_one_does_not() {
    let (mut h, workers) = Harness::new(1.0, 1, 0);
    let parent = h.submit(None, ClientId::DRIVER);
    h.dispatched();
    let client = h.node.worker_client(workers[0]).unwrap();
    let child = h.submit(Some(parent.task_id()), client);
    let other_parent = h.submit(None, ClientId::DRIVER);
    let kept = h.submit(Some(other_parent.task_id()), ClientId::DRIVER);
    h.take();
    h.cancel(parent, false, true);
    assert_eq!(h.error_of(child), Some(ErrorKind::TaskCancelled));
    h.cancel(other_parent, false, false);
    assert_eq!(h.error_of(other_parent), Some(ErrorKind::TaskCancelled));
    assert!(matches!(h.node.lookup(kept), Lookup::Pending));
}

#[test]
fn force_is_refused_for_an_actor_call_even_one_unknown_here() {
    let (mut h, _) = Harness::new(1.0, 0, 0);
    let actor = ActorId::new(JobId::from_index(1));
    let call = ObjectId::for_task(h.ids.next_for_actor(actor), 1);
    let refused = h.node.cancel(call, true, true, &mut h.actions);
    assert!(matches!(refused, Err(CoreError::ForceCancelActorTask)));
    assert!(h.node.cancel(call, false, true, &mut h.actions).is_ok());
}
