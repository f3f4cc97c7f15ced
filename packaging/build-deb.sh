#!/usr/bin/env bash
# Builds latchkey_<version>_<arch>.deb: the two binaries, the hardened
# systemd unit, a default configuration and, at install, a `latchkey` system
# user with its data folder. Needs only dpkg-deb (no cargo-deb).
#
#   packaging/build-deb.sh                      # cargo build --release, then package
#   packaging/build-deb.sh --binaries target/debug --out /tmp   # package binaries already built
#
# LATCHKEY_DEB_COMPRESSION (dpkg-deb -Z: xz, gzip, zstd, none; default xz).
set -euo pipefail
cd "$(dirname "$0")/.."

binaries=""
out="target/debian"
while [ $# -gt 0 ]; do
  case "$1" in
    --binaries) binaries=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--binaries DIR] [--out DIR]" >&2; exit 2 ;;
  esac
done
if [ -z "$binaries" ]; then
  cargo build --release --locked -p latchkey-server -p latchkey-token
  binaries=target/release
fi
for program in latchkey latchkey-token; do
  [ -x "$binaries/$program" ] || { echo "no $binaries/$program; build it first" >&2; exit 1; }
done

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
arch=$(dpkg --print-architecture)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
chmod 0755 "$root"

install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" \
  "$root/usr/share/doc/latchkey" "$root/etc/latchkey"
install -m 0755 "$binaries/latchkey" "$binaries/latchkey-token" "$root/usr/bin/"
# The package puts the binaries in /usr/bin; the unit in the tree names
# /usr/local/bin for a manual install.
sed 's|/usr/local/bin/latchkey|/usr/bin/latchkey|' packaging/latchkey.service \
  > "$root/lib/systemd/system/latchkey.service"
chmod 0644 "$root/lib/systemd/system/latchkey.service"
install -m 0640 packaging/latchkey.toml "$root/etc/latchkey/latchkey.toml"
install -m 0644 docs/operations.md README.md "$root/usr/share/doc/latchkey/"
printf 'Latchkey\nLicense: Apache-2.0\n' > "$root/usr/share/doc/latchkey/copyright"
chmod 0644 "$root/usr/share/doc/latchkey/copyright"

installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$installed_size/" \
  packaging/deb/control > "$root/DEBIAN/control"
install -m 0644 packaging/deb/conffiles "$root/DEBIAN/conffiles"
for script in postinst prerm postrm; do
  install -m 0755 "packaging/deb/$script" "$root/DEBIAN/$script"
done

mkdir -p "$out"
deb="$out/latchkey_${version}_${arch}.deb"
dpkg-deb --root-owner-group "-Z${LATCHKEY_DEB_COMPRESSION:-xz}" --build "$root" "$deb" >/dev/null
echo "$deb"
