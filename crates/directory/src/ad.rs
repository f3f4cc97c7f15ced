//! Active Directory's own encodings: the binary `objectGUID`, the account
//! flags in `userAccountControl` and the FILETIME stamps in `accountExpires`
//! and `lockoutTime`. Pure functions; the time is an input.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `userAccountControl` flag ACCOUNTDISABLE (MS-ADTS 2.2.16).
pub const UF_ACCOUNTDISABLE: u32 = 0x2;

/// FILETIME of 1970-01-01T00:00:00Z: 100-ns intervals since 1601-01-01.
const FILETIME_UNIX_EPOCH: u64 = 116_444_736_000_000_000;

/// `accountExpires` value AD writes for "never" besides 0 (MS-ADA1
/// Account-Expires).
const FILETIME_NEVER: i64 = i64::MAX;

/// Shows an AD `objectGUID` (16 bytes) as the usual GUID string.
///
/// AD stores the GUID as Windows' `GUID` structure: the first three fields
/// (4, 2 and 2 bytes) little-endian, the last 8 bytes as they are — so the
/// string is not the bytes in order. Returns `None` unless there are exactly
/// 16 bytes.
pub fn guid_to_string(bytes: &[u8]) -> Option<String> {
    let b: &[u8; 16] = bytes.try_into().ok()?;
    Some(format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    ))
}

/// The inverse of [`guid_to_string`]: the 16 bytes AD stores for a GUID
/// string (with or without braces, any case). `None` if it is not one.
pub fn guid_from_string(text: &str) -> Option<[u8; 16]> {
    let text = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text);
    let groups: Vec<&str> = text.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    if groups.len() != 5
        || groups
            .iter()
            .zip(lengths)
            .any(|(g, n)| g.len() != n || !g.bytes().all(|c| c.is_ascii_hexdigit()))
    {
        return None;
    }
    let hex: String = groups.concat();
    let mut seq = [0u8; 16];
    for (i, byte) in seq.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    // Back into the structure's order: the first three fields reversed.
    let mut out = seq;
    out[0..4].copy_from_slice(&[seq[3], seq[2], seq[1], seq[0]]);
    out[4..6].copy_from_slice(&[seq[5], seq[4]]);
    out[6..8].copy_from_slice(&[seq[7], seq[6]]);
    Some(out)
}

/// A FILETIME (100-ns intervals since 1601-01-01 UTC) as a `SystemTime`.
/// Times before 1970 are clamped to the Unix epoch (they are all "long ago"
/// for every use here).
pub fn filetime_to_system_time(filetime: u64) -> SystemTime {
    let since_unix = filetime.saturating_sub(FILETIME_UNIX_EPOCH);
    let subsec_nanos = u32::try_from(since_unix % 10_000_000).unwrap_or(0) * 100;
    let elapsed = Duration::new(since_unix / 10_000_000, subsec_nanos);
    // Past what SystemTime holds: as far in the future as makes no difference.
    UNIX_EPOCH
        .checked_add(elapsed)
        .unwrap_or_else(|| UNIX_EPOCH + Duration::from_secs(1 << 40))
}

/// Why the directory's own account state refuses a sign-in. The caller
/// shows the generic message and logs this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountRefusal {
    /// `userAccountControl` has the ACCOUNTDISABLE bit (0x2).
    Disabled,
    /// `accountExpires` is in the past.
    Expired {
        /// When the account expired.
        at: SystemTime,
    },
    /// `lockoutTime` is set (non-zero): AD locked the account.
    LockedOut {
        /// When it was locked.
        since: SystemTime,
    },
}

impl fmt::Display for AccountRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unix = |t: &SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        match self {
            AccountRefusal::Disabled => f.write_str("the account is disabled in the directory"),
            AccountRefusal::Expired { at } => write!(
                f,
                "the account expired in the directory (at unix time {})",
                unix(at)
            ),
            AccountRefusal::LockedOut { since } => write!(
                f,
                "the account is locked out in the directory (since unix time {})",
                unix(since)
            ),
        }
    }
}

/// The raw AD account attributes of an entry, as found (each may be absent,
/// as on OpenLDAP, where none of them exist).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdAccount {
    /// `userAccountControl`.
    pub user_account_control: Option<u32>,
    /// `accountExpires` (FILETIME; 0 and `i64::MAX` mean never).
    pub account_expires: Option<i64>,
    /// `lockoutTime` (FILETIME; 0 means not locked).
    pub lockout_time: Option<i64>,
}

impl AdAccount {
    /// Reads the three attributes from their text values. A value that is
    /// not a number counts as absent, except `userAccountControl`, where an
    /// unreadable value counts as disabled (refusing is the safe side).
    pub fn parse(
        user_account_control: Option<&str>,
        account_expires: Option<&str>,
        lockout_time: Option<&str>,
    ) -> AdAccount {
        AdAccount {
            user_account_control: user_account_control.map(|v| {
                // AD sends it as a signed 32-bit integer text.
                v.trim()
                    .parse::<i64>()
                    .ok()
                    .and_then(|n| u32::try_from(n & 0xFFFF_FFFF).ok())
                    .unwrap_or(UF_ACCOUNTDISABLE)
            }),
            account_expires: account_expires.and_then(|v| v.trim().parse().ok()),
            lockout_time: lockout_time.and_then(|v| v.trim().parse().ok()),
        }
    }

    /// The refusal these attributes imply at `now`, if any (disabled first,
    /// then locked out, then expired).
    pub fn refusal(&self, now: SystemTime) -> Option<AccountRefusal> {
        if self
            .user_account_control
            .is_some_and(|uac| uac & UF_ACCOUNTDISABLE != 0)
        {
            return Some(AccountRefusal::Disabled);
        }
        if let Some(lockout) = self.lockout_time.filter(|t| *t != 0) {
            return Some(AccountRefusal::LockedOut {
                since: filetime_to_system_time(u64::try_from(lockout).unwrap_or(0)),
            });
        }
        match self.account_expires {
            None | Some(0) | Some(FILETIME_NEVER) => None,
            Some(expires) => {
                let at = filetime_to_system_time(u64::try_from(expires).unwrap_or(0));
                (at <= now).then_some(AccountRefusal::Expired { at })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of .NET's Guid.ToByteArray documentation: the GUID
    // 35918bc9-196d-40ea-9779-889d79b753f0 is stored as these bytes.
    const DOTNET_BYTES: [u8; 16] = [
        0xC9, 0x8B, 0x91, 0x35, 0x6D, 0x19, 0xEA, 0x40, 0x97, 0x79, 0x88, 0x9D, 0x79, 0xB7, 0x53,
        0xF0,
    ];
    const DOTNET_STRING: &str = "35918bc9-196d-40ea-9779-889d79b753f0";

    #[test]
    fn object_guid_bytes_show_as_the_windows_guid_string() {
        assert_eq!(
            guid_to_string(&DOTNET_BYTES).as_deref(),
            Some(DOTNET_STRING)
        );
        let seq: Vec<u8> = (0..16).collect();
        assert_eq!(
            guid_to_string(&seq).as_deref(),
            Some("03020100-0504-0706-0809-0a0b0c0d0e0f")
        );
        assert_eq!(guid_to_string(&DOTNET_BYTES[..15]), None);
    }

    #[test]
    fn guid_strings_turn_back_into_the_stored_bytes() {
        assert_eq!(guid_from_string(DOTNET_STRING), Some(DOTNET_BYTES));
        assert_eq!(
            guid_from_string("{35918BC9-196D-40EA-9779-889D79B753F0}"),
            Some(DOTNET_BYTES)
        );
        assert_eq!(
            guid_from_string("35918bc9-196d-40ea-9779-889d79b753f"),
            None
        );
        assert_eq!(guid_from_string("35918bc9196d40ea9779889d79b753f0"), None);
        assert_eq!(
            guid_from_string("3591xbc9-196d-40ea-9779-889d79b753f0"),
            None
        );
    }

    #[test]
    fn filetime_converts_to_unix_time() {
        assert_eq!(filetime_to_system_time(FILETIME_UNIX_EPOCH), UNIX_EPOCH);
        // 2024-01-01T00:00:00Z = unix 1704067200; 1704067200 × 10^7 +
        // 116444736000000000 = 133485408000000000.
        assert_eq!(
            filetime_to_system_time(133_485_408_000_000_000),
            UNIX_EPOCH + Duration::from_secs(1_704_067_200)
        );
        assert_eq!(filetime_to_system_time(0), UNIX_EPOCH);
    }

    fn at(unix: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(unix)
    }

    #[test]
    fn user_account_control_disabled_bit_refuses() {
        let now = at(1_704_067_200);
        // 512 = NORMAL_ACCOUNT, 514 = NORMAL_ACCOUNT | ACCOUNTDISABLE,
        // 66048 = NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD.
        assert_eq!(AdAccount::parse(Some("512"), None, None).refusal(now), None);
        assert_eq!(
            AdAccount::parse(Some("66048"), None, None).refusal(now),
            None
        );
        assert_eq!(
            AdAccount::parse(Some("514"), None, None).refusal(now),
            Some(AccountRefusal::Disabled)
        );
        assert_eq!(
            AdAccount::parse(Some("66050"), None, None).refusal(now),
            Some(AccountRefusal::Disabled)
        );
        // An unreadable value is taken as disabled.
        assert_eq!(
            AdAccount::parse(Some("lots"), None, None).refusal(now),
            Some(AccountRefusal::Disabled)
        );
        // OpenLDAP: no such attribute at all.
        assert_eq!(AdAccount::parse(None, None, None).refusal(now), None);
    }

    #[test]
    fn account_expires_never_and_past_and_future() {
        let now = at(1_704_067_200); // 2024-01-01
        for never in ["0", "9223372036854775807"] {
            assert_eq!(
                AdAccount::parse(Some("512"), Some(never), None).refusal(now),
                None
            );
        }
        // 2023-01-01T00:00:00Z = unix 1672531200 = FILETIME 133170048000000000.
        assert_eq!(
            AdAccount::parse(Some("512"), Some("133170048000000000"), None).refusal(now),
            Some(AccountRefusal::Expired {
                at: at(1_672_531_200)
            })
        );
        // 2025-01-01T00:00:00Z = unix 1735689600 = FILETIME 133801632000000000.
        assert_eq!(
            AdAccount::parse(Some("512"), Some("133801632000000000"), None).refusal(now),
            None
        );
    }

    #[test]
    fn lockout_time_non_zero_refuses() {
        let now = at(1_704_067_200);
        assert_eq!(
            AdAccount::parse(Some("512"), None, Some("0")).refusal(now),
            None
        );
        assert_eq!(
            AdAccount::parse(Some("512"), None, Some("133485408000000000")).refusal(now),
            Some(AccountRefusal::LockedOut {
                since: at(1_704_067_200)
            })
        );
    }
}
