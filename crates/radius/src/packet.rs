//! Decoding a packet (RFC 2865 §3) and reading its attributes (§5).

use std::net::Ipv4Addr;

use crate::password::unhide_password;
use crate::{
    Attribute, AttributeType, Authenticator, Code, HEADER_LEN, MAX_PACKET_LEN, MIN_PACKET_LEN,
    Password, SharedSecret, VendorSpecific,
};

/// Why a datagram is not a RADIUS packet. RFC 2865 §3 has such packets
/// "silently discarded"; the variant says why, for a counter or a debug log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer octets than a header (RFC 2865 §3).
    #[error("{received} octets are fewer than the 20 of a RADIUS header")]
    Short {
        /// The octets received.
        received: usize,
    },
    /// The Length field is below 20 or above 4096 (RFC 2865 §3).
    #[error("the Length field says {length}, outside 20..=4096")]
    Length {
        /// The Length field.
        length: usize,
    },
    /// The datagram is shorter than its Length field (RFC 2865 §3: "it MUST
    /// be silently discarded").
    #[error("the Length field says {length} but only {received} octets arrived")]
    Truncated {
        /// The Length field.
        length: usize,
        /// The octets received.
        received: usize,
    },
    /// One octet is left at the end, a Type without its Length (RFC 2865 §5).
    #[error("the attribute at offset {offset} has a Type but no Length")]
    AttributeHeader {
        /// Where the attribute starts in the packet.
        offset: usize,
    },
    /// An attribute's Length is below 2 or runs past the packet's Length
    /// (RFC 2865 §5).
    #[error("the attribute at offset {offset} has Length {length}, which does not fit")]
    AttributeLength {
        /// Where the attribute starts in the packet.
        offset: usize,
        /// Its Length octet.
        length: u8,
    },
    /// An attribute's value has a length its section of RFC 2865 (or RFC 3579
    /// §3.2) does not allow, such as a User-Password of 129 octets, or a
    /// Vendor-Specific whose Vendor-Id's high-order octet is not 0 (§5.26).
    #[error("{attribute} has a malformed value of {length} octets")]
    InvalidValue {
        /// The attribute.
        attribute: AttributeType,
        /// Its value's length.
        length: usize,
    },
    /// A second copy of an attribute a packet carries at most once (RFC 2865
    /// §5.44, RFC 3579 §3.2).
    #[error("{attribute} appears more than once")]
    Duplicate {
        /// The attribute.
        attribute: AttributeType,
    },
}

/// A decoded packet, borrowed from the datagram it came in.
///
/// Every bound is checked once, in [`Packet::decode`]: the header, each
/// attribute's Length, the value lengths of the typed attributes and that
/// single attributes are single. The accessors then cannot fail.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    bytes: &'a [u8],
    authenticator: Authenticator,
    message_authenticator_at: Option<usize>,
}

impl<'a> Packet<'a> {
    /// Decodes a datagram. Octets past the Length field are padding and are
    /// ignored (RFC 2865 §3); the packet is the first Length octets.
    pub fn decode(datagram: &'a [u8]) -> Result<Packet<'a>, DecodeError> {
        let Some((header, _)) = datagram.split_first_chunk::<HEADER_LEN>() else {
            return Err(DecodeError::Short {
                received: datagram.len(),
            });
        };
        let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
        if !(MIN_PACKET_LEN..=MAX_PACKET_LEN).contains(&length) {
            return Err(DecodeError::Length { length });
        }
        let Some(bytes) = datagram.get(..length) else {
            return Err(DecodeError::Truncated {
                length,
                received: datagram.len(),
            });
        };
        let mut authenticator = [0u8; 16];
        authenticator.copy_from_slice(&header[4..HEADER_LEN]);

        let mut seen = [0u64; 4];
        let mut message_authenticator_at = None;
        let mut offset = HEADER_LEN;
        while offset < length {
            let rest = &bytes[offset..];
            let [kind, attr_len, ..] = *rest else {
                return Err(DecodeError::AttributeHeader { offset });
            };
            let len = usize::from(attr_len);
            if len < 2 || len > rest.len() {
                return Err(DecodeError::AttributeLength {
                    offset,
                    length: attr_len,
                });
            }
            let kind = AttributeType::new(kind);
            let value = &rest[2..len];
            check_value(kind, value)?;
            if kind.is_single() {
                let (word, bit) = (usize::from(kind.get() / 64), kind.get() % 64);
                if seen[word] & (1 << bit) != 0 {
                    return Err(DecodeError::Duplicate { attribute: kind });
                }
                seen[word] |= 1 << bit;
            }
            if kind == AttributeType::MESSAGE_AUTHENTICATOR {
                message_authenticator_at = Some(offset + 2);
            }
            offset += len;
        }
        Ok(Packet {
            bytes,
            authenticator,
            message_authenticator_at,
        })
    }

    /// The Code (RFC 2865 §3).
    pub fn code(&self) -> Code {
        Code::new(self.bytes[0])
    }

    /// The Identifier, which matches a reply to its request (RFC 2865 §3).
    pub fn identifier(&self) -> u8 {
        self.bytes[1]
    }

    /// The Authenticator field (RFC 2865 §3): the Request Authenticator of a
    /// request, the Response Authenticator of a reply.
    pub fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }

    /// The packet's length, its Length field.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always false: a packet has at least its 20-octet header. (Here so that
    /// `len` has its usual companion.)
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The packet's octets, padding excluded.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Every attribute, in the order they came.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes {
            rest: &self.bytes[HEADER_LEN..],
        }
    }

    /// The value of the first attribute of this type.
    pub fn get(&self, kind: AttributeType) -> Option<&'a [u8]> {
        self.get_all(kind).next()
    }

    /// The values of every attribute of this type, in order.
    pub fn get_all(&self, kind: AttributeType) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        self.attributes()
            .filter(move |a| a.kind() == kind)
            .map(|a| a.value())
    }

    /// User-Name (RFC 2865 §5.1), as sent; RFC 2865 leaves its character set
    /// open, and most devices send UTF-8.
    pub fn user_name(&self) -> Option<&'a [u8]> {
        self.get(AttributeType::USER_NAME)
    }

    /// The User-Password (RFC 2865 §5.2) unhidden with this secret and the
    /// packet's Request Authenticator.
    ///
    /// A wrong secret gives other bytes, not an error; verify the
    /// Message-Authenticator ([`Packet::verify_request`]) first.
    pub fn user_password(&self, secret: &SharedSecret) -> Option<Password> {
        let hidden = self.hidden_user_password()?;
        // The decoder checked the length (16..=128 in blocks of 16), the one
        // thing unhiding can refuse.
        unhide_password(hidden, secret, &self.authenticator).ok()
    }

    /// The User-Password value as it came, still hidden (RFC 2865 §5.2).
    pub fn hidden_user_password(&self) -> Option<&'a [u8]> {
        self.get(AttributeType::USER_PASSWORD)
    }

    /// NAS-IP-Address (RFC 2865 §5.4).
    pub fn nas_ip_address(&self) -> Option<Ipv4Addr> {
        let octets: [u8; 4] = self.get(AttributeType::NAS_IP_ADDRESS)?.try_into().ok()?;
        Some(Ipv4Addr::from(octets))
    }

    /// NAS-Port (RFC 2865 §5.5).
    pub fn nas_port(&self) -> Option<u32> {
        self.integer(AttributeType::NAS_PORT)
    }

    /// Service-Type (RFC 2865 §5.6).
    pub fn service_type(&self) -> Option<u32> {
        self.integer(AttributeType::SERVICE_TYPE)
    }

    /// NAS-Identifier (RFC 2865 §5.32).
    pub fn nas_identifier(&self) -> Option<&'a [u8]> {
        self.get(AttributeType::NAS_IDENTIFIER)
    }

    /// Called-Station-Id (RFC 2865 §5.30).
    pub fn called_station_id(&self) -> Option<&'a [u8]> {
        self.get(AttributeType::CALLED_STATION_ID)
    }

    /// Calling-Station-Id (RFC 2865 §5.31), often the user's address.
    pub fn calling_station_id(&self) -> Option<&'a [u8]> {
        self.get(AttributeType::CALLING_STATION_ID)
    }

    /// State (RFC 2865 §5.24): what an Access-Challenge gave, sent back
    /// unmodified with the answer to it.
    pub fn state(&self) -> Option<&'a [u8]> {
        self.get(AttributeType::STATE)
    }

    /// Every Class (RFC 2865 §5.25), in order.
    pub fn classes(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        self.get_all(AttributeType::CLASS)
    }

    /// Every Reply-Message (RFC 2865 §5.18), in order; a device shows them
    /// one after the other.
    pub fn reply_messages(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        self.get_all(AttributeType::REPLY_MESSAGE)
    }

    /// Every Proxy-State (RFC 2865 §5.33), in order; a server returns them
    /// unmodified ([`Packet::reply`]).
    pub fn proxy_states(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        self.get_all(AttributeType::PROXY_STATE)
    }

    /// Session-Timeout (RFC 2865 §5.27), in seconds.
    pub fn session_timeout(&self) -> Option<u32> {
        self.integer(AttributeType::SESSION_TIMEOUT)
    }

    /// The Message-Authenticator's value (RFC 3579 §3.2), if there is one.
    pub fn message_authenticator(&self) -> Option<&'a [u8; 16]> {
        let at = self.message_authenticator_at?;
        self.bytes.get(at..at + 16)?.try_into().ok()
    }

    /// Where the Message-Authenticator's value starts in the packet.
    pub(crate) fn message_authenticator_offset(&self) -> Option<usize> {
        self.message_authenticator_at
    }

    /// Whether the Message-Authenticator is the packet's first attribute,
    /// as the Blast-RADIUS mitigation (CVE-2024-3596) has servers send it.
    pub fn message_authenticator_is_first(&self) -> bool {
        self.message_authenticator_at == Some(HEADER_LEN + 2)
    }

    /// Every Vendor-Specific attribute (RFC 2865 §5.26), in order.
    pub fn vendor_specific(&self) -> impl Iterator<Item = VendorSpecific<'a>> + use<'a> {
        // The decoder checked every one parses.
        self.get_all(AttributeType::VENDOR_SPECIFIC)
            .filter_map(VendorSpecific::parse)
    }

    fn integer(&self, kind: AttributeType) -> Option<u32> {
        let octets: [u8; 4] = self.get(kind)?.try_into().ok()?;
        Some(u32::from_be_bytes(octets))
    }
}

impl std::fmt::Debug for Packet<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packet")
            .field("code", &self.code())
            .field("identifier", &self.identifier())
            .field("length", &self.len())
            .field("attributes", &self.attributes().collect::<Vec<_>>())
            .finish()
    }
}

/// Checks a value against its type's rules, shared by the decoder and the
/// encoder so that whatever one writes the other reads.
pub(crate) fn check_value(kind: AttributeType, value: &[u8]) -> Result<(), DecodeError> {
    let well_formed = kind.allows_len(value.len())
        && (kind != AttributeType::VENDOR_SPECIFIC || VendorSpecific::parse(value).is_some());
    if well_formed {
        Ok(())
    } else {
        Err(DecodeError::InvalidValue {
            attribute: kind,
            length: value.len(),
        })
    }
}

/// The attributes of a decoded packet, in order.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Attribute<'a>;

    fn next(&mut self) -> Option<Attribute<'a>> {
        // The decoder checked every Length; `get` keeps this panic-free
        // regardless.
        let [kind, len, ..] = *self.rest else {
            return None;
        };
        let len = usize::from(len);
        let value = self.rest.get(2..len)?;
        self.rest = self.rest.get(len..)?;
        Some(Attribute::new(AttributeType::new(kind), value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(code: u8, length: u16) -> Vec<u8> {
        let mut b = vec![code, 7];
        b.extend_from_slice(&length.to_be_bytes());
        b.extend_from_slice(&[0xaa; 16]);
        b
    }

    fn with_attributes(attributes: &[u8]) -> Vec<u8> {
        let mut b = header(1, (HEADER_LEN + attributes.len()) as u16);
        b.extend_from_slice(attributes);
        b
    }

    #[test]
    fn header_bounds() {
        assert_eq!(
            Packet::decode(&[1, 0, 0]),
            Err(DecodeError::Short { received: 3 })
        );
        assert_eq!(
            Packet::decode(&header(1, 19)),
            Err(DecodeError::Length { length: 19 })
        );
        let mut big = header(1, 4097);
        big.resize(4097, 0);
        assert_eq!(
            Packet::decode(&big),
            Err(DecodeError::Length { length: 4097 })
        );
        assert_eq!(
            Packet::decode(&header(1, 22)),
            Err(DecodeError::Truncated {
                length: 22,
                received: 20
            })
        );
        let empty = header(1, 20);
        let packet = Packet::decode(&empty).unwrap();
        assert_eq!(packet.code(), Code::ACCESS_REQUEST);
        assert_eq!(packet.identifier(), 7);
        assert_eq!(packet.authenticator(), &[0xaa; 16]);
        assert_eq!(packet.attributes().count(), 0);
    }

    #[test]
    fn padding_is_ignored() {
        let mut b = with_attributes(&[1, 3, b'x']);
        b.extend_from_slice(&[9, 9, 9, 9]);
        let packet = Packet::decode(&b).unwrap();
        assert_eq!(packet.len(), 23);
        assert_eq!(packet.user_name(), Some(&b"x"[..]));
    }

    #[test]
    fn largest_packet() {
        // 4096 octets: the header, 15 attributes of 255 octets and one of
        // 251.
        let mut attributes = Vec::new();
        for _ in 0..15 {
            attributes.extend_from_slice(&[25, 255]);
            attributes.extend_from_slice(&[b'c'; 253]);
        }
        attributes.extend_from_slice(&[25, 251]);
        attributes.extend_from_slice(&[b'c'; 249]);
        let b = with_attributes(&attributes);
        assert_eq!(b.len(), MAX_PACKET_LEN);
        assert_eq!(Packet::decode(&b).unwrap().classes().count(), 16);
    }

    #[test]
    fn attribute_bounds() {
        assert_eq!(
            Packet::decode(&with_attributes(&[1])),
            Err(DecodeError::AttributeHeader { offset: 20 })
        );
        for length in [0, 1, 4] {
            assert_eq!(
                Packet::decode(&with_attributes(&[1, length, b'x'])),
                Err(DecodeError::AttributeLength { offset: 20, length })
            );
        }
        // Length 2 is an empty value, fine for a type without a rule.
        let b = with_attributes(&[200, 2]);
        let packet = Packet::decode(&b).unwrap();
        assert_eq!(packet.get(AttributeType::new(200)), Some(&b""[..]));
    }

    #[test]
    fn typed_values() {
        let cases: [&[u8]; 6] = [
            &[1, 2],                                                // empty User-Name
            &[4, 5, 1, 2, 3],                                       // short NAS-IP-Address
            &[80, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], // 15-octet Message-Authenticator
            &[26, 6, 0, 0, 0, 9],    // Vendor-Specific without a string
            &[26, 7, 1, 0, 0, 9, 1], // Vendor-Id high octet not 0
            &[5, 7, 0, 0, 0, 0, 3],  // 5-octet NAS-Port
        ];
        for case in cases {
            let err = Packet::decode(&with_attributes(case)).unwrap_err();
            assert!(
                matches!(err, DecodeError::InvalidValue { attribute, .. } if attribute.get() == case[0]),
                "{case:?}: {err:?}"
            );
        }
        let mut long = vec![2, 131];
        long.extend_from_slice(&[0; 129]);
        assert_eq!(
            Packet::decode(&with_attributes(&long)),
            Err(DecodeError::InvalidValue {
                attribute: AttributeType::USER_PASSWORD,
                length: 129
            })
        );
    }

    #[test]
    fn duplicates() {
        assert_eq!(
            Packet::decode(&with_attributes(&[1, 3, b'a', 1, 3, b'b'])),
            Err(DecodeError::Duplicate {
                attribute: AttributeType::USER_NAME
            })
        );
        // Class, Reply-Message, Proxy-State and Vendor-Specific may repeat.
        let b = with_attributes(&[25, 3, 1, 25, 3, 2, 33, 3, 3, 33, 3, 4]);
        let packet = Packet::decode(&b).unwrap();
        assert_eq!(packet.classes().collect::<Vec<_>>(), [&[1][..], &[2]]);
        assert_eq!(packet.proxy_states().count(), 2);
    }

    #[test]
    fn typed_accessors() {
        let b = with_attributes(&[
            4, 6, 192, 168, 1, 16, 5, 6, 0, 0, 0, 3, 6, 6, 0, 0, 0, 8, 32, 5, b'v', b'p', b'n', 31,
            4, b'1', b'2', 30, 3, b'x', 24, 3, 9, 27, 6, 0, 0, 0, 60, 18, 3, b'h', 26, 9, 0, 0, 0,
            9, 1, 3, b'z',
        ]);
        let p = Packet::decode(&b).unwrap();
        assert_eq!(p.nas_ip_address(), Some(Ipv4Addr::new(192, 168, 1, 16)));
        assert_eq!(p.nas_port(), Some(3));
        assert_eq!(p.service_type(), Some(8));
        assert_eq!(p.nas_identifier(), Some(&b"vpn"[..]));
        assert_eq!(p.calling_station_id(), Some(&b"12"[..]));
        assert_eq!(p.called_station_id(), Some(&b"x"[..]));
        assert_eq!(p.state(), Some(&[9][..]));
        assert_eq!(p.session_timeout(), Some(60));
        assert_eq!(p.reply_messages().collect::<Vec<_>>(), [b"h"]);
        let vsa: Vec<_> = p.vendor_specific().collect();
        assert_eq!(vsa.len(), 1);
        assert_eq!(vsa[0].vendor_id(), 9);
        assert_eq!(p.message_authenticator(), None);
        assert_eq!(p.user_name(), None);
        assert!(!p.is_empty());
    }
}
