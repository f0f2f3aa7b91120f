//! Errors of the runtime, one variant per way a call can fail.

use ff_core::CoreError;

/// Why the node refused a request (an answer, not a failure of the runtime).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    ActorNameTaken,
    PendingCallsLimitExceeded,
    ObjectStoreFull,
    ForceCancelActorTask,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::ActorNameTaken => "actor_name_taken",
            Refusal::PendingCallsLimitExceeded => "pending_calls_limit_exceeded",
            Refusal::ObjectStoreFull => "object_store_full",
            Refusal::ForceCancelActorTask => "force_cancel_actor_task",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "actor_name_taken" => Some(Refusal::ActorNameTaken),
            "pending_calls_limit_exceeded" => Some(Refusal::PendingCallsLimitExceeded),
            "object_store_full" => Some(Refusal::ObjectStoreFull),
            "force_cancel_actor_task" => Some(Refusal::ForceCancelActorTask),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("{message}")]
    Refused { refusal: Refusal, message: String },
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
    Core(CoreError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl From<CoreError> for RuntimeError {
    fn from(error: CoreError) -> Self {
        let refusal = match &error {
            CoreError::ActorNameTaken { .. } => Refusal::ActorNameTaken,
            CoreError::PendingCallsLimitExceeded { .. } => Refusal::PendingCallsLimitExceeded,
            CoreError::ObjectStoreFull { .. } => Refusal::ObjectStoreFull,
            CoreError::ForceCancelActorTask => Refusal::ForceCancelActorTask,
            _ => return RuntimeError::Core(error),
        };
        RuntimeError::Refused {
            refusal,
            message: error.to_string(),
        }
    }
}

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;
