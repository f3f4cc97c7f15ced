//! From the element tree to key packages: the key container's protection
//! (RFC 6030 §6), then each `KeyPackage` (§4).

use zeroize::Zeroizing;

use crate::crypto::{Encryption, MacAlgorithm};
use crate::error::{DecodeError, PackageError, ValueError};
use crate::secret::Secret;
use crate::xml::{self, Element};
use crate::{Algorithm, Decoded, KeyPackage, Limits, Options, OtpHash, Skipped, Unlock};

/// RFC 6030 §6.2 and XML Encryption 1.1 name PBKDF2 by these URIs.
const PBKDF2_URIS: [&str; 2] = [
    "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2",
    "http://www.w3.org/2009/xmlenc11#pbkdf2",
];

/// The key length PBKDF2 derives when the file gives no `KeyLength` and
/// names no algorithm it knows: an AES-128 key, RFC 6030 §6.2's example.
const DEFAULT_DERIVED_KEY_LEN: usize = 16;

/// Longest text quoted back in an error message.
const QUOTE_LEN: usize = 100;

pub(crate) fn decode(
    input: &[u8],
    unlock: &Unlock,
    options: &Options,
) -> Result<Decoded, DecodeError> {
    let limits = &options.limits;
    if input.len() > limits.max_bytes {
        return Err(DecodeError::TooLarge {
            size: input.len(),
            limit: limits.max_bytes,
        });
    }
    let text = std::str::from_utf8(input).map_err(|_| DecodeError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let root = xml::parse(text, limits.max_elements())?;

    if root.name != "KeyContainer" {
        return Err(DecodeError::NotKeyContainer {
            root: quote(&root.name),
        });
    }
    // RFC 6030 §4: a container of this specification is version 1.0.
    if let Some(version) = root.attribute("Version")
        && version.trim() != "1.0"
    {
        return Err(DecodeError::UnsupportedVersion {
            version: quote(version),
        });
    }
    let packages: Vec<&Element> = root.children_named("KeyPackage").collect();
    if packages.is_empty() {
        return Err(DecodeError::NoKeyPackages);
    }
    if packages.len() > limits.max_key_packages {
        return Err(DecodeError::TooManyKeyPackages {
            limit: limits.max_key_packages,
        });
    }

    let file_key = file_key(&root, unlock, limits)?;
    let given = match unlock {
        Unlock::Password(_) => "password",
        _ => "pre-shared key",
    };
    let mac = mac_key(&root, file_key.as_deref(), given)?;
    let opener = Opener {
        key: file_key.as_deref().map(Vec::as_slice),
        mac: mac
            .as_ref()
            .map(|(algorithm, key)| (*algorithm, key.as_slice())),
    };

    let mut keys = Vec::new();
    let mut skipped = Vec::new();
    let mut wrong_key_failures = 0usize;
    for (index, package) in packages.into_iter().enumerate() {
        let position = index + 1;
        match read_package(package, position, &opener) {
            Ok(key) => keys.push(key),
            Err(reason) => {
                if matches!(&reason, PackageError::Value { error, .. } if error.is_wrong_key()) {
                    wrong_key_failures += 1;
                }
                skipped.push(Skipped {
                    position,
                    serial: identity(package),
                    reason,
                });
            }
        }
    }
    // Nothing opened at all: say so once, rather than blame the first package.
    if keys.is_empty() && wrong_key_failures > 0 && opener.key.is_some() {
        return Err(DecodeError::WrongKey { given });
    }
    if options.skip_invalid {
        return Ok(Decoded { keys, skipped });
    }
    match skipped.into_iter().next() {
        Some(first) => Err(DecodeError::Package {
            position: first.position,
            serial: first.serial,
            reason: first.reason,
        }),
        None => Ok(Decoded {
            keys,
            skipped: Vec::new(),
        }),
    }
}

/// The key the file's encrypted values open with, when it has any: derived
/// from the password (§6.2) or the pre-shared key itself (§6.1).
fn file_key(
    root: &Element,
    unlock: &Unlock,
    limits: &Limits,
) -> Result<Option<Zeroizing<Vec<u8>>>, DecodeError> {
    let needs_key = root.contains("EncryptedValue")
        || root
            .child("MACMethod")
            .is_some_and(|method| method.child("MACKey").is_some());
    if !needs_key {
        return Ok(None);
    }
    let encryption_key = root.child("EncryptionKey");
    let derived = encryption_key.and_then(|key| key.child("DerivedKey"));
    if let Some(unknown) = encryption_key
        .into_iter()
        .flat_map(|key| key.children.iter())
        .find(|child| child.name != "KeyName" && child.name != "DerivedKey")
    {
        return Err(DecodeError::UnsupportedKeyTransport {
            kind: quote(&unknown.name),
        });
    }
    match derived {
        Some(derived) => {
            let Unlock::Password(password) = unlock else {
                return Err(DecodeError::PasswordRequired);
            };
            derive_key(root, derived, password.expose(), limits).map(Some)
        }
        None => {
            let Unlock::PreSharedKey(key) = unlock else {
                return Err(DecodeError::PreSharedKeyRequired);
            };
            Ok(Some(Zeroizing::new(key.expose().to_vec())))
        }
    }
}

/// PBKDF2 (PKCS #5 v2.0) with the file's `PBKDF2-params` (RFC 6030 §6.2).
fn derive_key(
    root: &Element,
    derived: &Element,
    password: &[u8],
    limits: &Limits,
) -> Result<Zeroizing<Vec<u8>>, DecodeError> {
    let bad = |reason| DecodeError::KeyDerivationParameters { reason };
    let method = derived
        .child("KeyDerivationMethod")
        .ok_or(bad("no KeyDerivationMethod"))?;
    let algorithm = method.attribute("Algorithm").unwrap_or_default().trim();
    if !PBKDF2_URIS.contains(&algorithm) {
        return Err(DecodeError::UnsupportedKeyDerivation {
            algorithm: quote(algorithm),
        });
    }
    let params = method
        .child("PBKDF2-params")
        .ok_or(bad("no PBKDF2-params"))?;
    let salt = params
        .path(&["Salt", "Specified"])
        .ok_or(bad("no Salt/Specified"))?;
    let salt = base64(salt.text()).map_err(|_| bad("the salt is not valid base64"))?;
    let iterations: u64 = params
        .child("IterationCount")
        .ok_or(bad("no IterationCount"))?
        .text()
        .parse()
        .map_err(|_| bad("the IterationCount is not a number"))?;
    if iterations == 0 {
        return Err(bad("the IterationCount is zero"));
    }
    let iterations = match u32::try_from(iterations) {
        Ok(count) if count <= limits.max_pbkdf2_iterations => count,
        _ => {
            return Err(DecodeError::TooManyIterations {
                iterations,
                limit: limits.max_pbkdf2_iterations,
            });
        }
    };
    let key_len = match params.child("KeyLength") {
        None => key_len_in_use(root),
        Some(length) => match length.text().parse::<usize>() {
            Ok(length @ (16 | 24 | 32)) => length,
            _ => return Err(bad("the KeyLength is not 16, 24 or 32 bytes")),
        },
    };
    // PKCS #5's schema names the PRF in an Algorithm attribute; python-pskc
    // writes it as the element's text.
    let prf = match params.child("PRF").map(|prf| {
        prf.attribute("Algorithm")
            .unwrap_or_else(|| prf.text())
            .trim()
    }) {
        None | Some("") => MacAlgorithm::HmacSha1,
        Some(uri) => {
            MacAlgorithm::from_uri(uri).ok_or(bad("the PRF is not HMAC-SHA1 or HMAC-SHA256"))?
        }
    };
    let mut key = Zeroizing::new(vec![0u8; key_len]);
    prf.pbkdf2(password, &salt, iterations, &mut key);
    Ok(key)
}

/// The key size of the first encryption algorithm the file uses (its
/// `MACKey` comes first), for a `DerivedKey` that gives no `KeyLength`.
fn key_len_in_use(root: &Element) -> usize {
    root.find("EncryptionMethod")
        .and_then(|method| method.attribute("Algorithm"))
        .and_then(Encryption::from_uri)
        .map_or(DEFAULT_DERIVED_KEY_LEN, Encryption::key_len)
}

/// The algorithm and key of the file's `ValueMAC`s.
type MacKey = (Option<MacAlgorithm>, Zeroizing<Vec<u8>>);

/// The MAC algorithm and key the `ValueMAC`s are checked with (RFC 6030
/// §6.1.1): the `MACKey` is encrypted with the file's key.
fn mac_key(
    root: &Element,
    file_key: Option<&Vec<u8>>,
    given: &'static str,
) -> Result<Option<MacKey>, DecodeError> {
    let Some(method) = root.child("MACMethod") else {
        return Ok(None);
    };
    // python-pskc writes a MACMethod without an Algorithm beside key-wrapped
    // values, which carry no ValueMAC; only a ValueMAC needs the algorithm.
    let algorithm = match method.attribute("Algorithm").map(str::trim) {
        None | Some("") => None,
        Some(uri) => {
            Some(
                MacAlgorithm::from_uri(uri).ok_or_else(|| DecodeError::UnsupportedMac {
                    algorithm: quote(uri),
                })?,
            )
        }
    };
    let encrypted = method.child("MACKey").ok_or(DecodeError::MissingMacKey)?;
    let Some(file_key) = file_key else {
        return Err(DecodeError::MacKey(ValueError::NoKey));
    };
    let (encryption, data) = encrypted_parts(encrypted).map_err(DecodeError::MacKey)?;
    let key = encryption.decrypt(file_key, &data).map_err(|error| {
        if error.is_wrong_key() {
            DecodeError::WrongKey { given }
        } else {
            DecodeError::MacKey(error)
        }
    })?;
    Ok(Some((algorithm, key)))
}

/// What opens the encrypted values.
struct Opener<'a> {
    key: Option<&'a [u8]>,
    mac: Option<(Option<MacAlgorithm>, &'a [u8])>,
}

/// A value as the file has it: the text of a `PlainValue`, or the bytes an
/// `EncryptedValue` decrypts to.
enum Value<'a> {
    Plain(&'a str),
    Decrypted(Zeroizing<Vec<u8>>),
}

impl Opener<'_> {
    /// Reads a `Data` field (RFC 6030 §4): its `PlainValue`, or its
    /// `EncryptedValue` after checking its `ValueMAC` — in constant time and
    /// before anything is decrypted.
    fn value<'e>(&self, field: &'e Element) -> Result<Value<'e>, ValueError> {
        if let Some(plain) = field.child("PlainValue") {
            return Ok(Value::Plain(plain.text()));
        }
        let encrypted = field.child("EncryptedValue").ok_or(ValueError::NoValue)?;
        let key = self.key.ok_or(ValueError::NoKey)?;
        let (encryption, data) = encrypted_parts(encrypted)?;
        match field.child("ValueMAC") {
            Some(tag) => {
                let (algorithm, mac_key) = self.mac.ok_or(ValueError::MissingMacKey)?;
                let algorithm = algorithm.ok_or(ValueError::NoMacAlgorithm)?;
                let tag = base64(tag.text()).map_err(|_| ValueError::Base64)?;
                // RFC 6030 §6.1.1: the MAC is over the encrypted value, IV
                // included.
                if !algorithm.verify(mac_key, &data, &tag) {
                    return Err(ValueError::MacMismatch);
                }
            }
            None if !encryption.has_integrity() => return Err(ValueError::MissingMac),
            None => {}
        }
        encryption.decrypt(key, &data).map(Value::Decrypted)
    }

    fn bytes(&self, field: &Element) -> Result<Zeroizing<Vec<u8>>, ValueError> {
        let bytes = match self.value(field)? {
            Value::Plain(text) => base64(text).map_err(|_| ValueError::Base64)?,
            Value::Decrypted(bytes) => bytes,
        };
        if bytes.is_empty() {
            return Err(ValueError::Empty);
        }
        Ok(bytes)
    }

    /// An unsigned number: decimal text in the clear, big-endian octets when
    /// encrypted.
    fn unsigned(&self, field: &Element) -> Result<u64, ValueError> {
        match self.value(field)? {
            Value::Plain(text) => text
                .parse()
                .map_err(|_| ValueError::Number { text: quote(text) }),
            Value::Decrypted(bytes) => big_endian(&bytes).map(|(value, _)| value),
        }
    }

    /// A signed number (the time drift, which may be negative).
    fn signed(&self, field: &Element) -> Result<i64, ValueError> {
        match self.value(field)? {
            Value::Plain(text) => text
                .parse()
                .map_err(|_| ValueError::Number { text: quote(text) }),
            Value::Decrypted(bytes) => signed_big_endian(&bytes),
        }
    }
}

/// Two's complement in 1 to 8 big-endian octets, sign-extended from the
/// width the file used.
fn signed_big_endian(bytes: &[u8]) -> Result<i64, ValueError> {
    let (value, bits) = big_endian(bytes)?;
    let shift = 64 - bits;
    // Reinterpreting the bits is the point: the top bit is the sign.
    #[allow(clippy::cast_possible_wrap)]
    let value = (value << shift) as i64;
    Ok(value >> shift)
}

/// The value and bit width of 1 to 8 big-endian octets.
fn big_endian(bytes: &[u8]) -> Result<(u64, u32), ValueError> {
    if bytes.is_empty() || bytes.len() > 8 {
        return Err(ValueError::Number {
            text: format!("<{} encrypted bytes>", bytes.len()),
        });
    }
    let value = bytes
        .iter()
        .fold(0u64, |value, byte| (value << 8) | u64::from(*byte));
    let bits = u32::try_from(bytes.len() * 8).unwrap_or(64);
    Ok((value, bits))
}

/// The algorithm and cipher bytes of an XML Encryption element
/// (`EncryptedValue`, `MACKey`).
fn encrypted_parts(encrypted: &Element) -> Result<(Encryption, Vec<u8>), ValueError> {
    let uri = encrypted
        .child("EncryptionMethod")
        .and_then(|method| method.attribute("Algorithm"))
        .ok_or(ValueError::MissingEncryptionMethod)?;
    let encryption =
        Encryption::from_uri(uri).ok_or_else(|| ValueError::UnsupportedEncryption {
            algorithm: quote(uri),
        })?;
    let cipher = encrypted
        .path(&["CipherData", "CipherValue"])
        .ok_or(ValueError::MissingCipherValue)?;
    let data = base64(cipher.text()).map_err(|_| ValueError::Base64)?;
    Ok((encryption, data.to_vec()))
}

/// A package's serial number, else its key id, for messages.
fn identity(package: &Element) -> Option<String> {
    package
        .path(&["DeviceInfo", "SerialNo"])
        .map(Element::text)
        .filter(|serial| !serial.is_empty())
        .or_else(|| {
            package
                .child("Key")
                .and_then(|key| key.attribute("Id"))
                .map(str::trim)
                .filter(|id| !id.is_empty())
        })
        .map(quote)
}

fn read_package(
    package: &Element,
    position: usize,
    opener: &Opener<'_>,
) -> Result<KeyPackage, PackageError> {
    let text_at = |element: Option<&Element>| {
        element
            .map(Element::text)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    let device = package.child("DeviceInfo");
    let serial = text_at(device.and_then(|device| device.child("SerialNo")));
    let manufacturer = text_at(device.and_then(|device| device.child("Manufacturer")));

    let mut keys = package.children_named("Key");
    let key = keys.next().ok_or(PackageError::MissingKey)?;
    if keys.next().is_some() {
        return Err(PackageError::SeveralKeys);
    }
    let key_id = key
        .attribute("Id")
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_owned);
    let uri = key
        .attribute("Algorithm")
        .ok_or(PackageError::MissingAlgorithm)?;
    let algorithm = Algorithm::from_uri(uri).ok_or_else(|| PackageError::UnsupportedAlgorithm {
        algorithm: quote(uri),
    })?;
    let issuer = text_at(key.child("Issuer"));

    let parameters = key.child("AlgorithmParameters");
    let hash = match parameters.and_then(|parameters| parameters.child("Suite")) {
        None => OtpHash::Sha1,
        Some(suite) => {
            OtpHash::from_suite(suite.text()).ok_or_else(|| PackageError::UnsupportedSuite {
                suite: quote(suite.text()),
            })?
        }
    };
    let digits = match parameters.and_then(|parameters| parameters.child("ResponseFormat")) {
        None => None,
        Some(format) => {
            if let Some(encoding) = format.attribute("Encoding")
                && !encoding.trim().eq_ignore_ascii_case("DECIMAL")
            {
                return Err(PackageError::ResponseEncoding {
                    encoding: quote(encoding),
                });
            }
            let length = format.attribute("Length").unwrap_or_default();
            match length.trim().parse::<u8>() {
                Ok(digits @ 6..=10) => Some(digits),
                _ => {
                    return Err(PackageError::Digits {
                        length: quote(length),
                    });
                }
            }
        }
    };

    let data = key.child("Data");
    let field = |name: &str| data.and_then(|data| data.child(name));
    let value_error = |field: &'static str| move |error| PackageError::Value { field, error };
    let secret = field("Secret").ok_or(PackageError::MissingSecret)?;
    let mut secret = opener.bytes(secret).map_err(value_error("Secret"))?;
    let counter = field("Counter")
        .map(|counter| opener.unsigned(counter))
        .transpose()
        .map_err(value_error("Counter"))?;
    let time = field("Time")
        .map(|time| opener.unsigned(time))
        .transpose()
        .map_err(value_error("Time"))?;
    let time_interval = field("TimeInterval")
        .map(|interval| opener.unsigned(interval))
        .transpose()
        .map_err(value_error("TimeInterval"))?;
    if time_interval == Some(0) {
        return Err(PackageError::ZeroTimeInterval);
    }
    let time_drift = field("TimeDrift")
        .map(|drift| opener.signed(drift))
        .transpose()
        .map_err(value_error("TimeDrift"))?;

    Ok(KeyPackage {
        position,
        key_id,
        serial,
        manufacturer,
        issuer,
        algorithm,
        hash,
        digits,
        counter,
        time,
        time_interval,
        time_drift,
        secret: Secret::from_vec(std::mem::take(&mut *secret)),
    })
}

/// Base64 as XML Schema's `base64Binary` has it: white space anywhere.
fn base64(text: &str) -> Result<Zeroizing<Vec<u8>>, data_encoding::DecodeError> {
    let compact: Zeroizing<Vec<u8>> = Zeroizing::new(
        text.bytes()
            .filter(|byte| !byte.is_ascii_whitespace())
            .collect(),
    );
    data_encoding::BASE64.decode(&compact).map(Zeroizing::new)
}

/// Text from the file, cut to a length fit for a message.
fn quote(text: &str) -> String {
    text.trim().chars().take(QUOTE_LEN).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_numbers_are_big_endian() {
        assert_eq!(big_endian(&[0, 0, 0, 0, 0, 0, 1, 0]).unwrap(), (256, 64));
        assert_eq!(signed_big_endian(&[0xfe]).unwrap(), -2);
        assert_eq!(signed_big_endian(&[0x7f]).unwrap(), 127);
        assert_eq!(signed_big_endian(&[0xff; 8]).unwrap(), -1);
        assert_eq!(signed_big_endian(&[0x00, 0x80]).unwrap(), 128);
        assert!(big_endian(&[]).is_err());
        assert!(big_endian(&[0; 9]).is_err());
    }

    #[test]
    fn base64_takes_white_space_anywhere() {
        assert_eq!(&*base64(" MTIz\n NA==\t").unwrap(), b"1234");
        assert!(base64("MTIzNA").is_err());
    }
}
