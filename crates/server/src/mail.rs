//! Mail to users: over SMTP when a server is configured, else as files in
//! the outbox folder of the data folder (one `.eml` file per mail), so a
//! fresh install needs no mail server and nothing is lost.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use latchkey_core::{BoxFuture, Mail, MailError, Mailer};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Where mail goes.
#[derive(Clone)]
pub enum MailTransport {
    /// An SMTP server (`smtp://`, `smtps://` or `smtp://…?tls=required`).
    Smtp(Arc<AsyncSmtpTransport<Tokio1Executor>>),
    /// Files in this folder.
    Outbox(PathBuf),
}

/// Sends the portal's mail from one sender address.
#[derive(Clone)]
pub struct PortalMailer {
    from: Mailbox,
    transport: MailTransport,
}

/// The mail settings could not be used.
#[derive(Debug, thiserror::Error)]
pub enum MailSetupError {
    /// The sender address is not an address.
    #[error("the mail sender address {0:?} is not valid: {1}")]
    From(String, String),
    /// The SMTP URL is not usable.
    #[error("the SMTP URL is not valid: {0}")]
    Url(String),
}

impl PortalMailer {
    /// A mailer for `smtp_url` (when given) or the outbox folder.
    pub fn new(
        from: &str,
        smtp_url: Option<&str>,
        outbox: PathBuf,
    ) -> Result<Self, MailSetupError> {
        let from: Mailbox = from.parse().map_err(|e: lettre::address::AddressError| {
            MailSetupError::From(from.to_owned(), e.to_string())
        })?;
        let transport = match smtp_url {
            Some(url) => MailTransport::Smtp(Arc::new(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    // The URL may hold a password: say only what kind of problem.
                    .map_err(|e| MailSetupError::Url(e.to_string()))?
                    .build(),
            )),
            None => MailTransport::Outbox(outbox),
        };
        Ok(PortalMailer { from, transport })
    }

    fn message(&self, mail: &Mail) -> Result<Message, MailError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|_| MailError("the recipient address is not valid".into()))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .body(mail.body.clone())
            .map_err(|e| MailError(e.to_string()))
    }
}

/// Mails handed to the SMTP server or written to the outbox, and mails
/// that could not be, across the process.
static SENT: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);

/// The mail counters in Prometheus' text format.
pub fn render_metrics() -> String {
    format!(
        "# HELP latchkey_mail_total Mails to users, by whether they were handed on (SMTP or the outbox).\n\
         # TYPE latchkey_mail_total counter\n\
         latchkey_mail_total{{result=\"sent\"}} {}\n\
         latchkey_mail_total{{result=\"failed\"}} {}\n",
        SENT.load(Ordering::Relaxed),
        FAILED.load(Ordering::Relaxed)
    )
}

impl Mailer for PortalMailer {
    fn send(&self, mail: Mail) -> BoxFuture<'static, Result<(), MailError>> {
        let this = self.clone();
        Box::pin(async move {
            let sent = this.deliver(mail).await;
            match sent {
                Ok(()) => SENT.fetch_add(1, Ordering::Relaxed),
                Err(_) => FAILED.fetch_add(1, Ordering::Relaxed),
            };
            sent
        })
    }
}

impl PortalMailer {
    async fn deliver(&self, mail: Mail) -> Result<(), MailError> {
        let this = self;
        {
            let message = this.message(&mail)?;
            match &this.transport {
                MailTransport::Smtp(smtp) => smtp
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| MailError(e.to_string())),
                MailTransport::Outbox(folder) => {
                    let folder = folder.clone();
                    let bytes = message.formatted();
                    tokio::task::spawn_blocking(move || write_to_outbox(&folder, &bytes))
                        .await
                        .map_err(|e| MailError(e.to_string()))?
                }
            }
        }
    }
}

/// Writes one mail as `<unix-nanos>-<random>.eml`, mode 0600 (it may hold a
/// password-reset link). The mail is written and synced under a hidden
/// `.part` name first and then renamed, so whoever picks up `.eml` files
/// never reads half a mail.
fn write_to_outbox(folder: &std::path::Path, bytes: &[u8]) -> Result<(), MailError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let failed = |e: std::io::Error| MailError(e.to_string());
    std::fs::create_dir_all(folder).map_err(failed)?;
    // The folder too is the server's alone (S56, L10), whatever mode it
    // was made with or found in: its mails hold reset links.
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(folder)
            .map_err(failed)?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700))
                .map_err(failed)?;
        }
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let name = format!("{nanos}-{:08x}", rand::random::<u32>());
    let part = folder.join(format!(".{name}.part"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&part)
        .map_err(failed)?;
    file.write_all(bytes).map_err(failed)?;
    file.sync_all().map_err(failed)?;
    std::fs::rename(&part, folder.join(format!("{name}.eml"))).map_err(failed)?;
    // The rename itself is durable once the folder is synced.
    std::fs::File::open(folder)
        .and_then(|dir| dir.sync_all())
        .map_err(failed)
}

/// Every mail through `inner`, with how to reach the help desk at its foot
/// (`helpdesk_contact`): the mails tell users to tell the help desk when
/// something was not them.
pub struct WithHelpdeskContact {
    inner: Arc<dyn Mailer>,
    contact: String,
}

impl WithHelpdeskContact {
    /// `inner` with `contact` at the foot of each mail, or `inner` alone.
    pub fn wrap(inner: Arc<dyn Mailer>, contact: Option<&str>) -> Arc<dyn Mailer> {
        match contact {
            Some(contact) => Arc::new(WithHelpdeskContact {
                inner,
                contact: contact.to_owned(),
            }),
            None => inner,
        }
    }
}

impl Mailer for WithHelpdeskContact {
    fn send(&self, mut mail: Mail) -> BoxFuture<'static, Result<(), MailError>> {
        if !mail.body.ends_with('\n') {
            mail.body.push('\n');
        }
        mail.body
            .push_str(&format!("\n--\nYour help desk: {}\n", self.contact));
        self.inner.send(mail)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn an_outbox_mail_appears_whole_under_its_final_name_readable_by_the_owner_only() {
        let folder = tempfile::tempdir().unwrap();
        let outbox = folder.path().join("outbox");
        write_to_outbox(&outbox, b"Subject: one\r\n\r\nbody\r\n").unwrap();
        write_to_outbox(&outbox, b"Subject: two\r\n\r\nbody\r\n").unwrap();
        let mut names: Vec<_> = std::fs::read_dir(&outbox)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        assert_eq!(names.len(), 2, "no .part file is left: {names:?}");
        let mut subjects = Vec::new();
        for path in &names {
            assert_eq!(path.extension().unwrap(), "eml");
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{path:?}");
            subjects.push(std::fs::read_to_string(path).unwrap());
        }
        subjects.sort();
        assert_eq!(
            subjects,
            [
                "Subject: one\r\n\r\nbody\r\n",
                "Subject: two\r\n\r\nbody\r\n"
            ]
        );
    }
}
