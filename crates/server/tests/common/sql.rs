//! The test database seen from outside the server: a fresh PostgreSQL
//! database, and one SQL statement or number at a time (to play the
//! attacker, or to read what was stored).

pub fn postgres_admin_url() -> String {
    latchkey_testkit::postgres::admin_url()
}

/// A new, empty PostgreSQL database; its URL. Fails loudly without PostgreSQL.
pub fn fresh_postgres() -> String {
    let admin = postgres_admin_url();
    let mut id = [0u8; 6];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut id);
    let name = format!(
        "lk_test_{}",
        id.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let runtime = tokio_runtime();
    runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{}",
                    latchkey_testkit::postgres::unreachable_message(&admin, &e)
                )
            });
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create a test database");
    });
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

pub fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs one SQL statement against the test database (to play the attacker).
pub fn execute_sql(url: &str, sql: &str) {
    if let Some(rest) = url.strip_prefix("sqlite://") {
        // The server's SQLite is rusqlite; sqlx here speaks PostgreSQL only.
        let path = rest.split_once('?').map_or(rest, |(path, _)| path);
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        conn.execute_batch(sql).unwrap();
        return;
    }
    tokio_runtime().block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    });
}

/// One number from the test database (SQLite or PostgreSQL).
pub fn query_i64(url: &str, sql: &str) -> i64 {
    if let Some(rest) = url.strip_prefix("sqlite://") {
        let path = rest.split_once('?').map_or(rest, |(path, _)| path);
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        return conn.query_row(sql, [], |row| row.get(0)).unwrap();
    }
    tokio_runtime().block_on(async {
        use sqlx::{Connection, Row};
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(sql)
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .get::<i64, _>(0)
    })
}
