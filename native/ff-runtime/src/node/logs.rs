//! Worker output on its way to the driver's terminal, one line at a time, prefixed the way
//! Ray prefixes it: `(task_name pid=1234) text`.

use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

/// A worker writes this at the start of a line, followed by the name of the task it starts,
/// so that the lines after it carry that name.
pub const TASK_NAME_MARKER: &str = "\u{1e}ff-task:";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A line for the driver to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub stream: Stream,
    pub text: String,
}

#[derive(Clone)]
pub struct LogSender(Sender<LogRecord>);

pub struct LogReceiver(Receiver<LogRecord>);

pub fn channel() -> (LogSender, LogReceiver) {
    let (tx, rx) = crossbeam_channel::unbounded();
    (LogSender(tx), LogReceiver(rx))
}

impl LogSender {
    pub fn line(&self, stream: Stream, text: String) {
        // Nobody listening (the driver stopped printing) is not an error.
        let _ = self.0.send(LogRecord { stream, text });
    }
}

impl LogReceiver {
    /// Waits up to `timeout` for the first record, then takes every record already queued.
    pub fn next_batch(&self, timeout: Duration) -> Vec<LogRecord> {
        let Ok(first) = self.0.recv_timeout(timeout) else {
            return Vec::new();
        };
        let mut batch = vec![first];
        batch.extend(self.0.try_iter());
        batch
    }
}

/// Follows one output stream of one worker, turning its lines into prefixed records.
pub struct LinePrefixer {
    pid: u32,
    task_name: Option<String>,
}

impl LinePrefixer {
    pub fn new(pid: u32) -> Self {
        Self {
            pid,
            task_name: None,
        }
    }

    /// The record for one line of output, or None for a task-name marker.
    pub fn line(&mut self, line: &str) -> Option<String> {
        if let Some(name) = line.strip_prefix(TASK_NAME_MARKER) {
            self.task_name = Some(name.to_string());
            return None;
        }
        Some(match &self.task_name {
            Some(name) => format!("({name} pid={}) {line}", self.pid),
            None => format!("(pid={}) {line}", self.pid),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_the_name_of_the_task_that_printed_them() {
        let mut prefixer = LinePrefixer::new(77);
        assert_eq!(prefixer.line("starting").unwrap(), "(pid=77) starting");
        assert!(prefixer
            .line(&format!("{TASK_NAME_MARKER}compute"))
            .is_none());
        assert_eq!(prefixer.line("hello").unwrap(), "(compute pid=77) hello");
    }
}
