-- RADIUS clients (the NAS devices: VPN concentrators, firewalls, Wi-Fi
-- controllers), their shared secrets sealed with the master key, and the
-- Access-Challenge State values, stored by keyed hash, single use, bound to
-- the client and the user, so that any node may answer the second request.
CREATE TABLE radius_clients (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL,
    mode TEXT NOT NULL,
    sealed_secret BLOB NOT NULL,
    require_message_authenticator INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);
CREATE TABLE radius_states (
    state_hash BLOB PRIMARY KEY,
    client_id INTEGER NOT NULL REFERENCES radius_clients(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    expires_at INTEGER NOT NULL
);
CREATE INDEX radius_states_expiry ON radius_states(expires_at);
