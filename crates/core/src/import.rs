//! Bulk import: users, each with one TOTP or HOTP token whose seed is known
//! already (a migration from another token server, or seeding a benchmark).
//! This module checks and seals what is imported; `latchkey-store` writes
//! it in large transactions.

use latchkey_oath::{KeyUri, MIN_SECRET_LEN, OtpKind, Serial};

use crate::model::{Role, TokenKind, TokenState, Username};
use crate::ports::{NewToken, NewUser, SecretCipher};

/// One user and their token, checked and sealed, ready to store.
#[derive(Clone)]
pub struct ImportedAccount {
    /// The user.
    pub user: NewUser,
    /// The token; its `user_id` is set by the store once the user exists.
    pub token: NewToken,
    /// The last counter used (`-1` for none): an HOTP key URI's `counter`
    /// names the next one expected.
    pub last_used: i64,
}

/// What an import line may carry.
#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    /// The user name.
    pub username: String,
    /// Mail address.
    pub email: Option<String>,
    /// An Argon2id PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`),
    /// taken as it is: its parameters travel with it.
    pub password_hash: Option<String>,
    /// The token as an `otpauth://totp/…` or `otpauth://hotp/…` key URI.
    pub otpauth_uri: String,
    /// The serial to give the token; a random one when absent.
    pub serial: Option<String>,
}

/// Why an import line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The user name is not acceptable.
    #[error("the user name is not valid: {0}")]
    Username(String),
    /// The key URI does not parse.
    #[error("the key URI is not valid: {0}")]
    KeyUri(String),
    /// The seed is shorter than 128 bits (S02).
    #[error("the seed has {0} bytes; at least {MIN_SECRET_LEN} (128 bits) are required")]
    ShortSeed(usize),
    /// Codes shorter than 6 digits (S02).
    #[error("the token makes {0}-digit codes; at least 6 are required")]
    ShortCodes(u8),
    /// Not an Argon2id PHC string.
    #[error("password_hash must be an Argon2id PHC string ($argon2id$…)")]
    PasswordHash,
    /// The serial is not 10 digits with a valid check digit.
    #[error("the serial is not valid: {0}")]
    Serial(String),
    /// An HOTP counter no token reaches, beyond what the store can count (L7).
    #[error("the HOTP counter {0} is above the largest accepted, {MAX_HOTP_COUNTER}")]
    Counter(u64),
}

/// The largest HOTP counter an imported token may start at (L7): far above
/// any real token's, and far enough below the store's signed 64-bit
/// counter that the look-ahead and resync windows never run past it.
pub const MAX_HOTP_COUNTER: u64 = 1 << 62;

/// The store's "last counter used" for a token whose next code is at
/// `counter`, or `None` when the counter is above [`MAX_HOTP_COUNTER`].
pub(crate) fn hotp_last_used(counter: u64) -> Option<i64> {
    (counter <= MAX_HOTP_COUNTER).then(|| counter as i64 - 1)
}

/// The associated data a token's seed is sealed with; the same as the
/// service uses when it issues a token, so imported seeds open the same way.
pub(crate) fn seed_aad(serial: &str) -> String {
    format!("token:{serial}:seed")
}

/// Checks one import line and seals its seed with the master key.
pub fn prepare_account(
    cipher: &dyn SecretCipher,
    request: ImportRequest,
    now: i64,
) -> Result<ImportedAccount, ImportError> {
    let username: Username = request
        .username
        .parse()
        .map_err(|e: crate::model::UsernameError| ImportError::Username(e.to_string()))?;
    let key =
        KeyUri::parse(&request.otpauth_uri).map_err(|e| ImportError::KeyUri(e.to_string()))?;
    if key.secret.len() < MIN_SECRET_LEN {
        return Err(ImportError::ShortSeed(key.secret.len()));
    }
    if key.digits.get() < 6 {
        return Err(ImportError::ShortCodes(key.digits.get()));
    }
    if let Some(hash) = &request.password_hash
        && !hash.starts_with("$argon2id$")
    {
        return Err(ImportError::PasswordHash);
    }
    let serial = match &request.serial {
        Some(text) => text
            .parse::<Serial>()
            .map_err(|e| ImportError::Serial(e.to_string()))?,
        None => Serial::generate(),
    };
    let (kind, period, last_used) = match key.kind {
        OtpKind::Totp { period } => (TokenKind::Totp, period, -1),
        OtpKind::Hotp { counter } => (
            TokenKind::Hotp,
            0,
            hotp_last_used(counter).ok_or(ImportError::Counter(counter))?,
        ),
    };
    let sealed_seed = cipher.seal(&seed_aad(serial.digits()), key.secret.expose());
    Ok(ImportedAccount {
        user: NewUser {
            username,
            email: request.email,
            role: Role::User,
            password_hash: request.password_hash,
        },
        token: NewToken {
            serial: crate::model::Serial::from(&serial),
            user_id: 0,
            kind,
            state: TokenState::Active,
            otp: crate::model::OtpParams {
                algorithm: key.algorithm,
                digits: key.digits,
                period,
            },
            sealed_seed,
            sealed_unlock_secret: None,
            activation_hash: None,
            activation_expires: 0,
            created_at: now,
        },
        last_used,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::CipherError;
    use zeroize::Zeroizing;

    /// Seals by prefixing the associated data, so a test can see what was bound.
    struct PrefixCipher;

    impl SecretCipher for PrefixCipher {
        fn seal(&self, aad: &str, plaintext: &[u8]) -> Vec<u8> {
            [aad.as_bytes(), b"|", plaintext].concat()
        }
        fn open(&self, aad: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CipherError> {
            sealed
                .strip_prefix(format!("{aad}|").as_bytes())
                .map(|p| Zeroizing::new(p.to_vec()))
                .ok_or(CipherError)
        }
        fn keyed_hash(&self, _purpose: &str, _data: &[u8]) -> [u8; 32] {
            [0; 32]
        }
    }

    const URI: &str =
        "otpauth://totp/Example:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=6&period=30";

    fn request(uri: &str) -> ImportRequest {
        ImportRequest {
            username: "alice".into(),
            otpauth_uri: uri.into(),
            serial: Some("1234567897".into()),
            ..ImportRequest::default()
        }
    }

    #[test]
    fn a_totp_line_becomes_an_active_token_with_its_seed_sealed_to_its_serial() {
        let account = prepare_account(&PrefixCipher, request(URI), 7).unwrap();
        assert_eq!(account.user.username.as_str(), "alice");
        assert_eq!(account.token.kind, TokenKind::Totp);
        assert_eq!(account.token.state, TokenState::Active);
        assert_eq!(
            (account.token.otp.digits.get(), account.token.otp.period),
            (6, 30)
        );
        assert_eq!(account.token.otp.algorithm.name(), "SHA1");
        assert_eq!(account.last_used, -1);
        let seed = PrefixCipher
            .open("token:1234567897:seed", &account.token.sealed_seed)
            .unwrap();
        assert_eq!(seed.as_slice(), b"12345678901234567890");
    }

    #[test]
    fn l7_counters_above_the_accepted_range_are_refused() {
        for counter in [MAX_HOTP_COUNTER + 1, 1 << 63, u64::MAX] {
            let uri = format!(
                "otpauth://hotp/alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter={counter}"
            );
            let refused = prepare_account(&PrefixCipher, request(&uri), 0).err();
            assert!(
                matches!(refused, Some(ImportError::Counter(c)) if c == counter),
                "{counter}: {refused:?}"
            );
        }
        let uri = format!(
            "otpauth://hotp/alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter={MAX_HOTP_COUNTER}"
        );
        let account = prepare_account(&PrefixCipher, request(&uri), 0).unwrap();
        assert_eq!(account.last_used, MAX_HOTP_COUNTER as i64 - 1);
    }

    #[test]
    fn an_hotp_counter_names_the_next_code_expected() {
        let uri = "otpauth://hotp/alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=5";
        let account = prepare_account(&PrefixCipher, request(uri), 0).unwrap();
        assert_eq!(account.token.kind, TokenKind::Hotp);
        assert_eq!(account.last_used, 4);
    }

    #[test]
    fn s02_short_seeds_short_codes_bad_serials_and_foreign_hashes_are_refused() {
        let short = "otpauth://totp/alice?secret=GEZDGNBVGY3TQOJQGEZDGNBV";
        assert_eq!(
            prepare_account(&PrefixCipher, request(short), 0).err(),
            Some(ImportError::ShortSeed(15))
        );
        let five = "otpauth://totp/alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=5";
        assert!(prepare_account(&PrefixCipher, request(five), 0).is_err());
        let mut bad_serial = request(URI);
        bad_serial.serial = Some("1234567890".into());
        assert!(matches!(
            prepare_account(&PrefixCipher, bad_serial, 0),
            Err(ImportError::Serial(_))
        ));
        let mut bcrypt = request(URI);
        bcrypt.password_hash = Some("$2b$12$abcdefghijklmnopqrstuv".into());
        assert_eq!(
            prepare_account(&PrefixCipher, bcrypt, 0).err(),
            Some(ImportError::PasswordHash)
        );
        let mut nameless = request(URI);
        nameless.username = String::new();
        assert!(matches!(
            prepare_account(&PrefixCipher, nameless, 0),
            Err(ImportError::Username(_))
        ));
    }
}
