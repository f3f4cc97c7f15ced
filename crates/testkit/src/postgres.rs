//! Fresh PostgreSQL databases for the tests that run on both backends.
//! PostgreSQL must be reachable: a test that cannot reach it fails rather
//! than skips, with one line that says how to start one or where to point
//! the tests instead (UX-REVIEW F7).

use sqlx::Connection;

/// The variable that points the tests at a PostgreSQL server.
pub const URL_VARIABLE: &str = "LATCHKEY_TEST_POSTGRES_URL";

/// The server the tests use when [`URL_VARIABLE`] is not set: the local
/// one with trust authentication, as CI runs it.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The server the tests use: `LATCHKEY_TEST_POSTGRES_URL`, or the local
/// one with trust authentication.
pub fn admin_url() -> String {
    std::env::var(URL_VARIABLE).unwrap_or_else(|_| DEFAULT_URL.into())
}

/// What a test says when PostgreSQL at `url` does not answer: one line,
/// with the cause, a command that starts a server the defaults reach, and
/// the variable that points the tests at another.
pub fn unreachable_message(url: &str, cause: &dyn std::fmt::Display) -> String {
    let cause = cause.to_string().replace(['\n', '\r'], " ");
    format!(
        "PostgreSQL must be reachable at {url} for these tests ({cause}): start one with \
         `docker run -d --name latchkey-test-pg -p 127.0.0.1:5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust -e POSTGRES_DB=test postgres:16`, \
         or set {URL_VARIABLE}=postgres://USER:PASSWORD@HOST:PORT/DATABASE to use one you have"
    )
}

/// A new, empty database with a random name (`lk_test_…`, which CI drops
/// before each run); its URL.
pub async fn fresh_database() -> String {
    let admin = admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("{}", unreachable_message(&admin, &e)));
    let mut id = [0u8; 6];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut id);
    let name = format!("lk_test_{}", data_encoding::HEXLOWER.encode(&id));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
    let (base, _) = admin
        .rsplit_once('/')
        .unwrap_or_else(|| panic!("{admin} is not a database URL"));
    format!("{base}/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message a laptop without PostgreSQL sees, from the error sqlx
    /// gives for a port nobody listens on.
    #[tokio::test]
    async fn an_unreachable_server_is_reported_in_one_line_that_says_what_to_do() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("postgres://postgres@127.0.0.1:{closed}/test");
        let error = sqlx::PgConnection::connect(&url)
            .await
            .expect_err("nothing listens there");
        let message = unreachable_message(&url, &error);
        assert!(!message.contains('\n'), "one line: {message}");
        assert!(message.contains(&url), "names where it looked: {message}");
        assert!(
            message.contains(&error.to_string().replace('\n', " ")),
            "gives the cause: {message}"
        );
        assert!(
            message.contains("docker run") && message.contains("POSTGRES_DB=test"),
            "says how to start one: {message}"
        );
        assert!(
            message.contains("LATCHKEY_TEST_POSTGRES_URL="),
            "says how to point at one: {message}"
        );
        // The started server is the one the defaults reach.
        assert!(message.contains("127.0.0.1:5432:5432"));
        assert!(DEFAULT_URL.contains("127.0.0.1:5432/test"));
    }

    #[test]
    fn a_cause_over_several_lines_stays_on_one() {
        let message = unreachable_message(DEFAULT_URL, &"first\nsecond");
        assert!(message.contains("(first second)"), "{message}");
        assert_eq!(message.lines().count(), 1);
    }
}
