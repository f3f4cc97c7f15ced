//! The OpenID provider's clients, keys, held requests, grants, codes and
//! tokens on PostgreSQL.

use latchkey_core::oidc::{
    CodeUse, HeldAuthorization, NewOidcClient, NewOidcCode, NewOidcGrant, NewOidcKey, NewOidcToken,
    OidcClient, OidcGrant, OidcKey, OidcStore, RefreshUse,
};
use latchkey_core::*;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row, Transaction};

use super::{PostgresStore, append_in, fail, parse};
use crate::queries::*;

/// Redirect URIs are kept one a line: a URI holds no line break.
fn uri_lines(uris: &[String]) -> String {
    uris.join("\n")
}

fn uri_list(text: String) -> Vec<String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn oidc_client_from(row: &PgRow) -> StoreResult<OidcClient> {
    Ok(OidcClient {
        id: row.try_get("id").map_err(fail)?,
        name: row.try_get("name").map_err(fail)?,
        client_id: row.try_get("client_id").map_err(fail)?,
        sealed_secret: row.try_get("sealed_secret").map_err(fail)?,
        redirect_uris: uri_list(row.try_get("redirect_uris").map_err(fail)?),
        post_logout_uris: uri_list(row.try_get("post_logout_uris").map_err(fail)?),
        id_token_algorithm: parse(
            row.try_get("id_token_algorithm").map_err(fail)?,
            "OIDC signing algorithm",
        )?,
        created_at: row.try_get("created_at").map_err(fail)?,
    })
}

fn oidc_key_from(row: &PgRow) -> StoreResult<OidcKey> {
    Ok(OidcKey {
        id: row.try_get("id").map_err(fail)?,
        kid: row.try_get("kid").map_err(fail)?,
        algorithm: parse(
            row.try_get("algorithm").map_err(fail)?,
            "OIDC signing algorithm",
        )?,
        sealed_private_key: row.try_get("sealed_private_key").map_err(fail)?,
        public_jwk: row.try_get("public_jwk").map_err(fail)?,
        created_at: row.try_get("created_at").map_err(fail)?,
        signs_from: row.try_get("signs_from").map_err(fail)?,
    })
}

fn oidc_grant_from(row: &PgRow) -> StoreResult<OidcGrant> {
    Ok(OidcGrant {
        id: row.try_get("id").map_err(fail)?,
        client_id: row.try_get("client_id").map_err(fail)?,
        user_id: row.try_get("user_id").map_err(fail)?,
        scope: row.try_get("scope").map_err(fail)?,
        nonce: row.try_get("nonce").map_err(fail)?,
        sid: row.try_get("sid").map_err(fail)?,
        auth_time: row.try_get("auth_time").map_err(fail)?,
        revoked: row.try_get("revoked").map_err(fail)?,
        created_at: row.try_get("created_at").map_err(fail)?,
    })
}

async fn grant_in(tx: &mut Transaction<'static, Postgres>, id: i64) -> StoreResult<OidcGrant> {
    let row = sqlx::query(OIDC_GRANT_BY_ID.postgres())
        .bind(id)
        .fetch_one(&mut **tx)
        .await
        .map_err(fail)?;
    oidc_grant_from(&row)
}

async fn revoke_grant_in(tx: &mut Transaction<'static, Postgres>, id: i64) -> StoreResult<()> {
    sqlx::query(REVOKE_OIDC_GRANT.postgres())
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(fail)?;
    Ok(())
}

impl OidcStore for PostgresStore {
    async fn insert_oidc_client(
        &self,
        client: NewOidcClient,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(INSERT_OIDC_CLIENT.postgres())
            .bind(client.name)
            .bind(client.client_id)
            .bind(client.sealed_secret)
            .bind(uri_lines(&client.redirect_uris))
            .bind(uri_lines(&client.post_logout_uris))
            .bind(client.id_token_algorithm.as_str())
            .bind(client.created_at)
            .fetch_one(&mut *tx)
            .await
            .map_err(fail)?;
        let id: i64 = row.try_get(0).map_err(fail)?;
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)?;
        Ok(id)
    }

    async fn oidc_clients(&self) -> StoreResult<Vec<OidcClient>> {
        let rows = sqlx::query(LIST_OIDC_CLIENTS.postgres())
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter().map(oidc_client_from).collect()
    }

    async fn oidc_client(&self, client_id: &str) -> StoreResult<Option<OidcClient>> {
        sqlx::query(OIDC_CLIENT_BY_CLIENT_ID.postgres())
            .bind(client_id.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?
            .as_ref()
            .map(oidc_client_from)
            .transpose()
    }

    async fn remove_oidc_client(&self, name: &str, event: AuditEvent) -> StoreResult<bool> {
        self.update_and_audit(
            sqlx::query(DELETE_OIDC_CLIENT.postgres()).bind(name.to_owned()),
            event,
        )
        .await
    }

    async fn insert_oidc_key(&self, key: NewOidcKey, event: AuditEvent) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(INSERT_OIDC_KEY.postgres())
            .bind(key.kid)
            .bind(key.algorithm.as_str())
            .bind(key.sealed_private_key)
            .bind(key.public_jwk)
            .bind(key.created_at)
            .bind(key.signs_from)
            .fetch_one(&mut *tx)
            .await
            .map_err(fail)?;
        let id: i64 = row.try_get(0).map_err(fail)?;
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)?;
        Ok(id)
    }

    async fn oidc_keys(&self) -> StoreResult<Vec<OidcKey>> {
        let rows = sqlx::query(LIST_OIDC_KEYS.postgres())
            .fetch_all(&self.pool)
            .await
            .map_err(fail)?;
        rows.iter().map(oidc_key_from).collect()
    }

    async fn delete_oidc_key(&self, id: i64) -> StoreResult<()> {
        sqlx::query(DELETE_OIDC_KEY.postgres())
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(fail)?;
        Ok(())
    }

    async fn insert_oidc_request(
        &self,
        request_hash: Vec<u8>,
        request: HeldAuthorization,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(DELETE_EXPIRED_OIDC_REQUESTS.postgres())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        sqlx::query(INSERT_OIDC_REQUEST.postgres())
            .bind(request_hash)
            .bind(request.client_id)
            .bind(request.redirect_uri)
            .bind(request.scope)
            .bind(request.state)
            .bind(request.nonce)
            .bind(request.code_challenge)
            .bind(request.signed_in_after)
            .bind(request.expires_at)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)
    }

    async fn take_oidc_request(
        &self,
        request_hash: Vec<u8>,
        now: i64,
    ) -> StoreResult<Option<HeldAuthorization>> {
        let row = sqlx::query(TAKE_OIDC_REQUEST.postgres())
            .bind(request_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?;
        row.map(|row| {
            Ok(HeldAuthorization {
                client_id: row.try_get("client_id").map_err(fail)?,
                redirect_uri: row.try_get("redirect_uri").map_err(fail)?,
                scope: row.try_get("scope").map_err(fail)?,
                state: row.try_get("state").map_err(fail)?,
                nonce: row.try_get("nonce").map_err(fail)?,
                code_challenge: row.try_get("code_challenge").map_err(fail)?,
                signed_in_after: row.try_get("signed_in_after").map_err(fail)?,
                expires_at: row.try_get("expires_at").map_err(fail)?,
            })
        })
        .transpose()
    }

    async fn insert_oidc_grant(
        &self,
        grant: NewOidcGrant,
        code: NewOidcCode,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let row = sqlx::query(INSERT_OIDC_GRANT.postgres())
            .bind(grant.client_id)
            .bind(grant.user_id)
            .bind(grant.scope)
            .bind(grant.nonce)
            .bind(grant.sid)
            .bind(grant.auth_time)
            .bind(grant.created_at)
            .fetch_one(&mut *tx)
            .await
            .map_err(fail)?;
        let id: i64 = row.try_get(0).map_err(fail)?;
        sqlx::query(INSERT_OIDC_CODE.postgres())
            .bind(code.code_hash)
            .bind(id)
            .bind(code.redirect_uri)
            .bind(code.code_challenge)
            .bind(code.expires_at)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)?;
        Ok(id)
    }

    async fn use_oidc_code(&self, code_hash: Vec<u8>, reuse: AuditEvent) -> StoreResult<CodeUse> {
        let mut tx = self.begin().await?;
        let first = sqlx::query(USE_OIDC_CODE.postgres())
            .bind(code_hash.clone())
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail)?;
        let found = if let Some(row) = first {
            let grant_id: i64 = row.try_get("grant_id").map_err(fail)?;
            CodeUse::First {
                grant: grant_in(&mut tx, grant_id).await?,
                redirect_uri: row.try_get("redirect_uri").map_err(fail)?,
                code_challenge: row.try_get("code_challenge").map_err(fail)?,
                expires_at: row.try_get("expires_at").map_err(fail)?,
            }
        } else {
            let used = sqlx::query(OIDC_CODE_GRANT.postgres())
                .bind(code_hash)
                .fetch_optional(&mut *tx)
                .await
                .map_err(fail)?;
            match used {
                Some(row) => {
                    revoke_grant_in(&mut tx, row.try_get(0).map_err(fail)?).await?;
                    append_in(&mut tx, &reuse).await?;
                    CodeUse::Again
                }
                None => CodeUse::Unknown,
            }
        };
        tx.commit().await.map_err(fail)?;
        Ok(found)
    }

    async fn insert_oidc_tokens(
        &self,
        grant_id: i64,
        tokens: Vec<NewOidcToken>,
        event: AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for token in tokens {
            sqlx::query(INSERT_OIDC_TOKEN.postgres())
                .bind(token.token_hash)
                .bind(grant_id)
                .bind(token.kind.as_str())
                .bind(token.expires_at)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)
    }

    async fn use_oidc_refresh_token(
        &self,
        token_hash: Vec<u8>,
        client_id: i64,
        now: i64,
        reuse: AuditEvent,
    ) -> StoreResult<RefreshUse> {
        let mut tx = self.begin().await?;
        let first = sqlx::query(USE_OIDC_REFRESH_TOKEN.postgres())
            .bind(token_hash.clone())
            .bind(client_id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail)?;
        let found = if let Some(row) = first {
            RefreshUse::First(grant_in(&mut tx, row.try_get(0).map_err(fail)?).await?)
        } else {
            let used = sqlx::query(USED_OIDC_REFRESH_GRANT.postgres())
                .bind(token_hash)
                .bind(client_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(fail)?;
            match used {
                Some(row) => {
                    revoke_grant_in(&mut tx, row.try_get(0).map_err(fail)?).await?;
                    append_in(&mut tx, &reuse).await?;
                    RefreshUse::Again
                }
                None => RefreshUse::Unknown,
            }
        };
        tx.commit().await.map_err(fail)?;
        Ok(found)
    }

    async fn oidc_access_grant(
        &self,
        token_hash: Vec<u8>,
        now: i64,
    ) -> StoreResult<Option<OidcGrant>> {
        sqlx::query(OIDC_ACCESS_GRANT.postgres())
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(fail)?
            .as_ref()
            .map(oidc_grant_from)
            .transpose()
    }

    async fn revoke_oidc_token(
        &self,
        token_hash: Vec<u8>,
        client_id: i64,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let found = sqlx::query(OIDC_TOKEN_OF_CLIENT.postgres())
            .bind(token_hash.clone())
            .bind(client_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail)?;
        let Some(row) = found else {
            tx.rollback().await.map_err(fail)?;
            return Ok(false);
        };
        let kind: String = row.try_get(0).map_err(fail)?;
        let grant_id: i64 = row.try_get(1).map_err(fail)?;
        if kind == "refresh" {
            revoke_grant_in(&mut tx, grant_id).await?;
        } else {
            sqlx::query(DELETE_OIDC_TOKEN.postgres())
                .bind(token_hash)
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
        }
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)?;
        Ok(true)
    }

    async fn revoke_oidc_sign_in(&self, sid: String, event: AuditEvent) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let revoked = sqlx::query(REVOKE_OIDC_SIGN_IN.postgres())
            .bind(sid)
            .execute(&mut *tx)
            .await
            .map_err(fail)?
            .rows_affected();
        append_in(&mut tx, &event).await?;
        tx.commit().await.map_err(fail)?;
        Ok(revoked)
    }

    async fn end_oidc_sign_in(&self, sid: String, event: AuditEvent) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let revoked = sqlx::query(REVOKE_OIDC_SIGN_IN.postgres())
            .bind(sid)
            .execute(&mut *tx)
            .await
            .map_err(fail)?
            .rows_affected();
        if revoked > 0 {
            append_in(&mut tx, &event).await?;
        }
        tx.commit().await.map_err(fail)?;
        Ok(revoked)
    }
}
