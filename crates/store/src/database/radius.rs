//! The RADIUS port, handed to the backend.

use latchkey_core::radius::{NewRadiusClient, NewRadiusState, RadiusClient, RadiusStore};
use latchkey_core::*;

use super::Database;

impl RadiusStore for Database {
    async fn insert_radius_client(
        &self,
        client: NewRadiusClient,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        delegate!(self, s => s.insert_radius_client(client, event))
    }
    async fn radius_clients(&self) -> StoreResult<Vec<RadiusClient>> {
        delegate!(self, s => s.radius_clients())
    }
    async fn remove_radius_client(&self, name: &str, event: AuditEvent) -> StoreResult<bool> {
        delegate!(self, s => s.remove_radius_client(name, event))
    }
    async fn insert_radius_state(
        &self,
        state: NewRadiusState,
        now: i64,
        event: AuditEvent,
    ) -> StoreResult<()> {
        delegate!(self, s => s.insert_radius_state(state, now, event))
    }
    async fn take_radius_state(
        &self,
        state_hash: Vec<u8>,
        client_id: i64,
        now: i64,
    ) -> StoreResult<Option<i64>> {
        delegate!(self, s => s.take_radius_state(state_hash, client_id, now))
    }
}
