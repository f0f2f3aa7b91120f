//! Streaming generators in the node: items as they are yielded, consumers waiting for the
//! next one, and items living as long as the generator that reads them.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use ff_core::ids::{FunctionId, JobId, ObjectId, TaskIdGenerator};
use ff_core::node::{Action, Dispatch, Node, NodeConfig, WaitKind, WaitResult, WaitStart};
use ff_core::object::{ErrorKind, Payload};
use ff_core::object_table::{ClientId, Lookup};
use ff_core::resources::{Quantity, ResourceSet, CPU};
use ff_core::task::{TaskKind, TaskOptions, TaskSpec};

fn setup() -> (Node, Dispatch, ObjectId, Vec<Action>) {
    setup_with(0)
}

fn setup_with(backpressure: u32) -> (Node, Dispatch, ObjectId, Vec<Action>) {
    let mut node = Node::new(NodeConfig::with_total(ResourceSet::from_pairs([(
        CPU,
        Quantity::ONE,
    )])));
    let mut out = Vec::new();
    node.prestart_workers(1, &mut out);
    let Action::StartWorker { worker, .. } = out[0] else {
        panic!("a worker starts")
    };
    node.worker_connected(worker, &mut out).unwrap();
    let options = Arc::new(TaskOptions {
        function_id: FunctionId::from_array([1; 16]),
        name: "gen".into(),
        num_returns: 1,
        resources: ResourceSet::from_pairs([(CPU, Quantity::ONE)]),
        max_retries: 0,
        retry_exceptions: false,
        retry_allowlist: Bytes::new(),
        max_calls: 0,
        streaming: true,
        backpressure,
        env_vars: Arc::new(BTreeMap::new()),
        placement_group: None,
        capture_child_tasks: false,
    });
    let spec = TaskSpec {
        task_id: TaskIdGenerator::new(JobId::from_index(1)).next(),
        kind: TaskKind::Function,
        options,
        args: Payload::value(Bytes::new()),
        arg_refs: vec![],
        parent: None,
    };
    let completion = spec.return_ids().next().unwrap();
    out.clear();
    node.submit(ClientId::DRIVER, spec, &mut out).unwrap();
    let dispatch = out
        .iter()
        .find_map(|a| match a {
            Action::Dispatch(d) => Some((**d).clone()),
            _ => None,
        })
        .expect("dispatched");
    (node, dispatch, completion, Vec::new())
}

fn next(node: &mut Node, dispatch: &Dispatch, index: u32, out: &mut Vec<Action>) -> WaitStart {
    let kind = WaitKind::StreamNext {
        task: dispatch.spec.task_id,
        index,
    };
    node.get_or_wait(ClientId::DRIVER, 0, Vec::new(), kind, true, out)
}

fn woken(out: &[Action]) -> Vec<WaitResult> {
    out.iter()
        .filter_map(|a| match a {
            Action::WaiterDone { result, .. } => Some(result.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_consumer_gets_each_item_as_it_is_yielded_then_the_end() {
    let (mut node, dispatch, _, mut out) = setup();
    let task = dispatch.spec.task_id;
    assert!(matches!(
        next(&mut node, &dispatch, 0, &mut out),
        WaitStart::Pending(_)
    ));
    node.stream_item(
        dispatch.worker,
        task,
        0,
        Payload::value(&b"a"[..]),
        &mut out,
    )
    .unwrap();
    assert_eq!(
        woken(&out),
        vec![WaitResult::StreamItem(TaskSpec::stream_item(task, 0))]
    );
    node.stream_item(
        dispatch.worker,
        task,
        1,
        Payload::value(&b"b"[..]),
        &mut out,
    )
    .unwrap();
    assert!(matches!(
        next(&mut node, &dispatch, 1, &mut out),
        WaitStart::Done(WaitResult::StreamItem(_))
    ));
    out.clear();
    assert!(matches!(
        next(&mut node, &dispatch, 2, &mut out),
        WaitStart::Pending(_)
    ));
    node.task_finished(
        dispatch.worker,
        task,
        vec![Payload::value(&b"2"[..])],
        false,
        &mut out,
    )
    .unwrap();
    assert_eq!(woken(&out), vec![WaitResult::StreamEnd]);
    node.check_invariants().unwrap();
}

#[test]
fn items_live_while_the_generator_does_or_while_someone_holds_them() {
    let (mut node, dispatch, completion, mut out) = setup();
    let task = dispatch.spec.task_id;
    node.stream_item(
        dispatch.worker,
        task,
        0,
        Payload::value(&b"kept"[..]),
        &mut out,
    )
    .unwrap();
    node.stream_item(
        dispatch.worker,
        task,
        1,
        Payload::value(&b"dropped"[..]),
        &mut out,
    )
    .unwrap();
    let (kept, dropped) = (
        TaskSpec::stream_item(task, 0),
        TaskSpec::stream_item(task, 1),
    );
    node.add_refs(ClientId::DRIVER, &[kept]);
    node.task_finished(
        dispatch.worker,
        task,
        vec![Payload::value(&b"2"[..])],
        false,
        &mut out,
    )
    .unwrap();
    out.clear();
    node.remove_refs(ClientId::DRIVER, &[completion], &mut out);
    let freed: Vec<ObjectId> = out
        .iter()
        .filter_map(|a| match a {
            Action::Freed(id) => Some(*id),
            _ => None,
        })
        .collect();
    assert!(freed.contains(&completion) && freed.contains(&dropped));
    assert!(!freed.contains(&kept));
    assert!(matches!(node.lookup(kept), Lookup::Ready(_)));
}

#[test]
fn an_error_ends_the_stream_after_the_items_before_it() {
    let (mut node, dispatch, completion, mut out) = setup();
    let task = dispatch.spec.task_id;
    node.stream_item(
        dispatch.worker,
        task,
        0,
        Payload::value(&b"ok"[..]),
        &mut out,
    )
    .unwrap();
    node.task_finished(
        dispatch.worker,
        task,
        vec![Payload::task_error(&b"boom"[..])],
        false,
        &mut out,
    )
    .unwrap();
    assert!(matches!(
        next(&mut node, &dispatch, 0, &mut out),
        WaitStart::Done(WaitResult::StreamItem(_))
    ));
    assert!(matches!(
        next(&mut node, &dispatch, 1, &mut out),
        WaitStart::Done(WaitResult::StreamEnd)
    ));
    let Lookup::Ready(end) = node.lookup(completion) else {
        panic!("completed")
    };
    assert_eq!(end.error, Some(ErrorKind::TaskError));
}

#[test]
fn a_wait_on_the_next_item_is_pending_until_it_is_yielded_or_the_stream_ends() {
    let (mut node, dispatch, completion, mut out) = setup();
    let task = dispatch.spec.task_id;
    let item = |index| TaskSpec::stream_item(task, index);
    let wait = |node: &mut Node, id, block, out: &mut Vec<Action>| {
        let kind = WaitKind::Wait { num_returns: 1 };
        node.get_or_wait(ClientId::DRIVER, 7, vec![id], kind, block, out)
    };
    assert!(matches!(
        wait(&mut node, item(0), false, &mut out),
        WaitStart::Done(WaitResult::Ready(ready)) if ready.is_empty()
    ));
    assert!(matches!(
        wait(&mut node, item(0), true, &mut out),
        WaitStart::Pending(_)
    ));
    node.stream_item(
        dispatch.worker,
        task,
        0,
        Payload::value(&b"a"[..]),
        &mut out,
    )
    .unwrap();
    assert_eq!(woken(&out), vec![WaitResult::Ready(vec![0])]);
    out.clear();
    assert!(matches!(
        wait(&mut node, item(1), true, &mut out),
        WaitStart::Pending(_)
    ));
    node.task_finished(
        dispatch.worker,
        task,
        vec![Payload::value(&b"1"[..])],
        false,
        &mut out,
    )
    .unwrap();
    assert_eq!(
        woken(&out),
        vec![WaitResult::Ready(vec![0])],
        "the end makes it ready"
    );
    assert!(matches!(node.lookup(completion), Lookup::Ready(_)));
}

#[test]
fn under_backpressure_the_producer_waits_until_enough_items_are_consumed() {
    let (mut node, dispatch, _, mut out) = setup_with(2);
    let task = dispatch.spec.task_id;
    let credit = |node: &mut Node, index, out: &mut Vec<Action>| {
        let kind = WaitKind::StreamCredit { task, index };
        node.get_or_wait(ClientId::DRIVER, 1, Vec::new(), kind, true, out)
    };
    for index in 0..2 {
        node.stream_item(
            dispatch.worker,
            task,
            index,
            Payload::value(&b"v"[..]),
            &mut out,
        )
        .unwrap();
    }
    assert!(
        matches!(credit(&mut node, 0, &mut out), WaitStart::Done(_)),
        "one unconsumed"
    );
    assert!(
        matches!(credit(&mut node, 1, &mut out), WaitStart::Pending(_)),
        "two unconsumed"
    );
    out.clear();
    assert!(matches!(
        next(&mut node, &dispatch, 0, &mut out),
        WaitStart::Done(_)
    ));
    assert_eq!(
        woken(&out),
        vec![WaitResult::StreamEnd],
        "consuming one lets it go on"
    );
}
