//! The first-sign-in security questions on a phone (UX-REVIEW F17): at
//! 390 CSS pixels every question's `<select>` fits the screen and shows the
//! whole question, wrapped, rather than cutting it off. Headless Chromium
//! with its own phone emulation, against a real `latchkey serve`.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::browser::Browser;
use common::web::Account;
use common::*;

#[test]
fn the_question_selects_fit_a_390_px_phone_and_show_the_whole_question() {
    let db = Database::new(false);
    let server = db.serve();
    let mut una = Account::new(&db, "una");
    let mut browser = Browser::start_phone("questions-phone");
    browser.goto(&format!("{}/login", server.url));
    browser.type_into("#username", "una");
    browser.type_into("#password", PASSWORD);
    browser.click("form[action='/login'] button[type=submit]");
    assert_eq!(browser.wait_for_path("/login/otp"), "/login/otp");
    browser.type_into("#otp", &una.next_otp());
    browser.click("form[action='/login/otp'] button[type=submit]");
    assert_eq!(
        browser.wait_for_path("/self-service/questions"),
        "/self-service/questions"
    );
    // The longest question in the first select.
    let measured = browser.execute(
        "const selects = [...document.querySelectorAll('select.question')];
         const texts = [...selects[0].options].map(o => o.text);
         const longest = [...texts].sort((a, b) => b.length - a.length)[0];
         const pick = (select, text) => {
           select.value = [...select.options].find(o => o.text === text).value;
           select.dispatchEvent(new Event('change'));
         };
         pick(selects[0], longest);
         const long = selects[0].getBoundingClientRect();
         const answer = document.getElementById('answer_1').getBoundingClientRect();
         return {
           viewport: document.documentElement.clientWidth,
           selects: selects.length,
           rights: selects.map(s => s.getBoundingClientRect().right),
           lefts: selects.map(s => s.getBoundingClientRect().left),
           long_height: long.height,
           one_line_height: answer.height,
           clipped: selects[0].scrollHeight > selects[0].clientHeight + 1,
           longest: longest,
         };",
        serde_json::json!([]),
    );
    browser.screenshot("questions-390");
    let viewport = measured["viewport"].as_f64().unwrap();
    assert_eq!(viewport, 390.0, "a phone's width: {measured}");
    assert_eq!(measured["selects"], 5);
    for (right, left) in measured["rights"]
        .as_array()
        .unwrap()
        .iter()
        .zip(measured["lefts"].as_array().unwrap())
    {
        let (right, left) = (right.as_f64().unwrap(), left.as_f64().unwrap());
        assert!(
            left >= 0.0 && right <= viewport,
            "a select's box runs off the screen: {measured}"
        );
    }
    assert!(
        !browser.scrolls_sideways(),
        "the page fits the phone: {measured}"
    );
    // The whole question shows: it wraps onto a second line instead of
    // being cut off, so its box is taller than the one-line answer field
    // below it (same font and padding), and nothing inside it is clipped.
    let (long, one_line) = (
        measured["long_height"].as_f64().unwrap(),
        measured["one_line_height"].as_f64().unwrap(),
    );
    assert_eq!(measured["clipped"], false, "{measured}");
    assert!(
        long > one_line * 1.3,
        "{:?} is cut off to one line at 390 px: {measured}",
        measured["longest"]
    );
}
