//! A PostgreSQL server of the test's own, to stop and start under a node.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A PostgreSQL server of the test's own (initdb into a temporary folder,
/// its own port), so a test can stop and start it without touching the
/// machine's shared one. Stopped when dropped. Fails loudly when the
/// PostgreSQL server programs are not installed.
pub struct ThrowawayPostgres {
    bin: PathBuf,
    data: PathBuf,
    pub port: u16,
    folder: tempfile::TempDir,
}

impl ThrowawayPostgres {
    /// Creates the cluster and starts it.
    pub fn start() -> ThrowawayPostgres {
        let bin = postgres_bin_dir();
        let folder = tempfile::tempdir().unwrap();
        let data = folder.path().join("data");
        if running_as_root() {
            // PostgreSQL refuses to run as root; its own user owns the folder.
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(folder.path())
                .status()
                .expect("chown runs");
            assert!(status.success(), "chown the cluster folder to postgres");
        }
        let out = as_postgres_user(&bin.join("initdb"))
            .args(["--auth=trust", "--username=postgres", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .expect("initdb runs");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let cluster = ThrowawayPostgres {
            bin,
            data,
            port,
            folder,
        };
        cluster.start_server();
        cluster
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.folder.path().display()
        );
        let out = as_postgres_user(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-o", &options, "-l"])
            .arg(self.folder.path().join("server.log"))
            .args(["-w", "-t", "60", "start"])
            .output()
            .expect("pg_ctl runs");
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(self.folder.path().join("server.log")).unwrap_or_default()
        );
    }

    /// Stops the server, ending every connection ("fast" shutdown).
    pub fn stop_server(&self) {
        let out = as_postgres_user(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "-w", "-t", "60", "stop"])
            .output()
            .expect("pg_ctl runs");
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for ThrowawayPostgres {
    fn drop(&mut self) {
        let _ = as_postgres_user(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// The newest `/usr/lib/postgresql/N/bin` that has `initdb`.
fn postgres_bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).expect(
        "the PostgreSQL server programs (initdb, pg_ctl) must be installed under \
         /usr/lib/postgresql/*/bin (Debian package postgresql; .ci/run installs it)",
    )
}

fn running_as_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("id runs");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// `program` run as the `postgres` user when we are root (initdb and
/// postgres refuse root), else as ourselves.
fn as_postgres_user(program: &Path) -> Command {
    if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
