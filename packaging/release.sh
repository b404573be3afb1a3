#!/usr/bin/env bash
# make release: build every release artifact into dist/ (see packaging/README.md).
#
#   VERSION              the version (default: FyneApp.toml's), e.g. 1.4.0 or 1.5.0-rc1
#   DIST                 the output directory (default: dist/ in the checkout); emptied first
#   ZAITAKU_SIGNING_KEY  path of the minisign secret key that signs every file; never in the repository
#   ZAITAKU_UPDATE_ROOTS file of the self-update's root public key(s) (minisign .pub files, concatenated),
#                        built into the app; required for a signed release
#   ZAITAKU_UNSIGNED=1   build without signatures (a local try-out, not a release)
#   ZAITAKU_PRESET       IT's zaitaku-app.json (broker address and key pins) to put in the MSI and tarball
#   GO_WINRES            the go-winres module that makes the Windows resources
set -euo pipefail
# Paths given are the caller's: make them absolute before moving to the checkout.
for v in ZAITAKU_SIGNING_KEY ZAITAKU_PRESET ZAITAKU_UPDATE_ROOTS DIST; do
  if [[ -n ${!v:-} ]]; then export "$v=$(realpath -m -- "${!v}")"; fi
done
cd "$(dirname "$0")/.."
root=$PWD
GO=${GO:-go}
GO_WINRES=${GO_WINRES:-github.com/tc-hib/go-winres@v0.3.3}
version=${VERSION:-$(sed -n 's/^Version = "\(.*\)"/\1/p' FyneApp.toml)}
dist=${DIST:-$root/dist}

die() { echo "release: $*" >&2; exit 1; }
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]] || die "VERSION $version: use MAJOR.MINOR.PATCH[-PRE], e.g. 1.4.0"
core=${version%%-*}                  # 1.5.0 of 1.5.0-rc1
winver=$core.0                       # Windows version resources have four numbers
debver=${version/-/\~}               # Debian orders 1.5.0~rc1 before 1.5.0
if [[ -z ${ZAITAKU_UNSIGNED:-} ]]; then
  [[ -n ${ZAITAKU_SIGNING_KEY:-} ]] || die "set ZAITAKU_SIGNING_KEY to the minisign secret key (minisign -G), or ZAITAKU_UNSIGNED=1 for an unsigned try-out"
  [[ -r $ZAITAKU_SIGNING_KEY ]] || die "ZAITAKU_SIGNING_KEY $ZAITAKU_SIGNING_KEY is not readable"
  case $(realpath "$ZAITAKU_SIGNING_KEY") in "$root"/*) die "the signing key must live outside the checkout";; esac
  [[ -n ${ZAITAKU_UPDATE_ROOTS:-} ]] || die "set ZAITAKU_UPDATE_ROOTS to the update root key's public half (minisign -G -p root.pub ...): without it the app cannot update itself"
fi
# The self-update's root keys: the "RW..." lines of minisign public key files.
roots=
if [[ -n ${ZAITAKU_UPDATE_ROOTS:-} ]]; then
  [[ -r $ZAITAKU_UPDATE_ROOTS ]] || die "ZAITAKU_UPDATE_ROOTS $ZAITAKU_UPDATE_ROOTS is not readable"
  roots=$(grep -E '^RW[A-Za-z0-9+/]{54}$' "$ZAITAKU_UPDATE_ROOTS" | paste -sd, -) || true
  [[ -n $roots ]] || die "ZAITAKU_UPDATE_ROOTS $ZAITAKU_UPDATE_ROOTS holds no minisign public key (a line RW... as minisign -G writes)"
fi
appflags="-X main.version=$version -X main.updateRoots=$roots"
for tool in x86_64-w64-mingw32-gcc:gcc-mingw-w64-x86-64 x86_64-w64-mingw32-g++:g++-mingw-w64-x86-64 wixl:wixl \
  dpkg-deb:dpkg xz:xz-utils sha256sum:coreutils minisign:minisign; do
  command -v "${tool%%:*}" >/dev/null || die "${tool%%:*} is missing: apt-get install ${tool#*:} (make deps)"
done

# Every Go build here is -trimpath (no paths of this machine in the binaries).
export GOFLAGS="${GOFLAGS:-} -trimpath"
if [[ -n ${ZAITAKU_PRESET:-} ]]; then
  "$GO" run ./packaging/checkpreset "$ZAITAKU_PRESET" || die "ZAITAKU_PRESET $ZAITAKU_PRESET is not a valid zaitaku-app.json"
fi

case $(realpath -m "$dist") in /|"$root"|"$HOME") die "DIST=$dist would be emptied";; esac
rm -rf "$dist"
mkdir -p "$dist"
work=$(mktemp -d -t zaitaku-release.XXXXXX)
syso=$root/zz_release_windows_amd64.syso
trap 'rm -rf "$work"; rm -f "$syso"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

t0=$SECONDS
step() { echo "release: $1 ($((SECONDS - t0)) s)"; t0=$SECONDS; }
echo "release: version $version into $dist"

# --- The broker: static, cgo off, for amd64 and arm64 servers.
for arch in amd64 arm64; do
  CGO_ENABLED=0 GOOS=linux GOARCH=$arch "$GO" build -ldflags "-s -w -X github.com/zaitaku/zaitaku/broker/daemon.Version=$version" \
    -o "$dist/zaitaku-broker-$version-linux-$arch" ./broker/cmd/broker
done
step "broker linux/amd64, linux/arm64"

# --- The app for Linux (cgo: Fyne's GL and X11).
CGO_ENABLED=1 GOOS=linux GOARCH=amd64 "$GO" build -ldflags "-s -w $appflags" -o "$dist/zaitaku-$version-linux-amd64" .
step "app linux/amd64"

# --- The app for Windows: mingw-w64, GUI subsystem, icon, version and
# manifest (asInvoker, per-monitor DPI) from a .syso that exists only for
# this build.
"$GO" run "$GO_WINRES" simply --arch amd64 --out "$work/rsrc" --manifest gui --icon icons/app.png \
  --product-name Zaitaku --file-description "Zaitaku - work from home on your office PC" \
  --product-version "$winver" --file-version "$winver" --original-filename zaitaku.exe \
  --copyright "Zaitaku project"
mv "$work/rsrc_windows_amd64.syso" "$syso"
CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc CXX=x86_64-w64-mingw32-g++ \
  "$GO" build -ldflags "-s -w -H=windowsgui $appflags" -o "$dist/zaitaku-$version-windows-amd64.exe" .
rm -f "$syso"
step "app windows/amd64"

# --- Icons for the packages, from icons/app.png.
"$GO" run ./packaging/mkicons -src icons/app.png -ico "$work/zaitaku.ico" -hicolor "$work/hicolor" -name jp.lg.zaitaku

# --- Linux tarball: the app, its menu entry and icons, the per-user install.
tdir=$work/zaitaku-$version-linux-amd64
mkdir -p "$tdir/icons/hicolor/scalable/apps"
install -m 0755 "$dist/zaitaku-$version-linux-amd64" "$tdir/zaitaku"
install -m 0755 packaging/linux/install.sh "$tdir/install.sh"
install -m 0644 packaging/linux/jp.lg.zaitaku.desktop "$tdir/jp.lg.zaitaku.desktop"
cp -r "$work/hicolor/." "$tdir/icons/hicolor/"
install -m 0644 icons/app.svg "$tdir/icons/hicolor/scalable/apps/jp.lg.zaitaku.svg"
[[ -z ${ZAITAKU_PRESET:-} ]] || install -m 0644 "$ZAITAKU_PRESET" "$tdir/zaitaku-app.json"
printf 'Zaitaku %s for Linux (amd64)\n\nInstall for yourself (no administrator rights): ./install.sh\nRemove: ./install.sh --uninstall\n' "$version" >"$tdir/README.txt"
find "$tdir" -type d -exec chmod 0755 {} +
tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
  -cf - "zaitaku-$version-linux-amd64" | xz -6 -T2 >"$dist/zaitaku-$version-linux-amd64.tar.xz"
step "linux tarball"

# --- Windows MSI (wixl; per user, see packaging/windows/zaitaku.wxs).
# wixl reads sources relative to the working directory.
mkdir -p "$work/msi"
cp packaging/windows/zaitaku.wxs "$work/zaitaku.ico" "$work/msi/"
cp "$dist/zaitaku-$version-windows-amd64.exe" "$work/msi/zaitaku.exe"
preset=()
if [[ -n ${ZAITAKU_PRESET:-} ]]; then cp "$ZAITAKU_PRESET" "$work/msi/zaitaku-app.json"; preset=(-D Preset=zaitaku-app.json); fi
(cd "$work/msi" && wixl -a x64 -D Version="$core" -D Exe=zaitaku.exe -D Icon=zaitaku.ico "${preset[@]}" \
  -o "$dist/zaitaku-$version-windows-amd64.msi" zaitaku.wxs)
step "windows msi"

# --- Broker .deb per architecture (dpkg-deb; see packaging/deb/).
for arch in amd64 arm64; do
  pkg=$work/deb-$arch
  install -D -m 0755 "$dist/zaitaku-broker-$version-linux-$arch" "$pkg/usr/bin/zaitaku-broker"
  install -D -m 0755 packaging/deb/zaitaku-admin "$pkg/usr/sbin/zaitaku-admin"
  install -D -m 0644 packaging/deb/zaitaku-broker.service "$pkg/lib/systemd/system/zaitaku-broker.service"
  install -D -m 0644 packaging/deb/broker.json "$pkg/etc/zaitaku/broker.json"
  install -D -m 0644 packaging/README.md "$pkg/usr/share/doc/zaitaku-broker/README.md"
  mkdir -p "$pkg/DEBIAN"
  install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$pkg/DEBIAN/"
  install -m 0644 packaging/deb/conffiles "$pkg/DEBIAN/conffiles"
  size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
  sed -e "s/@DEBVERSION@/$debver/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" packaging/deb/control.in >"$pkg/DEBIAN/control"
  find "$pkg" -type d -exec chmod 0755 {} +
  find "$pkg" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  dpkg-deb --root-owner-group -Zxz --build "$pkg" "$dist/zaitaku-broker_${debver}_$arch.deb" >/dev/null
done
step "broker .deb amd64, arm64"

# --- Checksums and signatures.
(cd "$dist" && sha256sum -- * >SHA256SUMS)
if [[ -z ${ZAITAKU_UNSIGNED:-} ]]; then
  # One run for every file: a key with a password asks for it once.
  (cd "$dist" && minisign -S -s "$ZAITAKU_SIGNING_KEY" -t "zaitaku $version" -m * >/dev/null)
  step "sha256 and minisign signatures"
else
  step "sha256 (unsigned: ZAITAKU_UNSIGNED)"
fi
ls -l "$dist"
