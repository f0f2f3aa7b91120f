//! Read access to any object with the buffer protocol (bytes, memoryview, numpy arrays).
//!
//! The extension targets the stable ABI of Python 3.9, where `PyObject_GetBuffer` and
//! `Py_buffer` are not yet part of the limited API (they are from 3.11, with the same
//! layout, unchanged since 3.3), so pyo3 does not offer them. Every CPython exports the
//! function; this declares the two calls and the struct, and nothing else.

use std::ffi::{c_char, c_int, c_void};

use pyo3::exceptions::PyBufferError;
use pyo3::prelude::*;

#[repr(C)]
struct RawBuffer {
    buf: *mut c_void,
    obj: *mut pyo3::ffi::PyObject,
    len: isize,
    itemsize: isize,
    readonly: c_int,
    ndim: c_int,
    format: *mut c_char,
    shape: *mut isize,
    strides: *mut isize,
    suboffsets: *mut isize,
    internal: *mut c_void,
}

extern "C" {
    fn PyObject_GetBuffer(
        obj: *mut pyo3::ffi::PyObject,
        view: *mut RawBuffer,
        flags: c_int,
    ) -> c_int;
    fn PyBuffer_Release(view: *mut RawBuffer);
}

/// PyBUF_SIMPLE: one contiguous run of bytes, read-only is fine.
const SIMPLE: c_int = 0;

/// A contiguous byte view of a Python object, held until dropped (with the GIL held or not:
/// releasing takes the GIL).
pub struct BytesView {
    raw: Box<RawBuffer>,
}

// SAFETY: the exporter keeps the memory valid and unmoved until the view is released, which
// only `Drop` does (under the GIL); reading it from another thread meanwhile is what the
// buffer protocol allows.
unsafe impl Send for BytesView {}
unsafe impl Sync for BytesView {}

impl BytesView {
    pub fn new(object: &Bound<'_, PyAny>) -> PyResult<Self> {
        let mut raw = Box::new(RawBuffer {
            buf: std::ptr::null_mut(),
            obj: std::ptr::null_mut(),
            len: 0,
            itemsize: 0,
            readonly: 0,
            ndim: 0,
            format: std::ptr::null_mut(),
            shape: std::ptr::null_mut(),
            strides: std::ptr::null_mut(),
            suboffsets: std::ptr::null_mut(),
            internal: std::ptr::null_mut(),
        });
        // SAFETY: a valid object pointer and a zeroed Py_buffer to fill; the GIL is held.
        let status = unsafe { PyObject_GetBuffer(object.as_ptr(), &mut *raw, SIMPLE) };
        if status != 0 {
            return Err(PyErr::take(object.py())
                .unwrap_or_else(|| PyBufferError::new_err("no contiguous buffer")));
        }
        Ok(Self { raw })
    }

    pub fn as_slice(&self) -> &[u8] {
        if self.raw.len == 0 {
            return &[];
        }
        // SAFETY: PyBUF_SIMPLE gives `len` contiguous bytes at `buf`, valid until release.
        unsafe { std::slice::from_raw_parts(self.raw.buf as *const u8, self.raw.len as usize) }
    }
}

impl Drop for BytesView {
    fn drop(&mut self) {
        Python::attach(|_| {
            // SAFETY: acquired by PyObject_GetBuffer and released exactly once, with the GIL.
            unsafe { PyBuffer_Release(&mut *self.raw) }
        });
    }
}
