-- The schema as it stood before versions were recorded, with IF NOT EXISTS
-- throughout: a database made then is adopted by this file unchanged and
-- recorded at version 1. Never edit an applied migration; add the next one.
CREATE TABLE IF NOT EXISTS users (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    email TEXT,
    role TEXT NOT NULL,
    status TEXT NOT NULL,
    password_hash TEXT,
    password_failures BIGINT NOT NULL DEFAULT 0,
    password_blocked_until BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    id BIGSERIAL PRIMARY KEY,
    serial TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    digits BIGINT NOT NULL,
    period BIGINT NOT NULL,
    sealed_seed BYTEA NOT NULL,
    sealed_unlock_secret BYTEA,
    last_used BIGINT NOT NULL DEFAULT -1,
    drift BIGINT NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0,
    locked BIGINT NOT NULL DEFAULT 0,
    activation_hash BYTEA,
    activation_expires BIGINT NOT NULL DEFAULT 0,
    activation_failures BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS tokens_user ON tokens(user_id);
CREATE TABLE IF NOT EXISTS api_keys (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL UNIQUE,
    hash BYTEA NOT NULL,
    role TEXT NOT NULL,
    revoked BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    source TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL
);
-- Only issued unlock codes are ever counted (their per-token rate limit);
-- indexing every row would cost a random index page per accepted OTP.
DROP INDEX IF EXISTS audit_action_subject;
CREATE INDEX IF NOT EXISTS audit_unlock_issues ON audit(subject, at)
    WHERE action = 'unlock.issue' AND outcome = 'success';
CREATE TABLE IF NOT EXISTS audit_head (
    id BIGINT PRIMARY KEY,
    last_id BIGINT NOT NULL,
    last_hash BYTEA NOT NULL
);
INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, 0, decode(repeat('00', 32), 'hex')) ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS sessions (
    id_hash BYTEA PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    stage TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
CREATE TABLE IF NOT EXISTS security_questions (
    id BIGSERIAL PRIMARY KEY,
    text TEXT NOT NULL UNIQUE,
    active BIGINT NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS security_answers (
    user_id BIGINT NOT NULL REFERENCES users(id),
    question_id BIGINT NOT NULL REFERENCES security_questions(id),
    answer_hash TEXT NOT NULL,
    asked BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, question_id)
);
CREATE TABLE IF NOT EXISTS password_resets (
    token_hash BYTEA PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS password_resets_user ON password_resets(user_id, created_at);
INSERT INTO security_questions (text) VALUES ('What was the name of your first pet?') ON CONFLICT (text) DO NOTHING;
INSERT INTO security_questions (text) VALUES ('In which town or city did your parents meet?') ON CONFLICT (text) DO NOTHING;
INSERT INTO security_questions (text) VALUES ('What was the first name of your childhood best friend?') ON CONFLICT (text) DO NOTHING;
INSERT INTO security_questions (text) VALUES ('What was the make of your first car or bicycle?') ON CONFLICT (text) DO NOTHING;
INSERT INTO security_questions (text) VALUES ('What is the name of the street you grew up on?') ON CONFLICT (text) DO NOTHING;
INSERT INTO security_questions (text) VALUES ('What was the name of your first school?') ON CONFLICT (text) DO NOTHING;
INSERT INTO security_questions (text) VALUES ('In which town or city was your first job?') ON CONFLICT (text) DO NOTHING;
INSERT INTO security_questions (text) VALUES ('What is your oldest cousin''s first name?') ON CONFLICT (text) DO NOTHING;
INSERT INTO security_questions (text) VALUES ('What was the first concert you went to?') ON CONFLICT (text) DO NOTHING;
INSERT INTO security_questions (text) VALUES ('What is the middle name of your oldest sibling?') ON CONFLICT (text) DO NOTHING;
