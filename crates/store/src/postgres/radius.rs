//! RADIUS clients and Access-Challenge states on PostgreSQL.

use latchkey_core::radius::{NewRadiusClient, NewRadiusState, RadiusClient, RadiusStore};
use latchkey_core::*;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{PostgresStore, append_in, fail, parse};
use crate::queries::{
    DELETE_EXPIRED_RADIUS_STATES, DELETE_RADIUS_CLIENT, INSERT_RADIUS_CLIENT, INSERT_RADIUS_STATE,
    LIST_RADIUS_CLIENTS, TAKE_RADIUS_STATE,
};

fn radius_client_from(row: &PgRow) -> StoreResult<RadiusClient> {
    Ok(RadiusClient {
        id: row.try_get("id").map_err(fail)?,
        name: row.try_get("name").map_err(fail)?,
        address: row.try_get("address").map_err(fail)?,
        mode: parse(row.try_get("mode").map_err(fail)?, "RADIUS client mode")?,
        sealed_secret: row.try_get("sealed_secret").map_err(fail)?,
        require_message_authenticator: row
            .try_get("require_message_authenticator")
            .map_err(fail)?,
        created_at: row.try_get("created_at").map_err(fail)?,
    })
}

impl RadiusStore for PostgresStore {
    async fn insert_radius_client(
        &self,
        client: NewRadiusClient,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(INSERT_RADIUS_CLIENT.postgres())
            .bind(client.name)
            .bind(client.address)
            .bind(client.mode.as_str())
            .bind(client.sealed_secret)
            .bind(client.require_message_authenticator)
            .bind(client.created_at)
            .fetch_one(&mut *tx)
            .await
            .map_err(fail)?;
        let id: i64 = row.try_get(0).map_err(fail)?;
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)?;
        Ok(id)
    }

    async fn radius_clients(&self) -> StoreResult<Vec<RadiusClient>> {
        let rows = sqlx::query(LIST_RADIUS_CLIENTS.postgres())
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter().map(radius_client_from).collect()
    }

    async fn remove_radius_client(&self, name: &str, event: AuditEvent) -> StoreResult<bool> {
        self.update_and_audit(
            sqlx::query(DELETE_RADIUS_CLIENT.postgres()).bind(name.to_owned()),
            event,
        )
        .await
    }

    async fn insert_radius_state(
        &self,
        state: NewRadiusState,
        now: i64,
        event: AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(DELETE_EXPIRED_RADIUS_STATES.postgres())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        sqlx::query(INSERT_RADIUS_STATE.postgres())
            .bind(state.state_hash)
            .bind(state.client_id)
            .bind(state.user_id)
            .bind(state.expires_at)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)
    }

    async fn take_radius_state(
        &self,
        state_hash: Vec<u8>,
        client_id: i64,
        now: i64,
    ) -> StoreResult<Option<i64>> {
        let row = sqlx::query(TAKE_RADIUS_STATE.postgres())
            .bind(state_hash)
            .bind(client_id)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        row.map(|row| row.try_get::<i64, _>(0).map_err(fail))
            .transpose()
    }
}
