//! Attributes (RFC 2865 §5) and Vendor-Specific sub-attributes (§5.26).

use std::fmt;

/// The Type octet of an attribute (RFC 2865 §5). Every octet value is a type;
/// the ones Latchkey reads or writes have names.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttributeType(u8);

impl AttributeType {
    /// User-Name (RFC 2865 §5.1).
    pub const USER_NAME: AttributeType = AttributeType(1);
    /// User-Password, hidden (RFC 2865 §5.2).
    pub const USER_PASSWORD: AttributeType = AttributeType(2);
    /// CHAP-Password (RFC 2865 §5.3).
    pub const CHAP_PASSWORD: AttributeType = AttributeType(3);
    /// NAS-IP-Address (RFC 2865 §5.4).
    pub const NAS_IP_ADDRESS: AttributeType = AttributeType(4);
    /// NAS-Port (RFC 2865 §5.5).
    pub const NAS_PORT: AttributeType = AttributeType(5);
    /// Service-Type (RFC 2865 §5.6).
    pub const SERVICE_TYPE: AttributeType = AttributeType(6);
    /// Reply-Message (RFC 2865 §5.18).
    pub const REPLY_MESSAGE: AttributeType = AttributeType(18);
    /// State (RFC 2865 §5.24).
    pub const STATE: AttributeType = AttributeType(24);
    /// Class (RFC 2865 §5.25).
    pub const CLASS: AttributeType = AttributeType(25);
    /// Vendor-Specific (RFC 2865 §5.26).
    pub const VENDOR_SPECIFIC: AttributeType = AttributeType(26);
    /// Session-Timeout (RFC 2865 §5.27).
    pub const SESSION_TIMEOUT: AttributeType = AttributeType(27);
    /// Called-Station-Id (RFC 2865 §5.30).
    pub const CALLED_STATION_ID: AttributeType = AttributeType(30);
    /// Calling-Station-Id (RFC 2865 §5.31).
    pub const CALLING_STATION_ID: AttributeType = AttributeType(31);
    /// NAS-Identifier (RFC 2865 §5.32).
    pub const NAS_IDENTIFIER: AttributeType = AttributeType(32);
    /// Proxy-State (RFC 2865 §5.33).
    pub const PROXY_STATE: AttributeType = AttributeType(33);
    /// Message-Authenticator (RFC 3579 §3.2).
    pub const MESSAGE_AUTHENTICATOR: AttributeType = AttributeType(80);

    /// The type with this octet value.
    pub const fn new(value: u8) -> AttributeType {
        AttributeType(value)
    }

    /// The octet on the wire.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The attribute's name, for the types named above.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "User-Name",
            2 => "User-Password",
            3 => "CHAP-Password",
            4 => "NAS-IP-Address",
            5 => "NAS-Port",
            6 => "Service-Type",
            18 => "Reply-Message",
            24 => "State",
            25 => "Class",
            26 => "Vendor-Specific",
            27 => "Session-Timeout",
            30 => "Called-Station-Id",
            31 => "Calling-Station-Id",
            32 => "NAS-Identifier",
            33 => "Proxy-State",
            80 => "Message-Authenticator",
            _ => return None,
        })
    }

    /// Whether a packet carries this attribute at most once. RFC 2865 §5.44
    /// and RFC 3579 §3.2 allow "0-1" of each of these in every packet they
    /// may appear in; a second copy makes the packet ambiguous (which
    /// User-Name was checked?), so the decoder refuses it.
    pub(crate) const fn is_single(self) -> bool {
        matches!(self.0, 1..=6 | 24 | 27 | 30 | 31 | 32 | 80)
    }

    /// Whether a value of `len` octets is well formed for this type, by the
    /// Length rule in the attribute's section of RFC 2865 (or RFC 3579).
    /// Types without a rule here take any value of 0 to 253 octets.
    pub(crate) const fn allows_len(self, len: usize) -> bool {
        match self.0 {
            // §5.2: 16 to 128 octets; hiding works in 16-octet blocks.
            2 => len >= 16 && len <= 128 && len.is_multiple_of(16),
            // §5.3: CHAP Ident and a 16-octet response.
            3 => len == 17,
            // §5.4, §5.5, §5.6, §5.27: a 4-octet address or integer.
            4 | 5 | 6 | 27 => len == 4,
            // §5.26: a 4-octet Vendor-Id and at least one octet of string.
            26 => len >= 5,
            // RFC 3579 §3.2: Length = 18.
            80 => len == 16,
            // §5.1, §5.18, §5.24, §5.25, §5.30-§5.33: "Length >= 3", one or
            // more octets.
            1 | 18 | 24 | 25 | 30 | 31 | 32 | 33 => len >= 1,
            _ => true,
        }
    }
}

impl From<u8> for AttributeType {
    fn from(value: u8) -> AttributeType {
        AttributeType(value)
    }
}

impl From<AttributeType> for u8 {
    fn from(kind: AttributeType) -> u8 {
        kind.0
    }
}

impl fmt::Display for AttributeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "attribute {}", self.0),
        }
    }
}

impl fmt::Debug for AttributeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AttributeType({self})")
    }
}

/// One attribute of a decoded packet: its type and its value, borrowed from
/// the packet (RFC 2865 §5).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    kind: AttributeType,
    value: &'a [u8],
}

impl<'a> Attribute<'a> {
    pub(crate) fn new(kind: AttributeType, value: &'a [u8]) -> Attribute<'a> {
        Attribute { kind, value }
    }

    /// The Type octet.
    pub fn kind(&self) -> AttributeType {
        self.kind
    }

    /// The Value field, without the Type and Length octets.
    pub fn value(&self) -> &'a [u8] {
        self.value
    }
}

impl fmt::Debug for Attribute<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Attribute");
        s.field("kind", &self.kind);
        // A hidden password, however hidden, stays out of logs.
        if self.kind == AttributeType::USER_PASSWORD {
            s.field(
                "value",
                &format_args!("<{} bytes redacted>", self.value.len()),
            );
        } else {
            s.field("value", &self.value);
        }
        s.finish()
    }
}

/// A Vendor-Specific attribute (RFC 2865 §5.26): a vendor's SMI Private
/// Enterprise Code and its string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VendorSpecific<'a> {
    vendor_id: u32,
    data: &'a [u8],
}

impl<'a> VendorSpecific<'a> {
    /// Reads a Vendor-Specific attribute's value: four octets of Vendor-Id,
    /// whose high-order octet is 0 (§5.26), then the string. `None` if the
    /// value is shorter than five octets or the high-order octet is not 0.
    pub fn parse(value: &'a [u8]) -> Option<VendorSpecific<'a>> {
        match value {
            [0, a, b, c, data @ ..] if !data.is_empty() => Some(VendorSpecific {
                vendor_id: u32::from_be_bytes([0, *a, *b, *c]),
                data,
            }),
            _ => None,
        }
    }

    /// The vendor's SMI Network Management Private Enterprise Code.
    pub fn vendor_id(&self) -> u32 {
        self.vendor_id
    }

    /// The string after the Vendor-Id, as it came.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The string read as sub-attributes in the layout RFC 2865 §5.26
    /// recommends (Vendor type, Vendor length, value). Vendors may use
    /// another layout, so a malformed string is an error item, not a decode
    /// error of the packet.
    pub fn attributes(&self) -> VendorAttributes<'a> {
        VendorAttributes { rest: self.data }
    }
}

/// One vendor sub-attribute (RFC 2865 §5.26).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VendorAttribute<'a> {
    vendor_type: u8,
    value: &'a [u8],
}

impl<'a> VendorAttribute<'a> {
    /// The vendor's type octet.
    pub fn vendor_type(&self) -> u8 {
        self.vendor_type
    }

    /// The value, without the vendor type and length octets.
    pub fn value(&self) -> &'a [u8] {
        self.value
    }
}

/// Why a Vendor-Specific string is not in the recommended sub-attribute
/// layout (RFC 2865 §5.26).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VsaError {
    /// Only one octet was left, a vendor type without its length.
    #[error("a vendor sub-attribute is cut off after its type octet")]
    Truncated,
    /// A vendor length below 2 (it counts its own two octets) or past the
    /// end of the string.
    #[error("a vendor sub-attribute declares length {length} with {available} octets left")]
    Length {
        /// The declared vendor length.
        length: u8,
        /// The octets left in the string, the type and length included.
        available: usize,
    },
}

/// The sub-attributes of a Vendor-Specific string, in order; after an error
/// item, nothing more.
#[derive(Debug, Clone)]
pub struct VendorAttributes<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for VendorAttributes<'a> {
    type Item = Result<VendorAttribute<'a>, VsaError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest;
        let (&vendor_type, after_type) = rest.split_first()?;
        let Some(&length) = after_type.first() else {
            self.rest = &[];
            return Some(Err(VsaError::Truncated));
        };
        let len = usize::from(length);
        if len < 2 || len > rest.len() {
            self.rest = &[];
            return Some(Err(VsaError::Length {
                length,
                available: rest.len(),
            }));
        }
        self.rest = &rest[len..];
        Some(Ok(VendorAttribute {
            vendor_type,
            value: &rest[2..len],
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_specific_layout() {
        // Vendor 9 (Cisco), sub-attribute 1 "ab", sub-attribute 2 empty.
        let value = [0, 0, 0, 9, 1, 4, b'a', b'b', 2, 2];
        let vsa = VendorSpecific::parse(&value).unwrap();
        assert_eq!(vsa.vendor_id(), 9);
        let subs: Vec<_> = vsa.attributes().collect();
        assert_eq!(subs.len(), 2);
        let first = subs[0].unwrap();
        assert_eq!((first.vendor_type(), first.value()), (1, &b"ab"[..]));
        assert_eq!(subs[1].unwrap().value(), b"");
    }

    #[test]
    fn vendor_specific_malformed() {
        assert_eq!(VendorSpecific::parse(&[0, 0, 0, 9]), None);
        assert_eq!(VendorSpecific::parse(&[1, 0, 0, 9, 1]), None);
        let cut = VendorSpecific::parse(&[0, 0, 0, 9, 1]).unwrap();
        assert_eq!(
            cut.attributes().collect::<Vec<_>>(),
            [Err(VsaError::Truncated)]
        );
        let long = VendorSpecific::parse(&[0, 0, 0, 9, 1, 3, 0, 3, 0]).unwrap();
        let items: Vec<_> = long.attributes().collect();
        assert_eq!(
            items[1],
            Err(VsaError::Length {
                length: 0,
                available: 2
            })
        );
        assert_eq!(items.len(), 2);
        let over = VendorSpecific::parse(&[0, 0, 0, 9, 1, 9, 0]).unwrap();
        assert_eq!(
            over.attributes().collect::<Vec<_>>(),
            [Err(VsaError::Length {
                length: 9,
                available: 3
            })]
        );
    }

    #[test]
    fn length_rules() {
        assert!(AttributeType::USER_PASSWORD.allows_len(128));
        assert!(!AttributeType::USER_PASSWORD.allows_len(129));
        assert!(!AttributeType::USER_PASSWORD.allows_len(17));
        assert!(!AttributeType::USER_NAME.allows_len(0));
        assert!(AttributeType::MESSAGE_AUTHENTICATOR.allows_len(16));
        assert!(AttributeType::new(200).allows_len(0));
    }

    #[test]
    fn password_attribute_debug_is_redacted() {
        let shown = format!(
            "{:?}",
            Attribute::new(AttributeType::USER_PASSWORD, &[1; 16])
        );
        assert!(shown.contains("16 bytes redacted"), "{shown}");
    }
}
