#!/bin/sh
# Zaitaku for Linux: installs the app for the current user only. No
# administrator rights are needed, and because the user owns the installed
# binary the app can update itself. Run it from the unpacked tarball:
#
#   ./install.sh              install, or upgrade an earlier install
#   ./install.sh --uninstall  remove the app (settings and the operation log,
#                             in ~/.config/zaitaku, stay)
#
# Where it puts things (XDG_DATA_HOME defaults to ~/.local/share):
#   $XDG_DATA_HOME/zaitaku/zaitaku                 the app (and zaitaku-app.json, IT's preset, if the tarball has one)
#   ~/.local/bin/zaitaku                           a link to it
#   $XDG_DATA_HOME/applications/jp.lg.zaitaku.desktop  the menu entry
#   $XDG_DATA_HOME/icons/hicolor/*/apps/jp.lg.zaitaku.*  the icons
set -eu

here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
dest=$data/zaitaku
bindir=$HOME/.local/bin
apps=$data/applications
icons=$data/icons/hicolor
id=jp.lg.zaitaku

refresh() {
	command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$apps" 2>/dev/null || true
	command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$icons" 2>/dev/null || true
}

if [ "${1:-}" = "--uninstall" ]; then
	rm -f "$dest/zaitaku" "$dest/zaitaku.previous" "$dest/zaitaku-app.json" "$apps/$id.desktop"
	rmdir "$dest" 2>/dev/null || true
	[ -L "$bindir/zaitaku" ] && rm -f "$bindir/zaitaku"
	rm -f "$icons"/*/apps/$id.png "$icons/scalable/apps/$id.svg"
	# The app writes this entry itself when "start at sign-in" is on.
	rm -f "${XDG_CONFIG_HOME:-$HOME/.config}/autostart/$id.desktop"
	refresh
	echo "Zaitaku removed. Settings and the operation log stay in ${XDG_CONFIG_HOME:-$HOME/.config}/zaitaku."
	exit 0
fi
if [ $# -gt 0 ]; then
	echo "usage: $0 [--uninstall]" >&2
	exit 2
fi

case "$dest" in
*[\"\`\$\\]*)
	echo "install.sh: the install directory $dest contains a character a menu entry cannot hold; set XDG_DATA_HOME to another directory" >&2
	exit 1
	;;
esac

mkdir -p "$dest" "$bindir" "$apps"
# Replace the binary by a rename, so a running app keeps its old file.
cp "$here/zaitaku" "$dest/.zaitaku.new"
chmod 0755 "$dest/.zaitaku.new"
mv -f "$dest/.zaitaku.new" "$dest/zaitaku"
if [ -f "$here/zaitaku-app.json" ]; then
	cp "$here/zaitaku-app.json" "$dest/zaitaku-app.json"
fi
ln -sfn "$dest/zaitaku" "$bindir/zaitaku"

(cd "$here/icons/hicolor" && find . -type f) | while read -r f; do
	mkdir -p "$icons/$(dirname "$f")"
	cp "$here/icons/hicolor/$f" "$icons/$f"
done

exe=$dest/zaitaku
case "$exe" in
*[!A-Za-z0-9_./-]*) exe="\"$exe\"" ;; # the Desktop Entry spec's quoting; the characters it escapes were refused above
esac
sed -e "s|^Exec=.*|Exec=$exe|" -e "s|^TryExec=.*|TryExec=$dest/zaitaku|" "$here/$id.desktop" >"$apps/.$id.desktop.new"
mv -f "$apps/.$id.desktop.new" "$apps/$id.desktop"
refresh

echo "Zaitaku installed in $dest; it is in the applications menu."
case ":$PATH:" in
*":$bindir:"*) ;;
*) echo "(To start it from a terminal, add $bindir to PATH.)" ;;
esac
