-- A token's unlock secret is handed out once (SECURITY.md S45): each refresh
-- makes a new generation, and the newest two stay live so that a device
-- whose refresh reply was lost can still be answered. Generation 0 is the
-- secret the token was issued with, kept in tokens.sealed_unlock_secret;
-- this table holds generations 1 and on, each sealed bound to its token's
-- serial and its number. Older generations are deleted when they retire.
CREATE TABLE IF NOT EXISTS unlock_generations (
    token_id INTEGER NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
    generation INTEGER NOT NULL,
    sealed_secret BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (token_id, generation)
);
-- Successful refreshes are counted per serial from the audit log (their
-- rate limit), as failed ones are by audit_refresh_failures.
CREATE INDEX IF NOT EXISTS audit_refresh_successes ON audit(subject, at)
    WHERE action = 'token.refresh' AND outcome = 'success';
