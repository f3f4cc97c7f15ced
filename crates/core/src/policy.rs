//! The rules an organisation can tune: OTP windows and limits, activation,
//! unlock codes, the password throttle and the portal's timeouts.

use crate::ports::Throttle;

/// The rules an organisation can tune.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Consecutive OTP failures that lock a token on the server.
    pub otp_failure_limit: u32,
    /// TOTP steps accepted either side of now.
    pub totp_window: u64,
    /// HOTP counters tried ahead of the expected one.
    pub hotp_look_ahead: u64,
    /// HOTP counters searched for a resynchronisation.
    pub hotp_resync_window: u64,
    /// Seconds an activation code stays valid.
    pub activation_ttl: u64,
    /// Wrong activation codes before the code is void.
    pub activation_attempts: u32,
    /// Unlock codes issued per token per day.
    pub unlock_codes_per_day: i64,
    /// Failed refreshes per serial per hour before refreshes of it are
    /// refused unchecked for the rest of the hour (S46): the refresh's own
    /// throttle, since its failures do not count toward the token's lock.
    pub refresh_failures_per_hour: i64,
    /// Wrong PINs that lock a soft token.
    pub pin_max_failures: u32,
    /// Fewest digits in a soft token PIN.
    pub pin_min_length: usize,
    /// Unlock slots a soft token makes.
    pub unlock_slots: usize,
    /// Issuer shown in authenticator apps.
    pub issuer: String,
    /// How wrong passwords from one client address slow that address down
    /// for that account (S16, S47).
    pub password_throttle: Throttle,
    /// How wrong passwords slow the whole account down (S47): each address
    /// adds only its first `password_throttle.free_failures` to this count,
    /// so it waits only when several addresses guess; a browser that
    /// completed a sign-in of the account before passes this wait.
    pub account_password_throttle: Throttle,
    /// How wrong security answers slow their own count down (S44), besides
    /// the account's.
    pub answer_throttle: Throttle,
    /// Sessions, security questions and recovery links.
    pub portal: PortalPolicy,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            otp_failure_limit: 10,
            totp_window: 1,
            hotp_look_ahead: 10,
            hotp_resync_window: 100,
            activation_ttl: 7 * 24 * 3600,
            activation_attempts: 5,
            unlock_codes_per_day: 5,
            refresh_failures_per_hour: 10,
            pin_max_failures: 5,
            pin_min_length: 6,
            unlock_slots: 10,
            issuer: "Latchkey".into(),
            password_throttle: Throttle::default(),
            account_password_throttle: Throttle {
                free_failures: 20,
                ..Throttle::default()
            },
            answer_throttle: Throttle::default(),
            portal: PortalPolicy::default(),
        }
    }
}

/// The portal's rules an organisation can tune.
#[derive(Debug, Clone)]
pub struct PortalPolicy {
    /// Seconds a session may sit unused (S37).
    pub idle_timeout: i64,
    /// Seconds a session may live at all, counted from the password (S37).
    pub absolute_timeout: i64,
    /// Seconds between the password and the second factor.
    pub pending_timeout: i64,
    /// Questions each user chooses and answers.
    pub questions_to_answer: usize,
    /// Questions a challenge asks.
    pub questions_asked: usize,
    /// Seconds a password-reset link works (S32).
    pub reset_link_ttl: i64,
    /// Reset links per account per hour (S34).
    pub reset_links_per_hour: i64,
    /// Seconds a fresh OTP, given before a destructive admin-console
    /// action, stands for the next ones in the same session.
    pub console_confirm_ttl: i64,
}

impl Default for PortalPolicy {
    fn default() -> Self {
        PortalPolicy {
            idle_timeout: 30 * 60,
            absolute_timeout: 12 * 3600,
            pending_timeout: 5 * 60,
            questions_to_answer: 5,
            questions_asked: 2,
            reset_link_ttl: 3600,
            reset_links_per_hour: 3,
            console_confirm_ttl: 5 * 60,
        }
    }
}
