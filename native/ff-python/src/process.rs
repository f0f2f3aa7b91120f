//! Process set-up that Python's standard library cannot do.

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;

/// Makes the kernel SIGKILL this process when its parent ends (a forked worker dies with the
/// fork server, as the fork server dies with the node). Raises OSError if `parent` is already
/// gone, since the signal would then never come.
#[pyfunction]
pub fn die_with_parent(parent: u32) -> PyResult<()> {
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes only integer arguments and changes no memory.
    let set = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    if set != 0 {
        return Err(PyOSError::new_err(
            std::io::Error::last_os_error().to_string(),
        ));
    }
    // SAFETY: getppid cannot fail.
    let now = unsafe { libc::getppid() };
    if now as u32 != parent {
        return Err(PyOSError::new_err(format!(
            "the parent process {parent} ended before this one could follow it"
        )));
    }
    Ok(())
}
