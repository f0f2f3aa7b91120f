//! The node state machine driven event by event, with its invariants checked after each step.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use ff_core::ids::{FunctionId, JobId, ObjectId, PlacementGroupId, TaskIdGenerator, WorkerId};
use ff_core::node::{
    bundle_resource_name, Action, Dispatch, Node, NodeConfig, PlacementGroupSpec,
    PlacementGroupState, PlacementStrategy, WaitKind, WaitResult, WaitStart,
};
use ff_core::object::{ErrorKind, Payload};
use ff_core::object_table::{ClientId, Lookup};
use ff_core::resources::{Quantity, ResourceSet, CPU, GPU};
use ff_core::task::{TaskKind, TaskOptions, TaskSpec};

/// A node plus the ids it made, with helpers that play the runtime's part.
struct Harness {
    node: Node,
    ids: TaskIdGenerator,
    actions: Vec<Action>,
}

fn quantity(value: f64) -> Quantity {
    Quantity::from_f64(value).unwrap()
}

fn resources(pairs: &[(&str, f64)]) -> ResourceSet {
    ResourceSet::from_pairs(pairs.iter().map(|(name, value)| (*name, quantity(*value))))
}

fn options(request: &[(&str, f64)]) -> TaskOptions {
    TaskOptions {
        function_id: FunctionId::from_array([7; 16]),
        name: "f".into(),
        num_returns: 1,
        resources: resources(request),
        max_retries: 0,
        retry_exceptions: false,
        retry_allowlist: Bytes::new(),
        max_calls: 0,
        streaming: false,
        backpressure: 0,
        env_vars: Arc::new(BTreeMap::new()),
        placement_group: None,
        capture_child_tasks: false,
    }
}

impl Harness {
    fn new(total: &[(&str, f64)]) -> Self {
        Self {
            node: Node::new(NodeConfig::with_total(resources(total))),
            ids: TaskIdGenerator::new(JobId::from_index(1)),
            actions: Vec::new(),
        }
    }

    fn check(&self) {
        self.node.check_invariants().unwrap();
    }

    fn take(&mut self) -> Vec<Action> {
        self.check();
        std::mem::take(&mut self.actions)
    }

    /// Starts `count` workers and connects them all.
    fn with_workers(mut self, count: u32) -> (Self, Vec<WorkerId>) {
        self.node.prestart_workers(count, &mut self.actions);
        let started = started_workers(&self.take());
        for worker in &started {
            self.node
                .worker_connected(*worker, &mut self.actions)
                .unwrap();
        }
        self.check();
        (self, started)
    }

    fn submit(&mut self, options: &Arc<TaskOptions>, arg_refs: Vec<ObjectId>) -> ObjectId {
        let spec = TaskSpec {
            task_id: self.ids.next(),
            kind: TaskKind::Function,
            options: options.clone(),
            args: Payload::value(Bytes::new()),
            arg_refs,
            parent: None,
        };
        let result = spec.return_ids().next().unwrap();
        self.node
            .submit(ClientId::DRIVER, spec, &mut self.actions)
            .unwrap();
        result
    }

    fn finish(&mut self, dispatch: &Dispatch, value: &'static [u8]) {
        self.node
            .task_finished(
                dispatch.worker,
                dispatch.spec.task_id,
                vec![Payload::value(value)],
                false,
                &mut self.actions,
            )
            .unwrap();
    }

    fn fail(&mut self, dispatch: &Dispatch, retryable: bool) {
        self.node
            .task_finished(
                dispatch.worker,
                dispatch.spec.task_id,
                vec![Payload::task_error(&b"boom"[..])],
                retryable,
                &mut self.actions,
            )
            .unwrap();
    }

    fn value_of(&self, id: ObjectId) -> Payload {
        match self.node.lookup(id) {
            Lookup::Ready(value) => (*value).clone(),
            other => panic!("{id:?} is {other:?}"),
        }
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

fn started_workers(actions: &[Action]) -> Vec<WorkerId> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::StartWorker { worker, .. } => Some(*worker),
            _ => None,
        })
        .collect()
}

#[test]
fn a_task_runs_on_an_idle_worker_and_its_value_wakes_a_get() {
    let (mut h, workers) = Harness::new(&[(CPU, 2.0)]).with_workers(2);
    let f = Arc::new(options(&[(CPU, 1.0)]));
    let result = h.submit(&f, vec![]);
    let sent = dispatches(&h.take());
    assert_eq!(sent.len(), 1);
    assert!(workers.contains(&sent[0].worker));
    assert!(
        sent[0].send_function,
        "first call on this worker carries the function"
    );
    assert_eq!(h.node.available().get(CPU), quantity(1.0));

    let WaitStart::Pending(waiter) = h.node.get_or_wait(
        ClientId::DRIVER,
        9,
        vec![result],
        WaitKind::Get,
        true,
        &mut h.actions,
    ) else {
        panic!("the value is not there yet")
    };
    h.finish(&sent[0], b"42");
    let actions = h.take();
    let done = actions.iter().find_map(|a| match a {
        Action::WaiterDone {
            waiter: w,
            tag,
            result,
            ..
        } if *w == waiter => Some((*tag, result.clone())),
        _ => None,
    });
    let (tag, WaitResult::Values(values)) = done.expect("the get was woken") else {
        panic!("expected values")
    };
    assert_eq!(tag, 9);
    assert_eq!(&values[0].data[..], b"42");
    assert_eq!(h.node.available().get(CPU), quantity(2.0));
}

#[test]
fn the_same_worker_is_not_sent_a_function_twice() {
    let (mut h, _) = Harness::new(&[(CPU, 1.0)]).with_workers(1);
    let f = Arc::new(options(&[(CPU, 1.0)]));
    h.submit(&f, vec![]);
    let first = dispatches(&h.take()).remove(0);
    h.finish(&first, b"1");
    h.submit(&f, vec![]);
    let second = dispatches(&h.take()).remove(0);
    assert_eq!(first.worker, second.worker);
    assert!(!second.send_function);
}

#[test]
fn a_task_needing_every_cpu_runs_alone() {
    let (mut h, _) = Harness::new(&[(CPU, 2.0)]).with_workers(2);
    let big = Arc::new(options(&[(CPU, 2.0)]));
    h.submit(&big, vec![]);
    h.submit(&big, vec![]);
    let sent = dispatches(&h.take());
    assert_eq!(sent.len(), 1);
    h.finish(&sent[0], b"");
    assert_eq!(
        dispatches(&h.take()).len(),
        1,
        "the second runs once the first is done"
    );
}

#[test]
fn fractional_cpus_pack_several_tasks_per_cpu() {
    let (mut h, _) = Harness::new(&[(CPU, 1.0)]).with_workers(1);
    let quarter = Arc::new(options(&[(CPU, 0.25)]));
    for _ in 0..4 {
        h.submit(&quarter, vec![]);
    }
    let actions = h.take();
    assert_eq!(dispatches(&actions).len(), 1, "one idle worker so far");
    assert_eq!(
        started_workers(&actions).len(),
        2,
        "more start, bounded by start-up concurrency"
    );
    for worker in started_workers(&actions) {
        h.node.worker_connected(worker, &mut h.actions).unwrap();
    }
    assert_eq!(dispatches(&h.take()).len(), 2);
    assert_eq!(h.node.available().get(CPU), quantity(0.25));
}

#[test]
fn an_infeasible_task_waits_and_is_reported_once() {
    let (mut h, _) = Harness::new(&[(CPU, 2.0)]).with_workers(2);
    let huge = Arc::new(options(&[(CPU, 3.0)]));
    let result = h.submit(&huge, vec![]);
    h.submit(&huge, vec![]);
    let actions = h.take();
    let warnings: Vec<_> = actions
        .iter()
        .filter(|a| matches!(a, Action::Infeasible { .. }))
        .collect();
    assert_eq!(warnings.len(), 1);
    assert!(dispatches(&actions).is_empty());
    assert_eq!(h.node.lookup(result), Lookup::Pending);
    let custom = Arc::new(options(&[("accelerator", 1.0)]));
    h.submit(&custom, vec![]);
    assert!(h
        .take()
        .iter()
        .any(|a| matches!(a, Action::Infeasible { .. })));
}

#[test]
fn a_task_waits_for_its_arguments_and_receives_their_values() {
    let (mut h, _) = Harness::new(&[(CPU, 1.0)]).with_workers(1);
    let f = Arc::new(options(&[(CPU, 1.0)]));
    let a = h.submit(&f, vec![]);
    let b = h.submit(&f, vec![a]);
    let first = dispatches(&h.take());
    assert_eq!(first.len(), 1);
    h.finish(&first[0], b"a-value");
    let second = dispatches(&h.take());
    assert_eq!(second.len(), 1);
    assert_eq!(&second[0].arg_values[0].data[..], b"a-value");
    h.finish(&second[0], b"b-value");
    assert_eq!(&h.value_of(b).data[..], b"b-value");
}

#[test]
fn a_failed_argument_is_handed_to_the_dependent_task_which_still_runs() {
    let (mut h, _) = Harness::new(&[(CPU, 1.0)]).with_workers(1);
    let f = Arc::new(options(&[(CPU, 1.0)]));
    let a = h.submit(&f, vec![]);
    let b = h.submit(&f, vec![a]);
    let first = dispatches(&h.take()).remove(0);
    h.fail(&first, false);
    let second = dispatches(&h.take());
    assert_eq!(
        second.len(),
        1,
        "the dependent runs, so its worker can raise in its name"
    );
    let arg = &second[0].arg_values[0];
    assert_eq!(arg.error, Some(ErrorKind::TaskError));
    assert_eq!(&arg.data[..], b"boom");
    h.fail(&second[0], false);
    assert_eq!(h.value_of(b).error, Some(ErrorKind::TaskError));
    assert_eq!(h.node.task_count(), 0);
}

#[test]
fn a_blocked_worker_lends_its_cpu_so_nested_tasks_deeper_than_the_cpus_finish() {
    let (mut h, _) = Harness::new(&[(CPU, 1.0)]).with_workers(1);
    let f = Arc::new(options(&[(CPU, 1.0)]));
    let mut chain = Vec::new();
    let outer = h.submit(&f, vec![]);
    chain.push(dispatches(&h.take()).remove(0));
    // Each running task submits a child and blocks on it: depth 4 on one CPU.
    for _ in 0..4 {
        let parent = chain.last().unwrap().clone();
        let child = h.submit(&f, vec![]);
        let client = h.node.worker_client(parent.worker).unwrap();
        let start = h
            .node
            .get_or_wait(client, 1, vec![child], WaitKind::Get, true, &mut h.actions);
        assert!(matches!(start, WaitStart::Pending(_)));
        let actions = h.take();
        let new_workers = started_workers(&actions);
        assert_eq!(
            new_workers.len(),
            1,
            "the lent CPU starts a worker for the child"
        );
        h.node
            .worker_connected(new_workers[0], &mut h.actions)
            .unwrap();
        chain.push(dispatches(&h.take()).remove(0));
    }
    while let Some(task) = chain.pop() {
        h.finish(&task, b"done");
        h.take();
    }
    assert_eq!(&h.value_of(outer).data[..], b"done");
    assert_eq!(h.node.available().get(CPU), quantity(1.0));
}

#[test]
fn a_worker_death_retries_the_task_until_retries_run_out() {
    let (mut h, _) = Harness::new(&[(CPU, 1.0)]).with_workers(1);
    let mut once = options(&[(CPU, 1.0)]);
    once.max_retries = 1;
    let result = h.submit(&Arc::new(once), vec![]);
    let first = dispatches(&h.take()).remove(0);
    assert_eq!(first.attempt, 0);
    h.node
        .worker_died(first.worker, "killed by signal 9", &mut h.actions);
    let replacement = started_workers(&h.take());
    assert_eq!(replacement.len(), 1);
    h.node
        .worker_connected(replacement[0], &mut h.actions)
        .unwrap();
    let second = dispatches(&h.take()).remove(0);
    assert_eq!(second.attempt, 1);
    assert_eq!(second.spec.task_id, first.spec.task_id);
    h.node
        .worker_died(second.worker, "killed by signal 9", &mut h.actions);
    h.take();
    let value = h.value_of(result);
    assert_eq!(value.error, Some(ErrorKind::WorkerCrashed));
    assert!(value.message.contains("signal 9"));
    assert_eq!(h.node.available().get(CPU), quantity(1.0));
}

#[test]
fn application_errors_are_retried_only_when_marked_retryable() {
    let (mut h, _) = Harness::new(&[(CPU, 1.0)]).with_workers(1);
    let mut retrying = options(&[(CPU, 1.0)]);
    retrying.max_retries = 2;
    retrying.retry_exceptions = true;
    let retrying = Arc::new(retrying);
    let result = h.submit(&retrying, vec![]);
    let first = dispatches(&h.take()).remove(0);
    h.fail(&first, true);
    let second = dispatches(&h.take()).remove(0);
    assert_eq!(second.attempt, 1);
    h.fail(&second, false);
    h.take();
    assert_eq!(h.value_of(result).error, Some(ErrorKind::TaskError));
}

#[test]
fn retries_forever_with_minus_one() {
    let (mut h, _) = Harness::new(&[(CPU, 1.0)]).with_workers(1);
    let mut forever = options(&[(CPU, 1.0)]);
    forever.max_retries = -1;
    forever.retry_exceptions = true;
    let result = h.submit(&Arc::new(forever), vec![]);
    for attempt in 0..20 {
        let sent = dispatches(&h.take()).remove(0);
        assert_eq!(sent.attempt, attempt);
        h.fail(&sent, true);
    }
    let last = dispatches(&h.take()).remove(0);
    h.finish(&last, b"ok");
    assert_eq!(&h.value_of(result).data[..], b"ok");
}

#[test]
fn max_calls_retires_the_worker_after_that_many_calls() {
    let (mut h, _) = Harness::new(&[(CPU, 1.0)]).with_workers(1);
    let mut limited = options(&[(CPU, 1.0)]);
    limited.max_calls = 2;
    let limited = Arc::new(limited);
    h.submit(&limited, vec![]);
    let first = dispatches(&h.take()).remove(0);
    h.finish(&first, b"");
    assert!(!h
        .take()
        .iter()
        .any(|a| matches!(a, Action::StopWorker { .. })));
    h.submit(&limited, vec![]);
    let second = dispatches(&h.take()).remove(0);
    assert_eq!(second.worker, first.worker);
    h.finish(&second, b"");
    let actions = h.take();
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::StopWorker { worker } if *worker == first.worker)));
    h.submit(&limited, vec![]);
    let actions = h.take();
    assert!(dispatches(&actions).is_empty());
    assert_eq!(
        started_workers(&actions).len(),
        1,
        "a fresh worker takes the next call"
    );
}

#[test]
fn idle_workers_beyond_the_soft_limit_are_stopped_after_a_while() {
    let (mut h, _) = Harness::new(&[(CPU, 1.0)]).with_workers(3);
    h.node.tick(&mut h.actions);
    assert!(h.take().is_empty(), "not idle for long enough yet");
    h.node.tick(&mut h.actions);
    h.node.tick(&mut h.actions);
    let stops = h
        .take()
        .iter()
        .filter(|a| matches!(a, Action::StopWorker { .. }))
        .count();
    assert_eq!(stops, 2);
    h.node.tick(&mut h.actions);
    assert!(h.take().is_empty());
}

#[test]
fn gpu_tasks_get_device_ids() {
    let (mut h, _) = Harness::new(&[(CPU, 4.0), (GPU, 2.0)]).with_workers(3);
    let one_gpu = Arc::new(options(&[(CPU, 1.0), (GPU, 1.0)]));
    h.submit(&one_gpu, vec![]);
    h.submit(&one_gpu, vec![]);
    h.submit(&one_gpu, vec![]);
    let sent = dispatches(&h.take());
    assert_eq!(sent.len(), 2, "two GPUs, two tasks");
    let mut ids: Vec<u32> = sent.iter().flat_map(|d| d.gpu_ids.clone()).collect();
    ids.sort();
    assert_eq!(ids, [0, 1]);
    h.finish(&sent[1], b"");
    let third = dispatches(&h.take()).remove(0);
    assert_eq!(third.gpu_ids, sent[1].gpu_ids);
}

#[test]
fn workers_that_cannot_start_fail_the_queued_tasks() {
    let mut h = Harness::new(&[(CPU, 1.0)]);
    let f = Arc::new(options(&[(CPU, 1.0)]));
    let result = h.submit(&f, vec![]);
    for _ in 0..3 {
        let started = started_workers(&h.take());
        assert_eq!(started.len(), 1);
        h.node.worker_died(
            started[0],
            "exit status 1: No module named fusion_flow",
            &mut h.actions,
        );
    }
    h.take();
    let value = h.value_of(result);
    assert_eq!(value.error, Some(ErrorKind::SystemError));
    assert!(value.message.contains("No module named fusion_flow"));
}

#[test]
fn a_get_fails_fast_on_an_error_even_when_others_are_pending() {
    let (mut h, _) = Harness::new(&[(CPU, 2.0)]).with_workers(2);
    let f = Arc::new(options(&[(CPU, 1.0)]));
    let slow = h.submit(&f, vec![]);
    let failing = h.submit(&f, vec![]);
    let sent = dispatches(&h.take());
    let start = h.node.get_or_wait(
        ClientId::DRIVER,
        0,
        vec![slow, failing],
        WaitKind::Get,
        true,
        &mut h.actions,
    );
    assert!(matches!(start, WaitStart::Pending(_)));
    let failing_task = sent
        .iter()
        .find(|d| d.spec.task_id == failing.task_id())
        .unwrap();
    h.fail(failing_task, false);
    let failed = h.take().into_iter().any(|a| {
        matches!(a, Action::WaiterDone { result: WaitResult::Failed(e), .. } if e.error == Some(ErrorKind::TaskError))
    });
    assert!(failed);
}

#[test]
fn a_wait_returns_when_enough_are_ready_and_a_cancelled_one_reports_what_is() {
    let (mut h, _) = Harness::new(&[(CPU, 2.0)]).with_workers(2);
    let f = Arc::new(options(&[(CPU, 1.0)]));
    let a = h.submit(&f, vec![]);
    let b = h.submit(&f, vec![]);
    let sent = dispatches(&h.take());
    let WaitStart::Pending(waiter) = h.node.get_or_wait(
        ClientId::DRIVER,
        0,
        vec![a, b],
        WaitKind::Wait { num_returns: 2 },
        true,
        &mut h.actions,
    ) else {
        panic!("nothing is ready")
    };
    let b_task = sent.iter().find(|d| d.spec.task_id == b.task_id()).unwrap();
    h.finish(b_task, b"");
    assert!(!h
        .take()
        .iter()
        .any(|a| matches!(a, Action::WaiterDone { .. })));
    let result = h.node.cancel_waiter(waiter, &mut h.actions);
    assert_eq!(result, Some(WaitResult::Ready(vec![1])));
    assert_eq!(h.node.cancel_waiter(waiter, &mut h.actions), None);
    let nonblocking = h.node.get_or_wait(
        ClientId::DRIVER,
        0,
        vec![a],
        WaitKind::Get,
        false,
        &mut h.actions,
    );
    assert!(matches!(nonblocking, WaitStart::Done(WaitResult::TimedOut)));
}

#[test]
fn arguments_stay_alive_until_the_task_finishes_and_are_freed_after() {
    let (mut h, _) = Harness::new(&[(CPU, 1.0)]).with_workers(1);
    let arg = ObjectId::for_task(h.ids.next(), 0);
    h.node
        .put(
            ClientId::DRIVER,
            arg,
            Payload::value(&b"x"[..]),
            &mut Vec::new(),
        )
        .unwrap();
    let f = Arc::new(options(&[(CPU, 1.0)]));
    let result = h.submit(&f, vec![arg]);
    h.node.remove_refs(ClientId::DRIVER, &[arg], &mut h.actions);
    assert!(
        h.node.objects().contains(arg),
        "the pending task pins its argument"
    );
    let sent = dispatches(&h.take()).remove(0);
    h.finish(&sent, b"y");
    let actions = h.take();
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::Freed(id) if *id == arg)));
    h.node
        .remove_refs(ClientId::DRIVER, &[result], &mut h.actions);
    assert!(h
        .take()
        .iter()
        .any(|a| matches!(a, Action::Freed(id) if *id == result)));
    assert!(h.node.objects().is_empty());
}

#[test]
fn a_dead_workers_refs_and_waiters_are_released() {
    let (mut h, workers) = Harness::new(&[(CPU, 1.0)]).with_workers(1);
    let client = h.node.worker_client(workers[0]).unwrap();
    let id = ObjectId::for_task(h.ids.next(), 0);
    h.node
        .put(
            client,
            id,
            Payload::value(&b"held by the worker"[..]),
            &mut Vec::new(),
        )
        .unwrap();
    h.node.worker_died(workers[0], "exit", &mut h.actions);
    assert!(h
        .take()
        .iter()
        .any(|a| matches!(a, Action::Freed(freed) if *freed == id)));
}

#[test]
fn an_attached_driver_submits_and_holds_objects_but_never_runs_a_task() {
    let (mut h, workers) = Harness::new(&[(CPU, 1.0)]).with_workers(1);
    let connection = WorkerId::random();
    let client = h.node.driver_attached(connection).unwrap();
    assert!(
        h.node.driver_attached(connection).is_err(),
        "a connection id is taken once"
    );
    assert_eq!(h.node.worker_of(client), Some(connection));

    // Its task runs on the worker, and its get is answered to it.
    let f = Arc::new(options(&[(CPU, 1.0)]));
    let spec = TaskSpec {
        task_id: h.ids.next(),
        kind: TaskKind::Function,
        options: f.clone(),
        args: Payload::value(Bytes::new()),
        arg_refs: vec![],
        parent: None,
    };
    let result = spec.return_ids().next().unwrap();
    h.node.submit(client, spec, &mut h.actions).unwrap();
    let sent = dispatches(&h.take());
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].worker, workers[0]);
    let WaitStart::Pending(_) =
        h.node
            .get_or_wait(client, 3, vec![result], WaitKind::Get, true, &mut h.actions)
    else {
        panic!("the value is not there yet")
    };
    assert_eq!(
        h.node.available().get(CPU),
        quantity(0.0),
        "an attached driver's get lends no CPU: it holds none"
    );
    h.finish(&sent[0], b"7");
    let answered = h.take().iter().any(|a| {
        matches!(a, Action::WaiterDone { client: c, tag: 3, result: WaitResult::Values(_), .. }
            if *c == client)
    });
    assert!(answered);

    // It does not count as a worker process, so idle workers are not stopped for it.
    for _ in 0..3 {
        h.node.tick(&mut h.actions);
    }
    assert!(!h
        .take()
        .iter()
        .any(|a| matches!(a, Action::StopWorker { .. })));

    // When it leaves, what it held goes.
    let put = ObjectId::for_task(h.ids.next(), 0);
    h.node
        .put(client, put, Payload::value(&b"held"[..]), &mut Vec::new())
        .unwrap();
    h.node
        .worker_died(connection, "disconnected", &mut h.actions);
    let freed: Vec<ObjectId> = h
        .take()
        .iter()
        .filter_map(|a| match a {
            Action::Freed(id) => Some(*id),
            _ => None,
        })
        .collect();
    assert!(freed.contains(&put) && freed.contains(&result), "{freed:?}");
}

#[test]
fn an_unknown_argument_reaches_the_worker_as_lost() {
    let (mut h, _) = Harness::new(&[(CPU, 1.0)]).with_workers(1);
    let ghost = ObjectId::for_task(h.ids.next(), 1);
    let f = Arc::new(options(&[(CPU, 1.0)]));
    h.submit(&f, vec![ghost]);
    let sent = dispatches(&h.take());
    assert_eq!(sent[0].arg_values[0].error, Some(ErrorKind::ObjectLost));
}

#[test]
fn a_draining_node_lets_running_tasks_finish_and_starts_nothing_new() {
    let (mut h, _) = Harness::new(&[(CPU, 2.0)]).with_workers(1);
    let f = Arc::new(options(&[(CPU, 1.0)]));
    let running = h.submit(&f, vec![]);
    let queued = h.submit(&f, vec![]);
    let actions = h.take();
    let sent = dispatches(&actions);
    assert_eq!(sent.len(), 1, "one idle worker");
    assert_eq!(
        started_workers(&actions).len(),
        1,
        "a worker for the second"
    );
    assert_eq!(h.node.running_task_count(), 1);

    h.node.begin_drain();
    assert!(h.node.is_draining());
    let late = h.submit(&f, vec![]);
    h.finish(&sent[0], b"done");
    let after = h.take();
    assert!(
        dispatches(&after).is_empty(),
        "nothing queued is handed out"
    );
    assert!(started_workers(&after).is_empty(), "no worker is started");
    h.node.prestart_workers(2, &mut h.actions);
    assert!(started_workers(&h.take()).is_empty());
    assert_eq!(&h.value_of(running).data[..], b"done");
    assert_eq!(h.node.running_task_count(), 0);
    for id in [queued, late] {
        assert!(matches!(h.node.lookup(id), Lookup::Pending));
    }
}

#[test]
fn a_running_tasks_children_go_before_queued_top_level_tasks() {
    let (mut h, workers) = Harness::new(&[(CPU, 1.0)]).with_workers(1);
    let f = Arc::new(options(&[(CPU, 1.0)]));
    h.submit(&f, vec![]);
    let parent = dispatches(&h.take()).remove(0);
    let waiting: Vec<ObjectId> = (0..3).map(|_| h.submit(&f, vec![])).collect();
    let client = h.node.worker_client(workers[0]).unwrap();
    let children: Vec<ObjectId> = (0..2)
        .map(|_| {
            let spec = TaskSpec {
                task_id: h.ids.next(),
                kind: TaskKind::Function,
                options: f.clone(),
                args: Payload::value(Bytes::new()),
                arg_refs: Vec::new(),
                parent: Some(parent.spec.task_id),
            };
            let result = spec.return_ids().next().unwrap();
            h.node.submit(client, spec, &mut h.actions).unwrap();
            result
        })
        .collect();
    h.finish(&parent, b"parent");
    let mut order = Vec::new();
    for _ in 0..5 {
        let sent = dispatches(&h.take());
        assert_eq!(sent.len(), 1, "one CPU: one task at a time");
        order.push(sent[0].spec.task_id);
        h.finish(&sent[0], b"v");
    }
    let expected: Vec<_> = children
        .iter()
        .chain(&waiting)
        .map(|id| id.task_id())
        .collect();
    assert_eq!(
        order, expected,
        "children first, then the rest in submission order"
    );
}

// ----------------------------------------------------------------- placement groups

fn group(bundles: &[&[(&str, f64)]]) -> PlacementGroupSpec {
    PlacementGroupSpec {
        id: PlacementGroupId::new(JobId::from_index(1)),
        name: None,
        bundles: bundles.iter().map(|b| resources(b)).collect(),
        strategy: PlacementStrategy::Pack,
        detached: false,
    }
}

fn in_bundle(spec: &PlacementGroupSpec, index: usize, cpus: f64) -> TaskOptions {
    let cpu = bundle_resource_name(CPU, spec.id, Some(index));
    let sliver = bundle_resource_name("bundle", spec.id, Some(index));
    let mut options = options(&[(cpu.as_str(), cpus), (sliver.as_str(), 0.001)]);
    options.placement_group = Some(spec.id);
    options
}

#[test]
fn a_placement_group_trades_node_resources_for_bundle_resources() {
    let (mut h, _) = Harness::new(&[(CPU, 4.0)]).with_workers(1);
    let spec = group(&[&[(CPU, 1.0)], &[(CPU, 2.0)]]);
    h.node
        .create_placement_group(ClientId::DRIVER, spec.clone(), &mut h.actions);
    h.take();
    let name = |index| bundle_resource_name(CPU, spec.id, index);
    assert_eq!(h.node.available().get(CPU), quantity(1.0));
    assert_eq!(h.node.available().get(&name(Some(0))), quantity(1.0));
    assert_eq!(h.node.available().get(&name(Some(1))), quantity(2.0));
    assert_eq!(h.node.available().get(&name(None)), quantity(3.0));
    assert_eq!(h.node.total().get(CPU), quantity(4.0));

    let task = h.submit(&Arc::new(in_bundle(&spec, 1, 2.0)), vec![]);
    let sent = dispatches(&h.take());
    assert_eq!(sent.len(), 1, "the bundle holds the task");
    assert_eq!(h.node.available().get(&name(Some(1))), quantity(0.0));
    h.finish(&sent[0], b"done");
    assert_eq!(&h.value_of(task).data[..], b"done");
    assert_eq!(h.node.available().get(&name(Some(1))), quantity(2.0));
}

#[test]
fn a_group_that_does_not_fit_waits_and_strict_spread_never_fits_one_node() {
    let (mut h, _) = Harness::new(&[(CPU, 2.0)]).with_workers(0);
    let big = group(&[&[(CPU, 3.0)]]);
    let mut spread = group(&[&[(CPU, 1.0)], &[(CPU, 1.0)]]);
    spread.strategy = PlacementStrategy::StrictSpread;
    let first = group(&[&[(CPU, 2.0)]]);
    let waiting = group(&[&[(CPU, 1.0)]]);
    for spec in [&big, &spread, &first, &waiting] {
        h.node
            .create_placement_group(ClientId::DRIVER, spec.clone(), &mut h.actions);
    }
    let state =
        |h: &Harness, spec: &PlacementGroupSpec| h.node.placement_group(spec.id).unwrap().state;
    assert_eq!(state(&h, &big), PlacementGroupState::Pending);
    assert_eq!(state(&h, &spread), PlacementGroupState::Pending);
    assert_eq!(state(&h, &first), PlacementGroupState::Created);
    assert_eq!(state(&h, &waiting), PlacementGroupState::Pending);
    h.node.remove_placement_group(first.id, &mut h.actions);
    assert_eq!(
        state(&h, &waiting),
        PlacementGroupState::Created,
        "placed once CPUs free"
    );
    assert_eq!(h.node.available().get(CPU), quantity(1.0));
}

#[test]
fn removing_a_group_fails_its_queued_tasks_kills_its_running_ones_and_frees_it() {
    let (mut h, _) = Harness::new(&[(CPU, 2.0)]).with_workers(1);
    let spec = group(&[&[(CPU, 1.0)]]);
    h.node
        .create_placement_group(ClientId::DRIVER, spec.clone(), &mut h.actions);
    let mut retried = in_bundle(&spec, 0, 1.0);
    retried.max_retries = 3;
    let retried = Arc::new(retried);
    let running = h.submit(&retried, vec![]);
    let queued = h.submit(&retried, vec![]);
    let sent = dispatches(&h.take());
    assert_eq!(sent.len(), 1);

    h.node.remove_placement_group(spec.id, &mut h.actions);
    let actions = h.take();
    assert!(actions
        .iter()
        .any(|a| matches!(a, Action::KillWorker { worker } if *worker == sent[0].worker)));
    assert_eq!(
        h.value_of(queued).error,
        Some(ErrorKind::PlacementGroupRemoved)
    );
    h.node.worker_died(sent[0].worker, "killed", &mut h.actions);
    h.take();
    assert_eq!(
        h.value_of(running).error,
        Some(ErrorKind::PlacementGroupRemoved),
        "not retried once its group is gone"
    );
    let cpu = bundle_resource_name(CPU, spec.id, Some(0));
    assert!(h.node.available().get(&cpu).is_zero());
    assert!(h.node.total().get(&cpu).is_zero());
    assert_eq!(h.node.available().get(CPU), quantity(2.0));
    let late = h.submit(&retried, vec![]);
    assert_eq!(
        h.value_of(late).error,
        Some(ErrorKind::PlacementGroupRemoved)
    );
}
