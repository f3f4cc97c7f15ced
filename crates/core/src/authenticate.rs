//! Authentication for relying applications: an API key, a user, perhaps a
//! password, and an OTP.

use zeroize::Zeroizing;

use crate::api_keys::{api_key_prefix, principal_of};
use crate::capability::Actor;
use crate::context::Latchkey;
use crate::error::AdminError;
use crate::model::Username;
use crate::ports::{CipherError, Store};

/// The answer to an authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Everything matched.
    Accept,
    /// Something did not; the caller learns nothing more.
    Reject,
}

/// Why an OTP check in the store's transaction recorded nothing.
enum OtpCheckError {
    /// The caller's API key is not valid.
    BadKey,
    /// A stored secret would not open.
    Cipher(CipherError),
}

impl<S: Store> Latchkey<S> {
    /// Authenticates a user for a relying application that called with the
    /// API key `key` from `source`: the password (when given) and an OTP from
    /// one of the user's active tokens. Unknown users, wrong passwords, wrong
    /// OTPs and locked tokens all give the same answer. `None` if the key is
    /// not valid (malformed, unknown or revoked): then nothing was checked.
    pub async fn authenticate(
        &self,
        key: &str,
        source: &str,
        username: &str,
        password: Option<Zeroizing<String>>,
        otp: &str,
    ) -> Result<Option<Decision>, AdminError> {
        self.authenticate_for_client(key, source, None, username, password, otp)
            .await
    }

    /// [`Latchkey::authenticate`] for a relying application that forwards
    /// `client`, the address of the user's own client as it saw it: wrong
    /// passwords then wait per account and that address (S47), recorded
    /// as `SOURCE for CLIENT`, so one stranger's flood through the
    /// application does not stop the owner behind the same application.
    /// Without it, the application's own address is the address.
    #[tracing::instrument(level = "debug", skip_all, fields(username = %username, source = %source))]
    pub async fn authenticate_for_client(
        &self,
        key: &str,
        source: &str,
        client: Option<std::net::IpAddr>,
        username: &str,
        password: Option<Zeroizing<String>>,
        otp: &str,
    ) -> Result<Option<Decision>, AdminError> {
        let Some(prefix) = api_key_prefix(key) else {
            return Ok(None);
        };
        let name = crate::typed_username(username).parse::<Username>().ok();
        // The user whose right password was checked here: only an accepted
        // OTP after it completes the sign-in and clears the count (S44).
        let mut password_passed = None;
        if password.is_some() || name.is_none() {
            // A password's failures count against the account (S16), so
            // only a valid caller may make them: the key is checked first,
            // on its own. (The common case, an OTP alone, checks it in the
            // OTP's own trip below.)
            let Some(caller) = self.authorize_api_key(key, source).await? else {
                return Ok(None);
            };
            let Some(name) = &name else {
                if let Some(password) = password {
                    self.hasher.verify(password, None).await;
                }
                return Ok(Some(Decision::Reject));
            };
            if let Some(password) = password {
                let mut actor = caller.actor();
                if let Some(client) = client {
                    actor.source = format!("{source} for {client}");
                }
                let Some(user) = self.password_factor(&actor, name, password).await? else {
                    return Ok(Some(Decision::Reject));
                };
                password_passed = Some(user);
            }
        }
        // The OTP is the account's whose password was right: a directory
        // user's account may be named as the entry spells it, not as typed.
        let name = match &password_passed {
            Some(user) => Some(user.username.clone()),
            None => name,
        };
        let Some(name) = name else {
            return Ok(Some(Decision::Reject));
        };
        // The caller's key, the user, the tokens, the verdict and its record
        // in one trip to the database, in one transaction: a key revoked
        // before it is refused, and no other change to these tokens comes
        // between the read and the record.
        let mut judge = self.otp_judge(&Actor::anonymous(source));
        let key = Zeroizing::new(key.to_owned());
        let source = source.to_owned();
        let otp = Zeroizing::new(otp.to_owned());
        let subject = name.as_str().to_owned();
        let checked = self
            .store
            .check_user_otp(Some(prefix), &name, move |stored, user, tokens| {
                let caller = stored
                    .and_then(|stored| principal_of(stored, &key, &source))
                    .ok_or(OtpCheckError::BadKey)?;
                judge.actor = caller.actor();
                judge
                    .user_steps(&subject, user, tokens, &otp)
                    .map_err(OtpCheckError::Cipher)
            })
            .await?;
        match checked {
            Ok(true) => {
                if let Some(user) = password_passed {
                    self.complete_success(&user).await?;
                }
                Ok(Some(Decision::Accept))
            }
            Ok(false) => Ok(Some(Decision::Reject)),
            Err(OtpCheckError::BadKey) => Ok(None),
            Err(OtpCheckError::Cipher(error)) => Err(error.into()),
        }
    }
}
