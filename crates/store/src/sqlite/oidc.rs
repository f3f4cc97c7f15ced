//! The OpenID provider's clients, keys, held requests, grants, codes and
//! tokens on SQLite.

use latchkey_core::oidc::{
    CodeUse, HeldAuthorization, NewOidcClient, NewOidcCode, NewOidcGrant, NewOidcKey, NewOidcToken,
    OidcClient, OidcGrant, OidcKey, OidcStore, RefreshUse,
};
use latchkey_core::*;
use rusqlite::{OptionalExtension, Row, params};

use super::{Batch, SqliteStore, append_in, get, parse, query_all, query_one, update_and_audit};
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

fn oidc_client_from(row: &Row<'_>) -> StoreResult<OidcClient> {
    Ok(OidcClient {
        id: get(row, 0)?,
        name: get(row, 1)?,
        client_id: get(row, 2)?,
        sealed_secret: get(row, 3)?,
        redirect_uris: uri_list(get(row, 4)?),
        post_logout_uris: uri_list(get(row, 5)?),
        id_token_algorithm: parse(get(row, 6)?, "OIDC signing algorithm")?,
        created_at: get(row, 7)?,
    })
}

fn oidc_key_from(row: &Row<'_>) -> StoreResult<OidcKey> {
    Ok(OidcKey {
        id: get(row, 0)?,
        kid: get(row, 1)?,
        algorithm: parse(get(row, 2)?, "OIDC signing algorithm")?,
        sealed_private_key: get(row, 3)?,
        public_jwk: get(row, 4)?,
        created_at: get(row, 5)?,
        signs_from: get(row, 6)?,
    })
}

fn oidc_grant_from(row: &Row<'_>) -> rusqlite::Result<OidcGrant> {
    Ok(OidcGrant {
        id: row.get(0)?,
        client_id: row.get(1)?,
        user_id: row.get(2)?,
        scope: row.get(3)?,
        nonce: row.get(4)?,
        sid: row.get(5)?,
        auth_time: row.get(6)?,
        revoked: row.get(7)?,
        created_at: row.get(8)?,
    })
}

fn grant_in(tx: &Batch<'_>, id: i64) -> rusqlite::Result<OidcGrant> {
    tx.prepare_cached(OIDC_GRANT_BY_ID.sqlite())?
        .query_row(params![id], oidc_grant_from)
}

impl OidcStore for SqliteStore {
    async fn insert_oidc_client(
        &self,
        client: NewOidcClient,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        self.write(move |tx| {
            let id: i64 = tx.prepare_cached(INSERT_OIDC_CLIENT.sqlite())?.query_row(
                params![
                    client.name,
                    client.client_id,
                    client.sealed_secret,
                    uri_lines(&client.redirect_uris),
                    uri_lines(&client.post_logout_uris),
                    client.id_token_algorithm.as_str(),
                    client.created_at,
                ],
                |row| row.get(0),
            )?;
            append_in(tx, &event)?;
            Ok(id)
        })
        .await
    }

    async fn oidc_clients(&self) -> StoreResult<Vec<OidcClient>> {
        self.read(|conn| query_all(conn, LIST_OIDC_CLIENTS.sqlite(), [], oidc_client_from))
            .await
    }

    async fn oidc_client(&self, client_id: &str) -> StoreResult<Option<OidcClient>> {
        let client_id = client_id.to_owned();
        self.read(move |conn| {
            query_one(
                conn,
                OIDC_CLIENT_BY_CLIENT_ID.sqlite(),
                [client_id],
                oidc_client_from,
            )
        })
        .await
    }

    async fn remove_oidc_client(&self, name: &str, event: AuditEvent) -> StoreResult<bool> {
        let name = name.to_owned();
        self.write(move |tx| update_and_audit(tx, DELETE_OIDC_CLIENT.sqlite(), [name], &event))
            .await
    }

    async fn insert_oidc_key(&self, key: NewOidcKey, event: AuditEvent) -> StoreResult<i64> {
        self.write(move |tx| {
            let id: i64 = tx.prepare_cached(INSERT_OIDC_KEY.sqlite())?.query_row(
                params![
                    key.kid,
                    key.algorithm.as_str(),
                    key.sealed_private_key,
                    key.public_jwk,
                    key.created_at,
                    key.signs_from,
                ],
                |row| row.get(0),
            )?;
            append_in(tx, &event)?;
            Ok(id)
        })
        .await
    }

    async fn oidc_keys(&self) -> StoreResult<Vec<OidcKey>> {
        self.read(|conn| query_all(conn, LIST_OIDC_KEYS.sqlite(), [], oidc_key_from))
            .await
    }

    async fn delete_oidc_key(&self, id: i64) -> StoreResult<()> {
        self.write(move |tx| {
            tx.prepare_cached(DELETE_OIDC_KEY.sqlite())?
                .execute(params![id])?;
            Ok(())
        })
        .await
    }

    async fn insert_oidc_request(
        &self,
        request_hash: Vec<u8>,
        request: HeldAuthorization,
        now: i64,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            tx.prepare_cached(DELETE_EXPIRED_OIDC_REQUESTS.sqlite())?
                .execute(params![now])?;
            tx.prepare_cached(INSERT_OIDC_REQUEST.sqlite())?
                .execute(params![
                    request_hash,
                    request.client_id,
                    request.redirect_uri,
                    request.scope,
                    request.state,
                    request.nonce,
                    request.code_challenge,
                    request.signed_in_after,
                    request.expires_at,
                ])?;
            Ok(())
        })
        .await
    }

    async fn take_oidc_request(
        &self,
        request_hash: Vec<u8>,
        now: i64,
    ) -> StoreResult<Option<HeldAuthorization>> {
        self.write(move |tx| {
            tx.prepare_cached(TAKE_OIDC_REQUEST.sqlite())?
                .query_row(params![request_hash, now], |row| {
                    Ok(HeldAuthorization {
                        client_id: row.get(0)?,
                        redirect_uri: row.get(1)?,
                        scope: row.get(2)?,
                        state: row.get(3)?,
                        nonce: row.get(4)?,
                        code_challenge: row.get(5)?,
                        signed_in_after: row.get(6)?,
                        expires_at: row.get(7)?,
                    })
                })
                .optional()
        })
        .await
    }

    async fn insert_oidc_grant(
        &self,
        grant: NewOidcGrant,
        code: NewOidcCode,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        self.write(move |tx| {
            let id: i64 = tx.prepare_cached(INSERT_OIDC_GRANT.sqlite())?.query_row(
                params![
                    grant.client_id,
                    grant.user_id,
                    grant.scope,
                    grant.nonce,
                    grant.sid,
                    grant.auth_time,
                    grant.created_at,
                ],
                |row| row.get(0),
            )?;
            tx.prepare_cached(INSERT_OIDC_CODE.sqlite())?
                .execute(params![
                    code.code_hash,
                    id,
                    code.redirect_uri,
                    code.code_challenge,
                    code.expires_at,
                ])?;
            append_in(tx, &event)?;
            Ok(id)
        })
        .await
    }

    async fn use_oidc_code(&self, code_hash: Vec<u8>, reuse: AuditEvent) -> StoreResult<CodeUse> {
        self.write(move |tx| {
            let first = tx
                .prepare_cached(USE_OIDC_CODE.sqlite())?
                .query_row(params![code_hash], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, i64>(3)?,
                    ))
                })
                .optional()?;
            if let Some((grant_id, redirect_uri, code_challenge, expires_at)) = first {
                return Ok(CodeUse::First {
                    grant: grant_in(tx, grant_id)?,
                    redirect_uri,
                    code_challenge,
                    expires_at,
                });
            }
            let used: Option<i64> = tx
                .prepare_cached(OIDC_CODE_GRANT.sqlite())?
                .query_row(params![code_hash], |row| row.get(0))
                .optional()?;
            match used {
                Some(grant_id) => {
                    tx.prepare_cached(REVOKE_OIDC_GRANT.sqlite())?
                        .execute(params![grant_id])?;
                    append_in(tx, &reuse)?;
                    Ok(CodeUse::Again)
                }
                None => Ok(CodeUse::Unknown),
            }
        })
        .await
    }

    async fn insert_oidc_tokens(
        &self,
        grant_id: i64,
        tokens: Vec<NewOidcToken>,
        event: AuditEvent,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            for token in tokens {
                tx.prepare_cached(INSERT_OIDC_TOKEN.sqlite())?
                    .execute(params![
                        token.token_hash,
                        grant_id,
                        token.kind.as_str(),
                        token.expires_at,
                    ])?;
            }
            append_in(tx, &event)
        })
        .await
    }

    async fn use_oidc_refresh_token(
        &self,
        token_hash: Vec<u8>,
        client_id: i64,
        now: i64,
        reuse: AuditEvent,
    ) -> StoreResult<RefreshUse> {
        self.write(move |tx| {
            let first: Option<i64> = tx
                .prepare_cached(USE_OIDC_REFRESH_TOKEN.sqlite())?
                .query_row(params![token_hash, client_id, now], |row| row.get(0))
                .optional()?;
            if let Some(grant_id) = first {
                return Ok(RefreshUse::First(grant_in(tx, grant_id)?));
            }
            let used: Option<i64> = tx
                .prepare_cached(USED_OIDC_REFRESH_GRANT.sqlite())?
                .query_row(params![token_hash, client_id], |row| row.get(0))
                .optional()?;
            match used {
                Some(grant_id) => {
                    tx.prepare_cached(REVOKE_OIDC_GRANT.sqlite())?
                        .execute(params![grant_id])?;
                    append_in(tx, &reuse)?;
                    Ok(RefreshUse::Again)
                }
                None => Ok(RefreshUse::Unknown),
            }
        })
        .await
    }

    async fn oidc_access_grant(
        &self,
        token_hash: Vec<u8>,
        now: i64,
    ) -> StoreResult<Option<OidcGrant>> {
        self.read(move |conn| {
            query_one(
                conn,
                OIDC_ACCESS_GRANT.sqlite(),
                params![token_hash, now],
                |row| oidc_grant_from(row).map_err(super::fail),
            )
        })
        .await
    }

    async fn revoke_oidc_token(
        &self,
        token_hash: Vec<u8>,
        client_id: i64,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            let found: Option<(String, i64)> = tx
                .prepare_cached(OIDC_TOKEN_OF_CLIENT.sqlite())?
                .query_row(params![token_hash, client_id], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .optional()?;
            let Some((kind, grant_id)) = found else {
                return Ok(false);
            };
            if kind == "refresh" {
                tx.prepare_cached(REVOKE_OIDC_GRANT.sqlite())?
                    .execute(params![grant_id])?;
            } else {
                tx.prepare_cached(DELETE_OIDC_TOKEN.sqlite())?
                    .execute(params![token_hash])?;
            }
            append_in(tx, &event)?;
            Ok(true)
        })
        .await
    }

    async fn revoke_oidc_sign_in(&self, sid: String, event: AuditEvent) -> StoreResult<u64> {
        self.write(move |tx| {
            let revoked = tx
                .prepare_cached(REVOKE_OIDC_SIGN_IN.sqlite())?
                .execute(params![sid])?;
            append_in(tx, &event)?;
            Ok(revoked as u64)
        })
        .await
    }

    async fn end_oidc_sign_in(&self, sid: String, event: AuditEvent) -> StoreResult<u64> {
        self.write(move |tx| {
            let revoked = tx
                .prepare_cached(REVOKE_OIDC_SIGN_IN.sqlite())?
                .execute(params![sid])?;
            if revoked > 0 {
                append_in(tx, &event)?;
            }
            Ok(revoked as u64)
        })
        .await
    }
}
