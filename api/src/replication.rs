//! `GET /v1/replication`.

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, ObjectBuilder, OneOfBuilder, Ref, Schema, SchemaType, Type,
};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// A node of the cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Replica {
    /// Raft node ID.
    pub id: u64,
    /// The partner running it (hex loyalty ID).
    pub member: String,
    /// Where it serves.
    pub addr: String,
}

/// A node's Raft role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RaftState {
    /// Leads.
    Leader,
    /// Follows.
    Follower,
    /// Running for election.
    Candidate,
    /// Catching up, not voting.
    Learner,
    /// Stopping.
    Shutdown,
}

/// A replicating node's view of its cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReplicationState {
    /// This node's Raft ID.
    pub node_id: u64,
    /// Its partner (hex loyalty ID).
    pub member: String,
    /// Its role.
    pub state: RaftState,
    /// Current term.
    pub term: u64,
    /// The leader it knows.
    pub leader: Option<u64>,
    /// Last log index.
    pub last_log_index: Option<u64>,
    /// Last applied index.
    pub last_applied_index: Option<u64>,
    /// Last snapshot's index.
    pub snapshot_index: Option<u64>,
    /// Last purged index.
    pub purged_index: Option<u64>,
    /// Voting nodes.
    pub voters: Vec<Replica>,
    /// Learners.
    pub learners: Vec<Replica>,
    /// Snapshots this node installed.
    pub snapshots_installed: u64,
    /// Node-to-node messages refused.
    pub messages_rejected: u64,
    /// Replicated blocks refused.
    pub blocks_refused: u64,
}

/// `{"enabled": false}` on a node running alone, or its cluster view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Replication {
    /// Whether the node replicates.
    pub enabled: bool,
    /// Its view, when it does.
    #[serde(flatten)]
    pub state: Option<ReplicationState>,
}

// By hand: serde's derive reads a flattened `Option` that fails to parse
// as `None`, so `{"enabled": true}` with a broken state would read as a
// node running alone. Here `enabled` decides the shape and a replicating
// node's state must parse.
impl<'de> Deserialize<'de> for Replication {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        let enabled = value
            .get("enabled")
            .ok_or_else(|| D::Error::missing_field("enabled"))?
            .as_bool()
            .ok_or_else(|| D::Error::custom("enabled: expected a boolean"))?;
        let state = if enabled {
            Some(ReplicationState::deserialize(value).map_err(D::Error::custom)?)
        } else {
            None
        };
        Ok(Replication { enabled, state })
    }
}

// By hand: utoipa documents a flattened `Option` as "null or the state"
// for the whole object, which `{"enabled": false}` does not match. The
// answer is one of two shapes, and the schema says exactly that.
impl PartialSchema for Replication {
    fn schema() -> RefOr<Schema> {
        let enabled = |value: bool, description: &str| {
            ObjectBuilder::new()
                .property(
                    "enabled",
                    ObjectBuilder::new()
                        .schema_type(SchemaType::new(Type::Boolean))
                        .enum_values(Some([value])),
                )
                .required("enabled")
                .description(Some(description))
        };
        OneOfBuilder::new()
            .item(
                enabled(false, "A node running alone")
                    .additional_properties(Some(AdditionalProperties::FreeForm(false))),
            )
            .item(
                AllOfBuilder::new()
                    .item(enabled(true, "A replicating node"))
                    .item(Ref::from_schema_name(ReplicationState::name())),
            )
            .into()
    }
}

impl ToSchema for Replication {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            ReplicationState::name().into_owned(),
            ReplicationState::schema(),
        ));
        ReplicationState::schemas(schemas);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> ReplicationState {
        ReplicationState {
            node_id: 1,
            member: "aa".into(),
            state: RaftState::Leader,
            term: 2,
            leader: Some(1),
            last_log_index: Some(3),
            last_applied_index: Some(3),
            snapshot_index: None,
            purged_index: None,
            voters: vec![],
            learners: vec![],
            snapshots_installed: 0,
            messages_rejected: 0,
            blocks_refused: 0,
        }
    }

    #[test]
    fn both_shapes_round_trip() {
        for answer in [
            Replication {
                enabled: false,
                state: None,
            },
            Replication {
                enabled: true,
                state: Some(state()),
            },
        ] {
            let text = serde_json::to_string(&answer).unwrap();
            assert_eq!(serde_json::from_str::<Replication>(&text).unwrap(), answer);
        }
    }

    #[test]
    fn a_broken_state_is_an_error_not_a_lone_node() {
        let mut value = serde_json::to_value(Replication {
            enabled: true,
            state: Some(state()),
        })
        .unwrap();
        value["term"] = "two".into();
        let error = serde_json::from_value::<Replication>(value).unwrap_err();
        assert!(error.to_string().contains("term") || error.to_string().contains("u64"));
        // A replicating node with no state at all, and no `enabled`.
        assert!(serde_json::from_str::<Replication>(r#"{"enabled": true}"#).is_err());
        assert!(serde_json::from_str::<Replication>(r#"{"term": 2}"#).is_err());
        assert!(serde_json::from_str::<Replication>(r#"{"enabled": "yes"}"#).is_err());
    }
}
