//! fusion-flow's core: identifiers, resources, the object table with its reference counting,
//! and the node's scheduler, all as plain state machines with no I/O.
//!
//! The runtime crate feeds events in and carries out the [`node::Action`]s that come back.

pub mod error;
pub mod ids;
pub mod node;
pub mod object;
pub mod object_table;
pub mod queues;
pub mod resources;
pub mod task;
pub mod workers;

pub use error::CoreError;
