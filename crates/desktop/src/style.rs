//! Text sizes and colours. egui's defaults (12.5 pt grey text) are small and
//! faint for reading a code off the screen; these are closer to a desktop's
//! own, with body text at a contrast ratio above 7:1 in both themes.

use eframe::egui::{self, Color32, FontFamily, FontId, RichText, TextStyle, Ui};

/// Body text size, in points (egui scales points by the platform's factor).
pub(crate) const BODY: f32 = 16.0;
/// Size of a code people read off the screen.
pub(crate) const BIG_CODE: f32 = 40.0;

/// Sets text sizes, spacing and text colour for every theme.
pub(crate) fn apply(ctx: &egui::Context) {
    ctx.all_styles_mut(|style| {
        style.text_styles = [
            (
                TextStyle::Heading,
                FontId::new(24.0, FontFamily::Proportional),
            ),
            (TextStyle::Body, FontId::new(BODY, FontFamily::Proportional)),
            (
                TextStyle::Button,
                FontId::new(BODY, FontFamily::Proportional),
            ),
            (
                TextStyle::Monospace,
                FontId::new(BODY, FontFamily::Monospace),
            ),
            (
                TextStyle::Small,
                FontId::new(13.0, FontFamily::Proportional),
            ),
        ]
        .into();
        style.spacing.item_spacing = egui::vec2(8.0, 8.0);
        style.spacing.button_padding = egui::vec2(10.0, 5.0);
        style.spacing.interact_size.y = 28.0;
        let text = if style.visuals.dark_mode {
            Color32::from_gray(225)
        } else {
            Color32::from_gray(20)
        };
        style.visuals.widgets.noninteractive.fg_stroke.color = text;
        style.visuals.widgets.inactive.fg_stroke.color = text;
    });
}

/// A code to read: large, monospaced.
pub(crate) fn big_code(text: &str) -> RichText {
    RichText::new(text)
        .family(FontFamily::Monospace)
        .size(BIG_CODE)
        .strong()
}

/// Text of an error the person can fix, in the theme's error colour.
pub(crate) fn error(ui: &Ui, text: impl Into<String>) -> RichText {
    RichText::new(text).color(ui.visuals().error_fg_color)
}

/// Text of a warning, in the theme's warning colour.
pub(crate) fn warning(ui: &Ui, text: impl Into<String>) -> RichText {
    RichText::new(text).color(ui.visuals().warn_fg_color)
}

/// Text confirming that something worked: green, light or dark by theme.
pub(crate) fn success(ui: &Ui, text: impl Into<String>) -> RichText {
    let green = if ui.visuals().dark_mode {
        Color32::from_rgb(0x7d, 0xd8, 0x8a)
    } else {
        Color32::from_rgb(0x1a, 0x6b, 0x2c)
    };
    RichText::new(text).color(green)
}
