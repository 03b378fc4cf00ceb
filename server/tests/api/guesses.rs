//! Password guesses sent all at once, and guesses at the current password of
//! a password change: both are held to the same few as guesses sent one after
//! another at the login.

use crate::helpers::TestApp;
use crate::security::{expect_error, expect_rate_limited, login, ok, req, PW, WRONG};
use serde_json::json;

/// Twelve wrong guesses sent at once from one address: each used to pass the
/// lock before any failure was written, so all twelve were checked. The
/// attempt is now counted before the check: five are answered, seven wait.
async fn a_burst_of_guesses_at_once_gets_no_more_than_five_checked(app: TestApp) {
    let guesser = "192.0.2.40:1000";
    let burst = (0..12).map(|_| login(&app, "ksv1", WRONG, guesser));
    let answers = futures_util::future::join_all(burst).await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
    statuses.sort();
    assert_eq!(
        statuses,
        [[401; 5].as_slice(), &[429; 7]].concat(),
        "{statuses:?}"
    );
    for r in &answers {
        match r.status.as_u16() {
            401 => expect_error(r, 401, "auth.bad_credentials"),
            _ => expect_rate_limited(r),
        }
    }
    // The address is locked out of the account, even with the right password.
    expect_rate_limited(&login(&app, "ksv1", PW, guesser).await);
}

/// An attempt is counted before its password is checked; a right one takes
/// its count back. An office whose staff all log in from one address never
/// fills the address's twenty.
async fn logins_that_succeed_leave_nothing_counted(app: TestApp) {
    let office = "192.0.2.41:1000";
    for _ in 0..22 {
        ok(&login(&app, "ksv2", PW, office).await);
    }
    ok(&login(&app, "ksv3", PW, office).await);
    // Four failures, then a success, then five more failures before a lock.
    for _ in 0..4 {
        expect_error(
            &login(&app, "ksv3", WRONG, office).await,
            401,
            "auth.bad_credentials",
        );
    }
    ok(&login(&app, "ksv3", PW, office).await);
    for _ in 0..5 {
        expect_error(
            &login(&app, "ksv3", WRONG, office).await,
            401,
            "auth.bad_credentials",
        );
    }
    expect_rate_limited(&login(&app, "ksv3", PW, office).await);
}

/// Someone holding an unattended phone's session guesses its owner's
/// password at the password change: five wrong ones, then a wait, even for
/// the right one. A refused change for another reason is no guess.
async fn the_current_password_of_a_change_takes_five_guesses_then_waits(app: TestApp) {
    let (session, _) = app.login("ksv4").await;
    let change = |current: &str, new: &str| {
        req("POST", "/api/auth/password")
            .cookie(Some(&session))
            .json(&json!({"current_password": current, "new_password": new}))
            .send(&app.router)
    };
    for _ in 0..3 {
        expect_error(&change(PW, "ngan").await, 422, "user.password_too_short");
    }
    for _ in 0..5 {
        expect_error(
            &change(WRONG, "mat-khau-moi-du-dai-1").await,
            422,
            "password.wrong_current",
        );
    }
    let refused = change(PW, "mat-khau-moi-du-dai-1").await;
    expect_error(&refused, 429, "password.too_many_guesses");
    assert!(
        refused.headers.contains_key("retry-after"),
        "{}",
        refused.text()
    );
    // The password did not change, and the owner's login is not held by it.
    ok(&login(&app, "ksv4", PW, "192.0.2.42:1000").await);
}

/// Five wrong guesses as one spelling of a phone number, then another
/// spelling: an account's number shares its account's counter, so that was
/// refused (429) while a number nobody has was answered (401), and the
/// counters told which numbers belong to staff. Every spelling of a number
/// now shares one counter either way.
async fn the_spellings_of_a_number_nobody_has_share_one_counter(app: TestApp) {
    let guesser = "192.0.2.43:1000";
    for _ in 0..5 {
        let r = login(&app, "0987654321", WRONG, guesser).await;
        expect_error(&r, 401, "auth.bad_credentials");
    }
    expect_rate_limited(&login(&app, "+84 987 654 321", WRONG, guesser).await);
    expect_rate_limited(&login(&app, "0987.654.321", WRONG, guesser).await);
}

crate::engine_tests!(
    the_spellings_of_a_number_nobody_has_share_one_counter,
    a_burst_of_guesses_at_once_gets_no_more_than_five_checked,
    logins_that_succeed_leave_nothing_counted,
    the_current_password_of_a_change_takes_five_guesses_then_waits,
);
