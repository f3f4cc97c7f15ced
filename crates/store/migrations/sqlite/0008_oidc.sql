-- The OpenID Connect provider. Every row is what any node needs to serve
-- any step of a flow: clients (their secrets sealed with the master key,
-- their redirect URIs matched exactly), signing keys (private halves
-- sealed), the authorization requests waiting for a sign-in, and the
-- grants: one sign-in given to one client, the family that its code, its
-- access tokens and its rotating refresh tokens belong to. Codes and
-- tokens are stored by hash only; revoking a grant ends them all.
CREATE TABLE oidc_clients (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL UNIQUE,
    sealed_secret BLOB,
    redirect_uris TEXT NOT NULL,
    post_logout_uris TEXT NOT NULL,
    id_token_algorithm TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE oidc_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kid TEXT NOT NULL UNIQUE,
    algorithm TEXT NOT NULL,
    sealed_private_key BLOB NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    signs_from INTEGER NOT NULL
);
CREATE TABLE oidc_requests (
    request_hash BLOB PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES oidc_clients(id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    state TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT NOT NULL,
    signed_in_after INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX oidc_requests_expiry ON oidc_requests(expires_at);
CREATE TABLE oidc_grants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id INTEGER NOT NULL REFERENCES oidc_clients(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    scope TEXT NOT NULL,
    nonce TEXT,
    sid TEXT NOT NULL,
    auth_time INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX oidc_grants_sid ON oidc_grants(sid);
CREATE TABLE oidc_codes (
    code_hash BLOB PRIMARY KEY,
    grant_id INTEGER NOT NULL REFERENCES oidc_grants(id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE oidc_tokens (
    token_hash BLOB PRIMARY KEY,
    grant_id INTEGER NOT NULL REFERENCES oidc_grants(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX oidc_tokens_grant ON oidc_tokens(grant_id);
