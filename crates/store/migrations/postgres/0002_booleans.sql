-- Flags become real BOOLEAN columns (they were BIGINT 0/1, a common
-- denominator with SQLite that PostgreSQL does not need).
ALTER TABLE tokens ALTER COLUMN locked DROP DEFAULT;
ALTER TABLE tokens ALTER COLUMN locked TYPE BOOLEAN USING locked <> 0;
ALTER TABLE tokens ALTER COLUMN locked SET DEFAULT FALSE;
ALTER TABLE api_keys ALTER COLUMN revoked DROP DEFAULT;
ALTER TABLE api_keys ALTER COLUMN revoked TYPE BOOLEAN USING revoked <> 0;
ALTER TABLE api_keys ALTER COLUMN revoked SET DEFAULT FALSE;
ALTER TABLE security_questions ALTER COLUMN active DROP DEFAULT;
ALTER TABLE security_questions ALTER COLUMN active TYPE BOOLEAN USING active <> 0;
ALTER TABLE security_questions ALTER COLUMN active SET DEFAULT TRUE;
ALTER TABLE security_answers ALTER COLUMN asked DROP DEFAULT;
ALTER TABLE security_answers ALTER COLUMN asked TYPE BOOLEAN USING asked <> 0;
ALTER TABLE security_answers ALTER COLUMN asked SET DEFAULT FALSE;
ALTER TABLE password_resets ALTER COLUMN used DROP DEFAULT;
ALTER TABLE password_resets ALTER COLUMN used TYPE BOOLEAN USING used <> 0;
ALTER TABLE password_resets ALTER COLUMN used SET DEFAULT FALSE;
