//! `latchkey-desktop`: the Latchkey soft token in a window, over the same
//! vault folder as the `latchkey-token` command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use eframe::egui;
use latchkey_desktop::{APP_ID, App, Clock, TITLE};
use latchkey_token::VaultFolder;
use latchkey_token::device::DeviceKeyFile;
use latchkey_token::link::ActivationLink;

/// The Latchkey soft token in a window.
#[derive(Parser)]
#[command(
    name = "latchkey-desktop",
    version,
    about = "The Latchkey soft token in a window: one-time passwords behind a PIN"
)]
struct Cli {
    /// The vault folder [default: $LATCHKEY_TOKEN_HOME, else the platform's data folder]
    #[arg(long, value_name = "DIR")]
    vault: Option<PathBuf>,
    /// The device key the vault files are bound to, kept outside the vault
    /// folder [default: $LATCHKEY_DEVICE_KEY, else latchkey/device.key in
    /// the platform's state folder, ~/.local/state]
    #[arg(long, value_name = "FILE")]
    device_key: Option<PathBuf>,
    /// An activation link to open (latchkey://activate?…): the desktop
    /// entry registers the app for such links
    #[arg(value_name = "LINK")]
    link: Option<String>,
}

/// The icon the window shows in a task bar; the menu's comes with the `.desktop` file.
const ICON_PNG: &[u8] = include_bytes!("../assets/latchkey-desktop.png");

fn main() -> ExitCode {
    let cli = Cli::parse();
    let folder = match (
        cli.vault.map_or_else(VaultFolder::default_path, Ok),
        cli.device_key,
    ) {
        (Ok(path), Some(key)) => VaultFolder::open_with_device_key(path, DeviceKeyFile::at(key)),
        (Ok(path), None) => VaultFolder::open(path),
        (Err(error), _) => Err(error),
    };
    let folder = match folder {
        Ok(folder) => folder,
        Err(error) => {
            eprintln!("latchkey-desktop: {error}");
            return ExitCode::FAILURE;
        }
    };
    // A link that cannot be used opens the activation screen with the
    // reason; it is said on the command line too, for whoever started it.
    if let Some(Err(error)) = cli.link.as_deref().map(str::parse::<ActivationLink>) {
        eprintln!("latchkey-desktop: {error}");
    }
    let mut viewport = egui::ViewportBuilder::default()
        .with_title(TITLE)
        .with_app_id(APP_ID)
        .with_inner_size([520.0, 640.0])
        .with_min_inner_size([360.0, 420.0]);
    if let Ok(icon) = eframe::icon_data::from_png_bytes(ICON_PNG) {
        viewport = viewport.with_icon(icon);
    }
    let options = eframe::NativeOptions {
        viewport,
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    let result = eframe::run_native(
        TITLE,
        options,
        Box::new(move |_| {
            let mut app = App::new(folder, Clock::system());
            if let Some(link) = &cli.link {
                app.open_activation_link(link);
            }
            Ok(Box::new(app))
        }),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("latchkey-desktop: cannot open the window: {error}");
            ExitCode::FAILURE
        }
    }
}
