//! The other screens: the token list, the code view's countdown and hiding,
//! activation, import and its recovery code.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use eframe::egui::Key;
use egui_kittest::kittest::{NodeT, Queryable};
use latchkey_desktop::group_otp;
use latchkey_oath::base32;
use latchkey_token::TokenState;

#[test]
fn the_list_shows_label_serial_state_and_unlock_codes_left() {
    let home = Home::new();
    let (first, second) = (Issued::new(), Issued::new());
    first.store_in(&home);
    second.store_in(&home);
    std::fs::write(home.path().join("token-broken.json"), "{").unwrap();
    // Lock the second token the way the command line would.
    let (_, mut record) = home.folder.find(Some(second.serial.digits())).unwrap();
    record.failures = 5;
    home.folder
        .save(&home.folder.lock().unwrap(), &record)
        .unwrap();

    let window = window(&home, &TestClock::at(early_in_a_step()));
    assert_shows(&window, "Your tokens");
    for heading in ["Token", "Serial", "State", "Unlock codes left"] {
        assert_shows(&window, heading);
    }
    assert_eq!(window.get_all_by_label("Example Corp: alice").count(), 2);
    let cells = |text: &'static str| window.query_all_by(move |n| text_of(n) == text).count();
    assert_shows(&window, &first.serial.to_string());
    assert_shows(&window, &second.serial.to_string());
    assert_eq!(cells("Active"), 1);
    assert_eq!(cells("Locked"), 1);
    assert_eq!(cells("10"), 2);
    assert_shows(&window, "Unreadable");
    assert_shows(&window, "it does not parse");
}

#[test]
fn the_list_opens_a_locked_token_on_its_locked_view() {
    let home = Home::new();
    let (first, second) = (Issued::new(), Issued::new());
    first.store_in(&home);
    second.store_in(&home);
    let (_, mut record) = home.folder.find(Some(second.serial.digits())).unwrap();
    record.failures = 5;
    home.folder
        .save(&home.folder.lock().unwrap(), &record)
        .unwrap();
    let mut window = window(&home, &TestClock::at(early_in_a_step()));
    let buttons: Vec<_> = window.get_all_by_label("Example Corp: alice").collect();
    // The list is in file order; find which row is the locked token.
    let paths: Vec<_> = home.folder.entries().unwrap();
    let locked_index = paths
        .iter()
        .position(|e| e.record.as_ref().unwrap().state() == TokenState::Locked)
        .unwrap();
    buttons[locked_index].click();
    drop(buttons);
    settle(&mut window);
    assert_shows(&window, "This token is locked");
    assert_eq!(
        Some(reset_code_on_screen(&window)),
        record.reset_code(),
        "the reset code of the locked token"
    );
    click(&mut window, "All tokens");
    assert_shows(&window, "Your tokens");
}

#[test]
fn the_code_counts_down_moves_to_the_next_step_and_is_hidden_again() {
    let (home, issued) = home_with_token();
    // Three seconds before a step ends: the next code is fetched too.
    let now = early_in_a_step() + 25;
    let clock = TestClock::at(now);
    let mut window = window(&home, &clock);
    type_text(&mut window, PIN);
    press(&mut window, Key::Enter);
    assert_shows(&window, &group_otp(&issued.oathtool_code(now)));
    assert_shows(&window, "Changes in 3 s");
    assert_shows(&window, "Copy");

    clock.set(now + 3);
    window.run();
    assert_shows(&window, &group_otp(&issued.oathtool_code(now + 3)));
    assert!(!shows(&window, &group_otp(&issued.oathtool_code(now))));
    assert_shows(&window, "Changes in 30 s");

    // When that one's step ends too, the code is hidden and the PIN asked for.
    clock.set(now + 33);
    window.run();
    assert_shows(
        &window,
        "The code has changed. Type your PIN to see the new one.",
    );
    assert!(!shows(&window, &group_otp(&issued.oathtool_code(now + 3))));
    assert_focused(&window, "PIN");
}

#[test]
fn a_code_is_hidden_after_a_minute_even_if_still_valid() {
    let home = Home::new();
    let secret = base32::encode(b"a seed of twenty bytes");
    // Early in a 300-second step: the code would stay valid for minutes.
    let clock = TestClock::at(unix_now() / 300 * 300 + 2);
    let mut window = window(&home, &clock);
    click(&mut window, "Import from a link…");
    type_text(
        &mut window,
        &format!("otpauth://totp/Slow:dave?secret={secret}&issuer=Slow&period=300"),
    );
    press(&mut window, Key::Enter);
    type_text(&mut window, PIN);
    press(&mut window, Key::Enter);
    type_text(&mut window, PIN);
    press(&mut window, Key::Enter);
    click(&mut window, "I have written it down");
    type_text(&mut window, PIN);
    press(&mut window, Key::Enter);
    assert_shows(&window, "Changes in");
    let start = clock.now();
    clock.set(start + latchkey_desktop::SHOW_CODE_FOR_SECONDS);
    window.run();
    assert_shows(&window, "The code was hidden.");
    assert_focused(&window, "PIN");
}

#[test]
fn import_shows_the_recovery_code_once_and_codes_match_oathtool() {
    let home = Home::new();
    let secret = base32::encode(b"an imported seed of twenty-four!");
    let now = early_in_a_step();
    let clock = TestClock::at(now);
    let mut window = window(&home, &clock);
    assert_shows(&window, "There is no token here yet.");
    click(&mut window, "Import from a link…");
    assert_focused(&window, "otpauth:// link");
    type_text(
        &mut window,
        &format!("otpauth://totp/Acme:bob?secret={secret}&issuer=Acme"),
    );
    press(&mut window, Key::Enter);
    // A PIN the policy refuses: the policy is explained, the link is kept.
    type_text(&mut window, "111111");
    press(&mut window, Key::Enter);
    type_text(&mut window, "111111");
    press(&mut window, Key::Enter);
    assert_shows(
        &window,
        "a PIN made of one digit repeated is too easy to guess",
    );
    assert_shows(&window, "A PIN has at least 6 digits");
    assert!(home.folder.entries().unwrap().is_empty());
    assert_focused(&window, "New PIN");
    type_text(&mut window, PIN);
    press(&mut window, Key::Enter);
    type_text(&mut window, PIN);
    press(&mut window, Key::Enter);

    assert_shows(&window, "Write down your recovery code");
    let recovery = window.get_by(|node| {
        let text = text_of(node);
        text.len() == 19 && text.chars().filter(|c| *c == '-').count() == 3
    });
    let recovery: latchkey_oath::UnlockCode = text_of(&recovery.accesskit_node()).parse().unwrap();
    click(&mut window, "I have written it down");
    assert!(!shows(&window, &recovery.grouped()), "shown only once");

    type_text(&mut window, PIN);
    press(&mut window, Key::Enter);
    let expected = oathtool(&["--totp", "--digits=6", "--base32", &secret], now);
    assert_shows(&window, &group_otp(&expected));

    // The recovery code unlocks an imported token, and a new one is shown.
    click(&mut window, "Hide");
    click(&mut window, "Forgot PIN?");
    assert_shows(&window, "recovery code you wrote down");
    type_text(&mut window, &recovery.grouped());
    press(&mut window, Key::Enter);
    type_text(&mut window, NEW_PIN);
    press(&mut window, Key::Enter);
    type_text(&mut window, NEW_PIN);
    press(&mut window, Key::Enter);
    assert_shows(&window, "Write down your recovery code");
    assert!(
        !shows(&window, &recovery.grouped()),
        "a fresh recovery code"
    );
    click(&mut window, "I have written it down");
    assert_shows(&window, &group_otp(&expected));
}

#[test]
fn activation_flags_typos_then_activates_against_the_server() {
    let home = Home::new();
    let issued = Issued::new();
    let server = stand_in_server(issued.activation_json());
    let now = early_in_a_step();
    let mut window = window(&home, &TestClock::at(now));
    click(&mut window, "Activate a token…");
    assert_focused(&window, "Server address");
    type_text(&mut window, &server);
    press(&mut window, Key::Enter);
    assert_focused(&window, "Serial");

    // A serial with one digit mistyped fails its Luhn check digit, always
    // (a swap of neighbours would not: Luhn misses 09 <-> 90).
    let serial = issued.serial.digits();
    let first = serial.as_bytes()[0] - b'0';
    let mistyped = format!("{}{}", (first + 1) % 10, &serial[1..]);
    type_text(&mut window, &mistyped);
    assert_shows(&window, "has a typo");
    clear_field(&mut window);
    type_text(&mut window, &issued.serial.to_string());
    press(&mut window, Key::Enter);
    type_text(&mut window, "1234-5678-9012-3452");
    assert_shows(&window, "The check digit matches.");
    press(&mut window, Key::Enter);
    type_text(&mut window, PIN);
    press(&mut window, Key::Enter);
    type_text(&mut window, PIN);
    press(&mut window, Key::Enter);

    assert_shows(
        &window,
        "Example Corp: alice is activated, with 10 unlock codes.",
    );
    assert_focused(&window, "PIN");
    type_text(&mut window, PIN);
    press(&mut window, Key::Enter);
    assert_shows(&window, &group_otp(&issued.oathtool_code(now)));
}

#[test]
fn tab_moves_through_the_fields_in_reading_order() {
    let home = Home::new();
    let mut window = window(&home, &TestClock::at(early_in_a_step()));
    click(&mut window, "Activate a token…");
    let order = [
        "Server address",
        "Serial",
        "Activation code",
        "New PIN",
        "New PIN again",
    ];
    assert_focused(&window, order[0]);
    for next in &order[1..] {
        press(&mut window, Key::Tab);
        assert_focused(&window, next);
    }
    press(&mut window, Key::Escape);
    assert_shows(&window, "Your tokens");
}

fn activation_link(server: &str, issued: &Issued) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("server", server)
        .append_pair("serial", issued.serial.digits())
        .append_pair("activation_code", "1234567890123452")
        .finish();
    format!("latchkey://activate?{query}")
}

/// Types the PIN twice after the three activation fields, from the server
/// field (where the screen puts the focus), and submits.
fn choose_pin_and_activate(window: &mut Window) {
    for _ in 0..3 {
        press(window, Key::Enter);
    }
    type_text(window, PIN);
    press(window, Key::Enter);
    type_text(window, PIN);
    press(window, Key::Enter);
}

#[test]
fn an_activation_link_on_the_command_line_fills_the_activation_and_activates() {
    let home = Home::new();
    let issued = Issued::new();
    let server = stand_in_server(issued.activation_json());
    let now = early_in_a_step();
    let mut window = window(&home, &TestClock::at(now));
    window
        .state_mut()
        .open_activation_link(&activation_link(&server, &issued));
    settle(&mut window);
    assert_shows(&window, "Activate a token");
    assert_shows(&window, "The check digit matches.");
    assert_focused(&window, "Server address");
    choose_pin_and_activate(&mut window);
    assert_shows(
        &window,
        "Example Corp: alice is activated, with 10 unlock codes.",
    );
    type_text(&mut window, PIN);
    press(&mut window, Key::Enter);
    assert_shows(&window, &group_otp(&issued.oathtool_code(now)));
}

#[test]
fn a_pasted_activation_link_is_checked_before_it_fills_anything() {
    let home = Home::new();
    let issued = Issued::new();
    let mut window = window(&home, &TestClock::at(early_in_a_step()));
    click(&mut window, "Activate a token…");
    window.get_by_label("Activation link").focus();
    settle(&mut window);
    type_text(
        &mut window,
        &activation_link("http://auth.example.org", &issued),
    );
    press(&mut window, Key::Enter);
    assert_shows(
        &window,
        "which is not usable: a token is fetched only over https",
    );
    assert!(
        !shows(&window, "The check digit matches."),
        "nothing was filled in from the refused link"
    );

    let server = stand_in_server(issued.activation_json());
    window.get_by_label("Activation link").focus();
    settle(&mut window);
    type_text(&mut window, &activation_link(&server, &issued));
    click(&mut window, "Use the link");
    assert_shows(&window, "The check digit matches.");
    window.get_by_label("Server address").focus();
    settle(&mut window);
    choose_pin_and_activate(&mut window);
    assert_shows(
        &window,
        "Example Corp: alice is activated, with 10 unlock codes.",
    );
}
