-- Wrong security answers get a count and a wait of their own (SECURITY.md
-- S44), besides the account's count they add to: only the right answers
-- or a complete sign-in clear it, so nothing a password alone can do
-- resets the guessing of answers.
ALTER TABLE users ADD COLUMN answer_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN answer_blocked_until BIGINT NOT NULL DEFAULT 0;
