//! fusion-flow's runtime: the node that a driver hosts (worker pool, scheduling loop, object
//! service, worker transport on tokio) and the client a worker process uses to reach it.

pub mod client;
pub mod convert;
pub mod error;
pub mod fd_passing;
pub mod frame;
pub mod local_refs;
pub mod node;
pub mod placement_groups;
pub mod session_dir;
pub mod shm;
pub mod shm_pool;
pub mod worker;
pub mod worker_calls;

pub use ff_core as core;
pub use ff_proto as proto;

pub use client::{Client, GetOutcome, SessionInfo};
pub use error::{Result, RuntimeError};
pub use node::{DriverClient, Node, NodeConfig};
pub use worker::WorkerClient;
