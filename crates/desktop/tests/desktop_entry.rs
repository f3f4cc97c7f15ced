//! The `.desktop` file and its icon agree with the program: the command it
//! runs, the icon it names, the window class it waits for.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

fn assets() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/assets"))
}

fn entry() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(assets().join("latchkey-desktop.desktop")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("[Desktop Entry]"));
    lines
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (key, value) = line.split_once('=').expect("key=value");
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

fn value(key: &str) -> String {
    entry()
        .into_iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no {key}"))
        .1
}

#[test]
fn the_menu_entry_runs_this_program_with_its_icon() {
    let binary = Path::new(env!("CARGO_BIN_EXE_latchkey-desktop"));
    assert_eq!(value("Type"), "Application");
    assert_eq!(value("Name"), latchkey_desktop::TITLE);
    assert_eq!(
        value("Exec"),
        format!("{} %u", binary.file_name().unwrap().to_string_lossy()),
        "the program, given the link it is opened with"
    );
    assert_eq!(
        value("MimeType"),
        "x-scheme-handler/latchkey;",
        "the desktop opens latchkey:// activation links with it"
    );
    assert_eq!(value("Terminal"), "false");
    assert_eq!(value("StartupWMClass"), latchkey_desktop::APP_ID);
    // The file's own name is the app id too, as Wayland desktops expect.
    assert!(
        assets()
            .join(format!("{}.desktop", latchkey_desktop::APP_ID))
            .exists()
    );

    let icon = std::fs::read(assets().join(format!("{}.png", value("Icon")))).unwrap();
    assert_eq!(&icon[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(icon[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(icon[20..24].try_into().unwrap());
    assert_eq!((width, height), (128, 128), "installed as hicolor/128x128");
}
