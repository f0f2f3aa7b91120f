//! What the node tells the driver to show: worker output lines (with the task that printed
//! them) and notices such as a task that no node could ever run. Formatting is the driver's
//! business (Python), so it can follow Ray's conventions and the user's settings.

use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use ff_core::resources::ResourceSet;

/// A worker writes this at the start of a line, followed by the name of the task it starts,
/// so that the lines after it carry that name.
pub const TASK_NAME_MARKER: &str = "\u{1e}ff-task:";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DriverEvent {
    /// A line a worker printed, with the name of the task it was running (if any).
    Output {
        stream: Stream,
        pid: u32,
        task_name: Option<String>,
        text: String,
    },
    /// A task asks for more than this node has in total; it waits.
    Infeasible {
        task_name: String,
        request: ResourceSet,
    },
}

#[derive(Clone)]
pub struct EventSender(Sender<DriverEvent>);

pub struct EventReceiver(Receiver<DriverEvent>);

pub fn channel() -> (EventSender, EventReceiver) {
    let (tx, rx) = crossbeam_channel::unbounded();
    (EventSender(tx), EventReceiver(rx))
}

impl EventSender {
    pub fn send(&self, event: DriverEvent) {
        // Nobody listening (the driver stopped printing) is not an error.
        let _ = self.0.send(event);
    }
}

impl EventReceiver {
    /// Waits up to `timeout` for the first event, then takes every event already queued.
    pub fn next_batch(&self, timeout: Duration) -> Vec<DriverEvent> {
        let Ok(first) = self.0.recv_timeout(timeout) else {
            return Vec::new();
        };
        let mut batch = vec![first];
        batch.extend(self.0.try_iter());
        batch
    }
}

/// Follows one output stream of one worker: remembers which task is running from the
/// markers the worker writes, and turns every other line into an event.
pub struct OutputFollower {
    stream: Stream,
    pid: u32,
    task_name: Option<String>,
}

impl OutputFollower {
    pub fn new(stream: Stream, pid: u32) -> Self {
        Self {
            stream,
            pid,
            task_name: None,
        }
    }

    /// The event for one line of output, or None for a task-name marker.
    pub fn line(&mut self, line: &str) -> Option<DriverEvent> {
        if let Some(name) = line.strip_prefix(TASK_NAME_MARKER) {
            self.task_name = Some(name.to_string());
            return None;
        }
        Some(DriverEvent::Output {
            stream: self.stream,
            pid: self.pid,
            task_name: self.task_name.clone(),
            text: line.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_the_name_of_the_task_that_printed_them() {
        let mut follower = OutputFollower::new(Stream::Stdout, 77);
        let Some(DriverEvent::Output { task_name, pid, .. }) = follower.line("starting") else {
            panic!("a plain line is output")
        };
        assert_eq!((task_name, pid), (None, 77));
        assert!(follower
            .line(&format!("{TASK_NAME_MARKER}compute"))
            .is_none());
        let Some(DriverEvent::Output {
            task_name, text, ..
        }) = follower.line("hello")
        else {
            panic!("a plain line is output")
        };
        assert_eq!(task_name.as_deref(), Some("compute"));
        assert_eq!(text, "hello");
    }
}
