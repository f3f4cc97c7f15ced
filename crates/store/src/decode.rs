//! The typed values of a token row, decoded once for both backends: a
//! stored value outside them is a corrupt row, reported as such, never
//! passed on to be re-parsed (or mistaken for a wrong master key) later.

use latchkey_core::oath::{Algorithm, Digits};
use latchkey_core::{OtpParams, Serial, StoreResult};

use crate::errors::corrupt;

/// A stored serial.
pub(crate) fn serial(text: String) -> StoreResult<Serial> {
    text.parse().map_err(|_| corrupt("token serial"))
}

/// A stored token's algorithm, digit count and period (0 for HOTP).
pub(crate) fn otp_params(algorithm: String, digits: i64, period: i64) -> StoreResult<OtpParams> {
    Ok(OtpParams {
        algorithm: algorithm
            .parse::<Algorithm>()
            .map_err(|_| corrupt("token algorithm"))?,
        digits: u8::try_from(digits)
            .ok()
            .and_then(|count| Digits::new(count).ok())
            .ok_or_else(|| corrupt("digit count"))?,
        period: u64::try_from(period).map_err(|_| corrupt("period"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_rows_typed_values_decode_and_bad_ones_say_which_is_bad() {
        let serial = serial("1234567897".into()).unwrap();
        assert_eq!(serial.as_str(), "1234567897");
        let params = otp_params("SHA256".into(), 8, 30).unwrap();
        assert_eq!(params.algorithm, Algorithm::Sha256);
        assert_eq!((params.digits.get(), params.period), (8, 30));
        // What is wrong is in the cause the edges log (the error's source).
        let message = |result: StoreResult<OtpParams>| {
            let error = result.unwrap_err();
            std::error::Error::source(&error)
                .map(ToString::to_string)
                .unwrap_or_default()
        };
        assert!(
            super::serial("1234567890".into()).is_err(),
            "a wrong check digit"
        );
        assert!(message(otp_params("MD5".into(), 6, 30)).contains("token algorithm"));
        assert!(message(otp_params("SHA1".into(), 4, 30)).contains("digit count"));
        assert!(message(otp_params("SHA1".into(), 300, 30)).contains("digit count"));
        assert!(message(otp_params("SHA1".into(), 6, -1)).contains("period"));
    }
}
