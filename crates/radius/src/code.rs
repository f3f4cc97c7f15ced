//! The packet type (RFC 2865 §3, "Code").

use std::fmt;

/// The Code octet of a packet (RFC 2865 §3). Every octet value is a code; the
/// ones Latchkey speaks have names.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(u8);

impl Code {
    /// Access-Request (RFC 2865 §4.1).
    pub const ACCESS_REQUEST: Code = Code(1);
    /// Access-Accept (RFC 2865 §4.2).
    pub const ACCESS_ACCEPT: Code = Code(2);
    /// Access-Reject (RFC 2865 §4.3).
    pub const ACCESS_REJECT: Code = Code(3);
    /// Accounting-Request (RFC 2866 §4.1).
    pub const ACCOUNTING_REQUEST: Code = Code(4);
    /// Accounting-Response (RFC 2866 §4.2).
    pub const ACCOUNTING_RESPONSE: Code = Code(5);
    /// Access-Challenge (RFC 2865 §4.4).
    pub const ACCESS_CHALLENGE: Code = Code(11);
    /// Status-Server (RFC 5997 §2).
    pub const STATUS_SERVER: Code = Code(12);
    /// Status-Client (RFC 2865 §3, reserved).
    pub const STATUS_CLIENT: Code = Code(13);

    /// The code with this octet value.
    pub const fn new(value: u8) -> Code {
        Code(value)
    }

    /// The octet on the wire.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The name RFC 2865 §3 (or RFC 2866, RFC 5997) gives this code, if it is
    /// one of those above.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "Access-Request",
            2 => "Access-Accept",
            3 => "Access-Reject",
            4 => "Accounting-Request",
            5 => "Accounting-Response",
            11 => "Access-Challenge",
            12 => "Status-Server",
            13 => "Status-Client",
            _ => return None,
        })
    }

    /// Whether a packet with this code is a reply, whose Authenticator is a
    /// Response Authenticator computed over the request's (RFC 2865 §3).
    pub const fn is_reply(self) -> bool {
        matches!(self.0, 2 | 3 | 5 | 11)
    }
}

impl From<u8> for Code {
    fn from(value: u8) -> Code {
        Code(value)
    }
}

impl From<Code> for u8 {
    fn from(code: Code) -> u8 {
        code.0
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "code {}", self.0),
        }
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Code({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values() {
        assert_eq!(Code::ACCESS_REQUEST.get(), 1);
        assert_eq!(Code::from(12), Code::STATUS_SERVER);
        assert_eq!(Code::STATUS_SERVER.to_string(), "Status-Server");
        assert_eq!(Code::new(99).to_string(), "code 99");
        assert_eq!(
            format!("{:?}", Code::ACCESS_CHALLENGE),
            "Code(Access-Challenge)"
        );
        assert!(Code::ACCESS_CHALLENGE.is_reply());
        assert!(!Code::STATUS_SERVER.is_reply());
    }
}
