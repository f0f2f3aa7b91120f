//! `Segment`: a shared-memory segment as Python sees it. Python creates one to write a large
//! value into (mapping it with the `mmap` module) and hands it to put/submit/task_done; a get
//! of a large value returns one to map read-only. The mapping, not this object, keeps the
//! memory alive for numpy arrays that point into it.

use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;

use bytes::Bytes;
use ff_runtime::core::object::{Payload, SharedSegment};
use ff_runtime::shm;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::buffer::BytesView;
use crate::errors::to_py;
use crate::object_ref::NestedRefs;

#[pyclass(module = "fusion_flow._native", frozen)]
pub struct Segment {
    pub inner: Arc<dyn SharedSegment>,
    /// Set for a segment this process created (it may fill it).
    writable: Option<Arc<shm::Segment>>,
}

impl Segment {
    /// A segment received from the node, to read.
    pub fn readable(inner: Arc<dyn SharedSegment>) -> Self {
        Self {
            inner,
            writable: None,
        }
    }
}

#[pymethods]
impl Segment {
    /// A new zero-filled segment of `size` bytes.
    #[new]
    fn new(size: u64) -> PyResult<Self> {
        let segment = Arc::new(shm::Segment::create(size).map_err(to_py)?);
        Ok(Self {
            inner: segment.clone(),
            writable: Some(segment),
        })
    }

    /// The descriptor to map (owned by this object: map it, do not close it).
    fn fileno(&self) -> i32 {
        self.inner.as_fd().as_raw_fd()
    }

    /// Writes each buffer (anything with the buffer protocol) at its offset: the one copy of
    /// the value's data, done without the GIL, and by a few threads when large.
    fn fill(
        &self,
        py: Python<'_>,
        offsets: Vec<u64>,
        buffers: Vec<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let Some(segment) = &self.writable else {
            return Err(PyTypeError::new_err("only a new segment can be filled"));
        };
        if offsets.len() != buffers.len() {
            return Err(PyTypeError::new_err("one offset per buffer"));
        }
        let views = buffers
            .iter()
            .map(BytesView::new)
            .collect::<PyResult<Vec<_>>>()?;
        py.detach(|| {
            let parts: Vec<(u64, &[u8])> = offsets
                .iter()
                .copied()
                .zip(views.iter().map(|v| v.as_slice()))
                .collect();
            segment.write_parts(&parts)
        })
        .map_err(to_py)
    }

    #[getter]
    fn size(&self) -> u64 {
        self.inner.len()
    }

    fn __repr__(&self) -> String {
        format!("Segment(size={})", self.inner.len())
    }
}

/// A value handed over by Python: pickled bytes, or a Segment holding them.
pub fn payload_of(data: &Bound<'_, PyAny>, nested: Option<&NestedRefs>) -> PyResult<Payload> {
    let payload = if let Ok(bytes) = data.cast::<PyBytes>() {
        Payload::value(Bytes::copy_from_slice(bytes.as_bytes()))
    } else if let Ok(segment) = data.cast::<Segment>() {
        Payload::shared(segment.get().inner.clone())
    } else {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "a value must be bytes or a Segment, not {}",
            data.get_type().name()?
        )));
    };
    Ok(payload.with_nested(nested.map(|n| n.ids.clone()).unwrap_or_default()))
}

/// Bytes of freed segments this process keeps for reuse (see `ff_runtime::shm_pool`).
#[pyfunction]
pub fn pooled_bytes() -> u64 {
    ff_runtime::shm_pool::pooled_bytes()
}
