//! RADIUS clients and Access-Challenge states on SQLite.

use latchkey_core::radius::{NewRadiusClient, NewRadiusState, RadiusClient, RadiusStore};
use latchkey_core::*;
use rusqlite::{OptionalExtension, Row, params};

use super::{SqliteStore, append_in, get, parse, query_all, update_and_audit};
use crate::queries::{
    DELETE_EXPIRED_RADIUS_STATES, DELETE_RADIUS_CLIENT, INSERT_RADIUS_CLIENT, INSERT_RADIUS_STATE,
    LIST_RADIUS_CLIENTS, TAKE_RADIUS_STATE,
};

fn radius_client_from(row: &Row<'_>) -> StoreResult<RadiusClient> {
    Ok(RadiusClient {
        id: get(row, 0)?,
        name: get(row, 1)?,
        address: get(row, 2)?,
        mode: parse(get(row, 3)?, "RADIUS client mode")?,
        sealed_secret: get(row, 4)?,
        require_message_authenticator: get(row, 5)?,
        created_at: get(row, 6)?,
    })
}

impl RadiusStore for SqliteStore {
    async fn insert_radius_client(
        &self,
        client: NewRadiusClient,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        self.write(move |tx| {
            let id: i64 = tx
                .prepare_cached(INSERT_RADIUS_CLIENT.sqlite())?
                .query_row(
                    params![
                        client.name,
                        client.address,
                        client.mode.as_str(),
                        client.sealed_secret,
                        client.require_message_authenticator,
                        client.created_at,
                    ],
                    |row| row.get(0),
                )?;
            append_in(tx, &event)?;
            Ok(id)
        })
        .await
    }

    async fn radius_clients(&self) -> StoreResult<Vec<RadiusClient>> {
        self.read(|conn| query_all(conn, LIST_RADIUS_CLIENTS.sqlite(), [], radius_client_from))
            .await
    }

    async fn remove_radius_client(&self, name: &str, event: AuditEvent) -> StoreResult<bool> {
        let name = name.to_owned();
        self.write(move |tx| update_and_audit(tx, DELETE_RADIUS_CLIENT.sqlite(), [name], &event))
            .await
    }

    async fn insert_radius_state(
        &self,
        state: NewRadiusState,
        now: i64,
        event: AuditEvent,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            tx.prepare_cached(DELETE_EXPIRED_RADIUS_STATES.sqlite())?
                .execute(params![now])?;
            tx.prepare_cached(INSERT_RADIUS_STATE.sqlite())?
                .execute(params![
                    state.state_hash,
                    state.client_id,
                    state.user_id,
                    state.expires_at,
                ])?;
            append_in(tx, &event)
        })
        .await
    }

    async fn take_radius_state(
        &self,
        state_hash: Vec<u8>,
        client_id: i64,
        now: i64,
    ) -> StoreResult<Option<i64>> {
        self.write(move |tx| {
            tx.prepare_cached(TAKE_RADIUS_STATE.sqlite())?
                .query_row(params![state_hash, client_id, now], |row| row.get(0))
                .optional()
        })
        .await
    }
}
