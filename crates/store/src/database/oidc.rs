//! The OpenID provider's port, handed to the backend.

use latchkey_core::oidc::{
    CodeUse, HeldAuthorization, NewOidcClient, NewOidcCode, NewOidcGrant, NewOidcKey, NewOidcToken,
    OidcClient, OidcGrant, OidcKey, OidcStore, RefreshUse,
};
use latchkey_core::*;

use super::Database;

impl OidcStore for Database {
    async fn insert_oidc_client(
        &self,
        client: NewOidcClient,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        delegate!(self, s => s.insert_oidc_client(client, event))
    }
    async fn oidc_clients(&self) -> StoreResult<Vec<OidcClient>> {
        delegate!(self, s => s.oidc_clients())
    }
    async fn oidc_client(&self, client_id: &str) -> StoreResult<Option<OidcClient>> {
        delegate!(self, s => s.oidc_client(client_id))
    }
    async fn remove_oidc_client(&self, name: &str, event: AuditEvent) -> StoreResult<bool> {
        delegate!(self, s => s.remove_oidc_client(name, event))
    }
    async fn insert_oidc_key(&self, key: NewOidcKey, event: AuditEvent) -> StoreResult<i64> {
        delegate!(self, s => s.insert_oidc_key(key, event))
    }
    async fn oidc_keys(&self) -> StoreResult<Vec<OidcKey>> {
        delegate!(self, s => s.oidc_keys())
    }
    async fn delete_oidc_key(&self, id: i64) -> StoreResult<()> {
        delegate!(self, s => s.delete_oidc_key(id))
    }
    async fn insert_oidc_request(
        &self,
        request_hash: Vec<u8>,
        request: HeldAuthorization,
        now: i64,
    ) -> StoreResult<()> {
        delegate!(self, s => s.insert_oidc_request(request_hash, request, now))
    }
    async fn take_oidc_request(
        &self,
        request_hash: Vec<u8>,
        now: i64,
    ) -> StoreResult<Option<HeldAuthorization>> {
        delegate!(self, s => s.take_oidc_request(request_hash, now))
    }
    async fn insert_oidc_grant(
        &self,
        grant: NewOidcGrant,
        code: NewOidcCode,
        event: AuditEvent,
    ) -> StoreResult<i64> {
        delegate!(self, s => s.insert_oidc_grant(grant, code, event))
    }
    async fn use_oidc_code(&self, code_hash: Vec<u8>, reuse: AuditEvent) -> StoreResult<CodeUse> {
        delegate!(self, s => s.use_oidc_code(code_hash, reuse))
    }
    async fn insert_oidc_tokens(
        &self,
        grant_id: i64,
        tokens: Vec<NewOidcToken>,
        event: AuditEvent,
    ) -> StoreResult<()> {
        delegate!(self, s => s.insert_oidc_tokens(grant_id, tokens, event))
    }
    async fn use_oidc_refresh_token(
        &self,
        token_hash: Vec<u8>,
        client_id: i64,
        now: i64,
        reuse: AuditEvent,
    ) -> StoreResult<RefreshUse> {
        delegate!(self, s => s.use_oidc_refresh_token(token_hash, client_id, now, reuse))
    }
    async fn oidc_access_grant(
        &self,
        token_hash: Vec<u8>,
        now: i64,
    ) -> StoreResult<Option<OidcGrant>> {
        delegate!(self, s => s.oidc_access_grant(token_hash, now))
    }
    async fn revoke_oidc_token(
        &self,
        token_hash: Vec<u8>,
        client_id: i64,
        event: AuditEvent,
    ) -> StoreResult<bool> {
        delegate!(self, s => s.revoke_oidc_token(token_hash, client_id, event))
    }
    async fn revoke_oidc_sign_in(&self, sid: String, event: AuditEvent) -> StoreResult<u64> {
        delegate!(self, s => s.revoke_oidc_sign_in(sid, event))
    }
    async fn end_oidc_sign_in(&self, sid: String, event: AuditEvent) -> StoreResult<u64> {
        delegate!(self, s => s.end_oidc_sign_in(sid, event))
    }
}
