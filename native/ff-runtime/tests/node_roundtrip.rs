//! The node and real worker processes over the real socket. This test binary is its own worker:
//! started with the worker environment variables, it serves tasks instead of running tests.
//! Each "function" is a behaviour picked by the task's name.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ff_runtime::core::ids::{FunctionId, ObjectId, WorkerId};
use ff_runtime::core::object::{ErrorKind, Payload};
use ff_runtime::core::resources::{Quantity, ResourceSet, CPU};
use ff_runtime::core::task::{TaskKind, TaskOptions, TaskSpec};
use ff_runtime::node::{DriverEvent, ENV_SOCKET, ENV_WORKER_ID};
use ff_runtime::{Client, GetOutcome, Node, NodeConfig, WorkerClient};

const FUNCTION: FunctionId = FunctionId::from_array([9; 16]);

fn options(name: &str, max_retries: i32) -> Arc<TaskOptions> {
    Arc::new(TaskOptions {
        function_id: FUNCTION,
        name: name.into(),
        num_returns: 1,
        resources: ResourceSet::from_pairs([(CPU, Quantity::ONE)]),
        max_retries,
        retry_exceptions: false,
        retry_allowlist: Bytes::new(),
        max_calls: 0,
        streaming: false,
        backpressure: 0,
        env_vars: Arc::default(),
        placement_group: None,
        capture_child_tasks: false,
    })
}

fn submit(client: &dyn Client, options: &Arc<TaskOptions>, data: &'static [u8]) -> ObjectId {
    let spec = TaskSpec {
        task_id: client.task_ids().next(),
        kind: TaskKind::Function,
        options: options.clone(),
        args: Payload::value(data),
        arg_refs: Vec::new(),
        parent: None,
    };
    let result = spec.return_ids().next().unwrap();
    client.submit(spec, false).unwrap();
    client.refs().adopt(result);
    result
}

fn get_one(client: &dyn Client, id: ObjectId) -> Payload {
    match client
        .get(vec![id], Some(Duration::from_secs(30)), &mut || false)
        .unwrap()
    {
        GetOutcome::Values(mut values) => (*values.remove(0)).clone(),
        GetOutcome::Failed(error) => (*error).clone(),
        GetOutcome::TimedOut => panic!("timed out waiting for {id:?}"),
    }
}

fn run_worker() {
    let socket = PathBuf::from(std::env::var(ENV_SOCKET).unwrap());
    let worker = WorkerId::from_hex(&std::env::var(ENV_WORKER_ID).unwrap()).unwrap();
    let client = WorkerClient::connect(&socket, worker).unwrap();
    client
        .register_function(FUNCTION, Bytes::from_static(b"fn"))
        .unwrap();
    while let Some((task, _fds)) = client.next_task(&mut || false).unwrap() {
        let args = task.args.unwrap_or_default().data;
        let value = match task.name.as_str() {
            "crash" => std::process::exit(3),
            "fail" => Payload::task_error(&b"boom"[..]),
            "nested" => {
                let child = submit(&*client, &options("echo", 0), b"from the child");
                get_one(&*client, child)
            }
            "print" => {
                println!("{}hello", ff_runtime::node::TASK_NAME_MARKER);
                println!("printed by a task");
                Payload::value(args)
            }
            _ => Payload::value(args),
        };
        let task_id = ff_runtime::convert::task_id(&task.task_id).unwrap();
        client.task_done(task_id, vec![value], false).unwrap();
    }
}

fn start_node(cpus: f64, root: &std::path::Path) -> Arc<Node> {
    Node::start(NodeConfig {
        resources: ResourceSet::from_pairs([(CPU, Quantity::from_f64(cpus).unwrap())]),
        namespace: "test".into(),
        worker_program: std::env::current_exe().unwrap(),
        worker_args: Vec::new(),
        fork_server_args: None,
        worker_env: Vec::new(),
        worker_cwd: std::env::current_dir().unwrap(),
        log_to_driver: true,
        prestart_workers: cpus.ceil() as u32,
        session_root: root.to_path_buf(),
    })
    .unwrap()
}

fn tasks_round_trip_through_worker_processes(root: &std::path::Path) {
    let node = start_node(2.0, root);
    let client = node.client();
    let echo = options("echo", 0);
    let started = Instant::now();
    let id = submit(&*client, &echo, b"hello");
    assert_eq!(&get_one(&*client, id).data[..], b"hello");
    eprintln!(
        "  first task (includes worker start-up): {:?}",
        started.elapsed()
    );
    let rounds = 2000;
    let started = Instant::now();
    for _ in 0..rounds {
        let id = submit(&*client, &echo, b"x");
        assert_eq!(&get_one(&*client, id).data[..], b"x");
        client.refs().remove(id);
    }
    eprintln!(
        "  sync round trip: {:?} per task",
        started.elapsed() / rounds
    );
    let started = Instant::now();
    let ids: Vec<_> = (0..rounds).map(|_| submit(&*client, &echo, b"y")).collect();
    match client.get(ids.clone(), None, &mut || false).unwrap() {
        GetOutcome::Values(values) => assert!(values.iter().all(|v| &v.data[..] == b"y")),
        other => panic!("{other:?}"),
    }
    eprintln!(
        "  async submit+get: {:?} per task",
        started.elapsed() / rounds
    );
    for id in ids {
        client.refs().remove(id);
    }
    let (total, available) = client.resources().unwrap();
    assert_eq!(total, available);
    let pids = node.worker_pids();
    assert_eq!(pids.len(), 2);
    node.shutdown(Duration::ZERO);
    for pid in pids {
        // SAFETY: signal 0 only checks whether the process exists.
        let alive = unsafe { libc::kill(pid as i32, 0) } == 0;
        assert!(!alive, "worker {pid} outlived shutdown");
    }
    assert!(!node.info().session_dir.exists());
}

fn a_crashing_worker_is_retried_then_reported(root: &std::path::Path) {
    let node = start_node(1.0, root);
    let client = node.client();
    let id = submit(&*client, &options("crash", 2), b"");
    let value = get_one(&*client, id);
    assert_eq!(value.error, Some(ErrorKind::WorkerCrashed));
    assert!(value.message.contains("exited with code 3") || value.message.contains("closed"));
    let id = submit(&*client, &options("echo", 0), b"still works");
    assert_eq!(&get_one(&*client, id).data[..], b"still works");
    node.shutdown(Duration::ZERO);
}

fn nested_tasks_do_not_deadlock_on_one_cpu(root: &std::path::Path) {
    let node = start_node(1.0, root);
    let client = node.client();
    let id = submit(&*client, &options("nested", 0), b"");
    assert_eq!(&get_one(&*client, id).data[..], b"from the child");
    let failed = submit(&*client, &options("fail", 0), b"");
    assert_eq!(get_one(&*client, failed).error, Some(ErrorKind::TaskError));
    node.shutdown(Duration::ZERO);
}

fn worker_output_reaches_the_driver_with_a_prefix(root: &std::path::Path) {
    let node = start_node(1.0, root);
    let client = node.client();
    let id = submit(&*client, &options("print", 0), b"");
    get_one(&*client, id);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut lines: Vec<(Option<String>, String)> = Vec::new();
    while Instant::now() < deadline && !lines.iter().any(|(_, l)| l.contains("printed")) {
        for event in node.next_events(Duration::from_millis(100)) {
            if let DriverEvent::Output {
                task_name, text, ..
            } = event
            {
                lines.push((task_name, text));
            }
        }
    }
    let (name, _) = lines
        .iter()
        .find(|(_, l)| l == "printed by a task")
        .expect("the line arrived");
    assert_eq!(name.as_deref(), Some("hello"));
    node.shutdown(Duration::ZERO);
}

fn main() {
    if std::env::var(ENV_WORKER_ID).is_ok() {
        run_worker();
        return;
    }
    let root = std::env::temp_dir().join(format!("ff-runtime-test-{}", std::process::id()));
    type Test = fn(&std::path::Path);
    let tests: [(&str, Test); 4] = [
        (
            "tasks_round_trip_through_worker_processes",
            tasks_round_trip_through_worker_processes,
        ),
        (
            "a_crashing_worker_is_retried_then_reported",
            a_crashing_worker_is_retried_then_reported,
        ),
        (
            "nested_tasks_do_not_deadlock_on_one_cpu",
            nested_tasks_do_not_deadlock_on_one_cpu,
        ),
        (
            "worker_output_reaches_the_driver_with_a_prefix",
            worker_output_reaches_the_driver_with_a_prefix,
        ),
    ];
    for (name, test) in tests {
        eprintln!("test {name} ...");
        test(&root);
        eprintln!("test {name} ... ok");
    }
    let _ = std::fs::remove_dir_all(&root);
}
