//! A throwaway OpenLDAP server for tests (feature `slapd-fixture`).
//!
//! [`Slapd::start_with`] makes a temporary folder with a `slapd.conf` (mdb
//! backend, the `memberof` overlay, a small test schema with AD's account
//! attributes), a self-signed CA and a server certificate for 127.0.0.1
//! (made by the `openssl` command), seeds the tree with `slapadd`, and runs
//! `slapd -d stats` as the current user on two free loopback ports
//! (`ldap://` with StartTLS, and `ldaps://`). Its log is kept, so a test can
//! count the binds a DN made. The server is killed when the value drops.
//!
//! Entries that must get `memberOf` (groups) are added once it runs, with
//! [`Slapd::add`]: the overlay acts on LDAP operations only, not `slapadd`.
//!
//! Needs Debian's `slapd`, `ldap-utils` and `openssl`; without them every
//! call fails with a message that says what to install.

use std::fs;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::DirectoryConfig;

/// The suffix of the test tree.
pub const BASE_DN: &str = "dc=example,dc=org";
/// Where the users live (the configuration's `base_dn`).
pub const PEOPLE_DN: &str = "ou=people,dc=example,dc=org";
/// Where the groups live.
pub const GROUPS_DN: &str = "ou=groups,dc=example,dc=org";
/// The root DN (writes everything).
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=org";
/// The root DN's password.
pub const ADMIN_PASSWORD: &str = "admin-secret";
/// The service account that searches.
pub const SERVICE_DN: &str = "cn=latchkey,ou=services,dc=example,dc=org";
/// The service account's password.
pub const SERVICE_PASSWORD: &str = "service-secret";

/// What to install when a program is missing.
pub const INSTALL_HINT: &str = "install Debian's slapd, ldap-utils and openssl without a system instance: \
     echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections; \
     DEBIAN_FRONTEND=noninteractive apt-get install -y slapd ldap-utils openssl";

/// Why the fixture could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// A program is not installed.
    #[error("`{program}` not found: {INSTALL_HINT}")]
    Missing {
        /// The program.
        program: &'static str,
    },
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
    /// A command exited with an error.
    #[error("{what} failed: {output}")]
    Command {
        /// The command.
        what: String,
        /// Its standard error and output.
        output: String,
    },
    /// slapd exited or did not listen in time.
    #[error("slapd did not start; its log:\n{log}")]
    NotStarted {
        /// slapd's log.
        log: String,
    },
}

/// A running test slapd. Killed on drop.
pub struct Slapd {
    dir: tempfile::TempDir,
    slapd: PathBuf,
    child: Option<Child>,
    ldap_port: u16,
    ldaps_port: u16,
}

const TEST_SCHEMA: &str = "\
# AD's account attributes, for tests only, under OpenLDAP's experimental arc.
attributetype ( 1.3.6.1.4.1.4203.666.1.90.1 NAME 'userAccountControl'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.4203.666.1.90.2 NAME 'accountExpires'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.4203.666.1.90.3 NAME 'lockoutTime'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.4203.666.1.90.4 NAME 'objectGUID'
  EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.4203.666.1.90.5 NAME 'sAMAccountName'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.4203.666.1.90.6 NAME 'latchkeyAdAccount' SUP top AUXILIARY
  MAY ( userAccountControl $ accountExpires $ lockoutTime $ objectGUID $ sAMAccountName ) )
";

const BASE_LDIF: &str = "\
dn: dc=example,dc=org
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,dc=example,dc=org
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=example,dc=org
objectClass: organizationalUnit
ou: groups

dn: ou=services,dc=example,dc=org
objectClass: organizationalUnit
ou: services

dn: cn=latchkey,ou=services,dc=example,dc=org
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: latchkey
userPassword: service-secret
";

impl Slapd {
    /// A slapd with the base tree and the service account only.
    pub fn start() -> Result<Slapd, FixtureError> {
        Slapd::start_with("")
    }

    /// A slapd whose tree is the base plus `seed` (LDIF, loaded by
    /// `slapadd`, so no overlay sees it).
    pub fn start_with(seed: &str) -> Result<Slapd, FixtureError> {
        let slapd = find("slapd")?;
        let slapadd = find("slapadd")?;
        find("ldapadd")?;
        let openssl = find("openssl")?;

        let dir = tempfile::Builder::new()
            .prefix("latchkey-slapd-")
            .tempdir()
            .map_err(io_err("creating the slapd folder"))?;
        let root = dir.path();
        fs::create_dir(root.join("db")).map_err(io_err("creating the database folder"))?;
        make_certificates(&openssl, root)?;
        write(root.join("test.schema"), TEST_SCHEMA)?;
        write(root.join("slapd.conf"), &slapd_conf(root))?;
        write(root.join("seed.ldif"), &format!("{BASE_LDIF}\n{seed}"))?;
        run(
            Command::new(&slapadd)
                .arg("-f")
                .arg(root.join("slapd.conf"))
                .args(["-b", BASE_DN, "-l"])
                .arg(root.join("seed.ldif")),
            "slapadd",
        )?;

        let mut server = Slapd {
            dir,
            slapd,
            child: None,
            ldap_port: 0,
            ldaps_port: 0,
        };
        // Free ports are picked, released, then taken by slapd: another
        // process may take one between. Then pick again.
        let mut last = None;
        for _ in 0..5 {
            server.ldap_port = free_port()?;
            server.ldaps_port = free_port()?;
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(FixtureError::NotStarted { log: String::new() }))
    }

    /// `ldap://127.0.0.1:PORT` (StartTLS offered).
    pub fn ldap_url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.ldap_port)
    }

    /// `ldaps://127.0.0.1:PORT`.
    pub fn ldaps_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.ldaps_port)
    }

    /// The CA that signed the server's certificate (PEM).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Another CA, which signed nothing this server presents.
    pub fn other_ca_file(&self) -> PathBuf {
        self.dir.path().join("other-ca.pem")
    }

    /// The temporary folder (configuration, database, log).
    pub fn folder(&self) -> &Path {
        self.dir.path()
    }

    /// A configuration for this server: `ldap://`, the service account,
    /// `base_dn` = [`PEOPLE_DN`], every other key at its default.
    pub fn config(&self) -> DirectoryConfig {
        let mut config = DirectoryConfig::new(&[&self.ldap_url()], PEOPLE_DN);
        config.bind_dn = Some(SERVICE_DN.into());
        config.bind_password = Some(SERVICE_PASSWORD.to_owned().into());
        config
    }

    /// Adds entries (LDIF) through LDAP as the root DN, so the overlays see
    /// them.
    pub fn add(&self, ldif: &str) -> Result<(), FixtureError> {
        self.ldap_tool("ldapadd", ldif)
    }

    /// Applies an LDIF of changes (`changetype: modify`, `modrdn`,
    /// `delete`, …) through LDAP as the root DN.
    pub fn modify(&self, ldif: &str) -> Result<(), FixtureError> {
        self.ldap_tool("ldapmodify", ldif)
    }

    /// How many simple binds as `dn` slapd has received (case-insensitive),
    /// from its log: `BIND dn="…" method=128` is logged once per request,
    /// before the answer (a successful one adds a `mech=SIMPLE` line).
    pub fn bind_count(&self, dn: &str) -> Result<usize, FixtureError> {
        let log = self.log()?;
        let needle = format!("bind dn=\"{}\" method=128", dn.to_lowercase());
        Ok(log
            .lines()
            .filter(|l| l.to_lowercase().contains(&needle))
            .count())
    }

    /// slapd's log so far.
    pub fn log(&self) -> Result<String, FixtureError> {
        let bytes =
            fs::read(self.dir.path().join("slapd.log")).map_err(io_err("reading slapd's log"))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Kills slapd (the folder and database stay, for [`Slapd::start_again`]).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts slapd again on the same ports after [`Slapd::stop`].
    pub fn start_again(&mut self) -> Result<(), FixtureError> {
        self.stop();
        // The ports were just released by the killed slapd; retry briefly
        // in case the kernel has not let go of them yet.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.spawn() {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    fn spawn(&mut self) -> Result<(), FixtureError> {
        let root = self.dir.path();
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(root.join("slapd.log"))
            .map_err(io_err("opening slapd's log"))?;
        let urls = format!("{} {}", self.ldap_url(), self.ldaps_url());
        let mut child = Command::new(&self.slapd)
            // -d keeps it in the foreground, logging to stderr; 256 = stats
            // (connections, operations, binds).
            .args(["-d", "256", "-h", &urls, "-f"])
            .arg(root.join("slapd.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(io_err("starting slapd"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                return Err(FixtureError::NotStarted {
                    log: self.log().unwrap_or_default(),
                });
            }
            if listening(self.ldap_port) && listening(self.ldaps_port) {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(FixtureError::NotStarted {
                    log: self.log().unwrap_or_default(),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn ldap_tool(&self, tool: &'static str, ldif: &str) -> Result<(), FixtureError> {
        let program = find(tool)?;
        let file = self.dir.path().join(format!("{tool}-input.ldif"));
        write(&file, ldif)?;
        run(
            Command::new(program)
                .args([
                    "-x",
                    "-H",
                    &self.ldap_url(),
                    "-D",
                    ADMIN_DN,
                    "-w",
                    ADMIN_PASSWORD,
                    "-f",
                ])
                .arg(&file),
            tool,
        )
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn slapd_conf(root: &Path) -> String {
    let r = root.display();
    format!(
        "\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include {r}/test.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile {r}/slapd.pid
argsfile {r}/slapd.args
TLSCACertificateFile {r}/ca.pem
TLSCertificateFile {r}/server.pem
TLSCertificateKeyFile {r}/server.key

database mdb
maxsize 16777216
suffix \"{BASE_DN}\"
rootdn \"{ADMIN_DN}\"
rootpw {ADMIN_PASSWORD}
directory {r}/db
index objectClass eq
index uid eq
overlay memberof
memberof-refint true
access to attrs=userPassword by anonymous auth by * none
access to * by * read
"
    )
}

fn make_certificates(openssl: &Path, root: &Path) -> Result<(), FixtureError> {
    write(
        root.join("ca.cnf"),
        "[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = v3_ca\n\
         [dn]\nCN = Latchkey test CA\n\
         [v3_ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n\
         subjectKeyIdentifier = hash\n",
    )?;
    write(
        root.join("server.ext"),
        "basicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\n\
         extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1,DNS:localhost\n\
         subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n",
    )?;
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for ca in ["ca", "other-ca"] {
        run(
            Command::new(openssl)
                .current_dir(root)
                .args(["req", "-x509"])
                .args(ec)
                .args(["-days", "3", "-config", "ca.cnf", "-keyout"])
                .arg(format!("{ca}.key"))
                .arg("-out")
                .arg(format!("{ca}.pem")),
            "openssl req (CA)",
        )?;
    }
    run(
        Command::new(openssl)
            .current_dir(root)
            .arg("req")
            .args(ec)
            .args([
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ]),
        "openssl req (server)",
    )?;
    run(
        Command::new(openssl).current_dir(root).args([
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "3",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ]),
        "openssl x509 (server)",
    )
}

/// `program` on the PATH or in the sbin folders (slapd lives in /usr/sbin,
/// which an ordinary user's PATH may lack).
fn find(program: &'static str) -> Result<PathBuf, FixtureError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .ok_or(FixtureError::Missing { program })
}

fn free_port() -> Result<u16, FixtureError> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io_err("finding a free port"))?;
    let port = listener
        .local_addr()
        .map_err(io_err("finding a free port"))?
        .port();
    Ok(port)
}

fn listening(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

fn write(path: impl AsRef<Path>, text: &str) -> Result<(), FixtureError> {
    let path = path.as_ref();
    fs::write(path, text).map_err(io_err(&format!("writing {}", path.display())))
}

fn run(command: &mut Command, what: &str) -> Result<(), FixtureError> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(io_err(&format!("running {what}")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(FixtureError::Command {
            what: what.into(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stderr),
                String::from_utf8_lossy(&output.stdout)
            ),
        })
    }
}

fn io_err(what: &str) -> impl FnOnce(io::Error) -> FixtureError + '_ {
    move |source| FixtureError::Io {
        what: what.into(),
        source,
    }
}
