//! Placement groups over the wire: what a worker or an attached driver asks the node
//! (`PlacementGroupCall`), the node's answer to it, and the conversions both sides share.
//! The driver that hosts the node asks the node's state directly (see `DriverClient`).

use bytes::Bytes;
use ff_core::ids::PlacementGroupId;
use ff_core::node::{
    Node, PlacementGroupInfo, PlacementGroupSpec, PlacementGroupState, PlacementStrategy,
};
use ff_core::task::ActorName;
use ff_proto as pb;
use std::sync::Arc;

use crate::convert::{resources_from_wire, resources_to_wire};
use crate::error::{Result, RuntimeError};

pub fn group_id(bytes: &[u8]) -> Result<PlacementGroupId> {
    PlacementGroupId::from_bytes(bytes).map_err(|e| RuntimeError::Protocol(e.to_string()))
}

fn strategy_to_wire(strategy: PlacementStrategy) -> pb::PlacementStrategy {
    match strategy {
        PlacementStrategy::Pack => pb::PlacementStrategy::Pack,
        PlacementStrategy::Spread => pb::PlacementStrategy::Spread,
        PlacementStrategy::StrictPack => pb::PlacementStrategy::StrictPack,
        PlacementStrategy::StrictSpread => pb::PlacementStrategy::StrictSpread,
    }
}

fn strategy_from_wire(strategy: pb::PlacementStrategy) -> PlacementStrategy {
    match strategy {
        pb::PlacementStrategy::Pack => PlacementStrategy::Pack,
        pb::PlacementStrategy::Spread => PlacementStrategy::Spread,
        pb::PlacementStrategy::StrictPack => PlacementStrategy::StrictPack,
        pb::PlacementStrategy::StrictSpread => PlacementStrategy::StrictSpread,
    }
}

fn state_to_wire(state: PlacementGroupState) -> pb::PlacementGroupState {
    match state {
        PlacementGroupState::Pending => pb::PlacementGroupState::Pending,
        PlacementGroupState::Created => pb::PlacementGroupState::Created,
        PlacementGroupState::Removed => pb::PlacementGroupState::Removed,
    }
}

fn state_from_wire(state: pb::PlacementGroupState) -> PlacementGroupState {
    match state {
        pb::PlacementGroupState::Pending => PlacementGroupState::Pending,
        pb::PlacementGroupState::Created => PlacementGroupState::Created,
        pb::PlacementGroupState::Removed => PlacementGroupState::Removed,
    }
}

pub fn group_to_wire(spec: &PlacementGroupSpec, state: PlacementGroupState) -> pb::PlacementGroup {
    pb::PlacementGroup {
        id: Bytes::copy_from_slice(spec.id.as_bytes()),
        name: spec.name.as_ref().map(|name| pb::ActorNameEntry {
            namespace: name.namespace.clone(),
            name: name.name.clone(),
        }),
        bundles: spec
            .bundles
            .iter()
            .map(|bundle| pb::Bundle {
                resources: resources_to_wire(bundle),
            })
            .collect(),
        strategy: strategy_to_wire(spec.strategy) as i32,
        detached: spec.detached,
        state: state_to_wire(state) as i32,
    }
}

pub fn group_from_wire(group: pb::PlacementGroup) -> Result<PlacementGroupInfo> {
    let strategy = pb::PlacementStrategy::try_from(group.strategy)
        .map_err(|_| RuntimeError::Protocol(format!("unknown strategy {}", group.strategy)))?;
    let state = pb::PlacementGroupState::try_from(group.state)
        .map_err(|_| RuntimeError::Protocol(format!("unknown group state {}", group.state)))?;
    let spec = PlacementGroupSpec {
        id: group_id(&group.id)?,
        name: group.name.map(|entry| ActorName {
            namespace: entry.namespace,
            name: entry.name,
        }),
        bundles: group
            .bundles
            .iter()
            .map(|bundle| resources_from_wire(&bundle.resources))
            .collect::<Result<_>>()?,
        strategy: strategy_from_wire(strategy),
        detached: group.detached,
    };
    Ok(PlacementGroupInfo {
        spec: Arc::new(spec),
        state: state_from_wire(state),
    })
}

fn info_to_wire(info: &PlacementGroupInfo) -> pb::PlacementGroup {
    group_to_wire(&info.spec, info.state)
}

/// Carries out `call` on the node's state; returns the groups to answer with.
pub fn answer(
    core: &mut Node,
    call: pb::placement_group_call::Call,
    out: &mut Vec<ff_core::node::Action>,
) -> Result<Vec<pb::PlacementGroup>> {
    use pb::placement_group_call::Call;
    Ok(match call {
        Call::Create(group) => {
            let info = group_from_wire(group)?;
            let spec = Arc::try_unwrap(info.spec).unwrap_or_else(|shared| (*shared).clone());
            core.create_placement_group(spec, out);
            Vec::new()
        }
        Call::Remove(id) => {
            core.remove_placement_group(group_id(&id)?, out);
            Vec::new()
        }
        Call::Info(id) => core
            .placement_group(group_id(&id)?)
            .iter()
            .map(info_to_wire)
            .collect(),
        Call::List(_) => core.placement_groups().iter().map(info_to_wire).collect(),
        Call::Named(entry) => {
            let name = ActorName {
                namespace: entry.namespace,
                name: entry.name,
            };
            core.placement_group_named(&name)
                .and_then(|id| core.placement_group(id))
                .iter()
                .map(info_to_wire)
                .collect()
        }
    })
}
