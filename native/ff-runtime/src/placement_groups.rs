//! Placement groups over the wire: what a worker or an attached driver asks the node
//! (`PlacementGroupCall`), the node's answer to it, and the conversions both sides share.
//! The driver that hosts the node asks the node's state directly (see `DriverClient`).

use bytes::Bytes;
use ff_core::ids::PlacementGroupId;
use ff_core::node::{
    Node, PlacementGroupInfo, PlacementGroupSpec, PlacementGroupState, PlacementStrategy,
};
use ff_core::object_table::ClientId;
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
    let (spec, state) = spec_from_wire(group)?;
    Ok(PlacementGroupInfo {
        spec: Arc::new(spec),
        state,
    })
}

fn spec_from_wire(group: pb::PlacementGroup) -> Result<(PlacementGroupSpec, PlacementGroupState)> {
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
    Ok((spec, state_from_wire(state)))
}

fn info_to_wire(info: &PlacementGroupInfo) -> pb::PlacementGroup {
    group_to_wire(&info.spec, info.state)
}

/// Carries out `client`'s `call` on the node's state; returns the groups to answer with.
pub fn answer(
    core: &mut Node,
    client: ClientId,
    call: pb::placement_group_call::Call,
    out: &mut Vec<ff_core::node::Action>,
) -> Result<Vec<pb::PlacementGroup>> {
    use pb::placement_group_call::Call;
    Ok(match call {
        Call::Create(group) => {
            let (spec, _pending) = spec_from_wire(group)?;
            core.create_placement_group(client, spec, out);
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

#[cfg(test)]
mod tests {
    use super::*;
    use ff_core::ids::JobId;
    use ff_core::node::NodeConfig;
    use ff_core::resources::{Quantity, ResourceSet, CPU};

    fn spec(name: Option<&str>) -> PlacementGroupSpec {
        let bundle = ResourceSet::from_pairs([(CPU, Quantity::from_f64(1.5).unwrap())]);
        PlacementGroupSpec {
            id: PlacementGroupId::new(JobId::from_index(1)),
            name: name.map(|name| ActorName {
                namespace: "ns".into(),
                name: name.into(),
            }),
            bundles: vec![bundle.clone(), bundle],
            strategy: PlacementStrategy::StrictSpread,
            detached: true,
        }
    }

    #[test]
    fn a_group_round_trips_through_the_wire() {
        let sent = spec(Some("g"));
        let back = group_from_wire(group_to_wire(&sent, PlacementGroupState::Created)).unwrap();
        assert_eq!(back.state, PlacementGroupState::Created);
        assert_eq!(back.spec.id, sent.id);
        assert_eq!(back.spec.name, sent.name);
        assert_eq!(back.spec.bundles, sent.bundles);
        assert_eq!(back.spec.strategy, sent.strategy);
        assert!(back.spec.detached);
        let unnamed = group_from_wire(group_to_wire(&spec(None), PlacementGroupState::Pending));
        assert_eq!(unnamed.unwrap().spec.name, None);
    }

    #[test]
    fn calls_change_and_read_the_nodes_groups() {
        use pb::placement_group_call::Call;
        let total = ResourceSet::from_pairs([(CPU, Quantity::from_f64(4.0).unwrap())]);
        let mut node = Node::new(NodeConfig::with_total(total));
        let mut out = Vec::new();
        let group = spec(Some("g"));
        let id = Bytes::copy_from_slice(group.id.as_bytes());
        let wire = group_to_wire(&group, PlacementGroupState::Pending);
        assert!(
            answer(&mut node, ClientId::DRIVER, Call::Create(wire), &mut out)
                .unwrap()
                .is_empty()
        );
        let named = pb::ActorNameEntry {
            namespace: "ns".into(),
            name: "g".into(),
        };
        let found = answer(
            &mut node,
            ClientId::DRIVER,
            Call::Named(named.clone()),
            &mut out,
        )
        .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id, id);
        assert_eq!(
            answer(&mut node, ClientId::DRIVER, Call::List(true), &mut out)
                .unwrap()
                .len(),
            1
        );
        answer(
            &mut node,
            ClientId::DRIVER,
            Call::Remove(id.clone()),
            &mut out,
        )
        .unwrap();
        let info = answer(&mut node, ClientId::DRIVER, Call::Info(id), &mut out).unwrap();
        assert_eq!(info[0].state, pb::PlacementGroupState::Removed as i32);
        assert!(
            answer(&mut node, ClientId::DRIVER, Call::Named(named), &mut out)
                .unwrap()
                .is_empty()
        );
        let unknown = Bytes::copy_from_slice(spec(None).id.as_bytes());
        assert!(
            answer(&mut node, ClientId::DRIVER, Call::Info(unknown), &mut out)
                .unwrap()
                .is_empty()
        );
    }
}
