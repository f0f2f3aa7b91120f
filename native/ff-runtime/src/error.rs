//! Errors of the runtime, one variant per way a call can fail.

use ff_core::CoreError;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("the fusion-flow runtime has been shut down")]
    ShutDown,
    #[error("interrupted")]
    Interrupted,
    #[error("lost the connection to the fusion-flow node: {0}")]
    NodeGone(String),
    #[error("could not start the fusion-flow node: {0}")]
    Startup(String),
    #[error("malformed message: {0}")]
    Protocol(String),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;
