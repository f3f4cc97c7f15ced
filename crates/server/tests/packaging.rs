//! `packaging/build-deb.sh`: the `.deb` built from this workspace's
//! binaries holds the two programs, the hardened unit (which
//! `systemd-analyze verify` accepts), the default configuration as a
//! conffile and the scripts that make the `latchkey` system user; its
//! `latchkey --version` runs. Installing it (`dpkg -i`) is left to the
//! operator's machine: this test changes nothing outside its folder.
// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn run(command: &mut Command) -> Output {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_deb_holds_the_binaries_the_unit_the_configuration_and_the_system_user() {
    let latchkey = Path::new(env!("CARGO_BIN_EXE_latchkey"));
    // Beside `latchkey`, built by the testkit if need be.
    latchkey_testkit::token_cli::token_binary(latchkey);
    let binaries = latchkey.parent().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let built = run(Command::new(workspace.join("packaging/build-deb.sh"))
        .arg("--binaries")
        .arg(binaries)
        .arg("--out")
        .arg(out_dir.path())
        // The debug binaries are large; compressing them is not the test.
        .env("LATCHKEY_DEB_COMPRESSION", "none"));
    let deb = text(&built).trim().to_owned();
    assert!(deb.ends_with(".deb") && Path::new(&deb).exists(), "{deb}");

    let info = text(&run(Command::new("dpkg-deb").args(["--info", &deb])));
    for field in [
        "Package: latchkey",
        "Version: 0.1.0",
        "Depends: libc6, passwd",
    ] {
        assert!(info.contains(field), "{field} in {info}");
    }
    let listing = text(&run(Command::new("dpkg-deb").args(["--contents", &deb])));
    for (mode, path) in [
        ("-rwxr-xr-x root/root", "./usr/bin/latchkey"),
        ("-rwxr-xr-x root/root", "./usr/bin/latchkey-token"),
        (
            "-rw-r--r-- root/root",
            "./lib/systemd/system/latchkey.service",
        ),
        ("-rw-r----- root/root", "./etc/latchkey/latchkey.toml"),
        (
            "-rw-r--r-- root/root",
            "./usr/share/doc/latchkey/operations.md",
        ),
    ] {
        assert!(
            listing
                .lines()
                .any(|line| line.starts_with(mode) && line.ends_with(path)),
            "{mode} {path} in {listing}"
        );
    }
    assert!(
        !listing.contains("latchkey.env") && !listing.contains("master.key"),
        "no secret is packaged: {listing}"
    );

    let unpacked = tempfile::tempdir().unwrap();
    let root = unpacked.path();
    run(Command::new("dpkg-deb")
        .arg("--extract")
        .arg(&deb)
        .arg(root));
    run(Command::new("dpkg-deb")
        .arg("--control")
        .arg(&deb)
        .arg(root.join("DEBIAN")));
    assert_eq!(
        std::fs::read_to_string(root.join("DEBIAN/conffiles")).unwrap(),
        "/etc/latchkey/latchkey.toml\n"
    );
    let postinst = std::fs::read_to_string(root.join("DEBIAN/postinst")).unwrap();
    assert!(
        postinst.contains("useradd --system") && postinst.contains("/var/lib/latchkey"),
        "{postinst}"
    );
    for script in ["postinst", "prerm", "postrm"] {
        run(Command::new("sh")
            .arg("-n")
            .arg(root.join("DEBIAN").join(script)));
    }

    let version = text(&run(
        Command::new(root.join("usr/bin/latchkey")).arg("--version")
    ));
    assert_eq!(version.trim(), "latchkey 0.1.0");

    // The unit as packaged, its binary path pointed at the unpacked one
    // (verify checks that the program exists): nothing else is changed.
    let unit = std::fs::read_to_string(root.join("lib/systemd/system/latchkey.service")).unwrap();
    assert!(
        unit.contains("ExecStart=/usr/bin/latchkey serve --log-json"),
        "{unit}"
    );
    let here = root.join("usr/bin/latchkey").display().to_string();
    let checked = root.join("latchkey.service");
    std::fs::write(&checked, unit.replace("/usr/bin/latchkey", &here)).unwrap();
    let verified = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&checked)
        .output()
        .expect("systemd-analyze is installed (Debian's systemd)");
    let said = String::from_utf8_lossy(&verified.stderr);
    let about_ours: Vec<&str> = said
        .lines()
        .filter(|line| line.contains("latchkey.service"))
        .collect();
    assert!(
        verified.status.success() && about_ours.is_empty(),
        "systemd-analyze verify: {said}"
    );
}
