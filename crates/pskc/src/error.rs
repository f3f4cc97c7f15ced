//! Why a file, a key package or one value in it was refused.
//!
//! The messages name the element and the reason, never a secret; they are
//! meant to be shown to the administrator importing the file as they are.

use crate::xml::XmlError;

/// Why a whole file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Larger than [`Limits::max_bytes`](crate::Limits::max_bytes).
    #[error("the file is {size} bytes, more than the {limit} allowed")]
    TooLarge {
        /// The input's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not UTF-8 text.
    #[error("the file is not UTF-8 text")]
    NotUtf8,
    /// Not well-formed, or using a DTD or entities.
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// The root element is not a PSKC `KeyContainer` (RFC 6030 §4).
    #[error(
        "the file is not a PSKC key container (its root element is <{root}>, not <KeyContainer>)"
    )]
    NotKeyContainer {
        /// The root element's local name.
        root: String,
    },
    /// A `Version` other than RFC 6030's "1.0" (§4).
    #[error("the key container's version is {version:?}; this reader knows version 1.0 (RFC 6030)")]
    UnsupportedVersion {
        /// The version given.
        version: String,
    },
    /// No `KeyPackage` at all.
    #[error("the key container holds no key packages")]
    NoKeyPackages,
    /// More key packages than [`Limits::max_key_packages`](crate::Limits::max_key_packages).
    #[error("the key container holds more than {limit} key packages")]
    TooManyKeyPackages {
        /// The limit.
        limit: usize,
    },
    /// The key is derived from a password (RFC 6030 §6.2) and none was given.
    #[error("the file is protected with a password (PBKDF2); give the password")]
    PasswordRequired,
    /// The values are encrypted with a pre-shared key (RFC 6030 §6.1) and
    /// none was given.
    #[error("the file is protected with a pre-shared key; give the key")]
    PreSharedKeyRequired,
    /// An `EncryptionKey` of a kind this reader does not handle (X.509
    /// certificates, RFC 6030 §6.3).
    #[error("the file's encryption key is of a kind this reader does not handle ({kind})")]
    UnsupportedKeyTransport {
        /// The element that describes the key.
        kind: String,
    },
    /// A key derivation other than PBKDF2.
    #[error("the file's key derivation {algorithm:?} is not PBKDF2")]
    UnsupportedKeyDerivation {
        /// The `KeyDerivationMethod` algorithm.
        algorithm: String,
    },
    /// PBKDF2 parameters missing or out of range.
    #[error("the file's PBKDF2 parameters are unusable: {reason}")]
    KeyDerivationParameters {
        /// What is wrong.
        reason: &'static str,
    },
    /// More PBKDF2 iterations than
    /// [`Limits::max_pbkdf2_iterations`](crate::Limits::max_pbkdf2_iterations):
    /// a hostile file must not cost minutes of CPU.
    #[error("the file asks for {iterations} PBKDF2 iterations, more than the {limit} allowed")]
    TooManyIterations {
        /// The count the file asks for.
        iterations: u64,
        /// The limit.
        limit: u32,
    },
    /// A `MACMethod` other than HMAC-SHA1 or HMAC-SHA256.
    #[error("the file's MAC algorithm {algorithm:?} is not HMAC-SHA1 or HMAC-SHA256")]
    UnsupportedMac {
        /// The algorithm URI.
        algorithm: String,
    },
    /// The `MACMethod` has no `MACKey`.
    #[error("the file's MACMethod carries no MACKey")]
    MissingMacKey,
    /// The `MACKey` could not be opened.
    #[error("the file's MAC key cannot be read: {0}")]
    MacKey(ValueError),
    /// The password or pre-shared key opens nothing in the file: the MAC key
    /// does not decrypt, or no encrypted value decrypts and passes its check.
    #[error("the {given} does not open this file: it is wrong, or the file was altered")]
    WrongKey {
        /// "password" or "pre-shared key".
        given: &'static str,
    },
    /// A key package was refused, and with it the file (all or nothing).
    #[error("key package {position} (counting from 1){}: {reason}", describe(.serial.as_deref()))]
    Package {
        /// The package's place in the file, counting from 1.
        position: usize,
        /// Its serial number or key id, when it has one.
        serial: Option<String>,
        /// Why.
        reason: PackageError,
    },
}

fn describe(serial: Option<&str>) -> String {
    serial.map_or_else(String::new, |serial| format!(", serial {serial:?}"))
}

/// Why one key package was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackageError {
    /// No `Key` element.
    #[error("it holds no <Key>")]
    MissingKey,
    /// More than one `Key` element (RFC 6030's schema allows one).
    #[error("it holds more than one <Key>")]
    SeveralKeys,
    /// No `Algorithm` on the `Key`.
    #[error("its <Key> names no Algorithm")]
    MissingAlgorithm,
    /// An algorithm that is neither HOTP nor TOTP (a PIN, OCRA, …).
    #[error("its algorithm {algorithm:?} is not HOTP or TOTP")]
    UnsupportedAlgorithm {
        /// The algorithm URI.
        algorithm: String,
    },
    /// An `AlgorithmParameters/Suite` hash that is not SHA-1, SHA-256 or SHA-512.
    #[error("its algorithm suite {suite:?} is not HMAC-SHA1, HMAC-SHA256 or HMAC-SHA512")]
    UnsupportedSuite {
        /// The suite text.
        suite: String,
    },
    /// A `ResponseFormat` `Length` outside 6 to 10 digits (RFC 4226 §5.3
    /// asks for 6 at least; 31 bits give no more than 10).
    #[error("its response length {length:?} is not 6 to 10 digits")]
    Digits {
        /// The length given.
        length: String,
    },
    /// A `ResponseFormat` `Encoding` other than DECIMAL.
    #[error("its response encoding {encoding:?} is not DECIMAL")]
    ResponseEncoding {
        /// The encoding given.
        encoding: String,
    },
    /// No `Data/Secret`.
    #[error("it carries no secret")]
    MissingSecret,
    /// A `TimeInterval` of zero.
    #[error("its time interval is zero")]
    ZeroTimeInterval,
    /// One value (`Secret`, `Counter`, `TimeInterval`, …) was refused.
    #[error("its {field}: {error}")]
    Value {
        /// The element under `Data`.
        field: &'static str,
        /// Why.
        error: ValueError,
    },
}

/// Why one value — a `Data` field or the `MACKey` — could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// Neither `PlainValue` nor `EncryptedValue`.
    #[error("it has neither a PlainValue nor an EncryptedValue")]
    NoValue,
    /// The value is empty.
    #[error("it is empty")]
    Empty,
    /// Base64 that does not decode.
    #[error("it is not valid base64")]
    Base64,
    /// A number that does not parse (or does not fit).
    #[error("{text:?} is not a number in range")]
    Number {
        /// The text, cut short.
        text: String,
    },
    /// An encrypted value when no key was given or declared.
    #[error("it is encrypted, but the file declares no way to get the key")]
    NoKey,
    /// No `EncryptionMethod` `Algorithm`.
    #[error("its EncryptionMethod names no Algorithm")]
    MissingEncryptionMethod,
    /// An encryption algorithm this reader does not open.
    #[error("its encryption algorithm {algorithm:?} is not AES-CBC or AES key wrap")]
    UnsupportedEncryption {
        /// The algorithm URI.
        algorithm: String,
    },
    /// The key does not fit the algorithm.
    #[error("{algorithm} takes a {expected}-byte key; the key given is {actual} bytes")]
    KeyLength {
        /// The algorithm.
        algorithm: &'static str,
        /// Its key size.
        expected: usize,
        /// The key's size.
        actual: usize,
    },
    /// No `CipherData/CipherValue`.
    #[error("its EncryptedValue has no CipherData/CipherValue")]
    MissingCipherValue,
    /// A cipher value of a length the algorithm cannot have produced.
    #[error("its cipher value is {length} bytes, a length the algorithm cannot produce")]
    CipherLength {
        /// The length.
        length: usize,
    },
    /// An AES-CBC value without a `ValueMAC` (RFC 6030 §6.1.1).
    #[error("it is encrypted with AES-CBC, which has no integrity check, and carries no ValueMAC")]
    MissingMac,
    /// A `ValueMAC` but no `MACMethod` to key it.
    #[error("it carries a ValueMAC, but the file has no MACMethod")]
    MissingMacKey,
    /// A `ValueMAC` but a `MACMethod` with no `Algorithm`.
    #[error("it carries a ValueMAC, but the file's MACMethod names no Algorithm")]
    NoMacAlgorithm,
    /// The `ValueMAC` does not match the encrypted value.
    #[error("its ValueMAC does not match: the file was altered, or the password or key is wrong")]
    MacMismatch,
    /// Decryption failed its padding or key-wrap integrity check.
    #[error("it does not decrypt: the password or key is wrong, or the file was altered")]
    DoesNotDecrypt,
}

impl ValueError {
    /// Whether this is what a wrong key produces (as well as tampering).
    pub(crate) fn is_wrong_key(&self) -> bool {
        matches!(self, ValueError::MacMismatch | ValueError::DoesNotDecrypt)
    }
}
