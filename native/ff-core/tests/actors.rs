//! The actor state machine driven event by event, with the node's invariants checked after
//! each step.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use ff_core::ids::{ActorId, FunctionId, JobId, ObjectId, TaskIdGenerator, WorkerId};
use ff_core::node::{death, Action, ActorCreated, Dispatch, Node, NodeConfig};
use ff_core::object::{ErrorKind, Payload};
use ff_core::object_table::{ClientId, Lookup};
use ff_core::resources::{Quantity, ResourceSet, CPU};
use ff_core::task::{ActorCall, ActorName, ActorSpec, TaskKind, TaskOptions, TaskSpec};
use ff_core::CoreError;

const CALLER_B: ClientId = ClientId(1000);

struct Harness {
    node: Node,
    ids: TaskIdGenerator,
    actions: Vec<Action>,
}

fn cpus(amount: f64) -> ResourceSet {
    if amount == 0.0 {
        return ResourceSet::new();
    }
    ResourceSet::from_pairs([(CPU, Quantity::from_f64(amount).unwrap())])
}

fn options(
    name: &str,
    resources: ResourceSet,
    num_returns: u32,
    max_retries: i32,
) -> Arc<TaskOptions> {
    Arc::new(TaskOptions {
        function_id: FunctionId::from_array([5; 16]),
        name: name.into(),
        num_returns,
        resources,
        max_retries,
        retry_exceptions: false,
        retry_allowlist: Bytes::new(),
        max_calls: 0,
        streaming: false,
        backpressure: 0,
        env_vars: Arc::new(BTreeMap::new()),
        placement_group: None,
        capture_child_tasks: false,
    })
}

/// How to make an actor in a test.
#[derive(Default, Clone)]
struct Make {
    max_restarts: i32,
    max_pending_calls: i32,
    name: Option<&'static str>,
    detached: bool,
    arg_refs: Vec<ObjectId>,
}

impl Harness {
    fn new(total_cpus: f64, workers: u32) -> (Self, Vec<WorkerId>) {
        let mut h = Self {
            node: Node::new(NodeConfig::with_total(cpus(total_cpus))),
            ids: TaskIdGenerator::new(JobId::from_index(1)),
            actions: Vec::new(),
        };
        h.node.prestart_workers(workers, &mut h.actions);
        let started = started(&h.take());
        for worker in &started {
            h.node.worker_connected(*worker, &mut h.actions).unwrap();
        }
        h.take();
        (h, started)
    }

    fn take(&mut self) -> Vec<Action> {
        self.node.check_invariants().unwrap();
        std::mem::take(&mut self.actions)
    }

    fn creation(&self, make: &Make) -> TaskSpec {
        let actor_id = ActorId::new(JobId::from_index(1));
        let spec = ActorSpec {
            actor_id,
            class_name: "Counter".into(),
            running: cpus(0.0),
            placement: cpus(1.0),
            max_restarts: make.max_restarts,
            namespace: "ns".into(),
            name: make.name.map(|n| ActorName {
                namespace: "ns".into(),
                name: n.into(),
            }),
            detached: make.detached,
            max_pending_calls: if make.max_pending_calls == 0 {
                -1
            } else {
                make.max_pending_calls
            },
            descriptor: Bytes::from_static(b"Counter"),
        };
        TaskSpec {
            task_id: actor_id.creation_task(),
            kind: TaskKind::ActorCreation(Arc::new(spec)),
            options: options("Counter", cpus(0.0), 0, 0),
            args: Payload::value(Bytes::new()),
            arg_refs: make.arg_refs.clone(),
            parent: None,
        }
    }

    fn create(&mut self, make: Make) -> ActorId {
        let spec = self.creation(&make);
        let TaskKind::ActorCreation(actor) = &spec.kind else {
            unreachable!()
        };
        let id = actor.actor_id;
        assert_eq!(
            self.node
                .create_actor(ClientId::DRIVER, spec, false, &mut self.actions)
                .unwrap(),
            ActorCreated::New
        );
        id
    }

    fn call_from(
        &mut self,
        caller: ClientId,
        actor: ActorId,
        arg_refs: Vec<ObjectId>,
        retries: i32,
    ) -> (ObjectId, Result<(), CoreError>) {
        let spec = TaskSpec {
            task_id: self.ids.next_for_actor(actor),
            kind: TaskKind::ActorCall(ActorCall {
                actor,
                method: "incr".into(),
                concurrency_group: None,
            }),
            options: options("Counter.incr", ResourceSet::new(), 1, retries),
            args: Payload::value(Bytes::new()),
            arg_refs,
            parent: None,
        };
        let result = spec.return_ids().next().unwrap();
        let outcome = self.node.submit(caller, spec, &mut self.actions);
        (result, outcome)
    }

    fn call(&mut self, actor: ActorId) -> ObjectId {
        let (result, outcome) = self.call_from(ClientId::DRIVER, actor, vec![], 0);
        outcome.unwrap();
        result
    }

    fn finish(&mut self, dispatch: &Dispatch, value: Payload) {
        self.node
            .task_finished(
                dispatch.worker,
                dispatch.spec.task_id,
                vec![value],
                false,
                &mut self.actions,
            )
            .unwrap();
    }

    fn value(&self, id: ObjectId) -> Payload {
        match self.node.lookup(id) {
            Lookup::Ready(value) => (*value).clone(),
            other => panic!("{id:?} is {other:?}"),
        }
    }

    /// Creates an actor and runs its constructor to completion; returns it and its host.
    fn live_actor(&mut self, make: Make) -> (ActorId, WorkerId) {
        let actor = self.create(make);
        let creation = dispatches(&self.take()).remove(0);
        assert!(matches!(creation.spec.kind, TaskKind::ActorCreation(_)));
        self.finish(&creation, Payload::value(Bytes::new()));
        self.take();
        (actor, creation.worker)
    }
}

fn dispatches(actions: &[Action]) -> Vec<Dispatch> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Dispatch(d) => Some((**d).clone()),
            _ => None,
        })
        .collect()
}

fn started(actions: &[Action]) -> Vec<WorkerId> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::StartWorker { worker, .. } => Some(*worker),
            _ => None,
        })
        .collect()
}

/// The first line of an actor-death message: why it died.
fn reason(payload: &Payload) -> &str {
    payload.message.split('\n').next().unwrap()
}

fn method_of(dispatch: &Dispatch) -> (ActorId, String) {
    let TaskKind::ActorCall(call) = &dispatch.spec.kind else {
        panic!("not an actor call")
    };
    (call.actor, call.method.to_string())
}

#[test]
fn a_default_actor_needs_a_node_with_a_cpu_but_holds_none() {
    let (mut h, _) = Harness::new(1.0, 2);
    let actor = h.create(Make::default());
    let creation = dispatches(&h.take()).remove(0);
    assert_eq!(
        h.node.available().get(CPU),
        Quantity::ONE,
        "placing it takes no CPU"
    );
    h.finish(&creation, Payload::value(Bytes::new()));
    h.take();
    assert_eq!(
        h.node.available().get(CPU),
        Quantity::ONE,
        "the live actor holds none"
    );
    assert!(h.node.actor_is_alive(actor));
    // Its worker is its own now: a task goes to the other worker.
    let f = options("f", cpus(1.0), 1, 0);
    let spec = TaskSpec {
        task_id: h.ids.next(),
        kind: TaskKind::Function,
        options: f,
        args: Payload::value(Bytes::new()),
        arg_refs: vec![],
        parent: None,
    };
    h.node
        .submit(ClientId::DRIVER, spec, &mut h.actions)
        .unwrap();
    let task = dispatches(&h.take()).remove(0);
    assert_ne!(task.worker, creation.worker);
}

#[test]
fn a_default_actor_is_never_placed_on_a_node_without_cpus() {
    let mut h = Harness {
        node: Node::new(NodeConfig::with_total(ResourceSet::from_pairs([(
            "slot",
            Quantity::ONE,
        )]))),
        ids: TaskIdGenerator::new(JobId::from_index(1)),
        actions: Vec::new(),
    };
    h.create(Make::default());
    let actions = h.take();
    assert!(dispatches(&actions).is_empty());
    let warned = actions.iter().find_map(|a| match a {
        Action::Infeasible { request, .. } => Some(request.get(CPU)),
        _ => None,
    });
    assert_eq!(warned, Some(Quantity::ONE), "reported as the CPU it needs");
}

#[test]
fn calls_made_before_the_constructor_finishes_run_after_it_in_order() {
    let (mut h, _) = Harness::new(1.0, 1);
    let actor = h.create(Make::default());
    let creation = dispatches(&h.take()).remove(0);
    let first = h.call(actor);
    let second = h.call(actor);
    assert!(
        dispatches(&h.take()).is_empty(),
        "nothing runs before the constructor returns"
    );
    h.finish(&creation, Payload::value(Bytes::new()));
    let sent = dispatches(&h.take());
    assert_eq!(sent.len(), 2, "both calls go to the host at once, in order");
    assert_eq!(sent[0].spec.return_ids().next(), Some(first));
    assert_eq!(sent[1].spec.return_ids().next(), Some(second));
    assert!(sent.iter().all(|d| d.worker == creation.worker));
    assert_eq!(method_of(&sent[0]), (actor, "incr".to_string()));
}

#[test]
fn a_call_waiting_for_an_argument_holds_back_only_its_own_callers_later_calls() {
    let (mut h, _) = Harness::new(2.0, 2);
    let (actor, _) = h.live_actor(Make::default());
    // An argument produced by a task that has not run yet.
    let pending = ObjectId::for_task(h.ids.next(), 1);
    let f = options("producer", cpus(1.0), 1, 0);
    let producer = TaskSpec {
        task_id: pending.task_id(),
        kind: TaskKind::Function,
        options: f,
        args: Payload::value(Bytes::new()),
        arg_refs: vec![],
        parent: None,
    };
    h.node
        .submit(ClientId::DRIVER, producer, &mut h.actions)
        .unwrap();
    let producing = dispatches(&h.take()).remove(0);
    let (a1, outcome) = h.call_from(ClientId::DRIVER, actor, vec![pending], 0);
    outcome.unwrap();
    let a2 = h.call(actor);
    let (b1, outcome) = h.call_from(CALLER_B, actor, vec![], 0);
    outcome.unwrap();
    let sent: Vec<ObjectId> = dispatches(&h.take())
        .iter()
        .map(|d| d.spec.return_ids().next().unwrap())
        .collect();
    assert_eq!(sent, vec![b1], "the other caller's call is not blocked");
    h.finish(&producing, Payload::value(&b"arg"[..]));
    let sent: Vec<ObjectId> = dispatches(&h.take())
        .iter()
        .map(|d| d.spec.return_ids().next().unwrap())
        .collect();
    assert_eq!(
        sent,
        vec![a1, a2],
        "the first caller's calls follow in their order"
    );
}

#[test]
fn a_constructor_that_raises_fails_every_call_with_its_error() {
    let (mut h, _) = Harness::new(1.0, 1);
    let actor = h.create(Make::default());
    let creation = dispatches(&h.take()).remove(0);
    let queued = h.call(actor);
    h.finish(&creation, Payload::task_error(&b"constructor raised"[..]));
    let actions = h.take();
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::StopWorker { worker } if *worker == creation.worker)));
    let later = h.call(actor);
    for result in [queued, later] {
        let value = h.value(result);
        assert_eq!(value.error, Some(ErrorKind::ActorDied));
        assert_eq!(reason(&value), death::CREATION_FAILED);
        assert!(value.message.contains("Counter"));
        assert_eq!(&value.data[..], b"constructor raised");
    }
    assert!(!h.node.actor_is_alive(actor));
    assert_eq!(h.node.available().get(CPU), Quantity::ONE);
}

#[test]
fn a_crashed_actor_restarts_retrying_calls_that_may_and_failing_those_that_may_not() {
    let (mut h, _) = Harness::new(1.0, 1);
    let (actor, host) = h.live_actor(Make {
        max_restarts: 1,
        ..Make::default()
    });
    let (retried, outcome) = h.call_from(ClientId::DRIVER, actor, vec![], 1);
    outcome.unwrap();
    let (lost, outcome) = h.call_from(ClientId::DRIVER, actor, vec![], 0);
    outcome.unwrap();
    assert_eq!(dispatches(&h.take()).len(), 2);
    h.node
        .worker_died(host, "killed by signal 9", &mut h.actions);
    let actions = h.take();
    assert_eq!(h.value(lost).error, Some(ErrorKind::ActorUnavailable));
    assert_eq!(h.node.actor_restarts(actor), Some(1));
    let replacement = started(&actions);
    assert_eq!(
        replacement.len(),
        1,
        "a new process for the restarted actor"
    );
    h.node
        .worker_connected(replacement[0], &mut h.actions)
        .unwrap();
    let recreate = dispatches(&h.take()).remove(0);
    assert!(matches!(recreate.spec.kind, TaskKind::ActorCreation(_)));
    assert_eq!(recreate.worker, replacement[0]);
    h.finish(&recreate, Payload::value(Bytes::new()));
    let resent = dispatches(&h.take());
    assert_eq!(resent.len(), 1);
    assert_eq!(resent[0].spec.return_ids().next(), Some(retried));
    assert_eq!(resent[0].attempt, 1);
    let later = h.call(actor);
    let sent = dispatches(&h.take()).remove(0);
    assert_eq!(
        sent.worker, replacement[0],
        "later calls go to the new instance"
    );
    h.finish(&sent, Payload::value(&b"1"[..]));
    assert_eq!(&h.value(later).data[..], b"1");
}

#[test]
fn an_actor_without_restarts_dies_with_its_process() {
    let (mut h, _) = Harness::new(1.0, 1);
    let (actor, host) = h.live_actor(Make::default());
    let in_flight = h.call(actor);
    h.take();
    h.node.worker_died(
        host,
        "the worker process exited with code 1",
        &mut h.actions,
    );
    h.take();
    let value = h.value(in_flight);
    assert_eq!(value.error, Some(ErrorKind::ActorDied));
    assert_eq!(reason(&value), death::CRASHED);
    assert!(value
        .message
        .ends_with("the worker process exited with code 1"));
    let later = h.call(actor);
    assert_eq!(h.value(later).error, Some(ErrorKind::ActorDied));
}

#[test]
fn kill_ends_the_process_and_no_restart_is_honoured() {
    let (mut h, _) = Harness::new(1.0, 1);
    let (actor, host) = h.live_actor(Make {
        max_restarts: 5,
        ..Make::default()
    });
    h.node.kill_actor(actor, true, &mut h.actions);
    assert!(h
        .take()
        .iter()
        .any(|a| matches!(a, Action::KillWorker { worker } if *worker == host)));
    h.node
        .worker_died(host, "killed by signal 9", &mut h.actions);
    h.take();
    let later = h.call(actor);
    let value = h.value(later);
    assert_eq!(
        (value.error, reason(&value)),
        (Some(ErrorKind::ActorDied), death::KILLED)
    );
    assert_eq!(h.node.actor_restarts(actor), Some(0));
}

#[test]
fn kill_without_no_restart_restarts_an_actor_that_may() {
    let (mut h, _) = Harness::new(1.0, 1);
    let (actor, host) = h.live_actor(Make {
        max_restarts: 1,
        ..Make::default()
    });
    h.node.kill_actor(actor, false, &mut h.actions);
    h.take();
    h.node
        .worker_died(host, "killed by signal 9", &mut h.actions);
    h.take();
    assert!(h.node.actor_is_alive(actor));
    assert_eq!(h.node.actor_restarts(actor), Some(1));
}

#[test]
fn an_actor_ends_after_its_last_handle_once_its_calls_are_done() {
    let (mut h, _) = Harness::new(1.0, 1);
    let (actor, host) = h.live_actor(Make::default());
    let result = h.call(actor);
    let call = dispatches(&h.take()).remove(0);
    h.node
        .remove_refs(ClientId::DRIVER, &[actor.handle_object()], &mut h.actions);
    assert!(
        !h.take()
            .iter()
            .any(|a| matches!(a, Action::StopWorker { .. })),
        "a call is still running"
    );
    h.finish(&call, Payload::value(&b"done"[..]));
    let actions = h.take();
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::StopWorker { worker } if *worker == host)));
    assert_eq!(&h.value(result).data[..], b"done");
    h.node.worker_died(host, "exited", &mut h.actions);
    h.take();
    assert!(!h.node.actor_is_alive(actor));
}

#[test]
fn a_call_made_through_a_handle_dropped_at_once_still_runs() {
    let (mut h, _) = Harness::new(1.0, 1);
    let actor = h.create(Make::default());
    let creation = dispatches(&h.take()).remove(0);
    let result = h.call(actor);
    h.node
        .remove_refs(ClientId::DRIVER, &[actor.handle_object()], &mut h.actions);
    h.take();
    h.finish(&creation, Payload::value(Bytes::new()));
    let call = dispatches(&h.take()).remove(0);
    h.finish(&call, Payload::value(&b"ran"[..]));
    let actions = h.take();
    assert_eq!(&h.value(result).data[..], b"ran");
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::StopWorker { .. })),
        "then it ends"
    );
}

#[test]
fn a_detached_actor_outlives_its_handles() {
    let (mut h, _) = Harness::new(1.0, 1);
    let (actor, _) = h.live_actor(Make {
        detached: true,
        name: Some("keeper"),
        ..Make::default()
    });
    h.node
        .remove_refs(ClientId::DRIVER, &[actor.handle_object()], &mut h.actions);
    assert!(!h
        .take()
        .iter()
        .any(|a| matches!(a, Action::StopWorker { .. })));
    assert!(h.node.actor_is_alive(actor));
}

#[test]
fn names_are_unique_per_namespace_and_freed_when_the_actor_dies() {
    let (mut h, _) = Harness::new(2.0, 2);
    let (actor, host) = h.live_actor(Make {
        name: Some("counter"),
        ..Make::default()
    });
    let again = h.creation(&Make {
        name: Some("counter"),
        ..Make::default()
    });
    let refused = h
        .node
        .create_actor(ClientId::DRIVER, again.clone(), false, &mut h.actions);
    assert!(matches!(refused, Err(CoreError::ActorNameTaken { .. })));
    let existing = h
        .node
        .create_actor(CALLER_B, again, true, &mut h.actions)
        .unwrap();
    assert_eq!(
        existing,
        ActorCreated::Existing {
            actor,
            descriptor: Bytes::from_static(b"Counter")
        }
    );
    let name = ActorName {
        namespace: "ns".into(),
        name: "counter".into(),
    };
    assert_eq!(
        h.node.named_actor(CALLER_B, &name).map(|(id, _)| id),
        Some(actor)
    );
    assert_eq!(h.node.named_actors(Some("ns")), vec![name.clone()]);
    assert!(h.node.named_actors(Some("other")).is_empty());
    h.node.kill_actor(actor, true, &mut h.actions);
    h.node.worker_died(host, "killed", &mut h.actions);
    h.take();
    assert!(h.node.named_actor(CALLER_B, &name).is_none());
}

#[test]
fn max_pending_calls_refuses_calls_past_the_limit_per_caller() {
    let (mut h, _) = Harness::new(1.0, 1);
    let (actor, _) = h.live_actor(Make {
        max_pending_calls: 2,
        ..Make::default()
    });
    h.call(actor);
    h.call(actor);
    let (_, refused) = h.call_from(ClientId::DRIVER, actor, vec![], 0);
    assert!(matches!(
        refused,
        Err(CoreError::PendingCallsLimitExceeded { limit: 2, .. })
    ));
    let (_, other_caller) = h.call_from(CALLER_B, actor, vec![], 0);
    assert!(other_caller.is_ok());
}

#[test]
fn constructor_arguments_stay_alive_for_restarts_until_the_actor_dies() {
    let (mut h, _) = Harness::new(1.0, 1);
    let arg = ObjectId::for_task(h.ids.next(), 0);
    h.node
        .put(
            ClientId::DRIVER,
            arg,
            Payload::value(&b"config"[..]),
            &mut Vec::new(),
        )
        .unwrap();
    let (actor, host) = h.live_actor(Make {
        max_restarts: 1,
        arg_refs: vec![arg],
        ..Make::default()
    });
    h.node.remove_refs(ClientId::DRIVER, &[arg], &mut h.actions);
    h.take();
    assert!(h.node.objects().contains(arg), "kept for a restart");
    h.node.kill_actor(actor, true, &mut h.actions);
    h.node.worker_died(host, "killed", &mut h.actions);
    assert!(h
        .take()
        .iter()
        .any(|a| matches!(a, Action::Freed(id) if *id == arg)));
}
