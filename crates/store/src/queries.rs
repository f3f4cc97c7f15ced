//! Every statement both backends run, written once, in SQLite's numbered
//! form (`?1`); PostgreSQL runs the same text with `$1` (see
//! [`Statement::postgres`]). What stays backend-specific is engine work:
//! the SQLite writer's cached audit head, PostgreSQL's grouped audit insert
//! and its row locks (`FOR UPDATE`), the joins each backend decodes its own
//! way, and migrations.
//!
//! Flags are written `TRUE`/`FALSE`/`NOT x`: PostgreSQL's are `BOOLEAN`,
//! SQLite's the integers those keywords name.

use std::sync::LazyLock;

// Column lists as macros, so SQLite's queries are `concat!`-ed at compile
// time and its statement cache is hit without building a string per read.
// Given a table name ("users."), each column is qualified by it, for joins.
// SQLite decodes rows by position in this order; PostgreSQL by name.
macro_rules! columns {
    ($table:literal: $first:ident $(, $rest:ident)*) => {
        concat!($table, stringify!($first) $(, ", ", $table, stringify!($rest))*)
    };
}

macro_rules! user_columns {
    () => {
        user_columns!("")
    };
    ($table:literal) => {
        columns!($table: id, username, email, role, status, password_hash, created_at,
            password_failures, password_blocked_until, answer_failures, answer_blocked_until)
    };
}

macro_rules! token_columns {
    () => {
        token_columns!("")
    };
    ($table:literal) => {
        columns!($table: id, serial, user_id, kind, state, algorithm, digits, period, sealed_seed,
            sealed_unlock_secret, last_used, drift, failures, locked, activation_hash,
            activation_expires, activation_failures, created_at)
    };
}

macro_rules! stock_columns {
    () => {
        "id, serial, vendor_serial, kind, algorithm, digits, period, sealed_seed, last_used, drift, \
         created_at"
    };
}

macro_rules! api_key_columns {
    () => {
        "id, name, prefix, hash, role, revoked, created_at"
    };
}

macro_rules! audit_columns {
    () => {
        "id, at, actor, action, subject, source, outcome, detail, prev_hash, hash"
    };
}

macro_rules! oidc_client_columns {
    () => {
        "id, name, client_id, sealed_secret, redirect_uris, post_logout_uris, id_token_algorithm, \
         created_at"
    };
}

macro_rules! oidc_key_columns {
    () => {
        "id, kid, algorithm, sealed_private_key, public_jwk, created_at, signs_from"
    };
}

macro_rules! oidc_grant_columns {
    () => {
        oidc_grant_columns!("")
    };
    ($table:literal) => {
        columns!($table: id, client_id, user_id, scope, nonce, sid, auth_time, revoked, created_at)
    };
}

/// One statement's text for each backend.
pub(crate) struct Statement {
    sqlite: &'static str,
    postgres: LazyLock<String>,
}

impl Statement {
    /// The text as SQLite takes it.
    pub(crate) fn sqlite(&self) -> &'static str {
        self.sqlite
    }

    /// The text as PostgreSQL takes it, made once.
    pub(crate) fn postgres(&'static self) -> &'static str {
        &self.postgres
    }
}

/// `sql` with SQLite's numbered placeholders (`?1`) as PostgreSQL's (`$1`).
/// The statements here have no `?` inside a literal.
pub(crate) fn dollar_placeholders(sql: &str) -> String {
    sql.replace('?', "$")
}

macro_rules! statements {
    ($($(#[doc = $doc:literal])+ $name:ident = $sql:expr;)+) => {
        $(
            $(#[doc = $doc])+
            pub(crate) static $name: Statement = Statement {
                sqlite: $sql,
                postgres: LazyLock::new(|| dollar_placeholders($sql)),
            };
        )+

        /// Every statement, for the test that prepares each on both backends.
        #[cfg(test)]
        pub(crate) static ALL: &[(&str, &Statement)] = &[$((stringify!($name), &$name)),+];
    };
}

statements! {
    /// A new user; its id.
    INSERT_USER = "INSERT INTO users (username, email, role, status, password_hash, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id";
    /// The user with this name.
    USER_BY_NAME = concat!("SELECT ", user_columns!(), " FROM users WHERE username = ?1");
    /// The user with this id.
    USER_BY_ID = concat!("SELECT ", user_columns!(), " FROM users WHERE id = ?1");
    /// Every user, by name.
    LIST_USERS = concat!("SELECT ", user_columns!(), " FROM users ORDER BY username");
    /// Status `?1` for user `?2`.
    SET_USER_STATUS = "UPDATE users SET status = ?1 WHERE id = ?2";
    /// Password hash `?1` for user `?2`.
    SET_PASSWORD_HASH = "UPDATE users SET password_hash = ?1 WHERE id = ?2";
    /// One more wrong password; the count so far.
    COUNT_PASSWORD_FAILURE = "UPDATE users SET password_failures = password_failures + 1 \
         WHERE id = ?1 RETURNING password_failures";
    /// Until when user `?1` waits.
    SET_PASSWORD_BLOCKED_UNTIL = "UPDATE users SET password_blocked_until = ?2 WHERE id = ?1";
    /// One more wrong answer, on the account's count and the answers' own;
    /// both counts so far.
    COUNT_ANSWER_FAILURE = "UPDATE users SET password_failures = password_failures + 1, \
         answer_failures = answer_failures + 1 \
         WHERE id = ?1 RETURNING password_failures, answer_failures";
    /// Until when user `?1` waits for passwords (`?2`) and for answers (`?3`).
    SET_ANSWER_BLOCKED_UNTIL = "UPDATE users SET password_blocked_until = ?2, \
         answer_blocked_until = ?3 WHERE id = ?1";
    /// The right answers or a complete sign-in clear the wrong-answer count.
    CLEAR_ANSWER_FAILURES = "UPDATE users SET answer_failures = 0, answer_blocked_until = 0 \
         WHERE id = ?1 AND answer_failures > 0";
    /// A complete sign-in clears the wrong-password count.
    CLEAR_PASSWORD_FAILURES = "UPDATE users SET password_failures = 0, password_blocked_until = 0 \
         WHERE id = ?1 AND password_failures > 0";

    /// A new token; its id.
    INSERT_TOKEN = "INSERT INTO tokens (serial, user_id, kind, state, algorithm, digits, period, \
         sealed_seed, sealed_unlock_secret, activation_hash, activation_expires, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id";
    /// The token with this serial.
    TOKEN_BY_SERIAL = concat!("SELECT ", token_columns!(), " FROM tokens WHERE serial = ?1");
    /// A user's tokens, oldest first.
    TOKENS_OF_USER = concat!("SELECT ", token_columns!(), " FROM tokens WHERE user_id = ?1 ORDER BY id");
    /// Every token, oldest first.
    LIST_TOKENS = concat!("SELECT ", token_columns!(), " FROM tokens ORDER BY id");
    /// The activation code was right: the token is active.
    ACTIVATE_TOKEN = "UPDATE tokens SET state = 'active', activation_hash = NULL \
         WHERE id = ?1 AND state = 'new' AND activation_hash IS NOT NULL";
    /// One more wrong activation code; the code is void at limit `?2`.
    COUNT_ACTIVATION_FAILURE = "UPDATE tokens SET activation_failures = activation_failures + 1, \
         activation_hash = CASE WHEN activation_failures + 1 >= ?2 THEN NULL ELSE activation_hash END \
         WHERE id = ?1 RETURNING activation_failures";
    /// The failure count cleared and the server-side lock lifted.
    RESET_TOKEN = "UPDATE tokens SET failures = 0, locked = FALSE WHERE id = ?1";
    /// State `?1` for token `?2`.
    SET_TOKEN_STATE = "UPDATE tokens SET state = ?1 WHERE id = ?2";
    /// An HOTP counter moved forward by a resync.
    RESYNC_COUNTER = "UPDATE tokens SET last_used = ?2, failures = 0 WHERE id = ?1 AND last_used < ?2";
    /// Step or counter `?2` accepted, if later than the last one and the
    /// token is active and unlocked (a replay changes no row).
    ACCEPT_OTP = "UPDATE tokens SET last_used = ?2, drift = ?3, failures = 0 \
         WHERE id = ?1 AND last_used < ?2 AND NOT locked AND state = 'active'";
    /// One more wrong OTP, unless locked; locked at limit `?2`.
    COUNT_OTP_FAILURE = "UPDATE tokens SET failures = failures + 1, locked = failures + 1 >= ?2 \
         WHERE id = ?1 AND NOT locked RETURNING failures, locked";

    /// A new API key; its id.
    INSERT_API_KEY = "INSERT INTO api_keys (name, prefix, hash, role, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id";
    /// The API key with this prefix.
    API_KEY_BY_PREFIX = concat!("SELECT ", api_key_columns!(), " FROM api_keys WHERE prefix = ?1");
    /// Every API key, by name.
    LIST_API_KEYS = concat!("SELECT ", api_key_columns!(), " FROM api_keys ORDER BY name");
    /// The key named `?1` revoked, if it was not already.
    REVOKE_API_KEY = "UPDATE api_keys SET revoked = TRUE WHERE name = ?1 AND NOT revoked";

    /// One audit row.
    INSERT_AUDIT_ROW = concat!("INSERT INTO audit (", audit_columns!(), ") \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    /// Up to `?2` audit rows after id `?1`.
    AUDIT_ROWS = concat!("SELECT ", audit_columns!(), " FROM audit WHERE id > ?1 ORDER BY id LIMIT ?2");
    /// Issued unlock codes for one token since a time. The literal action
    /// and outcome let the partial index `audit_unlock_issues` serve it.
    COUNT_UNLOCK_ISSUES = "SELECT COUNT(*) FROM audit \
         WHERE action = 'unlock.issue' AND outcome = 'success' AND subject = ?1 AND at >= ?2";
    /// Failed refreshes for serial `?1` since `?2` (the literal action and
    /// outcome let the partial index serve it).
    COUNT_REFRESH_FAILURES = "SELECT COUNT(*) FROM audit \
         WHERE action = 'token.refresh' AND outcome = 'failure' AND subject = ?1 AND at >= ?2";

    /// A new portal session.
    INSERT_SESSION = "INSERT INTO sessions (id_hash, user_id, stage, created_at, last_seen) \
         VALUES (?1, ?2, ?3, ?4, ?5)";
    /// The session with this id hash.
    SESSION_BY_ID = "SELECT id_hash, user_id, stage, created_at, last_seen FROM sessions WHERE id_hash = ?1";
    /// A session seen again.
    TOUCH_SESSION = "UPDATE sessions SET last_seen = ?2 WHERE id_hash = ?1";
    /// One session ended.
    DELETE_SESSION = "DELETE FROM sessions WHERE id_hash = ?1";
    /// Every session of user `?1` but `?2` ended.
    DELETE_OTHER_SESSIONS = "DELETE FROM sessions WHERE user_id = ?1 AND id_hash <> ?2";
    /// The question pool, in id order.
    QUESTIONS = "SELECT id, text, active FROM security_questions ORDER BY id";
    /// A new question; its id.
    INSERT_QUESTION = "INSERT INTO security_questions (text) VALUES (?1) RETURNING id";
    /// A question taken out of the choice, if it was in it.
    RETIRE_QUESTION = "UPDATE security_questions SET active = FALSE WHERE id = ?1 AND active";
    /// A user's answers, in question order.
    ANSWERS_OF = "SELECT question_id, answer_hash, asked FROM security_answers \
         WHERE user_id = ?1 ORDER BY question_id";
    /// A user's answers removed.
    DELETE_ANSWERS = "DELETE FROM security_answers WHERE user_id = ?1";
    /// One answer.
    INSERT_ANSWER = "INSERT INTO security_answers (user_id, question_id, answer_hash) VALUES (?1, ?2, ?3)";
    /// How many of a user's questions were asked in this round.
    COUNT_ASKED = "SELECT COUNT(*) FROM security_answers WHERE user_id = ?1 AND asked";
    /// Question `?2` asked of user `?1`.
    MARK_ASKED = "UPDATE security_answers SET asked = TRUE WHERE user_id = ?1 AND question_id = ?2";
    /// A new round of questions for user `?1`.
    CLEAR_ASKED = "UPDATE security_answers SET asked = FALSE WHERE user_id = ?1";
    /// Reset links sent to a user since a time.
    COUNT_RESET_LINKS = "SELECT COUNT(*) FROM password_resets WHERE user_id = ?1 AND created_at >= ?2";
    /// A new reset link.
    INSERT_RESET_LINK = "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4)";
    /// Whose unused, unexpired link this is.
    RESET_LINK_USER = "SELECT user_id FROM password_resets \
         WHERE token_hash = ?1 AND NOT used AND expires_at > ?2";
    /// Every unused link of user `?1` voided.
    VOID_RESET_LINKS = "UPDATE password_resets SET used = TRUE WHERE user_id = ?1 AND NOT used";
    /// The link used up, if it still could be; whose it was.
    TAKE_RESET_LINK = "UPDATE password_resets SET used = TRUE \
         WHERE token_hash = ?1 AND NOT used AND expires_at > ?2 RETURNING user_id";

    /// A new RADIUS client; its id.
    INSERT_RADIUS_CLIENT = "INSERT INTO radius_clients \
         (name, address, mode, sealed_secret, require_message_authenticator, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id";
    /// Every RADIUS client, by name.
    LIST_RADIUS_CLIENTS = "SELECT id, name, address, mode, sealed_secret, \
         require_message_authenticator, created_at FROM radius_clients ORDER BY name";
    /// The RADIUS client named `?1` removed (its states go with it).
    DELETE_RADIUS_CLIENT = "DELETE FROM radius_clients WHERE name = ?1";
    /// The states expired at `?1` forgotten.
    DELETE_EXPIRED_RADIUS_STATES = "DELETE FROM radius_states WHERE expires_at <= ?1";
    /// A new Access-Challenge state.
    INSERT_RADIUS_STATE = "INSERT INTO radius_states (state_hash, client_id, user_id, expires_at) \
         VALUES (?1, ?2, ?3, ?4)";
    /// A state used up, if it is this client's and unexpired at `?3`; whose it was.
    TAKE_RADIUS_STATE = "DELETE FROM radius_states \
         WHERE state_hash = ?1 AND client_id = ?2 AND expires_at > ?3 RETURNING user_id";

    /// Up to `?3` users whose name or lower-cased address is like `?1`
    /// (escaped with `\`), by name, after the name `?2`.
    SEARCH_USERS = concat!("SELECT ", user_columns!(), " FROM users \
         WHERE (username LIKE ?1 ESCAPE '\\' OR LOWER(COALESCE(email, '')) LIKE ?1 ESCAPE '\\') \
         AND username > ?2 ORDER BY username LIMIT ?3");
    /// Up to `?6` tokens by serial after `?5`: serial like `?1`, kind `?2`,
    /// state `?3`, owner `?4` (an empty text or 0 matching any).
    SEARCH_TOKENS = concat!("SELECT ", token_columns!(), " FROM tokens \
         WHERE serial LIKE ?1 AND (?2 = '' OR kind = ?2) AND (?3 = '' OR state = ?3) \
         AND (user_id = ?4 OR ?4 = 0) AND serial > ?5 ORDER BY serial LIMIT ?6");
    /// How many tokens are in each state.
    TOKEN_STATE_COUNTS = "SELECT state, COUNT(*) FROM tokens GROUP BY state ORDER BY state";
    /// Up to `?1` active users with no active, unlocked token, by name.
    USERS_WITHOUT_SECOND_FACTOR = concat!("SELECT ", user_columns!(), " FROM users \
         WHERE status = 'active' AND NOT EXISTS (SELECT 1 FROM tokens \
         WHERE tokens.user_id = users.id AND tokens.state = 'active' AND NOT tokens.locked) \
         ORDER BY username LIMIT ?1");
    /// A user's portal sessions, newest first.
    SESSIONS_OF_USER = "SELECT id_hash, user_id, stage, created_at, last_seen FROM sessions \
         WHERE user_id = ?1 ORDER BY created_at DESC, last_seen DESC";
    /// Role `?1` for user `?2`.
    SET_USER_ROLE = "UPDATE users SET role = ?1 WHERE id = ?2";
    /// When session `?1` last confirmed a console action with an OTP.
    CONSOLE_CONFIRMED_AT = "SELECT confirmed_at FROM console_confirmations WHERE session_hash = ?1";
    /// Session `?1` confirmed a console action with an OTP at `?2`.
    SET_CONSOLE_CONFIRMED = "INSERT INTO console_confirmations (session_hash, confirmed_at) \
         VALUES (?1, ?2) ON CONFLICT (session_hash) DO UPDATE SET confirmed_at = excluded.confirmed_at";
    /// What user `?1` is linked to: directory id, display name.
    DIRECTORY_LINK_OF = "SELECT directory_id, display_name FROM directory_links WHERE user_id = ?1";
    /// The user linked to directory id `?1`.
    USER_BY_DIRECTORY_ID = concat!("SELECT ", user_columns!("users."), " FROM users \
         JOIN directory_links ON directory_links.user_id = users.id \
         WHERE directory_links.directory_id = ?1");
    /// Links user `?1` to directory id `?2`, display name `?3`.
    INSERT_DIRECTORY_LINK = "INSERT INTO directory_links (user_id, directory_id, display_name) \
         VALUES (?1, ?2, ?3)";
    /// Display name `?1` for linked user `?2`.
    SET_DIRECTORY_DISPLAY_NAME = "UPDATE directory_links SET display_name = ?1 WHERE user_id = ?2";
    /// A linked user's name `?1`, mail `?2` and role `?3`, for user `?4`.
    UPDATE_DIRECTORY_USER = "UPDATE users SET username = ?1, email = ?2, role = ?3 WHERE id = ?4";
    /// Every linked user, by name, with the directory id and display name
    /// after the user's columns.
    DIRECTORY_USERS = concat!("SELECT ", user_columns!("users."),
         ", directory_links.directory_id, directory_links.display_name \
         FROM users JOIN directory_links ON directory_links.user_id = users.id \
         ORDER BY users.username");
    /// A new OIDC client; its id.
    INSERT_OIDC_CLIENT = "INSERT INTO oidc_clients (name, client_id, sealed_secret, redirect_uris, \
         post_logout_uris, id_token_algorithm, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id";
    /// Every OIDC client, by name.
    LIST_OIDC_CLIENTS = concat!("SELECT ", oidc_client_columns!(), " FROM oidc_clients ORDER BY name");
    /// The OIDC client presenting `client_id` `?1`.
    OIDC_CLIENT_BY_CLIENT_ID =
        concat!("SELECT ", oidc_client_columns!(), " FROM oidc_clients WHERE client_id = ?1");
    /// The OIDC client named `?1` removed (its grants, codes and tokens go with it).
    DELETE_OIDC_CLIENT = "DELETE FROM oidc_clients WHERE name = ?1";
    /// A new signing key; its id.
    INSERT_OIDC_KEY = "INSERT INTO oidc_keys \
         (kid, algorithm, sealed_private_key, public_jwk, created_at, signs_from) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id";
    /// Every signing key, newest first.
    LIST_OIDC_KEYS = concat!("SELECT ", oidc_key_columns!(), " FROM oidc_keys ORDER BY id DESC");
    /// The signing key `?1` forgotten.
    DELETE_OIDC_KEY = "DELETE FROM oidc_keys WHERE id = ?1";
    /// The held authorization requests expired at `?1` forgotten.
    DELETE_EXPIRED_OIDC_REQUESTS = "DELETE FROM oidc_requests WHERE expires_at <= ?1";
    /// A held authorization request.
    INSERT_OIDC_REQUEST = "INSERT INTO oidc_requests (request_hash, client_id, redirect_uri, scope, \
         state, nonce, code_challenge, signed_in_after, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
    /// A held request taken, if unexpired at `?2`.
    TAKE_OIDC_REQUEST = "DELETE FROM oidc_requests WHERE request_hash = ?1 AND expires_at > ?2 \
         RETURNING client_id, redirect_uri, scope, state, nonce, code_challenge, signed_in_after, \
         expires_at";
    /// A new grant; its id.
    INSERT_OIDC_GRANT = "INSERT INTO oidc_grants \
         (client_id, user_id, scope, nonce, sid, auth_time, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id";
    /// The grant `?1`.
    OIDC_GRANT_BY_ID = concat!("SELECT ", oidc_grant_columns!(), " FROM oidc_grants WHERE id = ?1");
    /// A new code of grant `?2`.
    INSERT_OIDC_CODE = "INSERT INTO oidc_codes \
         (code_hash, grant_id, redirect_uri, code_challenge, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)";
    /// A code used, if it was not before; what it is bound to.
    USE_OIDC_CODE = "UPDATE oidc_codes SET used = TRUE WHERE code_hash = ?1 AND NOT used \
         RETURNING grant_id, redirect_uri, code_challenge, expires_at";
    /// The grant of a code, used or not.
    OIDC_CODE_GRANT = "SELECT grant_id FROM oidc_codes WHERE code_hash = ?1";
    /// The grant `?1` revoked.
    REVOKE_OIDC_GRANT = "UPDATE oidc_grants SET revoked = TRUE WHERE id = ?1";
    /// A new access or refresh token of grant `?2`.
    INSERT_OIDC_TOKEN = "INSERT INTO oidc_tokens (token_hash, grant_id, kind, expires_at) \
         VALUES (?1, ?2, ?3, ?4)";
    /// A refresh token of client `?2` used, if it was not before, is unexpired at `?3`
    /// and its grant stands; its grant.
    USE_OIDC_REFRESH_TOKEN = "UPDATE oidc_tokens SET used = TRUE \
         WHERE token_hash = ?1 AND kind = 'refresh' AND NOT used AND expires_at > ?3 \
         AND grant_id IN (SELECT id FROM oidc_grants WHERE client_id = ?2 AND NOT revoked) \
         RETURNING grant_id";
    /// The grant of a used refresh token of client `?2`.
    USED_OIDC_REFRESH_GRANT = "SELECT oidc_tokens.grant_id FROM oidc_tokens \
         JOIN oidc_grants ON oidc_grants.id = oidc_tokens.grant_id \
         WHERE oidc_tokens.token_hash = ?1 AND oidc_tokens.kind = 'refresh' AND oidc_tokens.used \
         AND oidc_grants.client_id = ?2";
    /// The standing grant of an access token unexpired at `?2`.
    OIDC_ACCESS_GRANT = concat!("SELECT ", oidc_grant_columns!("oidc_grants."),
        " FROM oidc_tokens JOIN oidc_grants ON oidc_grants.id = oidc_tokens.grant_id \
         WHERE oidc_tokens.token_hash = ?1 AND oidc_tokens.kind = 'access' \
         AND oidc_tokens.expires_at > ?2 AND NOT oidc_grants.revoked");
    /// What a token of client `?2` is, and its grant.
    OIDC_TOKEN_OF_CLIENT = "SELECT oidc_tokens.kind, oidc_tokens.grant_id FROM oidc_tokens \
         JOIN oidc_grants ON oidc_grants.id = oidc_tokens.grant_id \
         WHERE oidc_tokens.token_hash = ?1 AND oidc_grants.client_id = ?2";
    /// The token `?1` forgotten.
    DELETE_OIDC_TOKEN = "DELETE FROM oidc_tokens WHERE token_hash = ?1";
    /// Every standing grant of the portal sign-in `?1` revoked.
    REVOKE_OIDC_SIGN_IN = "UPDATE oidc_grants SET revoked = TRUE WHERE sid = ?1 AND NOT revoked";
    /// Every standing grant of user `?1` revoked but those of the sign-in
    /// `?2` (an empty `?2` keeps none: no sign-in has it).
    REVOKE_OIDC_GRANTS_OF_USER = "UPDATE oidc_grants SET revoked = TRUE \
         WHERE user_id = ?1 AND sid <> ?2 AND NOT revoked";
    /// Token `?1`'s unlock-secret generations 1 and on, oldest first (S45).
    UNLOCK_GENERATIONS = "SELECT generation, sealed_secret, created_at FROM unlock_generations \
         WHERE token_id = ?1 ORDER BY generation";
    /// A new unlock-secret generation.
    INSERT_UNLOCK_GENERATION = "INSERT INTO unlock_generations \
         (token_id, generation, sealed_secret, created_at) VALUES (?1, ?2, ?3, ?4)";
    /// Token `?1`'s generations below `?2` retired.
    RETIRE_UNLOCK_GENERATIONS = "DELETE FROM unlock_generations WHERE token_id = ?1 AND generation < ?2";
    /// Token `?1`'s generation-0 unlock secret overwritten (retired).
    OVERWRITE_FIRST_UNLOCK_SECRET = "UPDATE tokens SET sealed_unlock_secret = ?2 WHERE id = ?1";
    /// Successful refreshes for serial `?1` since `?2` (the literal action
    /// and outcome let the partial index serve it).
    COUNT_REFRESHES = "SELECT COUNT(*) FROM audit \
         WHERE action = 'token.refresh' AND outcome = 'success' AND subject = ?1 AND at >= ?2";
    /// A token into the stock of unassigned ones (PSKC import).
    INSERT_STOCK_TOKEN = "INSERT INTO token_stock (serial, vendor_serial, kind, algorithm, digits, \
         period, sealed_seed, last_used, drift, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
    /// Every unassigned token, oldest first.
    LIST_STOCK = concat!("SELECT ", stock_columns!(), " FROM token_stock ORDER BY id");
    /// The unassigned token with this Latchkey serial or vendor serial.
    STOCK_BY_SERIAL = concat!("SELECT ", stock_columns!(),
         " FROM token_stock WHERE serial = ?1 OR vendor_serial = ?1 ORDER BY id LIMIT 1");
    /// An unassigned token handed to user `?2`, active at once, at `?3`.
    ASSIGN_STOCK = "INSERT INTO tokens (serial, user_id, kind, state, algorithm, digits, period, \
         sealed_seed, last_used, drift, created_at) \
         SELECT serial, ?2, kind, 'active', algorithm, digits, period, sealed_seed, last_used, drift, ?3 \
         FROM token_stock WHERE id = ?1";
    /// The unassigned token `?1` out of the stock.
    DELETE_STOCK = "DELETE FROM token_stock WHERE id = ?1";
    /// `?4` more audit rows of action `?2` and outcome `?3` in the hour
    /// starting at `?1` (the audit log's hourly summary).
    BUMP_AUDIT_HOUR = "INSERT INTO audit_hourly (hour, action, outcome, count) \
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (hour, action, outcome) \
         DO UPDATE SET count = audit_hourly.count + excluded.count";
    /// The hourly summary from the hour `?1` on.
    AUDIT_HOURS = "SELECT hour, action, outcome, count FROM audit_hourly \
         WHERE hour >= ?1 ORDER BY hour, action, outcome";
    /// Up to `?3` tokens waiting for activation whose code expires after
    /// `?1` and by `?2`, soonest first.
    ACTIVATIONS_EXPIRING = concat!("SELECT ", token_columns!(), " FROM tokens \
         WHERE state = 'new' AND activation_hash IS NOT NULL \
         AND activation_expires > ?1 AND activation_expires <= ?2 \
         ORDER BY activation_expires, serial LIMIT ?3");
    /// An imported user (active, with the token's creation time); its id.
    IMPORT_USER = "INSERT INTO users (username, email, role, status, password_hash, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id";
    /// An imported token, with the last counter used.
    IMPORT_TOKEN = "INSERT INTO tokens (serial, user_id, kind, state, algorithm, digits, period, \
         sealed_seed, last_used, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
    /// Until when passwords for user `?1` from address `?2` wait (S47).
    SOURCE_PASSWORD_BLOCKED_UNTIL = "SELECT blocked_until FROM password_source_failures \
         WHERE user_id = ?1 AND source = ?2";
    /// One more wrong password for user `?1` from address `?2`; that
    /// address's count so far.
    COUNT_SOURCE_PASSWORD_FAILURE = "INSERT INTO password_source_failures \
         (user_id, source, failures) VALUES (?1, ?2, 1) \
         ON CONFLICT (user_id, source) DO UPDATE \
         SET failures = password_source_failures.failures + 1 RETURNING failures";
    /// Until when passwords for user `?1` from address `?2` wait.
    SET_SOURCE_PASSWORD_BLOCKED_UNTIL = "UPDATE password_source_failures \
         SET blocked_until = ?3 WHERE user_id = ?1 AND source = ?2";
    /// A complete sign-in (or the help desk) clears every address's count
    /// for user `?1`, as it clears the account's.
    CLEAR_SOURCE_PASSWORD_FAILURES = "DELETE FROM password_source_failures WHERE user_id = ?1";
}

/// A value the audit search binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuditParam {
    Int(i64),
    Text(String),
}

/// Which audit rows a search reads, and how it finds them by subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuditScope {
    /// Every row, each set filter a comparison of its column: PostgreSQL,
    /// and SQLite when neither the user nor the serial filter is set.
    Rows,
    /// SQLite: the rows after id `n`, which `audit_subjects` (0015) may not
    /// hold yet, read from the log itself; a bounded walk by id.
    After(i64),
    /// SQLite: the rows that `audit_subjects` holds, found by subject in it
    /// (the caller keeps `before` at most its `through` + 1).
    Subjects,
}

/// The audit search for the filters that are set, in SQLite's numbered
/// form (PostgreSQL's is [`dollar_placeholders`] of it), and its values in
/// order: rows with ids below `before` that match every set filter, newest
/// first, at most `limit`, within `scope`. Only the set filters are
/// written, each as a plain comparison of the column, so each backend's
/// planner can walk the index on that column (`0013_audit_indexes`, or
/// SQLite's `audit_subjects`) backwards from `before`; a statement of
/// `?n = '' OR column = ?n` terms would read the whole log.
pub(crate) fn search_audit(
    search: &latchkey_core::console::AuditSearch,
    before: i64,
    limit: i64,
    scope: AuditScope,
) -> (String, Vec<AuditParam>) {
    let by_table = scope == AuditScope::Subjects;
    let mut sql = if by_table {
        let columns: Vec<String> = audit_columns!()
            .split(", ")
            .map(|column| format!("audit.{column}"))
            .collect();
        format!(
            "SELECT {} FROM audit_subjects JOIN audit ON audit.id = audit_subjects.id \
             WHERE audit_subjects.id < ?1",
            columns.join(", ")
        )
    } else {
        String::from(concat!(
            "SELECT ",
            audit_columns!(),
            " FROM audit WHERE id < ?1"
        ))
    };
    let mut values = vec![AuditParam::Int(before)];
    let mut add = |sql: &mut String, term: &str, value: AuditParam| {
        values.push(value);
        sql.push_str(" AND ");
        sql.push_str(&term.replace("?n", &format!("?{}", values.len())));
    };
    if let AuditScope::After(after) = scope {
        add(&mut sql, "id > ?n", AuditParam::Int(after));
    }
    if search.from != i64::MIN {
        add(&mut sql, "at >= ?n", AuditParam::Int(search.from));
    }
    if search.until != i64::MAX {
        add(&mut sql, "at < ?n", AuditParam::Int(search.until));
    }
    let subject = if by_table {
        "audit_subjects.subject"
    } else {
        "subject"
    };
    for (column, value) in [
        ("actor", &search.actor),
        (subject, &search.serial),
        ("action", &search.action),
        ("outcome", &search.outcome),
        ("source", &search.source),
    ] {
        if !value.is_empty() {
            add(
                &mut sql,
                &format!("{column} = ?n"),
                AuditParam::Text(value.clone()),
            );
        }
    }
    if !search.user.is_empty() {
        let term = if by_table {
            // The user's own rows and their tokens', each a walk of the
            // table's (subject, id) key.
            "audit_subjects.subject IN (SELECT ?n UNION ALL SELECT tokens.serial FROM tokens \
             JOIN users ON users.id = tokens.user_id WHERE users.username = ?n)"
        } else {
            "(subject = ?n OR subject IN (SELECT tokens.serial FROM tokens \
             JOIN users ON users.id = tokens.user_id WHERE users.username = ?n))"
        };
        add(&mut sql, term, AuditParam::Text(search.user.clone()));
    }
    values.push(AuditParam::Int(limit));
    let order = if by_table { "audit_subjects.id" } else { "id" };
    sql.push_str(&format!(" ORDER BY {order} DESC LIMIT ?{}", values.len()));
    (sql, values)
}

/// A `LIKE … ESCAPE '\'` pattern for text containing `part`, in which
/// `%`, `_` and `\` are plain characters.
pub(crate) fn contains_pattern(part: &str) -> String {
    let mut pattern = String::with_capacity(part.len() + 2);
    pattern.push('%');
    for c in part.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::{Connection, Executor};

    /// The statements and partial indexes that name an audit action and
    /// outcome as SQL literals (so the partial index can serve them) spell
    /// exactly the enums' stored text, on both backends' migrations.
    #[test]
    fn audit_literals_in_sql_are_the_enums_text() {
        use latchkey_core::{AuditAction, Outcome};
        let literal = |action: AuditAction, outcome: Outcome| {
            format!("action = '{action}' AND outcome = '{outcome}'")
        };
        let unlock = literal(AuditAction::UnlockIssue, Outcome::Success);
        let refresh_failed = literal(AuditAction::TokenRefresh, Outcome::Failure);
        let refreshed = literal(AuditAction::TokenRefresh, Outcome::Success);
        assert!(COUNT_UNLOCK_ISSUES.sqlite().contains(&unlock));
        assert!(COUNT_REFRESH_FAILURES.sqlite().contains(&refresh_failed));
        assert!(COUNT_REFRESHES.sqlite().contains(&refreshed));
        for migrations in [crate::migrations::SQLITE, crate::migrations::POSTGRES] {
            let file = |name: &str| {
                migrations
                    .iter()
                    .find(|m| m.file == name)
                    .map(|m| m.sql)
                    .unwrap()
            };
            assert!(file("0001_initial").contains(&unlock));
            assert!(file("0004_refresh_failures").contains(&refresh_failed));
            assert!(file("0009_unlock_generations").contains(&refreshed));
        }
    }

    #[test]
    fn postgres_gets_the_same_text_with_dollar_placeholders() {
        assert_eq!(
            ACCEPT_OTP.postgres(),
            "UPDATE tokens SET last_used = $2, drift = $3, failures = 0 \
             WHERE id = $1 AND last_used < $2 AND NOT locked AND state = 'active'"
        );
        assert_eq!(ACCEPT_OTP.sqlite().replace('?', "$"), ACCEPT_OTP.postgres());
    }

    #[test]
    fn every_statement_prepares_on_sqlite() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for migration in crate::migrations::SQLITE {
            conn.execute_batch(migration.sql).unwrap();
        }
        for (name, statement) in ALL {
            conn.prepare(statement.sqlite())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        for scope in [AuditScope::Rows, AuditScope::After(3), AuditScope::Subjects] {
            let (sql, values) = search_audit(&every_audit_filter(), 10, 5, scope);
            let statement = conn
                .prepare(&sql)
                .unwrap_or_else(|e| panic!("{scope:?}: {e}"));
            assert_eq!(statement.parameter_count(), values.len());
        }
    }

    /// SQLite finds the rows by user or serial through `audit_subjects`'
    /// key, backwards from the page's keyset, and the rows it may not hold
    /// yet along the log's ids: no scan of the whole log either way.
    #[test]
    fn sqlite_searches_by_subject_walk_keys() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for migration in crate::migrations::SQLITE {
            conn.execute_batch(migration.sql).unwrap();
        }
        let plan = |scope: AuditScope, search: &latchkey_core::console::AuditSearch| {
            let (sql, values) = search_audit(search, 10, 5, scope);
            let values: Vec<Box<dyn rusqlite::ToSql>> = values
                .into_iter()
                .map(|value| match value {
                    AuditParam::Int(n) => Box::new(n) as Box<dyn rusqlite::ToSql>,
                    AuditParam::Text(text) => Box::new(text),
                })
                .collect();
            let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let steps: Vec<String> = statement
                .query_map(rusqlite::params_from_iter(values), |row| row.get(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            steps.join("; ")
        };
        let by_serial = latchkey_core::console::AuditSearch {
            serial: "0000000018".into(),
            ..Default::default()
        };
        let by_user = latchkey_core::console::AuditSearch {
            user: "alice".into(),
            ..Default::default()
        };
        for search in [&by_serial, &by_user] {
            let subjects = plan(AuditScope::Subjects, search);
            assert!(
                subjects.contains("SEARCH audit_subjects USING PRIMARY KEY (subject=? AND id<?)"),
                "{subjects}"
            );
            assert!(!subjects.contains("SCAN audit"), "{subjects}");
            let after = plan(AuditScope::After(3), search);
            assert!(
                after.contains("SEARCH audit USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"),
                "{after}"
            );
        }
    }

    /// An audit search with every filter set.
    fn every_audit_filter() -> latchkey_core::console::AuditSearch {
        latchkey_core::console::AuditSearch {
            from: 1,
            until: 2,
            actor: "a".into(),
            user: "u".into(),
            serial: "s".into(),
            action: "x".into(),
            outcome: "o".into(),
            source: "192.0.2.1".into(),
        }
    }

    #[test]
    fn the_audit_search_writes_only_the_filters_that_are_set() {
        let (sql, values) = search_audit(
            &latchkey_core::console::AuditSearch::default(),
            7,
            100,
            AuditScope::Rows,
        );
        assert!(
            sql.ends_with("FROM audit WHERE id < ?1 ORDER BY id DESC LIMIT ?2"),
            "{sql}"
        );
        assert_eq!(values, [AuditParam::Int(7), AuditParam::Int(100)]);
        let (sql, values) = search_audit(
            &latchkey_core::console::AuditSearch {
                actor: "x' OR 1=1 --".into(),
                ..Default::default()
            },
            7,
            100,
            AuditScope::Rows,
        );
        assert!(
            sql.ends_with("WHERE id < ?1 AND actor = ?2 ORDER BY id DESC LIMIT ?3"),
            "{sql}"
        );
        assert_eq!(
            values[1],
            AuditParam::Text("x' OR 1=1 --".into()),
            "bound, never written"
        );
        let (sql, values) = search_audit(&every_audit_filter(), 7, 100, AuditScope::Rows);
        assert_eq!(values.len(), 10);
        assert!(sql.contains("users.username = ?9)"), "{sql}");
    }

    /// PostgreSQL's PREPARE checks names and types, not only syntax.
    #[tokio::test]
    async fn every_statement_prepares_on_postgres() {
        let url = latchkey_testkit::postgres::fresh_database().await;
        crate::PostgresStore::connect(&url)
            .await
            .unwrap()
            .close()
            .await;
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        for (name, statement) in ALL {
            conn.prepare(statement.postgres())
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let (sql, _) = search_audit(&every_audit_filter(), 10, 5, AuditScope::Rows);
        conn.prepare(&dollar_placeholders(&sql)).await.unwrap();
    }
}
