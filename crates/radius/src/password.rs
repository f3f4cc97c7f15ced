//! User-Password hiding (RFC 2865 §5.2).
//!
//! The password is padded with NULs to a multiple of 16 octets and each
//! 16-octet block is XORed with an MD5 digest: the first with
//! `MD5(secret + Request Authenticator)`, every later one with
//! `MD5(secret + previous hidden block)`.

use md5::{Digest, Md5};
use zeroize::Zeroizing;

use crate::{Authenticator, Password, SharedSecret};

/// The longest password RFC 2865 §5.2 can carry: "The String field is
/// between 16 and 128 octets long, inclusive."
pub const MAX_PASSWORD_LEN: usize = 128;

const BLOCK: usize = 16;

/// Why a password could not be hidden or unhidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// The password is longer than 128 octets (RFC 2865 §5.2).
    #[error("a User-Password holds at most 128 octets, this one has {length}")]
    TooLong {
        /// The password's length.
        length: usize,
    },
    /// A hidden password is 16 to 128 octets, a multiple of 16 (RFC 2865
    /// §5.2).
    #[error("a hidden User-Password is 16 to 128 octets in blocks of 16, this one has {length}")]
    HiddenLength {
        /// The hidden value's length.
        length: usize,
    },
}

/// The keystream block for the block after `previous` (RFC 2865 §5.2:
/// `b(i) = MD5(S + c(i-1))`, with the Request Authenticator as `c(0)`).
fn keystream(secret: &SharedSecret, previous: &[u8]) -> Zeroizing<[u8; BLOCK]> {
    let digest = Md5::new()
        .chain_update(secret.expose())
        .chain_update(previous)
        .finalize();
    Zeroizing::new(digest.into())
}

/// Hides `password` for a request with this Request Authenticator (RFC 2865
/// §5.2), giving the User-Password attribute's value: the password padded
/// with NULs to a multiple of 16 octets (16 for an empty one), then XORed
/// block by block.
pub fn hide_password(
    password: &[u8],
    secret: &SharedSecret,
    authenticator: &Authenticator,
) -> Result<Vec<u8>, PasswordError> {
    if password.len() > MAX_PASSWORD_LEN {
        return Err(PasswordError::TooLong {
            length: password.len(),
        });
    }
    let blocks = password.len().div_ceil(BLOCK).max(1);
    let mut hidden = vec![0u8; blocks * BLOCK];
    hidden[..password.len()].copy_from_slice(password);
    let mut previous: [u8; BLOCK] = *authenticator;
    for block in hidden.chunks_exact_mut(BLOCK) {
        let key = keystream(secret, &previous);
        for (byte, k) in block.iter_mut().zip(key.iter()) {
            *byte ^= k;
        }
        previous.copy_from_slice(block);
    }
    Ok(hidden)
}

/// Unhides a User-Password value received in a request with this Request
/// Authenticator (RFC 2865 §5.2), and removes the padding NULs at its end.
///
/// A wrong secret gives other bytes, not an error: RFC 2865 has no check
/// here. The Message-Authenticator (RFC 3579) is what proves the secret.
pub fn unhide_password(
    hidden: &[u8],
    secret: &SharedSecret,
    authenticator: &Authenticator,
) -> Result<Password, PasswordError> {
    if hidden.is_empty() || hidden.len() > MAX_PASSWORD_LEN || !hidden.len().is_multiple_of(BLOCK) {
        return Err(PasswordError::HiddenLength {
            length: hidden.len(),
        });
    }
    let mut clear = Zeroizing::new(hidden.to_vec());
    let mut previous: &[u8] = authenticator;
    for (block, cipher) in clear
        .chunks_exact_mut(BLOCK)
        .zip(hidden.chunks_exact(BLOCK))
    {
        let key = keystream(secret, previous);
        for (byte, k) in block.iter_mut().zip(key.iter()) {
            *byte ^= k;
        }
        previous = cipher;
    }
    let end = clear
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |last| last + 1);
    clear.truncate(end);
    Ok(Password::from_vec(std::mem::take(&mut *clear)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SharedSecret {
        SharedSecret::new("xyzzy5461").unwrap()
    }

    #[test]
    fn lengths_pad_to_blocks() {
        let auth = [7u8; 16];
        for (len, hidden_len) in [(0, 16), (1, 16), (16, 16), (17, 32), (127, 128), (128, 128)] {
            let password = vec![b'x'; len];
            let hidden = hide_password(&password, &secret(), &auth).unwrap();
            assert_eq!(hidden.len(), hidden_len, "password of {len}");
            let clear = unhide_password(&hidden, &secret(), &auth).unwrap();
            assert_eq!(clear.expose(), &password[..]);
        }
    }

    #[test]
    fn bounds() {
        let auth = [0u8; 16];
        assert_eq!(
            hide_password(&[b'x'; 129], &secret(), &auth),
            Err(PasswordError::TooLong { length: 129 })
        );
        for length in [0, 15, 17, 129, 144] {
            assert_eq!(
                unhide_password(&vec![0; length], &secret(), &auth).err(),
                Some(PasswordError::HiddenLength { length })
            );
        }
    }

    #[test]
    fn later_blocks_chain_on_the_hidden_block() {
        // Two passwords equal in their second block but not their first hide
        // that block differently: b2 = MD5(S + c1).
        let auth = [1u8; 16];
        let a = hide_password(&[b'a'; 32], &secret(), &auth).unwrap();
        let mut other = [b'a'; 32];
        other[0] = b'b';
        let b = hide_password(&other, &secret(), &auth).unwrap();
        assert_ne!(a[16..], b[16..]);
    }
}
