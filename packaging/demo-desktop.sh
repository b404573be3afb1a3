#!/usr/bin/env bash
# demo-desktop.sh DISPLAY NAME: paints the demo office PC's desktop on an X
# display (the one freerdp-shadow-cli shares), so that the first RDP window
# a newcomer sees shows which PC it is and that it is the demo, not a
# black screen. Needs ImageMagick and fonts-noto-cjk (make deps).
set -euo pipefail
display=$1 name=$2
geom=$(DISPLAY="$display" xdpyinfo 2>/dev/null | awk '/dimensions:/ {print $2}' || true)
geom=${geom:-1280x800}
img=$(mktemp --suffix=.png)
trap 'rm -f "$img"' EXIT
w=${geom%x*} h=${geom#*x}
# caption: fits the name to the box, however many PCs share the display.
convert -size "$geom" gradient:'#1d4e89-#4f8fc0' \
  \( -size "$((w * 85 / 100))x$((h / 6))" -background none -fill white -gravity center \
     -font Noto-Sans-CJK-JP-Bold caption:"$name" \) -gravity center -geometry +0-$((h / 12)) -composite \
  -fill white -font Noto-Sans-CJK-JP -pointsize $((h / 26)) -annotate +0+$((h / 20)) '在宅（Zaitaku）デモ用の職場のパソコン' \
  -pointsize $((h / 33)) -annotate +0+$((h / 9)) 'Zaitaku demo office PC: no real data here' "$img"
# display sets the root window's background and leaves; its exit status
# is not an error report.
DISPLAY="$display" display -window root "$img" || true
