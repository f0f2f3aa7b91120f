//! The worker process's side of its connection to the node.
//!
//! One I/O thread reads everything the node sends: tasks go to a queue that the Python main
//! thread takes from, replies go to whichever thread asked. Any thread may send; a send writes
//! the whole frame under one lock, together with the ref changes this process has not reported
//! yet (see [`Outgoing`]).
//! When the connection ends (the node is gone), the process exits at once.

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use ff_core::ids::{
    ActorId, FunctionId, JobId, NodeId, ObjectId, PlacementGroupId, TaskId, TaskIdGenerator,
    WorkerId,
};
use ff_core::node::{ActorCreated, PlacementGroupInfo, PlacementGroupSpec, PlacementGroupState};
use ff_core::object::{Payload, StoredObject};
use ff_core::resources::ResourceSet;
use ff_core::task::{ActorName, TaskSpec};
use ff_proto as pb;
use parking_lot::Mutex;
use pb::placement_group_call::Call;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::client::{Client, GetOutcome, Interrupt, SessionInfo, StreamStep, INTERRUPT_POLL};
use crate::convert::{self, FrameFds};
use crate::error::{Refusal, Result, RuntimeError};
use crate::fd_passing::{recv_with_fds, send_with_fds, ReceivedFds};
use crate::frame::{self, FrameDecoder};
use crate::local_refs::{LocalRefs, RefSink};
use crate::placement_groups;
use crate::shm_pool;
use crate::worker_calls::{CancelHook, WorkerCalls};

/// What the node asks of the worker's main thread.
#[derive(Debug)]
pub enum Incoming {
    /// A task, with the descriptors of its shared arguments (in the order of its payloads).
    Execute(Box<pb::ExecuteTask>, FrameFds),
    Exit,
}

/// Messages go out in order, with this process's ref changes around them: additions before
/// the message (the node must know of a holder before anything that relies on it) and removals
/// after it (a ref dropped while the message was being built is still inside the message).
/// The node counts additions and removals, so moving them this way never frees too early.
struct Outgoing {
    stream: UnixStream,
    added: Vec<ObjectId>,
    removed: Vec<ObjectId>,
    buffer: BytesMut,
}

impl Outgoing {
    /// Writes the pending ref changes around `message`, with `fds` (the message's
    /// descriptors) attached to the first byte.
    fn send(&mut self, message: Option<&pb::ToNode>, fds: FrameFds) -> Result<()> {
        self.buffer.clear();
        if !self.added.is_empty() {
            let update = pb::RefUpdate {
                added: convert::id_bytes(self.added.drain(..)),
                removed: Vec::new(),
            };
            frame::encode_into(&refs_message(update), &mut self.buffer);
        }
        if let Some(message) = message {
            frame::encode_into(message, &mut self.buffer);
        }
        if !self.removed.is_empty() {
            let update = pb::RefUpdate {
                added: Vec::new(),
                removed: convert::id_bytes(self.removed.drain(..)),
            };
            frame::encode_into(&refs_message(update), &mut self.buffer);
        }
        if self.buffer.is_empty() {
            return Ok(());
        }
        let gone = |e: std::io::Error| RuntimeError::NodeGone(e.to_string());
        let mut written = 0;
        if !fds.is_empty() {
            let borrowed: Vec<_> = fds.iter().map(|fd| fd.as_fd()).collect();
            written =
                send_with_fds(self.stream.as_raw_fd(), &self.buffer, &borrowed).map_err(gone)?;
        }
        self.stream.write_all(&self.buffer[written..]).map_err(gone)
    }
}

fn refs_message(update: pb::RefUpdate) -> pb::ToNode {
    pb::ToNode {
        fd_count: 0,
        msg: Some(pb::to_node::Msg::Refs(update)),
    }
}

struct OutgoingRefs(Arc<Mutex<Outgoing>>);

impl RefSink for OutgoingRefs {
    fn added(&self, id: ObjectId) {
        self.0.lock().added.push(id);
    }

    fn removed(&self, id: ObjectId) {
        self.0.lock().removed.push(id);
    }
}

type Replies = Arc<Mutex<FxHashMap<u64, Sender<(pb::to_worker::Msg, FrameFds)>>>>;

pub struct WorkerClient {
    info: SessionInfo,
    ids: TaskIdGenerator,
    refs: Arc<LocalRefs>,
    outgoing: Arc<Mutex<Outgoing>>,
    replies: Replies,
    incoming: Receiver<Incoming>,
    next_request: AtomicU64,
    registered_functions: Mutex<FxHashSet<FunctionId>>,
    calls: Arc<WorkerCalls>,
}

impl WorkerClient {
    /// Connects to the node, registers as `worker_id`, and starts the I/O thread.
    pub fn connect(socket: &Path, worker_id: WorkerId) -> Result<Arc<Self>> {
        Self::open(socket, worker_id, false)
    }

    /// Attaches a driver to a running node over its socket (the Ray Client's connection): it
    /// submits work and holds objects through this connection, and is never given a task.
    pub fn attach_driver(socket: &Path) -> Result<Arc<Self>> {
        Self::open(socket, WorkerId::random(), true)
    }

    fn open(socket: &Path, worker_id: WorkerId, attach_driver: bool) -> Result<Arc<Self>> {
        let mut stream =
            UnixStream::connect(socket).map_err(|e| RuntimeError::NodeGone(e.to_string()))?;
        let register = pb::Register {
            worker_id: Bytes::copy_from_slice(worker_id.as_bytes()),
            pid: std::process::id(),
            attach_driver,
        };
        let hello = pb::ToNode {
            fd_count: 0,
            msg: Some(pb::to_node::Msg::Register(register)),
        };
        stream.write_all(&frame::encode(&hello))?;
        let mut reader = BlockingReader::new(stream.try_clone()?);
        let welcome = match reader.next(&mut || {})?.and_then(|(m, _)| m.msg) {
            Some(pb::to_worker::Msg::Welcome(welcome)) => welcome,
            _ => {
                return Err(RuntimeError::Protocol(
                    "expected a Welcome from the node".into(),
                ))
            }
        };
        shm_pool::enable(); // lent segments come back from the node to be written again
        let info = SessionInfo {
            node_id: NodeId::from_bytes(&welcome.node_id).map_err(RuntimeError::from)?,
            job_id: JobId::from_bytes(&welcome.job_id).map_err(RuntimeError::from)?,
            namespace: welcome.namespace,
            session_dir: PathBuf::from(welcome.session_dir),
            worker_id: Some(worker_id),
        };
        let outgoing = Arc::new(Mutex::new(Outgoing {
            stream,
            added: Vec::new(),
            removed: Vec::new(),
            buffer: BytesMut::new(),
        }));
        let replies: Replies = Arc::default();
        let (task_sender, incoming) = crossbeam_channel::unbounded();
        let thread_replies = replies.clone();
        let calls = Arc::new(WorkerCalls::default());
        let thread_calls = calls.clone();
        std::thread::Builder::new()
            .name("ff-worker-io".into())
            .spawn(move || {
                // The sender outlives the loop: a worker's main thread must not see the task
                // channel close before the process exits.
                read_loop(reader, &task_sender, thread_replies.clone(), thread_calls);
                if attach_driver {
                    // The node is gone: whatever still waits on it fails (its reply never
                    // comes), and the driver process carries on.
                    thread_replies.lock().clear();
                } else {
                    // The node is gone: nothing this worker does can reach anyone any more.
                    // SAFETY: _exit(2) ends the process without running any destructor or
                    // atexit handler, which is what we want while other threads may be
                    // running user code.
                    unsafe { libc::_exit(0) };
                }
            })?;
        Ok(Arc::new(Self {
            ids: TaskIdGenerator::new(info.job_id),
            info,
            refs: Arc::new(LocalRefs::new(Box::new(OutgoingRefs(outgoing.clone())))),
            outgoing,
            replies,
            incoming,
            next_request: AtomicU64::new(1),
            registered_functions: Mutex::new(FxHashSet::default()),
            calls,
        }))
    }

    fn send(&self, message: pb::to_node::Msg) -> Result<()> {
        self.send_with_fds(message, FrameFds::new())
    }

    fn send_with_fds(&self, message: pb::to_node::Msg, fds: FrameFds) -> Result<()> {
        let message = pb::ToNode {
            fd_count: fds.len() as u32,
            msg: Some(message),
        };
        self.outgoing.lock().send(Some(&message), fds)
    }

    /// Reports ref changes that have not gone out with another message yet.
    pub fn flush_refs(&self) -> Result<()> {
        self.outgoing.lock().send(None, FrameFds::new())
    }

    /// Closes the connection (an attached driver leaving): the node releases everything it
    /// held for this connection, and calls still waiting fail. Idempotent.
    pub fn disconnect(&self) {
        let outgoing = self.outgoing.lock();
        let _ = outgoing.stream.shutdown(std::net::Shutdown::Both);
    }

    /// The next task to run, or None when the node tells this worker to exit.
    /// The next task to run and its descriptors, or None when the node tells this worker to
    /// exit.
    pub fn next_task(
        &self,
        interrupt: Interrupt<'_>,
    ) -> Result<Option<(Box<pb::ExecuteTask>, FrameFds)>> {
        loop {
            self.flush_refs()?;
            match self.incoming.recv_timeout(INTERRUPT_POLL) {
                Ok(Incoming::Execute(task, fds)) => return Ok(Some((task, fds))),
                Ok(Incoming::Exit) => return Ok(None),
                Err(RecvTimeoutError::Timeout) => {
                    if interrupt() {
                        return Err(RuntimeError::Interrupted);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(RuntimeError::NodeGone("the connection closed".into()))
                }
            }
        }
    }

    /// Whether `ray.cancel` reached `task`, a call this worker was handed.
    pub fn is_cancelled(&self, task: TaskId) -> bool {
        self.calls.is_cancelled(task)
    }

    /// Runs `hook` on the I/O thread each time `ray.cancel` reaches a call in hand.
    pub fn on_cancel(&self, hook: CancelHook) {
        self.calls.set_hook(hook);
    }

    /// Backpressure: after yielding item `index` of the streaming task it runs, waits until
    /// the node lets it yield the next (enough of its items were consumed).
    pub fn stream_credit(&self, task: TaskId, index: u32, interrupt: Interrupt<'_>) -> Result<()> {
        match self.stream_request(task, index, None, true, interrupt)? {
            pb::to_worker::Msg::Stream(_) => Ok(()),
            _ => Err(RuntimeError::Protocol(
                "a stream credit was answered with something else".into(),
            )),
        }
    }

    /// Asks the node about item `index` of `task`'s stream: for the item or the end, or
    /// (`credit`) for leave to yield the next one; returns the answer.
    fn stream_request(
        &self,
        task: TaskId,
        index: u32,
        timeout: Option<Duration>,
        credit: bool,
        interrupt: Interrupt<'_>,
    ) -> Result<pb::to_worker::Msg> {
        let build = |request_id| {
            pb::to_node::Msg::StreamNext(pb::StreamNext {
                request_id,
                task_id: Bytes::copy_from_slice(task.as_bytes()),
                index,
                timeout_ms: timeout_ms(timeout),
                credit,
            })
        };
        Ok(self.request(build, FrameFds::new(), interrupt)?.0)
    }

    pub fn task_done(&self, task: TaskId, returns: Vec<Payload>, retryable: bool) -> Result<()> {
        self.calls.finished(task);
        let mut fds = FrameFds::new();
        let returns = returns
            .iter()
            .map(|payload| convert::payload_to_node(payload, &mut fds))
            .collect::<Result<_>>()?;
        let done = pb::TaskDone {
            task_id: Bytes::copy_from_slice(task.as_bytes()),
            returns,
            retryable,
        };
        self.send_with_fds(pb::to_node::Msg::TaskDone(done), fds)
    }

    /// Sends a request answered by a `Reply` and waits for it (not interruptible: the node
    /// answers these at once).
    fn ask(&self, build: impl FnOnce(u64) -> pb::to_node::Msg) -> Result<pb::Reply> {
        self.ask_with_fds(build, FrameFds::new())
    }

    fn ask_with_fds(
        &self,
        build: impl FnOnce(u64) -> pb::to_node::Msg,
        fds: FrameFds,
    ) -> Result<pb::Reply> {
        match self.request(build, fds, &mut || false)?.0 {
            pb::to_worker::Msg::Reply(reply) => Ok(reply),
            _ => Err(RuntimeError::Protocol(
                "a request was answered with something else".into(),
            )),
        }
    }

    /// Sends a request (with `fds`, its descriptors) and waits for the node's reply to it
    /// and the reply's descriptors.
    fn request(
        &self,
        build: impl FnOnce(u64) -> pb::to_node::Msg,
        fds: FrameFds,
        interrupt: Interrupt<'_>,
    ) -> Result<(pb::to_worker::Msg, FrameFds)> {
        let request_id = self.next_request.fetch_add(1, Ordering::Relaxed);
        let (sender, reply) = crossbeam_channel::bounded(1);
        self.replies.lock().insert(request_id, sender);
        if let Err(error) = self.send_with_fds(build(request_id), fds) {
            self.replies.lock().remove(&request_id);
            return Err(error);
        }
        loop {
            match reply.recv_timeout(INTERRUPT_POLL) {
                Ok(message) => return Ok(message),
                Err(RecvTimeoutError::Timeout) => {
                    if interrupt() {
                        self.replies.lock().remove(&request_id);
                        return Err(RuntimeError::Interrupted);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(RuntimeError::NodeGone("the connection closed".into()))
                }
            }
        }
    }
}

/// The node's refusal in a reply, as an error.
fn refusal(reply: &pb::Reply) -> Result<()> {
    if reply.refused.is_empty() {
        return Ok(());
    }
    match Refusal::from_code(&reply.refused) {
        Some(refusal) => Err(RuntimeError::Refused {
            refusal,
            message: reply.message.clone(),
        }),
        None => Err(RuntimeError::Protocol(format!(
            "unknown refusal {:?}",
            reply.refused
        ))),
    }
}

fn timeout_ms(timeout: Option<Duration>) -> i64 {
    match timeout {
        None => -1,
        Some(t) if t.is_zero() => 0,
        // Round up so that a tiny positive timeout still waits rather than polls.
        Some(t) => t.as_millis().max(1).min(i64::MAX as u128) as i64,
    }
}

impl Client for WorkerClient {
    fn info(&self) -> &SessionInfo {
        &self.info
    }

    fn task_ids(&self) -> &TaskIdGenerator {
        &self.ids
    }

    fn refs(&self) -> &Arc<LocalRefs> {
        &self.refs
    }

    fn register_function(&self, id: FunctionId, function: Bytes) -> Result<()> {
        if !self.registered_functions.lock().insert(id) {
            return Ok(());
        }
        self.send(pb::to_node::Msg::Function(pb::RegisterFunction {
            function_id: Bytes::copy_from_slice(id.as_bytes()),
            function,
        }))
    }

    fn submit(&self, spec: TaskSpec, confirm: bool) -> Result<()> {
        let mut fds = FrameFds::new();
        let spec = Some(convert::task_spec_to_wire(&spec, &mut fds)?);
        if !confirm {
            let submit = pb::SubmitTask {
                spec,
                request_id: 0,
            };
            return self.send_with_fds(pb::to_node::Msg::Submit(submit), fds);
        }
        let reply = self.ask_with_fds(
            |request_id| pb::to_node::Msg::Submit(pb::SubmitTask { spec, request_id }),
            fds,
        )?;
        refusal(&reply)
    }

    fn create_actor(&self, spec: TaskSpec, get_if_exists: bool) -> Result<ActorCreated> {
        let mut fds = FrameFds::new();
        let spec = Some(convert::task_spec_to_wire(&spec, &mut fds)?);
        let reply = self.ask_with_fds(
            |request_id| {
                pb::to_node::Msg::CreateActor(pb::CreateActor {
                    request_id,
                    spec,
                    get_if_exists,
                })
            },
            fds,
        )?;
        refusal(&reply)?;
        if reply.actor_id.is_empty() {
            return Ok(ActorCreated::New);
        }
        Ok(ActorCreated::Existing {
            actor: convert::actor_id(&reply.actor_id)?,
            descriptor: reply.descriptor,
        })
    }

    fn named_actor(&self, name: ActorName) -> Result<Option<(ActorId, Bytes)>> {
        let reply = self.ask(|request_id| {
            pb::to_node::Msg::GetNamedActor(pb::GetNamedActor {
                request_id,
                namespace: name.namespace,
                name: name.name,
            })
        })?;
        if reply.actor_id.is_empty() {
            return Ok(None);
        }
        Ok(Some((
            convert::actor_id(&reply.actor_id)?,
            reply.descriptor,
        )))
    }

    fn named_actors(&self, namespace: Option<String>) -> Result<Vec<ActorName>> {
        let all_namespaces = namespace.is_none();
        let reply = self.ask(|request_id| {
            pb::to_node::Msg::ListNamedActors(pb::ListNamedActors {
                request_id,
                namespace: namespace.unwrap_or_default(),
                all_namespaces,
            })
        })?;
        Ok(reply
            .names
            .into_iter()
            .map(|n| ActorName {
                namespace: n.namespace,
                name: n.name,
            })
            .collect())
    }

    fn kill_actor(&self, actor: ActorId, no_restart: bool) -> Result<()> {
        self.send(pb::to_node::Msg::KillActor(pb::KillActor {
            actor_id: Bytes::copy_from_slice(actor.as_bytes()),
            no_restart,
        }))
    }

    fn stream_next(
        &self,
        task: TaskId,
        index: u32,
        timeout: Option<Duration>,
        interrupt: Interrupt<'_>,
    ) -> Result<StreamStep> {
        match self.stream_request(task, index, timeout, false, interrupt)? {
            pb::to_worker::Msg::Stream(reply) if reply.end => Ok(StreamStep::End),
            pb::to_worker::Msg::Stream(reply) => {
                Ok(StreamStep::Item(convert::object_id(&reply.item)?))
            }
            pb::to_worker::Msg::GetReply(reply) if reply.timed_out => Ok(StreamStep::TimedOut),
            _ => Err(RuntimeError::Protocol(
                "a stream read was answered with something else".into(),
            )),
        }
    }

    fn stream_item(&self, task: TaskId, index: u32, payload: Payload) -> Result<()> {
        let mut fds = FrameFds::new();
        let item = pb::StreamItem {
            task_id: Bytes::copy_from_slice(task.as_bytes()),
            index,
            payload: Some(convert::payload_to_node(&payload, &mut fds)?),
        };
        self.send_with_fds(pb::to_node::Msg::StreamItem(item), fds)
    }

    fn cancel(&self, object: ObjectId, force: bool, recursive: bool) -> Result<()> {
        let reply = self.ask(|request_id| {
            pb::to_node::Msg::Cancel(pb::CancelTask {
                request_id,
                object_id: Bytes::copy_from_slice(object.as_bytes()),
                force,
                recursive,
            })
        })?;
        refusal(&reply)
    }

    fn actor_exiting(&self, actor: ActorId, call: Option<TaskId>) -> Result<()> {
        self.send(pb::to_node::Msg::ActorExiting(pb::ActorExiting {
            actor_id: Bytes::copy_from_slice(actor.as_bytes()),
            task_id: call.map_or_else(Bytes::new, |t| Bytes::copy_from_slice(t.as_bytes())),
        }))
    }

    /// A large value waits for the node's answer: the store may refuse it.
    fn put(&self, id: ObjectId, payload: Payload) -> Result<()> {
        let mut fds = FrameFds::new();
        let object_id = Bytes::copy_from_slice(id.as_bytes());
        let payload = Some(convert::payload_to_node(&payload, &mut fds)?);
        if fds.is_empty() {
            let put = pb::PutObject {
                object_id,
                payload,
                request_id: 0,
            };
            return self.send(pb::to_node::Msg::Put(put));
        }
        let reply = self.ask_with_fds(
            |request_id| {
                pb::to_node::Msg::Put(pb::PutObject {
                    object_id,
                    payload,
                    request_id,
                })
            },
            fds,
        )?;
        refusal(&reply)
    }

    fn get(
        &self,
        ids: Vec<ObjectId>,
        timeout: Option<Duration>,
        interrupt: Interrupt<'_>,
    ) -> Result<GetOutcome> {
        let object_ids = convert::id_bytes(ids.iter().copied());
        let reply = self.request(
            |request_id| {
                pb::to_node::Msg::Get(pb::GetObjects {
                    request_id,
                    object_ids,
                    timeout_ms: timeout_ms(timeout),
                })
            },
            FrameFds::new(),
            interrupt,
        )?;
        let (pb::to_worker::Msg::GetReply(reply), fds) = reply else {
            return Err(RuntimeError::Protocol(
                "a get was answered with something else".into(),
            ));
        };
        if reply.timed_out {
            return Ok(GetOutcome::TimedOut);
        }
        let mut fds = fds.into_iter();
        let mut incoming = convert::Incoming::fds(&mut fds);
        let values: Vec<StoredObject> = reply
            .payloads
            .into_iter()
            .map(|p| convert::payload_from_wire(p, &mut incoming).map(Arc::new))
            .collect::<Result<_>>()?;
        if values.len() == 1 && values[0].is_error() {
            return Ok(GetOutcome::Failed(
                values.into_iter().next().expect("one value"),
            ));
        }
        Ok(GetOutcome::Values(values))
    }

    fn wait(
        &self,
        ids: Vec<ObjectId>,
        num_returns: usize,
        timeout: Option<Duration>,
        interrupt: Interrupt<'_>,
    ) -> Result<Vec<u32>> {
        let object_ids = convert::id_bytes(ids.iter().copied());
        let reply = self.request(
            |request_id| {
                pb::to_node::Msg::Wait(pb::WaitObjects {
                    request_id,
                    object_ids,
                    num_returns: num_returns as u32,
                    timeout_ms: timeout_ms(timeout),
                })
            },
            FrameFds::new(),
            interrupt,
        )?;
        match reply.0 {
            pb::to_worker::Msg::WaitReply(reply) => Ok(reply.ready),
            _ => Err(RuntimeError::Protocol(
                "a wait was answered with something else".into(),
            )),
        }
    }

    fn resources(&self) -> Result<(ResourceSet, ResourceSet)> {
        let reply = self.request(
            |request_id| pb::to_node::Msg::Resources(pb::ResourceQuery { request_id }),
            FrameFds::new(),
            &mut || false,
        )?;
        match reply.0 {
            pb::to_worker::Msg::Resources(reply) => Ok((
                convert::resources_from_wire(&reply.total)?,
                convert::resources_from_wire(&reply.available)?,
            )),
            _ => Err(RuntimeError::Protocol(
                "a resource query was answered with something else".into(),
            )),
        }
    }

    fn create_placement_group(&self, spec: PlacementGroupSpec) -> Result<()> {
        let group = placement_groups::group_to_wire(&spec, PlacementGroupState::Pending);
        self.placement_group_call(Call::Create(group)).map(drop)
    }

    fn remove_placement_group(&self, id: PlacementGroupId) -> Result<()> {
        let id = Bytes::copy_from_slice(id.as_bytes());
        self.placement_group_call(Call::Remove(id)).map(drop)
    }

    fn placement_group(&self, id: PlacementGroupId) -> Result<Option<PlacementGroupInfo>> {
        let id = Bytes::copy_from_slice(id.as_bytes());
        Ok(self.placement_group_call(Call::Info(id))?.pop())
    }

    fn placement_groups(&self) -> Result<Vec<PlacementGroupInfo>> {
        self.placement_group_call(Call::List(true))
    }

    fn placement_group_named(&self, name: ActorName) -> Result<Option<PlacementGroupInfo>> {
        let entry = pb::ActorNameEntry {
            namespace: name.namespace,
            name: name.name,
        };
        Ok(self.placement_group_call(Call::Named(entry))?.pop())
    }
}

impl WorkerClient {
    /// Asks the node a placement group question; the groups of its answer.
    fn placement_group_call(&self, call: Call) -> Result<Vec<PlacementGroupInfo>> {
        let reply = self.request(
            |request_id| {
                pb::to_node::Msg::PlacementGroup(pb::PlacementGroupCall {
                    request_id,
                    call: Some(call),
                })
            },
            FrameFds::new(),
            &mut || false,
        )?;
        match reply.0 {
            pb::to_worker::Msg::PlacementGroups(reply) => reply
                .groups
                .into_iter()
                .map(placement_groups::group_from_wire)
                .collect(),
            _ => Err(RuntimeError::Protocol(
                "a placement group call was answered with something else".into(),
            )),
        }
    }
}

/// Blocking frame reader over a std socket, keeping the descriptors that arrive.
struct BlockingReader {
    stream: UnixStream,
    decoder: FrameDecoder,
    buffer: BytesMut,
    fds: ReceivedFds,
}

impl BlockingReader {
    fn new(stream: UnixStream) -> Self {
        Self {
            stream,
            decoder: FrameDecoder::new(),
            buffer: BytesMut::with_capacity(64 * 1024),
            fds: ReceivedFds::default(),
        }
    }

    /// The next message and its descriptors, or None at end-of-file. With a read timeout
    /// set on the socket, `on_idle` runs each time one passes with nothing to read.
    fn next(&mut self, on_idle: &mut dyn FnMut()) -> Result<Option<(pb::ToWorker, FrameFds)>> {
        loop {
            if let Some(message) = self.decoder.next::<pb::ToWorker>(&mut self.buffer)? {
                let fds = self.fds.take(message.fd_count)?;
                return Ok(Some((message, fds)));
            }
            let mut chunk = [0u8; 64 * 1024];
            let read = match recv_with_fds(self.stream.as_raw_fd(), &mut chunk, &mut self.fds) {
                Ok(read) => read,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    on_idle();
                    continue;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            if read == 0 {
                return Ok(None);
            }
            self.buffer.extend_from_slice(&chunk[..read]);
        }
    }
}

/// How often the I/O thread gives idle recycled segments back to the OS.
const TRIM_EVERY: Duration = Duration::from_millis(500);

/// Gives back what the segment pool holds unused, at most every [`TRIM_EVERY`].
struct PoolTrimmer {
    last: std::time::Instant,
}

impl PoolTrimmer {
    fn maybe_trim(&mut self) {
        let now = std::time::Instant::now();
        if now.duration_since(self.last) >= TRIM_EVERY {
            self.last = now;
            shm_pool::trim(now);
        }
    }
}

fn read_loop(
    mut reader: BlockingReader,
    tasks: &Sender<Incoming>,
    replies: Replies,
    calls: Arc<WorkerCalls>,
) {
    use pb::to_worker::Msg;
    let mut trimmer = PoolTrimmer {
        last: std::time::Instant::now(),
    };
    // Wake up now and then when idle, to give unused recycled segments back.
    let _ = reader.stream.set_read_timeout(Some(TRIM_EVERY));
    loop {
        let (message, fds) = match reader.next(&mut || trimmer.maybe_trim()) {
            Ok(Some(received)) => received,
            Ok(None) | Err(_) => break,
        };
        trimmer.maybe_trim();
        match message.msg {
            Some(Msg::SegmentsReturned(returned)) => {
                for loan in returned.reusable {
                    shm_pool::returned(loan, true);
                }
                for loan in returned.released {
                    shm_pool::returned(loan, false);
                }
            }
            Some(Msg::Execute(task)) => {
                if let Ok(id) = convert::task_id(&task.task_id) {
                    calls.handed(id);
                }
                let _ = tasks.send(Incoming::Execute(Box::new(task), fds));
            }
            Some(Msg::Cancel(cancel)) => {
                if let Ok(id) = convert::task_id(&cancel.task_id) {
                    calls.cancel(id);
                }
            }
            Some(Msg::Exit(_)) => {
                let _ = tasks.send(Incoming::Exit);
            }
            Some(
                reply @ (Msg::GetReply(_)
                | Msg::WaitReply(_)
                | Msg::Resources(_)
                | Msg::Reply(_)
                | Msg::Stream(_)
                | Msg::PlacementGroups(_)),
            ) => {
                let request_id = match &reply {
                    Msg::GetReply(r) => r.request_id,
                    Msg::WaitReply(r) => r.request_id,
                    Msg::Resources(r) => r.request_id,
                    Msg::Reply(r) => r.request_id,
                    Msg::Stream(r) => r.request_id,
                    Msg::PlacementGroups(r) => r.request_id,
                    _ => unreachable!("matched above"),
                };
                if let Some(waiting) = replies.lock().remove(&request_id) {
                    let _ = waiting.send((reply, fds));
                }
            }
            Some(Msg::Welcome(_)) | None => {}
        }
    }
}
