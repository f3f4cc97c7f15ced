//! Activation links, `latchkey://activate?server=…&serial=…&activation_code=…`:
//! what the portal's "Activate a new soft token" page shows as a QR code and
//! a link, and what `latchkey-token activate --link` and the desktop app
//! open. Everything in a link is checked before anything is sent: the
//! serial's and the activation code's check digits, and the server address
//! (https, or plain http to this machine only, as for a typed address).

use latchkey_oath::{ActivationCode, Serial};

/// A parsed, checked activation link.
#[derive(Clone, PartialEq, Eq)]
pub struct ActivationLink {
    /// The server's base URL.
    pub server: String,
    /// The token's serial.
    pub serial: Serial,
    /// The single-use activation code.
    pub activation_code: ActivationCode,
}

impl std::fmt::Debug for ActivationLink {
    // The activation code is a secret until it is used.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivationLink")
            .field("server", &self.server)
            .field("serial", &self.serial.digits())
            .finish_non_exhaustive()
    }
}

/// Why a link cannot be used; each message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a `latchkey://activate?…` link at all.
    #[error("this is not a Latchkey activation link: it should start with latchkey://activate?")]
    NotAnActivationLink,
    /// A part is missing or given twice.
    #[error("the activation link has no single {0}: copy the whole link again")]
    Missing(&'static str),
    /// The server address is not one a token may be fetched from.
    #[error(
        "the activation link names the server {0}, which is not usable: a token is fetched only over https (plain http only from this machine)"
    )]
    InsecureServer(String),
    /// The serial's check digit is wrong.
    #[error("the serial in the activation link is not valid: {0}")]
    Serial(String),
    /// The activation code's check digit is wrong.
    #[error("the activation code in the activation link is not valid: {0}")]
    ActivationCode(String),
}

impl std::str::FromStr for ActivationLink {
    type Err = LinkError;

    fn from_str(text: &str) -> Result<Self, LinkError> {
        let query = text
            .trim()
            .strip_prefix("latchkey://activate")
            .map(|rest| rest.strip_prefix('/').unwrap_or(rest))
            .and_then(|rest| rest.strip_prefix('?'))
            .ok_or(LinkError::NotAnActivationLink)?;
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let single = |name: &'static str| -> Result<String, LinkError> {
            let mut found = pairs.iter().filter(|(key, _)| key == name);
            match (found.next(), found.next()) {
                (Some((_, value)), None) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
                _ => Err(LinkError::Missing(name)),
            }
        };
        let server = single("server")?;
        if crate::client::endpoint(&server, "").is_err() {
            return Err(LinkError::InsecureServer(server));
        }
        let serial = single("serial")?
            .parse()
            .map_err(|e: latchkey_oath::CodeError| LinkError::Serial(e.to_string()))?;
        let activation_code = single("activation_code")?
            .parse()
            .map_err(|e: latchkey_oath::CodeError| LinkError::ActivationCode(e.to_string()))?;
        Ok(ActivationLink {
            server,
            serial,
            activation_code,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(server: &str, serial: &str, code: &str) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("server", server)
            .append_pair("serial", serial)
            .append_pair("activation_code", code)
            .finish();
        format!("latchkey://activate?{query}")
    }

    fn valid_serial() -> String {
        Serial::generate().digits().to_owned()
    }

    #[test]
    fn a_link_the_portal_makes_is_read_back() {
        let serial = valid_serial();
        let parsed: ActivationLink = link("https://auth.example.org", &serial, "1234567890123452")
            .parse()
            .unwrap();
        assert_eq!(parsed.server, "https://auth.example.org");
        assert_eq!(parsed.serial.digits(), serial);
        assert_eq!(parsed.activation_code.digits(), "1234567890123452");
        assert!(!format!("{parsed:?}").contains("1234567890123452"));
    }

    #[test]
    fn plain_http_is_refused_except_to_this_machine() {
        let serial = valid_serial();
        assert_eq!(
            link("http://auth.example.org", &serial, "1234567890123452").parse::<ActivationLink>(),
            Err(LinkError::InsecureServer("http://auth.example.org".into()))
        );
        assert!(
            link("http://127.0.0.1:8080", &serial, "1234567890123452")
                .parse::<ActivationLink>()
                .is_ok()
        );
    }

    #[test]
    fn broken_links_say_what_is_wrong() {
        let serial = valid_serial();
        assert_eq!(
            "https://auth.example.org/".parse::<ActivationLink>(),
            Err(LinkError::NotAnActivationLink)
        );
        let without_code =
            format!("latchkey://activate?server=https%3A%2F%2Fa.example&serial={serial}");
        assert_eq!(
            without_code.parse::<ActivationLink>(),
            Err(LinkError::Missing("activation_code"))
        );
        assert!(matches!(
            link("https://a.example", "1234", "1234567890123452").parse::<ActivationLink>(),
            Err(LinkError::Serial(_))
        ));
        let twice = format!(
            "{}&serial={serial}",
            link("https://a.example", &serial, "1234567890123452")
        );
        assert_eq!(
            twice.parse::<ActivationLink>(),
            Err(LinkError::Missing("serial"))
        );
        assert!(matches!(
            link("https://a.example", &serial, "1234567890123453").parse::<ActivationLink>(),
            Err(LinkError::ActivationCode(_))
        ));
    }
}
