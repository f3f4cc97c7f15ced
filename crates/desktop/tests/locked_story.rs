//! The locked-token story, driven through the window as a person would,
//! with the keyboard where a person would use it: five wrong PINs, the
//! locked view with its PIN Reset Code, the unlock code the server derives
//! from it, Unlock, a new PIN twice, and the code `oathtool` computes.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use eframe::egui::Key;
use egui_kittest::kittest::Queryable;
use latchkey_desktop::group_otp;
use latchkey_token::TokenState;

#[test]
fn five_wrong_pins_lock_the_token_and_the_unlock_code_opens_it_with_a_new_pin() {
    let (home, issued) = home_with_token();
    let now = early_in_a_step();
    let clock = TestClock::at(now);
    let mut window = window(&home, &clock);

    // One token: the window opens on its PIN prompt, the field focused.
    assert_shows(&window, "Example Corp: alice");
    assert_focused(&window, "PIN");

    let wrong = wrong_pins(&home.record(), 5);
    for (typed, pin) in wrong.iter().enumerate() {
        type_text(&mut window, pin);
        press(&mut window, Key::Enter);
        let left = 4 - typed;
        if left > 0 {
            let plural = if left == 1 { "attempt" } else { "attempts" };
            assert_shows(
                &window,
                &format!("Incorrect PIN. {left} {plural} left before this token locks."),
            );
            assert_focused(&window, "PIN");
            // The field is emptied after each try.
            assert_eq!(window.get_by_label("PIN").value().as_deref(), Some(""));
        }
    }

    // Locked: the window shows the PIN Reset Code of the slot in use.
    assert_shows(&window, "This token is locked");
    assert_eq!(home.record().state(), TokenState::Locked);
    let reset = reset_code_on_screen(&window);
    assert_eq!(Some(&reset), home.record().reset_code().as_ref());
    assert_shows(&window, "My soft token is locked");
    // The way to the portal's unlock page with this code filled in.
    assert!(home.record().unlock_page_link().is_some());
    assert_shows(&window, "Get an unlock code");
    assert_focused(&window, "Unlock code");

    // The server's side: the unlock code for that reset code.
    let unlock = issued.unlock_code_for(&reset);
    let slots_before = home.record().slots.len();

    // A typo is flagged by the check digit as it is typed, and refused
    // before anything is tried.
    let mut typo = unlock.digits().to_owned();
    let last = typo.pop().unwrap();
    typo.push(char::from(b'0' + (last as u8 - b'0' + 1) % 10));
    type_text(&mut window, &typo);
    assert_shows(&window, "has a typo");
    press(&mut window, Key::Enter);
    assert_shows(&window, "Nothing was used up.");
    assert_eq!(home.record().slots.len(), slots_before);
    assert_eq!(home.record().state(), TokenState::Locked);

    // The right code, typed with spaces and dashes as people do.
    clear_field(&mut window);
    let typed = format!("{} {}", &unlock.grouped()[..9], &unlock.grouped()[10..]);
    type_text(&mut window, &typed);
    assert_shows(&window, "The check digit matches.");
    click(&mut window, "Unlock");

    // The new-PIN dialog: a PIN the policy refuses is explained...
    assert_shows(&window, "Choose a new PIN");
    assert_focused(&window, "New PIN");
    type_text(&mut window, "123456");
    press(&mut window, Key::Enter);
    assert_focused(&window, "New PIN again");
    type_text(&mut window, "123456");
    press(&mut window, Key::Enter);
    assert_shows(
        &window,
        "That PIN cannot be used: a PIN that counts up or down",
    );
    assert_shows(&window, "may not repeat one digit");
    assert_eq!(
        home.record().state(),
        TokenState::Locked,
        "nothing spent yet"
    );

    // ...two that differ are refused...
    type_text(&mut window, NEW_PIN);
    press(&mut window, Key::Enter);
    type_text(&mut window, "583921");
    press(&mut window, Key::Enter);
    assert_shows(&window, "The two PINs differ");

    // ...and a good one, twice, unlocks and shows the code at once.
    type_text(&mut window, NEW_PIN);
    press(&mut window, Key::Enter);
    type_text(&mut window, NEW_PIN);
    press(&mut window, Key::Enter);
    assert_shows(&window, "The token is unlocked and has its new PIN.");
    let expected = issued.oathtool_code(now);
    assert_eq!(expected.len(), 8);
    assert_shows(&window, &group_otp(&expected));
    assert_shows(&window, "Changes in 28 s");

    let record = home.record();
    assert_eq!(record.state(), TokenState::Active);
    assert_eq!(record.failures, 0);
    assert_eq!(record.slots.len(), slots_before - 1, "the slot is spent");
    assert_ne!(record.reset_code().as_ref(), Some(&reset));
}

#[test]
fn forgot_pin_leads_to_the_unlock_flow_without_five_mistakes() {
    let (home, issued) = home_with_token();
    let now = early_in_a_step();
    let clock = TestClock::at(now);
    let mut window = window(&home, &clock);

    click(&mut window, "Forgot PIN?");
    assert_shows(&window, "Forgot your PIN?");
    assert_eq!(home.record().failures, 0, "forgetting costs no attempt");
    assert_eq!(home.record().state(), TokenState::Active);
    let reset = reset_code_on_screen(&window);

    // Going back is possible: nothing has changed.
    click(&mut window, "Back to the PIN");
    assert_focused(&window, "PIN");
    click(&mut window, "Forgot PIN?");

    type_text(&mut window, issued.unlock_code_for(&reset).digits());
    press(&mut window, Key::Enter);
    type_text(&mut window, NEW_PIN);
    press(&mut window, Key::Enter);
    type_text(&mut window, NEW_PIN);
    press(&mut window, Key::Enter);
    assert_shows(&window, &group_otp(&issued.oathtool_code(now)));

    // The old PIN no longer opens it; the new one does.
    click(&mut window, "Hide");
    type_text(&mut window, PIN);
    press(&mut window, Key::Enter);
    assert_shows(&window, "Incorrect PIN. 4 attempts left");
    type_text(&mut window, NEW_PIN);
    press(&mut window, Key::Enter);
    assert_shows(&window, &group_otp(&issued.oathtool_code(now)));
}

#[test]
fn an_unlock_code_for_another_reset_code_is_refused_and_nothing_is_spent() {
    let (home, issued) = home_with_token();
    let clock = TestClock::at(early_in_a_step());
    let mut window = window(&home, &clock);
    click(&mut window, "Forgot PIN?");
    let other_slot = home.record().slots[1].reset_code.parse().unwrap();
    type_text(&mut window, issued.unlock_code_for(&other_slot).digits());
    click(&mut window, "Unlock");
    assert_shows(
        &window,
        "That unlock code does not match this token's PIN Reset Code.",
    );
    assert_eq!(home.record().slots.len(), 10);
    // The field was emptied and has the focus again.
    assert_focused(&window, "Unlock code");
    assert_eq!(
        window.get_by_label("Unlock code").value().as_deref(),
        Some("")
    );
}
