//! Fixed-size binary identifiers, laid out with Ray's sizes so that `hex()` strings have the
//! lengths Ray users see (a 28-byte ObjectID prints as 56 hex digits).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::CoreError;

macro_rules! fixed_id {
    ($(#[$doc:meta])* $name:ident, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const SIZE: usize = $len;
            /// The nil id (all bits set), as Ray spells it.
            pub const NIL: Self = Self([0xff; $len]);

            pub const fn from_array(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }

            /// Parses an id from exactly `SIZE` bytes.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, CoreError> {
                let array: [u8; $len] = bytes.try_into().map_err(|_| CoreError::BadId {
                    kind: stringify!($name),
                    expected: $len,
                    got: bytes.len(),
                })?;
                Ok(Self(array))
            }

            pub fn from_hex(text: &str) -> Result<Self, CoreError> {
                let bytes = hex::decode(text).map_err(|_| CoreError::BadId {
                    kind: stringify!($name),
                    expected: $len,
                    got: text.len() / 2,
                })?;
                Self::from_bytes(&bytes)
            }

            /// A random id.
            pub fn random() -> Self {
                Self(rand::random())
            }

            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            pub fn hex(&self) -> String {
                hex::encode(self.0)
            }

            pub fn is_nil(&self) -> bool {
                *self == Self::NIL
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.hex())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.hex())
            }
        }
    };
}

fixed_id!(
    /// A job: one driver's session.
    JobId, 4
);
fixed_id!(
    /// A task: unique counter, process prefix, job.
    TaskId, 24
);
fixed_id!(
    /// An object: the id of the task that made it plus a 4-byte index.
    ObjectId, 28
);
fixed_id!(
    /// A worker process.
    WorkerId, 28
);
fixed_id!(
    /// A node (one runtime instance on one machine).
    NodeId, 28
);
fixed_id!(
    /// A pickled function or class, named by a digest of its bytes.
    FunctionId, 16
);
fixed_id!(
    /// An actor: 12 unique bytes and the job id, as Ray lays it out.
    ActorId, 16
);

impl ActorId {
    /// A fresh actor id of `job`.
    pub fn new(job: JobId) -> Self {
        let mut bytes = [0u8; 16];
        bytes[..12].copy_from_slice(&rand::random::<[u8; 12]>());
        bytes[12..].copy_from_slice(job.as_bytes());
        Self(bytes)
    }

    /// The id of the task that creates this actor: eight 0xff bytes (a prefix that generated
    /// task ids never have) and the actor id.
    pub fn creation_task(&self) -> TaskId {
        let mut bytes = [0xffu8; 24];
        bytes[8..].copy_from_slice(&self.0);
        TaskId(bytes)
    }

    /// The object every handle to this actor refers to: the actor lives while it does.
    pub fn handle_object(&self) -> ObjectId {
        ObjectId::for_task(self.creation_task(), 0)
    }
}

fixed_id!(
    /// A placement group: 14 unique bytes and the job id, as Ray lays it out.
    PlacementGroupId, 18
);

impl PlacementGroupId {
    /// A fresh placement group id of `job`.
    pub fn new(job: JobId) -> Self {
        let mut bytes = [0u8; 18];
        bytes[..14].copy_from_slice(&rand::random::<[u8; 14]>());
        bytes[14..].copy_from_slice(job.as_bytes());
        Self(bytes)
    }
}

impl JobId {
    /// The n-th job of a cluster, counting from 1 as Ray does (`01000000` for the first).
    pub fn from_index(index: u32) -> Self {
        Self(index.to_le_bytes())
    }
}

impl ObjectId {
    /// The `index`-th object made by `task`. Returns count from 1; 0 is a put.
    pub fn for_task(task: TaskId, index: u32) -> Self {
        let mut bytes = [0u8; 28];
        bytes[..24].copy_from_slice(task.as_bytes());
        bytes[24..].copy_from_slice(&index.to_le_bytes());
        Self(bytes)
    }

    /// The task whose id prefixes this object's.
    pub fn task_id(&self) -> TaskId {
        let mut bytes = [0u8; 24];
        bytes.copy_from_slice(&self.0[..24]);
        TaskId(bytes)
    }

    pub fn index(&self) -> u32 {
        u32::from_le_bytes([self.0[24], self.0[25], self.0[26], self.0[27]])
    }
}

/// Makes task ids as Ray lays them out: 8 unique bytes, then the actor id for an actor call
/// (16 bytes, ending with the job id) or twelve 0xff bytes and the job id for any other task.
/// The unique bytes are a counter mixed with a salt drawn once per generator, so ids never
/// repeat within a process, and across processes only with odds of about n²/2⁶⁴ (as in Ray).
#[derive(Debug)]
pub struct TaskIdGenerator {
    salt: u64,
    job: JobId,
    counter: AtomicU64,
}

/// What fills the actor part of a task id that belongs to no actor.
const NO_ACTOR: [u8; 12] = [0xff; 12];

impl TaskIdGenerator {
    pub fn new(job: JobId) -> Self {
        Self {
            salt: rand::random(),
            job,
            counter: AtomicU64::new(1),
        }
    }

    fn unique(&self) -> [u8; 8] {
        loop {
            let n = self.counter.fetch_add(1, Ordering::Relaxed) ^ self.salt;
            if n != u64::MAX {
                return n.to_le_bytes(); // all 0xff is the prefix of actor creation tasks
            }
        }
    }

    /// A task that is not an actor method call.
    pub fn next(&self) -> TaskId {
        let mut bytes = [0u8; 24];
        bytes[..8].copy_from_slice(&self.unique());
        bytes[8..20].copy_from_slice(&NO_ACTOR);
        bytes[20..].copy_from_slice(self.job.as_bytes());
        TaskId(bytes)
    }

    /// A call of a method of `actor`.
    pub fn next_for_actor(&self, actor: ActorId) -> TaskId {
        let mut bytes = [0u8; 24];
        bytes[..8].copy_from_slice(&self.unique());
        bytes[8..].copy_from_slice(actor.as_bytes());
        TaskId(bytes)
    }

    pub fn job(&self) -> JobId {
        self.job
    }
}

impl TaskId {
    /// The actor whose method this task calls (None for other tasks and actor creations).
    pub fn called_actor(&self) -> Option<ActorId> {
        if self.0[8..20] == NO_ACTOR || self.0[..8] == [0xff; 8] {
            return None;
        }
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&self.0[8..]);
        Some(ActorId(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_ids_embed_their_task_and_index() {
        let gen = TaskIdGenerator::new(JobId::from_index(1));
        let task = gen.next();
        let object = ObjectId::for_task(task, 3);
        assert_eq!(object.task_id(), task);
        assert_eq!(object.index(), 3);
        assert_eq!(object.hex().len(), 56);
        assert_eq!(ObjectId::from_hex(&object.hex()).unwrap(), object);
    }

    #[test]
    fn generated_task_ids_are_distinct_and_carry_the_job() {
        let gen = TaskIdGenerator::new(JobId::from_index(7));
        let a = gen.next();
        let b = gen.next();
        assert_ne!(a, b);
        assert_eq!(&a.as_bytes()[20..], JobId::from_index(7).as_bytes());
        assert_eq!(JobId::from_index(1).hex(), "01000000");
    }

    #[test]
    fn an_actor_names_its_creation_task_and_handle_object() {
        let actor = ActorId::new(JobId::from_index(1));
        assert_eq!(actor.hex().len(), 32);
        assert_eq!(&actor.as_bytes()[12..], JobId::from_index(1).as_bytes());
        assert_eq!(actor.handle_object().task_id(), actor.creation_task());
        assert_ne!(
            actor.creation_task(),
            TaskIdGenerator::new(JobId::from_index(1)).next()
        );
    }

    #[test]
    fn actor_calls_carry_their_actor_and_other_tasks_none() {
        let job = JobId::from_index(1);
        let ids = TaskIdGenerator::new(job);
        let actor = ActorId::new(job);
        let call = ids.next_for_actor(actor);
        assert_eq!(call.called_actor(), Some(actor));
        assert_eq!(ids.next().called_actor(), None);
        assert_eq!(actor.creation_task().called_actor(), None);
        assert!(ids
            .next()
            .hex()
            .contains("ffffffffffffffffffffffff01000000"));
        assert_ne!(ids.next_for_actor(actor), call);
    }

    #[test]
    fn wrong_lengths_are_rejected() {
        assert!(ObjectId::from_bytes(&[0u8; 27]).is_err());
        assert!(TaskId::from_hex("zz").is_err());
    }
}
