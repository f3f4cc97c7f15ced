//! TOTP, RFC 6238: HOTP over the number of time steps since T0.

use crate::{Algorithm, Digits, Hotp, OtpFormatError, ParamError, Secret};

/// A TOTP generator and verifier (RFC 6238).
///
/// Time is always an argument — Unix seconds as `u64`, so dates past 2038
/// and the RFC's year-2603 row work — and never read from a clock here.
#[derive(Clone, Debug)]
pub struct Totp {
    hotp: Hotp,
    step: u64,
    t0: u64,
}

impl Totp {
    /// The time step RFC 6238 §5.2 recommends: 30 seconds.
    pub const DEFAULT_STEP: u64 = 30;

    /// A generator with time step `step` seconds and T0 = 0 (RFC 6238 §4.1).
    pub fn new(
        secret: Secret,
        algorithm: Algorithm,
        digits: Digits,
        step: u64,
    ) -> Result<Self, ParamError> {
        if step == 0 {
            return Err(ParamError::ZeroStep);
        }
        Ok(Totp {
            hotp: Hotp::new(secret, algorithm, digits)?,
            step,
            t0: 0,
        })
    }

    /// The same generator counting from Unix time `t0` (RFC 6238 §4.1, T0).
    pub fn with_t0(mut self, t0: u64) -> Self {
        self.t0 = t0;
        self
    }

    /// The underlying HOTP generator.
    pub fn hotp(&self) -> &Hotp {
        &self.hotp
    }

    /// The time step in seconds (RFC 6238 §4.1, X).
    pub fn step(&self) -> u64 {
        self.step
    }

    /// T0, the Unix time steps are counted from (RFC 6238 §4.1).
    pub fn t0(&self) -> u64 {
        self.t0
    }

    /// The time step T = floor((time − T0) / X) of RFC 6238 §4.2, or `None`
    /// for a time before T0, where no step exists.
    pub fn step_at(&self, unix_time: u64) -> Option<u64> {
        unix_time
            .checked_sub(self.t0)
            .map(|elapsed| elapsed / self.step)
    }

    /// Seconds until the step containing `unix_time` ends.
    pub fn seconds_left(&self, unix_time: u64) -> u64 {
        match unix_time.checked_sub(self.t0) {
            Some(elapsed) => self.step - elapsed % self.step,
            None => self.t0 - unix_time,
        }
    }

    /// TOTP = HOTP(K, T) for the step containing `unix_time` (RFC 6238 §4.2).
    /// A time before T0 yields the code of step 0.
    pub fn generate(&self, unix_time: u64) -> String {
        self.hotp.generate(self.step_at(unix_time).unwrap_or(0))
    }

    /// The code of a given time step.
    pub fn generate_at_step(&self, step: u64) -> String {
        self.hotp.generate(step)
    }

    /// Checks `code` against the steps within `window` of the step containing
    /// `unix_time` (RFC 6238 §5.2: a window of one step back and forth is
    /// the recommended default) and returns the step that matched. Every
    /// step is compared in constant time; nothing underflows near time 0.
    pub fn verify(
        &self,
        code: &str,
        unix_time: u64,
        window: u64,
    ) -> Result<Option<u64>, OtpFormatError> {
        self.verify_after(code, unix_time, window, None)
    }

    /// As [`Totp::verify`], but only steps after `last_accepted` may match, so
    /// that an accepted code is never accepted again (RFC 6238 §5.2: "the
    /// verifier MUST NOT accept the second attempt of the OTP after the
    /// successful validation has been issued for the first OTP").
    pub fn verify_after(
        &self,
        code: &str,
        unix_time: u64,
        window: u64,
        last_accepted: Option<u64>,
    ) -> Result<Option<u64>, OtpFormatError> {
        let Some(now) = self.step_at(unix_time) else {
            self.hotp.parse_code(code)?;
            return Ok(None);
        };
        let mut first = now.saturating_sub(window);
        let last = now.saturating_add(window);
        if let Some(accepted) = last_accepted {
            first = first.max(accepted.saturating_add(1));
        }
        if first > last || last_accepted == Some(u64::MAX) {
            self.hotp.parse_code(code)?;
            return Ok(None);
        }
        self.hotp.verify_range(code, first..=last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_totp() -> Totp {
        Totp::new(
            Secret::from_bytes(b"12345678901234567890".to_vec()),
            Algorithm::Sha1,
            Digits::EIGHT,
            30,
        )
        .unwrap()
    }

    #[test]
    fn zero_step_is_refused() {
        let secret = Secret::from_bytes(b"12345678901234567890".to_vec());
        assert_eq!(
            Totp::new(secret, Algorithm::Sha1, Digits::SIX, 0).unwrap_err(),
            ParamError::ZeroStep
        );
    }

    #[test]
    fn s08_window_is_one_step_each_way() {
        let totp = rfc_totp();
        let now = 1_111_111_109;
        let step = totp.step_at(now).unwrap();
        for (offset, accepted) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let code = totp.generate_at_step(step.checked_add_signed(offset).unwrap());
            let result = totp.verify(&code, now, 1).unwrap();
            assert_eq!(result.is_some(), accepted, "offset {offset}");
            if accepted {
                assert_eq!(result, Some(step.checked_add_signed(offset).unwrap()));
            }
        }
    }

    #[test]
    fn s04_an_accepted_step_is_never_accepted_again() {
        let totp = rfc_totp();
        let now = 59;
        let code = totp.generate(now);
        let step = totp.verify_after(&code, now, 1, None).unwrap().unwrap();
        assert_eq!(totp.verify_after(&code, now, 1, Some(step)), Ok(None));
        // A later code is still fine.
        let next = totp.generate(now + 30);
        assert_eq!(
            totp.verify_after(&next, now, 1, Some(step)),
            Ok(Some(step + 1))
        );
        assert_eq!(totp.verify_after(&next, now, 1, Some(u64::MAX)), Ok(None));
    }

    #[test]
    fn time_near_zero_and_before_t0_does_not_underflow() {
        let totp = rfc_totp();
        let code = totp.generate(0);
        assert_eq!(totp.verify(&code, 0, 1), Ok(Some(0)));
        assert_eq!(totp.verify(&code, 5, 100), Ok(Some(0)));
        let late = rfc_totp().with_t0(1_000);
        assert_eq!(late.step_at(999), None);
        assert_eq!(late.verify(&code, 999, 1), Ok(None));
        assert_eq!(late.verify("x", 999, 1), Err(OtpFormatError::NotDigits));
        assert_eq!(late.seconds_left(990), 10);
        assert_eq!(late.seconds_left(1_000), 30);
    }

    #[test]
    fn the_far_future_does_not_overflow() {
        let totp = rfc_totp();
        let code = totp.generate(u64::MAX);
        assert_eq!(totp.verify(&code, u64::MAX, 1), Ok(Some(u64::MAX / 30)));
    }
}
