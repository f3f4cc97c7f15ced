//! # latchkey-pskc
//!
//! Reads PSKC key containers (RFC 6030), the seed files that hardware OATH
//! tokens are shipped with, into the facts an importer needs for each
//! token: serial number, HOTP or TOTP, digits, counter, time step and
//! drift, and the secret. Pure functions: no files, no clock, no
//! randomness; the caller reads the file and hands over its bytes.
//!
//! - [`decode`] takes the file's bytes, the [`Unlock`] material (nothing, a
//!   [`Password`] or a [`PreSharedKey`]) and [`Options`], and gives the
//!   [`KeyPackage`]s.
//! - **Protection** (RFC 6030 §6): secrets in the clear (`PlainValue`); or
//!   encrypted (`EncryptedValue`) with AES-128/192/256-CBC — whose
//!   `ValueMAC` (HMAC-SHA1 or HMAC-SHA256 under the file's `MACKey`, §6.1.1)
//!   is required and checked in constant time before anything is decrypted
//!   — or with AES key wrap (RFC 3394, or RFC 5649 with padding), which
//!   carries its own integrity check. The encryption key is a pre-shared key
//!   (§6.1, `KeyName`) or derived from a password with PBKDF2 (§6.2,
//!   `DerivedKey`, PKCS #5 v2.0). Asymmetric key transport (§6.3, X.509) is
//!   refused. A digital signature (§7) is not checked: the MACs and the key
//!   wrap already protect each secret, and a plain file is only as good as
//!   the channel it came by, signed or not.
//! - **All or nothing** by default: the first bad key package fails the
//!   whole file with its position and why ([`DecodeError::Package`]). With
//!   [`Options::skip_invalid`] the good packages come back with the reasons
//!   for the bad ones ([`Decoded::skipped`]). Either way a problem with the
//!   file as a whole — not XML, a DTD, the wrong password — fails it.
//! - **Hostile input**: no DTD and no entities (see the `xml` module), and
//!   [`Limits`] on the size, the number of key packages and the PBKDF2
//!   iterations, so that a crafted file costs neither memory nor minutes.
//!
//! ```
//! use latchkey_pskc::{Algorithm, Options, Unlock, decode};
//!
//! let file = br#"<?xml version="1.0" encoding="UTF-8"?>
//! <KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
//!   <KeyPackage>
//!     <DeviceInfo><SerialNo>987654321</SerialNo></DeviceInfo>
//!     <Key Id="12345678" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
//!       <AlgorithmParameters><ResponseFormat Length="8" Encoding="DECIMAL"/></AlgorithmParameters>
//!       <Data>
//!         <Secret><PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</PlainValue></Secret>
//!         <Counter><PlainValue>0</PlainValue></Counter>
//!       </Data>
//!     </Key>
//!   </KeyPackage>
//! </KeyContainer>"#;
//! let decoded = decode(file, &Unlock::Nothing, &Options::default()).unwrap();
//! let token = &decoded.keys[0];
//! assert_eq!(token.serial_or_key_id(), Some("987654321"));
//! assert_eq!(token.algorithm, Algorithm::Hotp);
//! assert_eq!((token.digits, token.counter), (Some(8), Some(0)));
//! assert_eq!(token.secret.expose(), b"12345678901234567890");
//! ```
//!
//! Secrets come back as [`Secret`], whose `Debug` shows only the length and
//! which is zeroized on drop; the plain text of the parsed file is zeroized
//! as well. `Policy` elements (PIN policy, start and expiry dates, key
//! usage) are not interpreted: an importer enrols the token under its own
//! policy.
#![forbid(unsafe_code)]

mod crypto;
mod decode;
mod error;
mod secret;
mod xml;

pub use error::{DecodeError, PackageError, ValueError};
pub use secret::{Password, PreSharedKey, PreSharedKeyError, Secret};
pub use xml::{MAX_DEPTH, XmlError};

/// What opens a file's encrypted values.
#[derive(Debug, Clone, Default)]
pub enum Unlock {
    /// Nothing: only files with secrets in the clear can be read.
    #[default]
    Nothing,
    /// The password the file's key is derived from (RFC 6030 §6.2).
    Password(Password),
    /// The key shared with the vendor (RFC 6030 §6.1).
    PreSharedKey(PreSharedKey),
}

/// Bounds on what one file may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest file, in bytes.
    pub max_bytes: usize,
    /// The most key packages in one file.
    pub max_key_packages: usize,
    /// The most PBKDF2 iterations a file may ask for.
    pub max_pbkdf2_iterations: u32,
}

impl Limits {
    /// Elements one key package may bring: a full RFC 6030 package has about
    /// thirty.
    const ELEMENTS_PER_PACKAGE: usize = 64;
    /// Elements outside the key packages: the container's encryption and
    /// MAC key descriptions, a signature.
    const CONTAINER_ELEMENTS: usize = 256;

    pub(crate) fn max_elements(&self) -> usize {
        self.max_key_packages
            .saturating_mul(Self::ELEMENTS_PER_PACKAGE)
            .saturating_add(Self::CONTAINER_ELEMENTS)
    }
}

impl Default for Limits {
    /// 16 MiB, 10 000 key packages (a large vendor shipment; about 1 KiB
    /// each) and 1 000 000 PBKDF2 iterations (ten times what python-pskc
    /// writes; one or two seconds of one core, once per file).
    fn default() -> Limits {
        Limits {
            max_bytes: 16 * 1024 * 1024,
            max_key_packages: 10_000,
            max_pbkdf2_iterations: 1_000_000,
        }
    }
}

/// How to decode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// The bounds on the file.
    pub limits: Limits,
    /// Return the good key packages and the reasons for the bad ones,
    /// instead of failing the file at the first bad one.
    pub skip_invalid: bool,
}

/// The OTP algorithm of a key, from the URN in its `Key/@Algorithm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// HOTP, RFC 4226: `urn:ietf:params:xml:ns:keyprov:pskc:hotp`.
    Hotp,
    /// TOTP, RFC 6238: `urn:ietf:params:xml:ns:keyprov:pskc:totp`.
    Totp,
}

impl Algorithm {
    /// The algorithm a `Key`'s `Algorithm` URI names; the pre-RFC draft
    /// identifiers some token vendors still write are read too.
    pub fn from_uri(uri: &str) -> Option<Algorithm> {
        match uri.trim() {
            "urn:ietf:params:xml:ns:keyprov:pskc:hotp"
            | "http://www.ietf.org/keyprov/pskc#hotp" => Some(Algorithm::Hotp),
            "urn:ietf:params:xml:ns:keyprov:pskc:totp"
            | "http://www.ietf.org/keyprov/pskc#totp" => Some(Algorithm::Totp),
            _ => None,
        }
    }

    /// The RFC 6030 URN.
    pub fn uri(self) -> &'static str {
        match self {
            Algorithm::Hotp => "urn:ietf:params:xml:ns:keyprov:pskc:hotp",
            Algorithm::Totp => "urn:ietf:params:xml:ns:keyprov:pskc:totp",
        }
    }
}

/// The HMAC hash of an OTP key, from `AlgorithmParameters/Suite`
/// (RFC 6030 §4); SHA-1 when the file names none (RFC 4226).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpHash {
    /// HMAC-SHA1.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

impl OtpHash {
    fn from_suite(suite: &str) -> Option<OtpHash> {
        let suite = suite.trim().to_ascii_uppercase();
        match suite.strip_prefix("HMAC-").unwrap_or(&suite) {
            "SHA1" | "SHA-1" => Some(OtpHash::Sha1),
            "SHA256" | "SHA-256" => Some(OtpHash::Sha256),
            "SHA512" | "SHA-512" => Some(OtpHash::Sha512),
            _ => None,
        }
    }
}

/// One token's key, from one `KeyPackage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPackage {
    /// The package's place in the file, counting from 1.
    pub position: usize,
    /// `Key/@Id`, when given (python-pskc's files leave it out).
    pub key_id: Option<String>,
    /// `DeviceInfo/SerialNo`.
    pub serial: Option<String>,
    /// `DeviceInfo/Manufacturer`.
    pub manufacturer: Option<String>,
    /// `Key/Issuer`.
    pub issuer: Option<String>,
    /// HOTP or TOTP.
    pub algorithm: Algorithm,
    /// The HMAC hash.
    pub hash: OtpHash,
    /// `ResponseFormat/@Length`: digits per code, 6 to 10, when given.
    pub digits: Option<u8>,
    /// `Data/Counter`: the HOTP moving factor.
    pub counter: Option<u64>,
    /// `Data/Time`: a TOTP's time, counted in intervals, when given.
    pub time: Option<u64>,
    /// `Data/TimeInterval`: a TOTP's time step in seconds (never zero).
    pub time_interval: Option<u64>,
    /// `Data/TimeDrift`: how many time steps the token's clock is off.
    pub time_drift: Option<i64>,
    /// `Data/Secret`: the key itself.
    pub secret: Secret,
}

impl KeyPackage {
    /// The serial number, else the key id: what the token is known by.
    pub fn serial_or_key_id(&self) -> Option<&str> {
        self.serial.as_deref().or(self.key_id.as_deref())
    }
}

/// A key package left out under [`Options::skip_invalid`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The package's place in the file, counting from 1.
    pub position: usize,
    /// Its serial number, else its key id, when it has either.
    pub serial: Option<String>,
    /// Why it was left out.
    pub reason: PackageError,
}

/// What a file held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The keys read, in file order.
    pub keys: Vec<KeyPackage>,
    /// The packages left out and why; always empty unless
    /// [`Options::skip_invalid`] was set.
    pub skipped: Vec<Skipped>,
}

/// Reads a PSKC key container.
///
/// Fails on anything wrong with the file as a whole (not XML, a DTD or
/// entity, not a key container, a missing or wrong password or key, a limit
/// passed); and, unless `options.skip_invalid` is set, on the first key
/// package that cannot be read, with its position and the reason.
pub fn decode(input: &[u8], unlock: &Unlock, options: &Options) -> Result<Decoded, DecodeError> {
    decode::decode(input, unlock, options)
}
