//! From a directory entry to what Latchkey knows of the user.

use std::time::SystemTime;

use ldap3::SearchEntry;
use serde::Deserialize;

use crate::ad::{AccountRefusal, AdAccount, guid_from_string, guid_to_string};
use crate::{DirectoryConfig, LookupError};

/// The role a directory user gets, from `group_roles`. Ordered by privilege:
/// a member of several mapped groups gets the highest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An ordinary user (also when no mapped group matches).
    User,
    /// Helpdesk.
    Helpdesk,
    /// Administrator.
    Admin,
}

/// A user as the directory describes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryUser {
    /// The immutable identity (`id_attribute`): an `entryUUID`, or an AD
    /// `objectGUID` shown as a GUID string. Accounts are linked by this,
    /// never by DN.
    pub id: String,
    /// The entry's DN (changes on rename).
    pub dn: String,
    /// The user name as the entry spells it (the attribute the filter
    /// matches `{username}` against), else as typed.
    pub username: String,
    /// `email_attribute`.
    pub email: Option<String>,
    /// `name_attribute`.
    pub display_name: Option<String>,
    /// From `memberOf` through `group_roles`.
    pub role: Role,
    /// The entry's `memberOf` values, as the directory sent them.
    pub groups: Vec<String>,
    /// What AD's account state says, if it refuses the account (disabled,
    /// expired, locked out); always none on OpenLDAP.
    pub refusal: Option<AccountRefusal>,
}

/// Which attributes mean what, from the configuration.
pub(crate) struct EntryShape {
    id_attribute: String,
    id_is_guid: bool,
    username_attribute: Option<String>,
    email_attribute: String,
    name_attribute: String,
    group_roles: Vec<(String, Role)>,
    requested: Vec<String>,
}

const MEMBER_OF: &str = "memberOf";
const UAC: &str = "userAccountControl";
const ACCOUNT_EXPIRES: &str = "accountExpires";
const LOCKOUT_TIME: &str = "lockoutTime";

impl EntryShape {
    pub(crate) fn new(config: &DirectoryConfig) -> EntryShape {
        let username_attribute = username_attribute(&config.user_filter);
        let mut requested = vec![
            config.id_attribute.clone(),
            config.email_attribute.clone(),
            config.name_attribute.clone(),
            MEMBER_OF.into(),
            UAC.into(),
            ACCOUNT_EXPIRES.into(),
            LOCKOUT_TIME.into(),
        ];
        requested.extend(username_attribute.clone());
        EntryShape {
            id_is_guid: config.id_attribute.eq_ignore_ascii_case("objectGUID"),
            id_attribute: config.id_attribute.clone(),
            username_attribute,
            email_attribute: config.email_attribute.clone(),
            name_attribute: config.name_attribute.clone(),
            group_roles: config
                .group_roles
                .iter()
                .map(|(dn, role)| (normalize_dn(dn), *role))
                .collect(),
            requested,
        }
    }

    pub(crate) fn requested(&self) -> &[String] {
        &self.requested
    }

    /// The filter term that finds `id`, or none if `id` cannot be one.
    pub(crate) fn id_filter(&self, id: &str) -> Option<String> {
        if self.id_is_guid {
            let bytes = guid_from_string(id)?;
            let escaped: String = bytes.iter().map(|b| format!("\\{b:02x}")).collect();
            Some(format!("({}={escaped})", self.id_attribute))
        } else if id.is_empty() {
            None
        } else {
            Some(format!(
                "({}={})",
                self.id_attribute,
                ldap3::ldap_escape(id)
            ))
        }
    }

    pub(crate) fn user(
        &self,
        entry: &SearchEntry,
        typed_name: Option<&str>,
        now: SystemTime,
    ) -> Result<DirectoryUser, LookupError> {
        let incomplete = |attribute: &str| LookupError::Incomplete {
            dn: entry.dn.clone(),
            attribute: attribute.into(),
        };
        let raw_id =
            first_bytes(entry, &self.id_attribute).ok_or_else(|| incomplete(&self.id_attribute))?;
        let id = if self.id_is_guid {
            guid_to_string(raw_id)
        } else {
            std::str::from_utf8(raw_id)
                .ok()
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        }
        .ok_or_else(|| incomplete(&self.id_attribute))?;

        let username = self
            .username_attribute
            .as_deref()
            .and_then(|a| first_text(entry, a))
            .or(typed_name)
            .ok_or_else(|| incomplete(self.username_attribute.as_deref().unwrap_or("uid")))?
            .to_owned();

        let groups: Vec<String> = texts(entry, MEMBER_OF).map(str::to_owned).collect();
        let role = groups
            .iter()
            .filter_map(|g| {
                let g = normalize_dn(g);
                self.group_roles
                    .iter()
                    .find(|(dn, _)| *dn == g)
                    .map(|(_, role)| *role)
            })
            .max()
            .unwrap_or(Role::User);

        let account = AdAccount::parse(
            first_text(entry, UAC),
            first_text(entry, ACCOUNT_EXPIRES),
            first_text(entry, LOCKOUT_TIME),
        );
        Ok(DirectoryUser {
            id,
            dn: entry.dn.clone(),
            username,
            email: first_text(entry, &self.email_attribute).map(str::to_owned),
            display_name: first_text(entry, &self.name_attribute).map(str::to_owned),
            role,
            groups,
            refusal: account.refusal(now),
        })
    }
}

/// The attribute the filter compares `{username}` with, as in
/// `(uid={username})` or `(sAMAccountName={username})`.
fn username_attribute(filter: &str) -> Option<String> {
    let at = filter.find("={username})")?;
    let before = &filter[..at];
    let start = before.rfind('(')? + 1;
    let name = &before[start..];
    (!name.is_empty()
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b';' || c == b'.'))
    .then(|| name.to_owned())
}

/// Values of `name` (attribute names are case-insensitive), text ones
/// first, then those that are not UTF-8.
fn values<'a>(entry: &'a SearchEntry, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
    let text = entry
        .attrs
        .iter()
        .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.iter().map(|s| s.as_bytes()));
    let binary = entry
        .bin_attrs
        .iter()
        .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.iter().map(Vec::as_slice));
    text.chain(binary)
}

fn first_bytes<'a>(entry: &'a SearchEntry, name: &'a str) -> Option<&'a [u8]> {
    values(entry, name).next()
}

fn texts<'a>(entry: &'a SearchEntry, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    entry
        .attrs
        .iter()
        .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.iter().map(String::as_str))
}

fn first_text<'a>(entry: &'a SearchEntry, name: &'a str) -> Option<&'a str> {
    texts(entry, name).next()
}

/// A DN in a form two spellings of the same DN share: lower case, no
/// spaces around the separators. (Enough for group DNs as admins write
/// them and servers send them; not full RFC 4514 matching.)
pub(crate) fn normalize_dn(dn: &str) -> String {
    let mut rdns = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in dn.chars() {
        if escaped {
            current.push(c);
            escaped = false;
        } else if c == '\\' {
            current.push(c);
            escaped = true;
        } else if c == ',' {
            rdns.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    rdns.push(current);
    rdns.iter()
        .map(|rdn| match rdn.split_once('=') {
            Some((k, v)) => format!("{}={}", k.trim(), v.trim()),
            None => rdn.trim().to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_username_attribute_comes_from_the_filter() {
        assert_eq!(
            username_attribute(crate::DEFAULT_USER_FILTER).as_deref(),
            Some("uid")
        );
        assert_eq!(
            username_attribute("(&(objectCategory=person)(sAMAccountName={username}))").as_deref(),
            Some("sAMAccountName")
        );
        assert_eq!(username_attribute("(mail={username}@example.org)"), None);
    }

    #[test]
    fn dns_compare_without_case_or_spaces() {
        assert_eq!(
            normalize_dn("CN=Help Desk, OU=Groups ,DC=Example,DC=org"),
            normalize_dn("cn=help desk,ou=groups,dc=example,dc=org")
        );
        assert_ne!(
            normalize_dn("cn=a\\,b,dc=org"),
            normalize_dn("cn=a,b,dc=org")
        );
    }
}
