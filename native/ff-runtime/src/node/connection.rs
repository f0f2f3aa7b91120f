//! Serving the workers: accepting their connections and handling what they send.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::BytesMut;
use ff_core::ids::WorkerId;
use ff_core::node::{ActorCreated, WaitKind, WaitStart};
use ff_core::object_table::ClientId;
use ff_core::task::ActorName;
use ff_proto as pb;
use tokio::io::Interest;
use tokio::net::{UnixListener, UnixStream};

use super::link::WorkerLink;
use super::shared::{reply_message, NodeShared};
use crate::convert::{self, FrameFds};
use crate::error::{Result, RuntimeError};
use crate::fd_passing::{recv_with_fds, ReceivedFds};
use crate::frame::FrameDecoder;
use crate::shm::SegmentOwner;

pub async fn accept_loop(shared: Arc<NodeShared>, listener: UnixListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(serve(shared.clone(), Arc::new(stream)));
            }
            Err(error) => {
                tracing::warn!(%error, "accepting a worker connection failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Reads whole messages, and the descriptors sent with them, off a socket.
struct Reader {
    stream: Arc<UnixStream>,
    decoder: FrameDecoder,
    buffer: BytesMut,
    fds: ReceivedFds,
}

/// A message and the descriptors that came with it.
type Received = (pb::ToNode, FrameFds);

const READ_CHUNK: usize = 64 * 1024;

impl Reader {
    /// The messages that have fully arrived, waiting for at least one; empty at end-of-file.
    async fn next_batch(&mut self) -> Result<Vec<Received>> {
        let mut chunk = vec![0u8; READ_CHUNK];
        loop {
            let mut batch = Vec::new();
            while let Some(message) = self.decoder.next::<pb::ToNode>(&mut self.buffer)? {
                let fds = self.fds.take(message.fd_count)?;
                batch.push((message, fds));
            }
            if !batch.is_empty() {
                return Ok(batch);
            }
            self.stream.readable().await?;
            let read = self.stream.try_io(Interest::READABLE, || {
                recv_with_fds(self.stream.as_raw_fd(), &mut chunk, &mut self.fds)
            });
            match read {
                Ok(0) => return Ok(Vec::new()),
                Ok(read) => self.buffer.extend_from_slice(&chunk[..read]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

async fn serve(shared: Arc<NodeShared>, stream: Arc<UnixStream>) {
    let mut reader = Reader {
        stream: stream.clone(),
        decoder: FrameDecoder::new(),
        buffer: BytesMut::new(),
        fds: ReceivedFds::default(),
    };
    let Ok(mut first) = reader.next_batch().await else {
        return;
    };
    if first.is_empty() {
        return;
    }
    let rest = first.split_off(1);
    let Some(pb::to_node::Msg::Register(register)) = first.remove(0).0.msg else {
        tracing::warn!("a worker connection did not start with Register");
        return;
    };
    let Ok(worker) = convert::worker_id(&register.worker_id) else {
        return;
    };
    let link = WorkerLink::start(stream);
    let connected = if register.attach_driver {
        // Known to the node first, so that an id already taken never replaces a link.
        let attached = shared.with_state(|state, _| state.core.driver_attached(worker));
        if attached.is_ok() {
            shared.links.write().insert(worker, link.clone());
            link.send(&welcome(&shared));
        }
        attached
    } else {
        // Linked and welcomed first: connecting may hand the worker a task at once.
        shared.links.write().insert(worker, link.clone());
        link.send(&welcome(&shared));
        shared.with_state(|state, out| {
            state.core.set_worker_pid(worker, register.pid);
            state.core.worker_connected(worker, out)
        })
    };
    let Ok(client) = connected else {
        if !register.attach_driver {
            shared.links.write().remove(&worker);
        }
        link.close();
        return;
    };
    let session = Session {
        shared: shared.clone(),
        worker,
        client,
        lender: Arc::downgrade(&link) as Weak<dyn SegmentOwner>,
        link: link.clone(),
    };
    let outcome = session.handle_all(rest);
    let outcome = match outcome {
        Ok(()) => session.serve_rest(&mut reader).await,
        Err(error) => Err(error),
    };
    if let Err(error) = outcome {
        tracing::debug!(%worker, %error, "worker connection ended with an error");
    }
    shared.links.write().remove(&worker);
    link.close();
    shared.with_state(|state, out| {
        state
            .core
            .worker_died(worker, "the worker's connection to the node closed", out)
    });
}

fn welcome(shared: &NodeShared) -> pb::ToWorker {
    let info = &shared.info;
    pb::ToWorker {
        fd_count: 0,
        msg: Some(pb::to_worker::Msg::Welcome(pb::Welcome {
            node_id: info.node_id.as_bytes().to_vec().into(),
            job_id: info.job_id.as_bytes().to_vec().into(),
            namespace: info.namespace.clone(),
            session_dir: info.session_dir.display().to_string(),
        })),
    }
}

/// One connected worker, as the node sees it.
struct Session {
    shared: Arc<NodeShared>,
    worker: WorkerId,
    client: ClientId,
    link: Arc<WorkerLink>,
    /// The worker, as the owner of the segments it lends the node.
    lender: Weak<dyn SegmentOwner>,
}

impl Session {
    async fn serve_rest(&self, reader: &mut Reader) -> Result<()> {
        loop {
            let batch = reader.next_batch().await?;
            if batch.is_empty() {
                return Ok(());
            }
            self.handle_all(batch)?;
        }
    }

    fn handle_all(&self, batch: Vec<Received>) -> Result<()> {
        for (message, fds) in batch {
            if let Some(msg) = message.msg {
                let mut fds = fds.into_iter();
                let mut incoming = convert::Incoming {
                    fds: &mut fds,
                    lender: Some(&self.lender),
                };
                self.handle(msg, &mut incoming)?;
            }
        }
        Ok(())
    }

    /// Handles one message; `fds` are its descriptors, for its shared payloads in order.
    fn handle<I: Iterator<Item = OwnedFd>>(
        &self,
        msg: pb::to_node::Msg,
        fds: &mut convert::Incoming<'_, I>,
    ) -> Result<()> {
        use pb::to_node::Msg;
        let (worker, client) = (self.worker, self.client);
        match msg {
            Msg::Register(_) => return Err(RuntimeError::Protocol("registered twice".into())),
            Msg::TaskDone(done) => {
                let task = convert::task_id(&done.task_id)?;
                let returns = done
                    .returns
                    .into_iter()
                    .map(|payload| convert::payload_from_wire(payload, fds))
                    .collect::<Result<Vec<_>>>()?;
                self.shared.with_state(|state, out| {
                    state
                        .core
                        .task_finished(worker, task, returns, done.retryable, out)
                })?;
            }
            Msg::Submit(submit) => {
                let spec = submit
                    .spec
                    .ok_or_else(|| RuntimeError::Protocol("empty submit".into()))?;
                let spec = convert::task_spec_from_wire(spec, fds)?;
                let outcome = self
                    .shared
                    .with_state(|state, out| state.core.submit(client, spec, out));
                self.answer(submit.request_id, outcome.map(|()| pb::Reply::default()))?;
            }
            Msg::CreateActor(create) => {
                let spec = create
                    .spec
                    .ok_or_else(|| RuntimeError::Protocol("empty actor creation".into()))?;
                let spec = convert::task_spec_from_wire(spec, fds)?;
                let outcome = self.shared.with_state(|state, out| {
                    state
                        .core
                        .create_actor(client, spec, create.get_if_exists, out)
                });
                let outcome = outcome.map(|created| match created {
                    ActorCreated::New => pb::Reply::default(),
                    ActorCreated::Existing { actor, descriptor } => pb::Reply {
                        actor_id: actor.as_bytes().to_vec().into(),
                        descriptor,
                        ..pb::Reply::default()
                    },
                });
                self.answer(create.request_id, outcome)?;
            }
            Msg::GetNamedActor(get) => {
                let name = ActorName {
                    namespace: get.namespace,
                    name: get.name,
                };
                let found = self
                    .shared
                    .with_state(|state, _| state.core.named_actor(client, &name));
                let reply = match found {
                    Some((actor, descriptor)) => pb::Reply {
                        actor_id: actor.as_bytes().to_vec().into(),
                        descriptor,
                        ..pb::Reply::default()
                    },
                    None => pb::Reply::default(),
                };
                self.answer(get.request_id, Ok(reply))?;
            }
            Msg::ListNamedActors(list) => {
                let namespace = (!list.all_namespaces).then_some(list.namespace);
                let names = self
                    .shared
                    .with_state(|state, _| state.core.named_actors(namespace.as_deref()));
                let names = names
                    .into_iter()
                    .map(|n| pb::ActorNameEntry {
                        namespace: n.namespace,
                        name: n.name,
                    })
                    .collect();
                self.answer(
                    list.request_id,
                    Ok(pb::Reply {
                        names,
                        ..pb::Reply::default()
                    }),
                )?;
            }
            Msg::Cancel(cancel) => {
                let object = convert::object_id(&cancel.object_id)?;
                let outcome = self.shared.with_state(|state, out| {
                    state
                        .core
                        .cancel(object, cancel.force, cancel.recursive, out)
                });
                self.answer(cancel.request_id, outcome.map(|()| pb::Reply::default()))?;
            }
            Msg::KillActor(kill) => {
                let actor = convert::actor_id(&kill.actor_id)?;
                self.shared
                    .with_state(|state, out| state.core.kill_actor(actor, kill.no_restart, out));
            }
            Msg::StreamItem(item) => {
                let task = convert::task_id(&item.task_id)?;
                let payload = convert::payload_from_wire(item.payload.unwrap_or_default(), fds)?;
                self.shared.with_state(|state, out| {
                    state
                        .core
                        .stream_item(worker, task, item.index, payload, out)
                })?;
            }
            Msg::StreamNext(next) => {
                let task = convert::task_id(&next.task_id)?;
                let index = next.index;
                let kind = match next.credit {
                    true => WaitKind::StreamCredit { task, index },
                    false => WaitKind::StreamNext { task, index },
                };
                self.start_wait(next.request_id, Vec::new(), kind, next.timeout_ms);
            }
            Msg::ActorExiting(exiting) => {
                let actor = convert::actor_id(&exiting.actor_id)?;
                let call = match exiting.task_id.is_empty() {
                    true => None,
                    false => Some(convert::task_id(&exiting.task_id)?),
                };
                self.shared
                    .with_state(|state, out| state.core.actor_exiting(actor, call, out));
            }
            Msg::Function(function) => {
                let id = convert::function_id(&function.function_id)?;
                self.shared
                    .functions
                    .write()
                    .entry(id)
                    .or_insert(function.function);
            }
            Msg::Get(get) => {
                let ids = convert::object_ids(&get.object_ids)?;
                self.start_wait(get.request_id, ids, WaitKind::Get, get.timeout_ms);
            }
            Msg::Wait(wait) => {
                let ids = convert::object_ids(&wait.object_ids)?;
                let kind = WaitKind::Wait {
                    num_returns: wait.num_returns as usize,
                };
                self.start_wait(wait.request_id, ids, kind, wait.timeout_ms);
            }
            Msg::Put(put) => {
                let id = convert::object_id(&put.object_id)?;
                let payload = convert::payload_from_wire(put.payload.unwrap_or_default(), fds)?;
                let outcome = self
                    .shared
                    .with_state(|state, out| state.core.put(client, id, payload, out));
                self.answer(put.request_id, outcome.map(|()| pb::Reply::default()))?;
            }
            Msg::Refs(update) => {
                let added = convert::object_ids(&update.added)?;
                let removed = convert::object_ids(&update.removed)?;
                self.shared.with_state(|state, out| {
                    state.core.add_refs(client, &added);
                    state.core.remove_refs(client, &removed, out);
                });
            }
            Msg::Resources(query) => {
                let (total, available) = self
                    .shared
                    .with_state(|state, _| (state.core.total().clone(), state.core.available()));
                self.link.send(&pb::ToWorker {
                    fd_count: 0,
                    msg: Some(pb::to_worker::Msg::Resources(pb::ResourceReply {
                        request_id: query.request_id,
                        total: convert::resources_to_wire(&total),
                        available: convert::resources_to_wire(&available),
                    })),
                });
            }
            Msg::PlacementGroup(call) => {
                let Some(question) = call.call else {
                    return Err(RuntimeError::Protocol(
                        "an empty placement group call".into(),
                    ));
                };
                let groups = self.shared.with_state(|state, out| {
                    crate::placement_groups::answer(&mut state.core, self.client, question, out)
                })?;
                self.link.send(&pb::ToWorker {
                    fd_count: 0,
                    msg: Some(pb::to_worker::Msg::PlacementGroups(
                        pb::PlacementGroupReply {
                            request_id: call.request_id,
                            groups,
                        },
                    )),
                });
            }
        }
        Ok(())
    }

    /// Sends the reply to a request (a zero `request_id` wants none). A refusal is an answer;
    /// any other error ends the connection.
    fn answer(
        &self,
        request_id: u64,
        outcome: std::result::Result<pb::Reply, ff_core::CoreError>,
    ) -> Result<()> {
        let reply = match outcome.map_err(RuntimeError::from) {
            Ok(reply) => reply,
            Err(RuntimeError::Refused { refusal, message }) => pb::Reply {
                refused: refusal.code().to_string(),
                message,
                ..pb::Reply::default()
            },
            Err(error) => return Err(error),
        };
        if request_id != 0 {
            self.link.send(&pb::ToWorker {
                fd_count: 0,
                msg: Some(pb::to_worker::Msg::Reply(pb::Reply {
                    request_id,
                    ..reply
                })),
            });
        }
        Ok(())
    }

    fn start_wait(
        &self,
        request_id: u64,
        ids: Vec<ff_core::ids::ObjectId>,
        kind: WaitKind,
        timeout_ms: i64,
    ) {
        let block = timeout_ms != 0;
        let client = self.client;
        let start = self.shared.with_state(|state, out| {
            state
                .core
                .get_or_wait(client, request_id, ids, kind, block, out)
        });
        match start {
            WaitStart::Done(result) => {
                let (message, fds) = reply_message(request_id, result);
                self.link.send_with_fds(&message, fds);
            }
            WaitStart::Pending(waiter) if timeout_ms > 0 => {
                let shared = self.shared.clone();
                let worker = self.worker;
                let timeout = Duration::from_millis(timeout_ms as u64);
                self.shared.runtime.spawn(async move {
                    tokio::time::sleep(timeout).await;
                    shared.expire_worker_wait(worker, waiter, request_id);
                });
            }
            WaitStart::Pending(_) => {}
        }
    }
}
