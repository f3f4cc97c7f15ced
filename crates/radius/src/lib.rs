//! # latchkey-radius
//!
//! The RADIUS wire format as pure functions: no sockets, no clock, no
//! randomness of its own. Both sides are here — the server reads requests and
//! writes replies, the load generator and the tests write requests and read
//! replies.
//!
//! - [`Packet::decode`]: a received datagram, bounds-checked once (RFC 2865
//!   §3 and §5), then read through typed accessors ([`Packet::user_name`],
//!   [`Packet::user_password`], [`Packet::state`], [`Packet::vendor_specific`],
//!   …) that cannot fail.
//! - [`PacketBuilder`]: requests (Access-Request, Status-Server) and replies
//!   (Access-Accept, Access-Reject, Access-Challenge), with the
//!   Message-Authenticator (RFC 3579 §3.2) as the first attribute, the
//!   User-Password hidden (RFC 2865 §5.2) and the Response Authenticator
//!   (RFC 2865 §3) filled in.
//! - [`Packet::verify_request`] and [`Packet::verify_reply`]: the
//!   Message-Authenticator and the Response Authenticator, compared in
//!   constant time.
//! - [`hide_password`] and [`unhide_password`]: the User-Password
//!   algorithm of RFC 2865 §5.2 on its own, for passwords up to 128 octets.
//!
//! The shared secret lives in a [`SharedSecret`] and an unhidden password in
//! a [`Password`]; neither shows its bytes in `Debug`, and both zeroize on
//! drop.
//!
//! A request's authenticator must be unpredictable (RFC 2865 §3); this crate
//! takes it as an argument, and the caller draws it from a secure random
//! generator.

mod attribute;
mod authenticator;
mod builder;
mod code;
mod packet;
mod password;
mod secret;

pub use attribute::{
    Attribute, AttributeType, VendorAttribute, VendorAttributes, VendorSpecific, VsaError,
};
pub use authenticator::{MessageAuthenticatorPolicy, VerifyError};
pub use builder::{EncodeError, PacketBuilder};
pub use code::Code;
pub use packet::{Attributes, DecodeError, Packet};
pub use password::{MAX_PASSWORD_LEN, PasswordError, hide_password, unhide_password};
pub use secret::{Password, SecretError, SharedSecret};

/// The length of the header: Code, Identifier, Length and Authenticator
/// (RFC 2865 §3).
pub const HEADER_LEN: usize = 20;

/// The smallest packet, a header with no attributes (RFC 2865 §3).
pub const MIN_PACKET_LEN: usize = HEADER_LEN;

/// The largest packet (RFC 2865 §3: "The minimum length is 20 and maximum
/// length is 4096").
pub const MAX_PACKET_LEN: usize = 4096;

/// The longest attribute value: the one-octet Length counts the Type and
/// Length octets too (RFC 2865 §5).
pub const MAX_VALUE_LEN: usize = 253;

/// The Authenticator field of the header (RFC 2865 §3): the Request
/// Authenticator in a request, the Response Authenticator in a reply.
pub type Authenticator = [u8; 16];
