//! Fresh PostgreSQL databases for the tests that run on both backends.
//! PostgreSQL must be reachable: a test that cannot reach it fails rather
//! than skips.

use sqlx::Connection;

/// The server the tests use: `LATCHKEY_TEST_POSTGRES_URL`, or the local
/// one with trust authentication.
pub fn admin_url() -> String {
    std::env::var("LATCHKEY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A new, empty database with a random name (`lk_test_…`, which CI drops
/// before each run); its URL.
pub async fn fresh_database() -> String {
    let admin = admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must be reachable at {admin} for these tests: {e}"));
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
