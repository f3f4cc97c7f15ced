//! Encoding requests and replies.

use std::fmt;
use std::net::Ipv4Addr;

use zeroize::Zeroizing;

use crate::authenticator::{message_authenticator, response_authenticator};
use crate::packet::check_value;
use crate::password::hide_password;
use crate::{
    AttributeType, Authenticator, Code, DecodeError, HEADER_LEN, MAX_PACKET_LEN, MAX_VALUE_LEN,
    Packet, PasswordError, SharedSecret,
};

/// Why an attribute could not be added, or a packet not encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A value longer than the 253 octets an attribute holds (RFC 2865 §5).
    #[error("{attribute} holds at most 253 octets, this value has {length}")]
    ValueTooLong {
        /// The attribute.
        attribute: AttributeType,
        /// The value's length.
        length: usize,
    },
    /// A value the attribute's section of RFC 2865 does not allow, such as
    /// an empty User-Name; the decoder would refuse it.
    #[error("{attribute} cannot hold a value of {length} octets")]
    InvalidValue {
        /// The attribute.
        attribute: AttributeType,
        /// The value's length.
        length: usize,
    },
    /// A second copy of an attribute a packet carries at most once.
    #[error("{attribute} can appear only once")]
    Duplicate {
        /// The attribute.
        attribute: AttributeType,
    },
    /// User-Password and Message-Authenticator are computed by the encoder:
    /// a password is added in the clear with [`PacketBuilder::user_password`]
    /// and hidden when encoded; the Message-Authenticator is written unless
    /// [`PacketBuilder::without_message_authenticator`] was called.
    #[error("{attribute} is written by the encoder, not added as a value")]
    Computed {
        /// The attribute.
        attribute: AttributeType,
    },
    /// The password is longer than 128 octets (RFC 2865 §5.2).
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// A User-Password belongs in a request, which has a Request
    /// Authenticator to hide it with (RFC 2865 §5.2).
    #[error("a User-Password belongs in a request, not a reply")]
    PasswordInReply,
    /// A Vendor-Id is three octets (RFC 2865 §5.26).
    #[error("vendor id {vendor_id} is above 2^24 - 1")]
    VendorId {
        /// The vendor id given.
        vendor_id: u32,
    },
    /// The packet would be longer than 4096 octets (RFC 2865 §3).
    #[error("the packet would be {length} octets, more than 4096")]
    PacketTooLong {
        /// Its length.
        length: usize,
    },
}

#[derive(Clone)]
enum Pending {
    Value(AttributeType, Vec<u8>),
    Password(Zeroizing<Vec<u8>>),
}

/// Builds a request or a reply, and encodes it with the shared secret.
///
/// The Message-Authenticator (RFC 3579 §3.2) is on by default and is written
/// as the first attribute, as the Blast-RADIUS mitigation (CVE-2024-3596)
/// asks of replies. The other attributes follow in the order added. Each
/// `add` method checks what the decoder would, so whatever encodes decodes.
///
/// ```
/// use latchkey_radius::{Code, MessageAuthenticatorPolicy, Packet, PacketBuilder, SharedSecret};
///
/// let secret = SharedSecret::new("xyzzy5461")?;
/// let mut request = PacketBuilder::request(Code::ACCESS_REQUEST, 1, [7; 16]);
/// request.user_name(b"nemo")?.user_password(b"arctangent")?;
/// let bytes = request.encode(&secret)?;
///
/// let received = Packet::decode(&bytes)?;
/// received.verify_request(&secret, MessageAuthenticatorPolicy::Required)?;
/// let password = received.user_password(&secret).expect("one was sent");
/// assert_eq!(password.expose(), b"arctangent");
///
/// let mut accept = received.reply(Code::ACCESS_ACCEPT);
/// accept.class(b"user")?;
/// let reply = accept.encode(&secret)?;
/// let reply = Packet::decode(&reply)?;
/// reply.verify_reply(received.authenticator(), &secret, MessageAuthenticatorPolicy::Required)?;
/// assert!(reply.message_authenticator_is_first());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct PacketBuilder {
    code: Code,
    identifier: u8,
    // A request's own Request Authenticator, or for a reply the one of the
    // request it answers.
    authenticator: Authenticator,
    reply: bool,
    message_authenticator: bool,
    attributes: Vec<Pending>,
    seen: [u64; 4],
}

impl PacketBuilder {
    /// A request: Access-Request, or Status-Server (RFC 5997). The Request
    /// Authenticator must be unpredictable and unique over the secret's
    /// lifetime (RFC 2865 §3): draw it from a secure random generator.
    pub fn request(code: Code, identifier: u8, authenticator: Authenticator) -> PacketBuilder {
        PacketBuilder::new(code, identifier, authenticator, false)
    }

    /// A reply (Access-Accept, Access-Reject, Access-Challenge) to the
    /// request with this Identifier and Request Authenticator. The encoder
    /// writes the Response Authenticator (RFC 2865 §3). [`Packet::reply`]
    /// also copies the request's Proxy-State.
    pub fn reply(
        code: Code,
        identifier: u8,
        request_authenticator: Authenticator,
    ) -> PacketBuilder {
        PacketBuilder::new(code, identifier, request_authenticator, true)
    }

    fn new(code: Code, identifier: u8, authenticator: Authenticator, reply: bool) -> Self {
        PacketBuilder {
            code,
            identifier,
            authenticator,
            reply,
            message_authenticator: true,
            attributes: Vec::new(),
            seen: [0; 4],
        }
    }

    /// Leaves the Message-Authenticator out: for an old device that cannot
    /// check one, and for tests.
    pub fn without_message_authenticator(&mut self) -> &mut Self {
        self.message_authenticator = false;
        self
    }

    /// Adds an attribute of any type but User-Password and
    /// Message-Authenticator, which the encoder computes.
    pub fn attribute(
        &mut self,
        kind: AttributeType,
        value: &[u8],
    ) -> Result<&mut Self, EncodeError> {
        if kind == AttributeType::USER_PASSWORD || kind == AttributeType::MESSAGE_AUTHENTICATOR {
            return Err(EncodeError::Computed { attribute: kind });
        }
        if value.len() > MAX_VALUE_LEN {
            return Err(EncodeError::ValueTooLong {
                attribute: kind,
                length: value.len(),
            });
        }
        check_value(kind, value).map_err(|e| match e {
            DecodeError::InvalidValue { attribute, length } => {
                EncodeError::InvalidValue { attribute, length }
            }
            _ => EncodeError::InvalidValue {
                attribute: kind,
                length: value.len(),
            },
        })?;
        self.mark(kind)?;
        self.attributes.push(Pending::Value(kind, value.to_vec()));
        Ok(self)
    }

    fn mark(&mut self, kind: AttributeType) -> Result<(), EncodeError> {
        if kind.is_single() {
            let (word, bit) = (usize::from(kind.get() / 64), kind.get() % 64);
            if self.seen[word] & (1 << bit) != 0 {
                return Err(EncodeError::Duplicate { attribute: kind });
            }
            self.seen[word] |= 1 << bit;
        }
        Ok(())
    }

    /// User-Name (RFC 2865 §5.1).
    pub fn user_name(&mut self, name: &[u8]) -> Result<&mut Self, EncodeError> {
        self.attribute(AttributeType::USER_NAME, name)
    }

    /// User-Password (RFC 2865 §5.2), at most 128 octets, hidden when the
    /// packet is encoded.
    pub fn user_password(&mut self, password: &[u8]) -> Result<&mut Self, EncodeError> {
        if self.reply {
            return Err(EncodeError::PasswordInReply);
        }
        if password.len() > crate::MAX_PASSWORD_LEN {
            return Err(PasswordError::TooLong {
                length: password.len(),
            }
            .into());
        }
        self.mark(AttributeType::USER_PASSWORD)?;
        self.attributes
            .push(Pending::Password(Zeroizing::new(password.to_vec())));
        Ok(self)
    }

    /// NAS-IP-Address (RFC 2865 §5.4).
    pub fn nas_ip_address(&mut self, address: Ipv4Addr) -> Result<&mut Self, EncodeError> {
        self.attribute(AttributeType::NAS_IP_ADDRESS, &address.octets())
    }

    /// NAS-Port (RFC 2865 §5.5).
    pub fn nas_port(&mut self, port: u32) -> Result<&mut Self, EncodeError> {
        self.attribute(AttributeType::NAS_PORT, &port.to_be_bytes())
    }

    /// Service-Type (RFC 2865 §5.6).
    pub fn service_type(&mut self, service: u32) -> Result<&mut Self, EncodeError> {
        self.attribute(AttributeType::SERVICE_TYPE, &service.to_be_bytes())
    }

    /// NAS-Identifier (RFC 2865 §5.32).
    pub fn nas_identifier(&mut self, identifier: &[u8]) -> Result<&mut Self, EncodeError> {
        self.attribute(AttributeType::NAS_IDENTIFIER, identifier)
    }

    /// Called-Station-Id (RFC 2865 §5.30).
    pub fn called_station_id(&mut self, id: &[u8]) -> Result<&mut Self, EncodeError> {
        self.attribute(AttributeType::CALLED_STATION_ID, id)
    }

    /// Calling-Station-Id (RFC 2865 §5.31).
    pub fn calling_station_id(&mut self, id: &[u8]) -> Result<&mut Self, EncodeError> {
        self.attribute(AttributeType::CALLING_STATION_ID, id)
    }

    /// State (RFC 2865 §5.24): in an Access-Challenge, what the answer must
    /// bring back; in that answer, the same octets.
    pub fn state(&mut self, state: &[u8]) -> Result<&mut Self, EncodeError> {
        self.attribute(AttributeType::STATE, state)
    }

    /// Class (RFC 2865 §5.25); may be added more than once.
    pub fn class(&mut self, class: &[u8]) -> Result<&mut Self, EncodeError> {
        self.attribute(AttributeType::CLASS, class)
    }

    /// Reply-Message (RFC 2865 §5.18); may be added more than once.
    pub fn reply_message(&mut self, message: &[u8]) -> Result<&mut Self, EncodeError> {
        self.attribute(AttributeType::REPLY_MESSAGE, message)
    }

    /// Proxy-State (RFC 2865 §5.33); may be added more than once.
    pub fn proxy_state(&mut self, state: &[u8]) -> Result<&mut Self, EncodeError> {
        self.attribute(AttributeType::PROXY_STATE, state)
    }

    /// Session-Timeout (RFC 2865 §5.27), in seconds.
    pub fn session_timeout(&mut self, seconds: u32) -> Result<&mut Self, EncodeError> {
        self.attribute(AttributeType::SESSION_TIMEOUT, &seconds.to_be_bytes())
    }

    /// A Vendor-Specific attribute (RFC 2865 §5.26) holding these
    /// sub-attributes (vendor type, value) in the recommended layout.
    pub fn vendor_specific(
        &mut self,
        vendor_id: u32,
        attributes: &[(u8, &[u8])],
    ) -> Result<&mut Self, EncodeError> {
        if vendor_id >> 24 != 0 {
            return Err(EncodeError::VendorId { vendor_id });
        }
        let mut value = vendor_id.to_be_bytes().to_vec();
        for (vendor_type, sub) in attributes {
            let len = sub.len() + 2;
            let Ok(len_octet) = u8::try_from(len) else {
                return Err(EncodeError::ValueTooLong {
                    attribute: AttributeType::VENDOR_SPECIFIC,
                    length: value.len() + len,
                });
            };
            value.extend_from_slice(&[*vendor_type, len_octet]);
            value.extend_from_slice(sub);
        }
        self.attribute(AttributeType::VENDOR_SPECIFIC, &value)
    }

    /// Encodes the packet: the Message-Authenticator first (unless left out),
    /// the attributes in order, the User-Password hidden with the Request
    /// Authenticator; for a reply, the Response Authenticator last, over the
    /// Message-Authenticator (RFC 3579 §3.2: it "is calculated and inserted
    /// in the packet before the Response Authenticator is calculated").
    pub fn encode(&self, secret: &SharedSecret) -> Result<Vec<u8>, EncodeError> {
        let mut bytes = Vec::with_capacity(HEADER_LEN + 18 + 64);
        bytes.extend_from_slice(&[self.code.get(), self.identifier, 0, 0]);
        bytes.extend_from_slice(&self.authenticator);
        let at = HEADER_LEN + 2;
        if self.message_authenticator {
            bytes.extend_from_slice(&[AttributeType::MESSAGE_AUTHENTICATOR.get(), 18]);
            bytes.extend_from_slice(&[0; 16]);
        }
        for attribute in &self.attributes {
            match attribute {
                Pending::Value(kind, value) => push(&mut bytes, *kind, value),
                Pending::Password(password) => {
                    let hidden = hide_password(password, secret, &self.authenticator)?;
                    push(&mut bytes, AttributeType::USER_PASSWORD, &hidden);
                }
            }
        }
        let length = bytes.len();
        let Some(length_field) = u16::try_from(length)
            .ok()
            .filter(|_| length <= MAX_PACKET_LEN)
        else {
            return Err(EncodeError::PacketTooLong { length });
        };
        bytes[2..4].copy_from_slice(&length_field.to_be_bytes());
        if self.message_authenticator {
            let mac = message_authenticator(&bytes, at, &self.authenticator, secret);
            bytes[at..at + 16].copy_from_slice(&mac);
        }
        if self.reply {
            let response = response_authenticator(&bytes, &self.authenticator, secret);
            bytes[4..HEADER_LEN].copy_from_slice(&response);
        }
        Ok(bytes)
    }
}

/// Appends one attribute; its value was checked to fit in 253 octets.
fn push(bytes: &mut Vec<u8>, kind: AttributeType, value: &[u8]) {
    let len = u8::try_from(value.len() + 2).unwrap_or(u8::MAX);
    bytes.extend_from_slice(&[kind.get(), len]);
    bytes.extend_from_slice(value);
}

impl fmt::Debug for PacketBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let attributes: Vec<String> = self
            .attributes
            .iter()
            .map(|a| match a {
                Pending::Value(kind, value) => format!("{kind}: {value:?}"),
                Pending::Password(p) => format!("User-Password: <{} bytes redacted>", p.len()),
            })
            .collect();
        f.debug_struct("PacketBuilder")
            .field("code", &self.code)
            .field("identifier", &self.identifier)
            .field("message_authenticator", &self.message_authenticator)
            .field("attributes", &attributes)
            .finish()
    }
}

impl Packet<'_> {
    /// A reply to this request: its Identifier and Request Authenticator,
    /// and its Proxy-State attributes copied in order (RFC 2865 §5.33), the
    /// Message-Authenticator on.
    pub fn reply(&self, code: Code) -> PacketBuilder {
        let mut reply = PacketBuilder::reply(code, self.identifier(), *self.authenticator());
        for state in self.proxy_states() {
            // Each was a well-formed Proxy-State when decoded, and
            // Proxy-State may repeat: this cannot be refused.
            reply
                .attributes
                .push(Pending::Value(AttributeType::PROXY_STATE, state.to_vec()));
        }
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MessageAuthenticatorPolicy;

    fn secret() -> SharedSecret {
        SharedSecret::new("s3cret").unwrap()
    }

    #[test]
    fn refusals() {
        let mut b = PacketBuilder::request(Code::ACCESS_REQUEST, 0, [0; 16]);
        assert_eq!(
            b.attribute(AttributeType::MESSAGE_AUTHENTICATOR, &[0; 16])
                .err(),
            Some(EncodeError::Computed {
                attribute: AttributeType::MESSAGE_AUTHENTICATOR
            })
        );
        assert_eq!(
            b.attribute(AttributeType::USER_PASSWORD, &[0; 16]).err(),
            Some(EncodeError::Computed {
                attribute: AttributeType::USER_PASSWORD
            })
        );
        assert_eq!(
            b.user_name(b"").err(),
            Some(EncodeError::InvalidValue {
                attribute: AttributeType::USER_NAME,
                length: 0
            })
        );
        assert_eq!(
            b.class(&[0; 254]).err(),
            Some(EncodeError::ValueTooLong {
                attribute: AttributeType::CLASS,
                length: 254
            })
        );
        b.user_name(b"a").unwrap();
        assert_eq!(
            b.user_name(b"b").err(),
            Some(EncodeError::Duplicate {
                attribute: AttributeType::USER_NAME
            })
        );
        assert_eq!(
            b.user_password(&[1; 129]).err(),
            Some(EncodeError::Password(PasswordError::TooLong {
                length: 129
            }))
        );
        b.user_password(b"pw").unwrap();
        assert_eq!(
            b.user_password(b"pw").err(),
            Some(EncodeError::Duplicate {
                attribute: AttributeType::USER_PASSWORD
            })
        );
        assert_eq!(
            b.vendor_specific(1 << 24, &[]).err(),
            Some(EncodeError::VendorId { vendor_id: 1 << 24 })
        );
        assert!(b.vendor_specific(9, &[(1, &[0; 252])]).is_err());
        let mut r = PacketBuilder::reply(Code::ACCESS_ACCEPT, 0, [0; 16]);
        assert_eq!(
            r.user_password(b"x").err(),
            Some(EncodeError::PasswordInReply)
        );
    }

    #[test]
    fn too_long() {
        let mut b = PacketBuilder::request(Code::ACCESS_REQUEST, 0, [0; 16]);
        for _ in 0..15 {
            b.class(&[1; 253]).unwrap();
        }
        b.class(&[1; 231]).unwrap();
        // 20 + 18 + 15 * 255 + 233 = 4096, the largest packet.
        assert_eq!(b.encode(&secret()).unwrap().len(), MAX_PACKET_LEN);
        b.class(&[1]).unwrap();
        assert_eq!(
            b.encode(&secret()),
            Err(EncodeError::PacketTooLong { length: 4099 })
        );
        b.without_message_authenticator();
        assert_eq!(b.encode(&secret()).unwrap().len(), 4081);
    }

    #[test]
    fn debug_is_redacted() {
        let mut b = PacketBuilder::request(Code::ACCESS_REQUEST, 0, [0; 16]);
        b.user_password(b"hunter2").unwrap();
        let shown = format!("{b:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("104, 117"),
            "{shown}"
        );
    }

    #[test]
    fn status_server() {
        let bytes = PacketBuilder::request(Code::STATUS_SERVER, 9, [3; 16])
            .encode(&secret())
            .unwrap();
        let p = Packet::decode(&bytes).unwrap();
        assert_eq!(p.code(), Code::STATUS_SERVER);
        assert!(p.message_authenticator_is_first());
        assert_eq!(
            p.verify_request(&secret(), MessageAuthenticatorPolicy::Required),
            Ok(())
        );
    }
}
