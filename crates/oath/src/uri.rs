//! `otpauth://` key URIs, in the Google Authenticator key-URI format:
//! `otpauth://TYPE/LABEL?secret=…&issuer=…&algorithm=…&digits=…&period=…&counter=…`.

use url::Url;

use crate::{Algorithm, Digits, Hotp, ParamError, Secret, Totp};

/// Which kind of one-time password a key URI provisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpKind {
    /// Time-based (RFC 6238), with its period in seconds.
    Totp {
        /// The time step in seconds.
        period: u64,
    },
    /// Counter-based (RFC 4226), with the initial counter.
    Hotp {
        /// The next counter value.
        counter: u64,
    },
}

/// A parsed `otpauth://` key URI. The secret is redacted in `Debug`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUri {
    /// TOTP or HOTP, with the period or counter.
    pub kind: OtpKind,
    /// The account name from the label (the part after `Issuer:`).
    pub account: String,
    /// The issuer, from the `issuer` parameter or else the label's prefix.
    pub issuer: Option<String>,
    /// The shared secret.
    pub secret: Secret,
    /// The HMAC hash; SHA1 when the URI names none.
    pub algorithm: Algorithm,
    /// Digits per code; 6 when the URI names none.
    pub digits: Digits,
}

/// What is wrong with a key URI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyUriError {
    /// Not a URI at all.
    #[error("this is not a URI")]
    NotAUri,
    /// A scheme other than `otpauth`.
    #[error("the URI must start with otpauth://")]
    NotOtpauth,
    /// A type other than `totp` or `hotp`.
    #[error("the URI's type must be totp or hotp")]
    UnknownType,
    /// No account name in the label.
    #[error("the URI has no account name in its label")]
    MissingAccount,
    /// No `secret` parameter.
    #[error("the URI has no secret")]
    MissingSecret,
    /// The secret is not valid base32.
    #[error("the URI's secret is not valid base32: {0}")]
    BadSecret(#[from] crate::base32::Base32Error),
    /// An `algorithm` other than SHA1, SHA256 or SHA512.
    #[error("the URI's algorithm must be SHA1, SHA256 or SHA512")]
    BadAlgorithm,
    /// `digits` outside 6 to 10.
    #[error("the URI's digits must be a number from 6 to 10")]
    BadDigits,
    /// `period` not a positive number of seconds.
    #[error("the URI's period must be a positive number of seconds")]
    BadPeriod,
    /// An HOTP URI without a valid `counter`.
    #[error("an hotp URI needs a counter that is a whole number")]
    BadCounter,
    /// A parameter given twice.
    #[error("the URI gives the parameter {0} more than once")]
    Duplicate(&'static str),
    /// The label's issuer prefix and the `issuer` parameter disagree.
    #[error("the URI's label and issuer parameter name different issuers")]
    IssuerMismatch,
}

impl KeyUri {
    /// Parses an `otpauth://` URI. Unknown parameters (such as `image`) are ignored.
    pub fn parse(text: &str) -> Result<Self, KeyUriError> {
        let url = Url::parse(text.trim()).map_err(|_| KeyUriError::NotAUri)?;
        if url.scheme() != "otpauth" {
            return Err(KeyUriError::NotOtpauth);
        }
        let kind_name = url.host_str().map(str::to_ascii_lowercase);
        // The label is read from the text as written: URL parsing would
        // treat an account named "." or ".." as a dot segment and drop it.
        // The issuer prefix ends at the first literal colon; only when there
        // is none does an encoded colon (%3A) separate them, as some issuers
        // write it. Splitting before decoding keeps an encoded colon inside
        // an issuer or account name where it belongs.
        let raw = raw_label(text.trim());
        let split = raw.split_once(':').or_else(|| {
            let at = raw.to_ascii_lowercase().find("%3a")?;
            Some((&raw[..at], &raw[at + 3..]))
        });
        let (label_issuer, account) = match split {
            // Spaces may precede the account name after the issuer prefix.
            Some(("", account)) => (None, percent_decode(account)),
            Some((issuer, account)) => (
                Some(percent_decode(issuer)),
                percent_decode(account).trim_start().to_owned(),
            ),
            None => (None, percent_decode(raw)),
        };
        if account.trim().is_empty() {
            return Err(KeyUriError::MissingAccount);
        }

        let mut secret = None;
        let mut issuer = None;
        let mut algorithm = None;
        let mut digits = None;
        let mut period = None;
        let mut counter = None;
        for (key, value) in url.query_pairs() {
            let (slot, name): (&mut Option<String>, &'static str) = match key.as_ref() {
                "secret" => (&mut secret, "secret"),
                "issuer" => (&mut issuer, "issuer"),
                "algorithm" => (&mut algorithm, "algorithm"),
                "digits" => (&mut digits, "digits"),
                "period" => (&mut period, "period"),
                "counter" => (&mut counter, "counter"),
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(KeyUriError::Duplicate(name));
            }
        }

        let kind = match kind_name.as_deref() {
            Some("totp") => OtpKind::Totp {
                period: match period {
                    None => Totp::DEFAULT_STEP,
                    Some(p) => p
                        .parse()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or(KeyUriError::BadPeriod)?,
                },
            },
            Some("hotp") => OtpKind::Hotp {
                counter: counter
                    .and_then(|c| c.parse().ok())
                    .ok_or(KeyUriError::BadCounter)?,
            },
            _ => return Err(KeyUriError::UnknownType),
        };
        let secret = secret.as_deref().ok_or(KeyUriError::MissingSecret)?;
        let secret = Secret::from_base32(secret)?;
        let algorithm = match algorithm {
            None => Algorithm::Sha1,
            Some(name) => name.parse().map_err(|_| KeyUriError::BadAlgorithm)?,
        };
        let digits = match digits {
            None => Digits::SIX,
            Some(d) => d
                .parse()
                .ok()
                .and_then(|d| Digits::new(d).ok())
                .ok_or(KeyUriError::BadDigits)?,
        };
        let issuer = match (
            label_issuer.filter(|i| !i.is_empty()),
            issuer.filter(|i| !i.is_empty()),
        ) {
            (Some(from_label), Some(from_param)) if from_label != from_param => {
                return Err(KeyUriError::IssuerMismatch);
            }
            (from_label, from_param) => from_param.or(from_label),
        };
        Ok(KeyUri {
            kind,
            account,
            issuer,
            secret,
            algorithm,
            digits,
        })
    }

    /// Formats the URI, every parameter written out so that apps with other
    /// defaults read the same token.
    pub fn to_uri(&self) -> zeroize::Zeroizing<String> {
        let (kind, extra) = match self.kind {
            OtpKind::Totp { period } => ("totp", format!("period={period}")),
            OtpKind::Hotp { counter } => ("hotp", format!("counter={counter}")),
        };
        // The label carries the issuer only where parsing gives back the same
        // account: a leading space after the prefix would be dropped, so such
        // an account goes without prefix (the issuer parameter still names
        // the issuer). Without an issuer, an account with a colon gets an
        // empty prefix so that its colon is not read as the separator.
        let account = percent_encode(&self.account);
        let label = match &self.issuer {
            Some(issuer) if !self.account.starts_with(char::is_whitespace) => {
                format!("{}:{account}", percent_encode(issuer))
            }
            _ if self.account.contains(':') => format!(":{account}"),
            _ => account,
        };
        let mut uri = format!(
            "otpauth://{kind}/{label}?secret={}",
            self.secret.to_base32().as_str()
        );
        if let Some(issuer) = &self.issuer {
            uri.push_str("&issuer=");
            uri.push_str(&percent_encode(issuer));
        }
        uri.push_str(&format!(
            "&algorithm={}&digits={}&{extra}",
            self.algorithm,
            self.digits.get()
        ));
        zeroize::Zeroizing::new(uri)
    }

    /// A TOTP generator for this key, if it is a TOTP key.
    pub fn totp(&self) -> Option<Result<Totp, ParamError>> {
        match self.kind {
            OtpKind::Totp { period } => Some(Totp::new(
                self.secret.clone(),
                self.algorithm,
                self.digits,
                period,
            )),
            OtpKind::Hotp { .. } => None,
        }
    }

    /// An HOTP generator for this key (for a TOTP key, over its time steps).
    pub fn hotp(&self) -> Result<Hotp, ParamError> {
        Hotp::new(self.secret.clone(), self.algorithm, self.digits)
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The text between `otpauth://TYPE/` and the query or fragment.
fn raw_label(text: &str) -> &str {
    let after_scheme = text.split_once("://").map_or("", |(_, rest)| rest);
    let path = after_scheme.split_once('/').map_or("", |(_, rest)| rest);
    path.split(['?', '#']).next().unwrap_or("")
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_typical_uri() {
        let uri = KeyUri::parse(
            "otpauth://totp/Example%20Co:alice%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Example%20Co&algorithm=SHA256&digits=8&period=60",
        )
        .unwrap();
        assert_eq!(uri.kind, OtpKind::Totp { period: 60 });
        assert_eq!(uri.account, "alice@example.com");
        assert_eq!(uri.issuer.as_deref(), Some("Example Co"));
        assert_eq!(uri.algorithm, Algorithm::Sha256);
        assert_eq!(uri.digits.get(), 8);
        assert_eq!(uri.secret.expose(), b"Hello!\xde\xad\xbe\xef");
        assert!(!format!("{uri:?}").contains("JBSWY3DPEHPK3PXP"));
    }

    #[test]
    fn defaults_follow_the_key_uri_format() {
        let uri = KeyUri::parse("otpauth://totp/bob?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(uri.kind, OtpKind::Totp { period: 30 });
        assert_eq!(uri.algorithm, Algorithm::Sha1);
        assert_eq!(uri.digits, Digits::SIX);
        assert_eq!(uri.issuer, None);
        let plus = KeyUri::parse("otpauth://totp/a+b?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(plus.account, "a+b");
        let dot = KeyUri::parse("otpauth://totp/.?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(dot.account, ".");
    }

    #[test]
    fn every_malformed_part_has_its_error() {
        let cases = [
            ("not a uri", KeyUriError::NotAUri),
            (
                "https://x/y?secret=JBSWY3DPEHPK3PXP",
                KeyUriError::NotOtpauth,
            ),
            (
                "otpauth://motp/a?secret=JBSWY3DPEHPK3PXP",
                KeyUriError::UnknownType,
            ),
            (
                "otpauth://totp/?secret=JBSWY3DPEHPK3PXP",
                KeyUriError::MissingAccount,
            ),
            ("otpauth://totp/a", KeyUriError::MissingSecret),
            (
                "otpauth://totp/a?secret=JBSWY3D1",
                KeyUriError::BadSecret(crate::base32::Base32Error::InvalidCharacter),
            ),
            (
                "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&algorithm=MD5",
                KeyUriError::BadAlgorithm,
            ),
            (
                "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=5",
                KeyUriError::BadDigits,
            ),
            (
                "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=x",
                KeyUriError::BadDigits,
            ),
            (
                "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period=0",
                KeyUriError::BadPeriod,
            ),
            (
                "otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP",
                KeyUriError::BadCounter,
            ),
            (
                "otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP&counter=-1",
                KeyUriError::BadCounter,
            ),
            (
                "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&secret=JBSWY3DPEHPK3PXP",
                KeyUriError::Duplicate("secret"),
            ),
            (
                "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&issuer=B",
                KeyUriError::IssuerMismatch,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(KeyUri::parse(text).unwrap_err(), expected, "{text}");
        }
    }

    /// Inputs the fuzzer found: encoded colons, spaces around the issuer,
    /// an account with a colon and no issuer.
    #[test]
    fn names_with_colons_and_spaces_round_trip() {
        for text in [
            "otpauth://totp/m?secret=JBSWY3DPEHPK3PXP&issuer=E:8",
            "otpauth://totp/m?secret=JBSWY3DPEHPK3PXP&issuer=%20E",
            "otpauth://totp/:b:c?secret=JBSWY3DPEHPK3PXP",
            "otpauth://totp/%20lead?secret=JBSWY3DPEHPK3PXP&issuer=X",
        ] {
            let uri = KeyUri::parse(text).unwrap();
            assert_eq!(KeyUri::parse(&uri.to_uri()).unwrap(), uri, "{text}");
        }
        let encoded = KeyUri::parse("otpauth://totp/Acme%3Aalice?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(
            (encoded.issuer.as_deref(), encoded.account.as_str()),
            (Some("Acme"), "alice")
        );
        let spaced =
            KeyUri::parse("otpauth://totp/Acme:%20%20alice?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(spaced.account, "alice");
    }

    #[test]
    fn hotp_round_trip_keeps_the_counter() {
        let uri =
            KeyUri::parse("otpauth://hotp/Acme:carol?secret=JBSWY3DPEHPK3PXP&counter=42").unwrap();
        assert_eq!(uri.kind, OtpKind::Hotp { counter: 42 });
        assert_eq!(KeyUri::parse(&uri.to_uri()).unwrap(), uri);
    }
}
