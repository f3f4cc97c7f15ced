-- Accounts whose users come from the organisation's directory (LDAP /
-- Active Directory), linked by the entry's immutable id (entryUUID, or AD's
-- objectGUID as a GUID string), never by its DN or name: a renamed entry
-- keeps its account and tokens. An account without a row here is local.
-- The display name is the entry's, as last seen (at sign-in or sync).
CREATE TABLE directory_links (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    directory_id TEXT NOT NULL UNIQUE,
    display_name TEXT
);
