//! `fusion_flow._native`: thin pyo3 wrappers over ff-runtime. Conversions, error mapping and
//! releasing the GIL around blocking calls live here; nothing else does.

mod buffer;
mod errors;
mod object_ref;
mod placement_groups;
mod process;
mod segment;
mod session;
mod task;

use pyo3::prelude::*;

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<object_ref::ObjectRef>()?;
    module.add_class::<object_ref::NestedRefs>()?;
    module.add_class::<object_ref::ErrorPayload>()?;
    module.add_class::<session::Session>()?;
    module.add_class::<segment::Segment>()?;
    module.add_class::<task::TaskTemplate>()?;
    module.add_class::<task::TaskCall>()?;
    module.add_class::<placement_groups::PlacementGroupTable>()?;
    module.add_function(wrap_pyfunction!(object_ref::begin_capture, module)?)?;
    module.add_function(wrap_pyfunction!(object_ref::end_capture, module)?)?;
    module.add_function(wrap_pyfunction!(process::die_with_parent, module)?)?;
    module.add_function(wrap_pyfunction!(segment::pooled_bytes, module)?)?;
    module.add("TASK_NAME_MARKER", ff_runtime::node::TASK_NAME_MARKER)?;
    module.add("ENV_NODE_SOCKET", ff_runtime::node::ENV_SOCKET)?;
    module.add("ENV_WORKER_ID", ff_runtime::node::ENV_WORKER_ID)?;
    module.add("FUNCTION_ID_SIZE", ff_runtime::core::ids::FunctionId::SIZE)?;
    errors::register(module)?;
    Ok(())
}
