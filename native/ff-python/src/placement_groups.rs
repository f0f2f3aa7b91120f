//! The session's view of the node's placement groups (`Session.placement_groups()`): create,
//! remove, look up; from the driver, a worker or an attached driver alike.

use std::collections::HashMap;
use std::sync::Arc;

use ff_runtime::core::ids::{JobId, PlacementGroupId};
use ff_runtime::core::node::{
    PlacementGroupInfo, PlacementGroupSpec, PlacementGroupState, PlacementStrategy,
};
use ff_runtime::core::task::ActorName;
use ff_runtime::Client;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::errors::to_py;
use crate::task::{resource_dict, resource_set};

/// A view of the node's placement groups through this process's client.
#[pyclass(module = "fusion_flow._native", frozen)]
pub struct PlacementGroupTable {
    client: Arc<dyn Client>,
    job: JobId,
}

impl PlacementGroupTable {
    pub fn new(client: Arc<dyn Client>, job: JobId) -> Self {
        Self { client, job }
    }
}

fn strategy_of(name: &str) -> PyResult<PlacementStrategy> {
    Ok(match name {
        "PACK" => PlacementStrategy::Pack,
        "SPREAD" => PlacementStrategy::Spread,
        "STRICT_PACK" => PlacementStrategy::StrictPack,
        "STRICT_SPREAD" => PlacementStrategy::StrictSpread,
        other => return Err(PyValueError::new_err(format!("unknown strategy {other}"))),
    })
}

fn strategy_name(strategy: PlacementStrategy) -> &'static str {
    match strategy {
        PlacementStrategy::Pack => "PACK",
        PlacementStrategy::Spread => "SPREAD",
        PlacementStrategy::StrictPack => "STRICT_PACK",
        PlacementStrategy::StrictSpread => "STRICT_SPREAD",
    }
}

fn state_name(state: PlacementGroupState) -> &'static str {
    match state {
        PlacementGroupState::Pending => "PENDING",
        PlacementGroupState::Created => "CREATED",
        PlacementGroupState::Removed => "REMOVED",
    }
}

fn group_id(bytes: &[u8]) -> PyResult<PlacementGroupId> {
    PlacementGroupId::from_bytes(bytes).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// (id, name, namespace, bundles, strategy, state, detached) of one group.
fn info_tuple<'py>(py: Python<'py>, info: &PlacementGroupInfo) -> PyResult<Bound<'py, PyTuple>> {
    let spec = &info.spec;
    let bundles = PyList::empty(py);
    for bundle in &spec.bundles {
        bundles.append(resource_dict(py, bundle)?)?;
    }
    let (name, namespace) = match &spec.name {
        Some(name) => (Some(name.name.clone()), Some(name.namespace.clone())),
        None => (None, None),
    };
    (
        PyBytes::new(py, spec.id.as_bytes()),
        name,
        namespace,
        bundles,
        strategy_name(spec.strategy),
        state_name(info.state),
        spec.detached,
    )
        .into_pyobject(py)
}

#[pymethods]
impl PlacementGroupTable {
    /// Creates a group; returns its id (18 bytes). The API layer has checked the arguments.
    #[pyo3(signature = (*, bundles, strategy, name, namespace, detached))]
    fn create<'py>(
        &self,
        py: Python<'py>,
        bundles: Vec<HashMap<String, f64>>,
        strategy: &str,
        name: Option<String>,
        namespace: String,
        detached: bool,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let spec = PlacementGroupSpec {
            id: PlacementGroupId::new(self.job),
            name: name.map(|name| ActorName { namespace, name }),
            bundles: bundles
                .into_iter()
                .map(resource_set)
                .collect::<PyResult<_>>()?,
            strategy: strategy_of(strategy)?,
            detached,
        };
        let id = spec.id;
        let client = self.client.clone();
        py.detach(move || client.create_placement_group(spec))
            .map_err(to_py)?;
        Ok(PyBytes::new(py, id.as_bytes()))
    }

    fn remove(&self, py: Python<'_>, group: &[u8]) -> PyResult<()> {
        let id = group_id(group)?;
        let client = self.client.clone();
        py.detach(move || client.remove_placement_group(id))
            .map_err(to_py)
    }

    /// The group's (id, name, namespace, bundles, strategy, state, detached), or None.
    fn info<'py>(&self, py: Python<'py>, group: &[u8]) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let id = group_id(group)?;
        let client = self.client.clone();
        let info = py
            .detach(move || client.placement_group(id))
            .map_err(to_py)?;
        info.map(|info| info_tuple(py, &info)).transpose()
    }

    /// Every group of the session, removed ones included.
    fn all<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let client = self.client.clone();
        let groups = py
            .detach(move || client.placement_groups())
            .map_err(to_py)?;
        groups.iter().map(|info| info_tuple(py, info)).collect()
    }

    /// The id of the newest live group named `name` in `namespace`, or None.
    fn named<'py>(
        &self,
        py: Python<'py>,
        name: String,
        namespace: String,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let client = self.client.clone();
        let found = py
            .detach(move || client.placement_group_named(ActorName { namespace, name }))
            .map_err(to_py)?;
        Ok(found.map(|info| PyBytes::new(py, info.spec.id.as_bytes())))
    }
}
