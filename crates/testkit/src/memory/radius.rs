//! The RADIUS port on the fake: clients and Access-Challenge states.

use std::collections::{BTreeMap, HashMap};

use latchkey_core::radius::{NewRadiusClient, NewRadiusState, RadiusClient, RadiusStore};
use latchkey_core::*;

use super::{MemoryStore, conflict, missing};

/// RADIUS clients by id, and states by their hash.
#[derive(Default)]
pub(super) struct RadiusState {
    clients: BTreeMap<i64, RadiusClient>,
    states: HashMap<Vec<u8>, NewRadiusState>,
}

impl RadiusStore for MemoryStore {
    async fn insert_radius_client(
        &self,
        client: NewRadiusClient,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        let mut s = self.lock();
        if s.radius.clients.values().any(|c| c.name == client.name) {
            return Err(conflict("RADIUS client name"));
        }
        let id = s.new_id();
        s.radius.clients.insert(
            id,
            RadiusClient {
                id,
                name: client.name,
                address: client.address,
                mode: client.mode,
                sealed_secret: client.sealed_secret,
                require_message_authenticator: client.require_message_authenticator,
                created_at: client.created_at,
            },
        );
        s.append(event);
        Ok(id)
    }

    async fn radius_clients(&self) -> StoreResult<Vec<RadiusClient>> {
        let s = self.lock();
        let mut clients: Vec<RadiusClient> = s.radius.clients.values().cloned().collect();
        clients.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(clients)
    }

    async fn remove_radius_client(&self, name: &str, event: AuditEvent) -> StoreResult<bool> {
        let mut s = self.lock();
        let Some(id) = s
            .radius
            .clients
            .values()
            .find(|c| c.name == name)
            .map(|c| c.id)
        else {
            return Ok(false);
        };
        s.radius.clients.remove(&id);
        // ON DELETE CASCADE.
        s.radius.states.retain(|_, state| state.client_id != id);
        s.append(event);
        Ok(true)
    }

    async fn insert_radius_state(
        &self,
        state: NewRadiusState,
        now: i64,
        event: AuditEvent,
    ) -> StoreResult<()> {
        let mut s = self.lock();
        if !s.radius.clients.contains_key(&state.client_id) {
            return Err(missing("RADIUS client"));
        }
        if !s.users.contains_key(&state.user_id) {
            return Err(missing("user"));
        }
        s.radius.states.retain(|_, old| old.expires_at > now);
        if s.radius.states.contains_key(&state.state_hash) {
            return Err(conflict("RADIUS state"));
        }
        s.radius.states.insert(state.state_hash.clone(), state);
        s.append(event);
        Ok(())
    }

    async fn take_radius_state(
        &self,
        state_hash: Vec<u8>,
        client_id: i64,
        now: i64,
    ) -> StoreResult<Option<i64>> {
        let mut s = self.lock();
        let usable = s
            .radius
            .states
            .get(&state_hash)
            .is_some_and(|state| state.client_id == client_id && state.expires_at > now);
        Ok(if usable {
            s.radius
                .states
                .remove(&state_hash)
                .map(|state| state.user_id)
        } else {
            None
        })
    }
}
