-- Wrong passwords are counted per account AND per client address
-- (SECURITY.md S47): the address that floods an account waits on its own
-- count, and only its first few failures add to the account's count, so a
-- stranger's flood from one address does not stop the owner elsewhere. A
-- complete sign-in, or the help desk, clears the account's rows.
CREATE TABLE password_source_failures (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    blocked_until INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, source)
);
