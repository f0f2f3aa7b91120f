//! Spilling: copying an object's bytes from shared memory to a file under the session
//! directory when the store is over its capacity.
//!
//! A spilled object is not copied back on get: readers map its file (through the page
//! cache) exactly as they map a segment, so a get of a spilled object costs no extra copy and
//! no shared memory. The file is deleted when the object is freed (its last `Arc` goes) and,
//! with the session directory, at shutdown.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::PathBuf;
use std::sync::Arc;

use ff_core::ids::ObjectId;
use ff_core::object::SharedSegment;

use super::shared::NodeShared;

/// Where spilled objects go, inside the session directory.
pub const SPILL_DIR: &str = "spill";

/// An object's bytes in a file; the file goes with the last reference to this.
#[derive(Debug)]
pub struct SpillFile {
    file: File,
    len: u64,
    path: PathBuf,
}

impl AsFd for SpillFile {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl SharedSegment for SpillFile {
    fn len(&self) -> u64 {
        self.len
    }
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Writes `segment` to a file and tells the node it can let the memory go (or that it could
/// not, so the object stays resident).
pub fn spill(shared: &Arc<NodeShared>, id: ObjectId, segment: &dyn SharedSegment) {
    segment.retire(); // evicted for room: its memory goes back to the OS, not to the pool
    match write(shared, id, segment) {
        Ok(file) => shared.with_state(|state, _| state.core.object_spilled(id, Arc::new(file))),
        Err(error) => {
            tracing::warn!(%id, %error, "could not spill an object; it stays in memory");
            shared.with_state(|state, _| state.core.spill_failed(id));
        }
    }
}

fn write(
    shared: &NodeShared,
    id: ObjectId,
    segment: &dyn SharedSegment,
) -> std::io::Result<SpillFile> {
    let dir = shared.info.session_dir.join(SPILL_DIR);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(id.hex());
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    let spilled = SpillFile {
        file: file.try_clone()?,
        len: segment.len(),
        path,
    };
    // A descriptor of its own (its offset is not shared with the node's).
    let mut source = File::open(format!("/proc/self/fd/{}", segment.as_fd().as_raw_fd()))?;
    source.seek(SeekFrom::Start(0))?;
    let copied = std::io::copy(&mut source, &mut file)?;
    if copied != segment.len() {
        return Err(std::io::Error::other(format!(
            "copied {copied} of {} bytes",
            segment.len()
        )));
    }
    Ok(spilled)
}
