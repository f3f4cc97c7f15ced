//! How `latchkey_oath` values are written in JSON, for `#[serde(with = …)]`:
//! Luhn-checked codes as their bare digits, hash names as `SHA1`/`SHA256`/
//! `SHA512`, digit counts as numbers checked to be 6–10, the seed as
//! unpadded base32 and the unlock secret as 64 lower-case hex digits.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};

macro_rules! luhn_code {
    ($(#[$doc:meta])* $module:ident, $type:ty) => {
        $(#[$doc])*
        pub mod $module {
            use super::*;

            /// Writes the bare digits.
            pub fn serialize<S: Serializer>(code: &$type, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(code.digits())
            }

            /// Reads digits (spaces and dashes allowed) with a valid check digit.
            pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<$type, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(D::Error::custom)
            }
        }
    };
}

luhn_code!(
    /// A [`latchkey_oath::Serial`] as `"1234567897"`.
    serial,
    latchkey_oath::Serial
);
luhn_code!(
    /// An [`latchkey_oath::ActivationCode`] as its 16 digits.
    activation_code,
    latchkey_oath::ActivationCode
);
luhn_code!(
    /// An [`latchkey_oath::UnlockCode`] as its digits.
    unlock_code,
    latchkey_oath::UnlockCode
);

/// An [`latchkey_oath::Algorithm`] as `"SHA1"`, `"SHA256"` or `"SHA512"`.
pub mod algorithm {
    use super::*;
    use latchkey_oath::Algorithm;

    /// Writes the key-URI name.
    pub fn serialize<S: Serializer>(
        algorithm: &Algorithm,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(algorithm.name())
    }

    /// Reads a hash name in any case, with or without a dash.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Algorithm, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(D::Error::custom)
    }
}

/// A [`latchkey_oath::Digits`] as a number from 6 to 10.
pub mod digits {
    use super::*;
    use latchkey_oath::Digits;

    /// Writes the count.
    pub fn serialize<S: Serializer>(digits: &Digits, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(digits.get())
    }

    /// Reads a count and checks it is 6 to 10.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Digits, D::Error> {
        Digits::new(u8::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

/// A [`latchkey_oath::Secret`] (a token's seed) as unpadded upper-case base32.
pub mod base32_secret {
    use super::*;
    use latchkey_oath::Secret;
    use zeroize::Zeroizing;

    /// Writes base32.
    pub fn serialize<S: Serializer>(secret: &Secret, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&secret.to_base32())
    }

    /// Reads base32 (any case, padding optional).
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        let text = Zeroizing::new(String::deserialize(deserializer)?);
        Secret::from_base32(&text).map_err(|_| D::Error::custom("the secret is not base32"))
    }
}

fn unlock_secret_from_hex<E: serde::de::Error>(
    text: &str,
) -> Result<latchkey_oath::UnlockSecret, E> {
    let bytes = zeroize::Zeroizing::new(
        data_encoding::HEXLOWER_PERMISSIVE
            .decode(text.as_bytes())
            .map_err(|_| E::custom("the unlock secret is not hex"))?,
    );
    latchkey_oath::UnlockSecret::from_slice(&bytes)
        .ok_or_else(|| E::custom("the unlock secret is not 32 bytes"))
}

fn unlock_secret_to_hex(secret: &latchkey_oath::UnlockSecret) -> zeroize::Zeroizing<String> {
    zeroize::Zeroizing::new(data_encoding::HEXLOWER.encode(secret.expose()))
}

/// An [`latchkey_oath::UnlockSecret`] as 64 lower-case hex digits.
pub mod hex_unlock_secret {
    use super::*;
    use latchkey_oath::UnlockSecret;
    use zeroize::Zeroizing;

    /// Writes lower-case hex.
    pub fn serialize<S: Serializer>(
        secret: &UnlockSecret,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&unlock_secret_to_hex(secret))
    }

    /// Reads 64 hex digits in either case.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<UnlockSecret, D::Error> {
        let text = Zeroizing::new(String::deserialize(deserializer)?);
        unlock_secret_from_hex(&text)
    }
}

/// An optional [`latchkey_oath::UnlockSecret`]: hex, or `null` for none.
pub mod hex_unlock_secret_or_null {
    use super::*;
    use latchkey_oath::UnlockSecret;
    use zeroize::Zeroizing;

    /// Writes lower-case hex, or `null`.
    pub fn serialize<S: Serializer>(
        secret: &Option<UnlockSecret>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match secret {
            Some(secret) => serializer.serialize_str(&unlock_secret_to_hex(secret)),
            None => serializer.serialize_none(),
        }
    }

    /// Reads 64 hex digits, or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<UnlockSecret>, D::Error> {
        match Option::<String>::deserialize(deserializer)?.map(Zeroizing::new) {
            Some(text) => unlock_secret_from_hex(&text).map(Some),
            None => Ok(None),
        }
    }
}

/// An optional [`latchkey_oath::ActivationCode`]: its digits, or absent.
pub mod activation_code_if_any {
    use super::*;
    use latchkey_oath::ActivationCode;

    /// Writes the digits (`skip_serializing_if` leaves `None` out).
    pub fn serialize<S: Serializer>(
        code: &Option<ActivationCode>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match code {
            Some(code) => serializer.serialize_str(code.digits()),
            None => serializer.serialize_none(),
        }
    }

    /// Reads the digits, or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<ActivationCode>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            Some(text) => text.parse().map(Some).map_err(D::Error::custom),
            None => Ok(None),
        }
    }
}
