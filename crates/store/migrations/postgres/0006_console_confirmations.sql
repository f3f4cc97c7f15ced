-- When a portal session last confirmed a destructive admin-console action
-- with a fresh OTP, so the console asks again only after a few minutes.
-- Apart from the sessions table, so reading a session is unchanged; a
-- confirmation ends with its session.
CREATE TABLE console_confirmations (
    session_hash BYTEA PRIMARY KEY REFERENCES sessions(id_hash) ON DELETE CASCADE,
    confirmed_at BIGINT NOT NULL
);
