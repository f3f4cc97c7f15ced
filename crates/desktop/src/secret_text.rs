//! What people type that is secret: a PIN, an unlock or activation code, an
//! `otpauth://` URI (it carries the seed).
//!
//! The text lives in a zeroizing buffer reserved large enough up front that
//! typing never moves it (a move would leave a copy behind in freed memory).
//! egui keeps a field's undo history, which holds copies of the text, in its
//! own memory; [`SecretText::wipe`] drops that history together with the
//! text, as soon as the text has been used.

use eframe::egui::{self, Context, Id};
use egui::text_edit::TextEditState;
use zeroize::{Zeroize, Zeroizing};

/// A secret being typed, and the id of the field it is typed into.
pub(crate) struct SecretText {
    text: Zeroizing<String>,
    id: Id,
}

impl SecretText {
    /// An empty buffer for the field `name`, with room for `capacity` bytes.
    pub(crate) fn new(name: &'static str, capacity: usize) -> Self {
        SecretText {
            text: Zeroizing::new(String::with_capacity(capacity)),
            id: Id::new(("latchkey-secret-field", name)),
        }
    }

    /// A buffer sized for PINs and codes.
    pub(crate) fn short(name: &'static str) -> Self {
        SecretText::new(name, 128)
    }

    /// The field's egui id.
    pub(crate) fn id(&self) -> Id {
        self.id
    }

    /// What has been typed.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// The buffer, for the text field to edit in place.
    pub(crate) fn buffer(&mut self) -> &mut String {
        &mut self.text
    }

    /// Whether nothing has been typed.
    pub(crate) fn is_empty(&self) -> bool {
        self.text.trim().is_empty()
    }

    /// Clears the text (overwriting it) and egui's state for the field, its
    /// undo history included.
    pub(crate) fn wipe(&mut self, ctx: &Context) {
        self.text.zeroize();
        forget_field(ctx, self.id);
    }
}

/// Drops egui's state for a text field: cursor and undo history.
pub(crate) fn forget_field(ctx: &Context, id: Id) {
    ctx.data_mut(|data| data.remove::<TextEditState>(id));
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretText(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_wiped() {
        let ctx = Context::default();
        let mut pin = SecretText::short("pin");
        pin.buffer().push_str("204817");
        assert_eq!(format!("{pin:?}"), "SecretText(<redacted>)");
        ctx.data_mut(|d| d.insert_persisted(pin.id(), TextEditState::default()));
        pin.wipe(&ctx);
        assert!(pin.is_empty());
        assert!(
            ctx.data_mut(|d| d.get_persisted::<TextEditState>(pin.id()))
                .is_none()
        );
    }

    #[test]
    fn typing_within_the_reserve_does_not_move_the_text() {
        let mut pin = SecretText::short("pin");
        let before = pin.as_str().as_ptr();
        pin.buffer().push_str(&"7".repeat(100));
        assert_eq!(pin.as_str().as_ptr(), before);
    }
}
