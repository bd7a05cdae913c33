#!/usr/bin/env bash
# Install SVR Desktop for the current user, without root: a menu entry that
# also offers "Open with SVR Desktop" for images, the icon, and the
# `svr-desktop` command.  Run it from the unpacked folder, which stays where
# it is (the installed entry points into it):
#   ./install.sh              install (again, after moving the folder)
#   ./install.sh --uninstall  remove what install.sh added
# Files go where the XDG specifications say: $XDG_DATA_HOME (default
# ~/.local/share)/applications and /icons/hicolor, and ~/.local/bin.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
APP_ID=svr-desktop
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
DESKTOP_FILE=$DATA/applications/$APP_ID.desktop
ICON_THEME=$DATA/icons/hicolor
BIN=$HOME/.local/bin
PROGRAM=$HERE/svr-desktop

die() { echo "install.sh: $*" >&2; exit 1; }

refresh_caches() {
  # Desktops read these caches for "Open with" and icons; both tools are optional.
  if command -v update-desktop-database >/dev/null; then update-desktop-database -q "$DATA/applications" || true; fi
  if command -v gtk-update-icon-cache >/dev/null; then gtk-update-icon-cache -q -t "$ICON_THEME" 2>/dev/null || true; fi
}

install_app() {
  [ -x "$PROGRAM" ] || die "$PROGRAM not found: run install.sh from the unpacked SVR Desktop folder"
  case "$HERE" in
    *[\"\`\$\\\|]*) die "the folder path $HERE contains one of \" \` \$ \\ |, which a desktop entry cannot hold; move the folder" ;;
  esac
  mkdir -p "$DATA/applications" "$BIN"
  # The shipped entry runs `svr-desktop gui %f`; point it at this folder's program.
  sed -e "s|^Exec=svr-desktop |Exec=\"$PROGRAM\" |" -e "s|^TryExec=.*|TryExec=$PROGRAM|" \
    "$HERE/$APP_ID.desktop" > "$DESKTOP_FILE"
  local icons=0 icon size
  for icon in "$HERE"/_internal/resources/icons/$APP_ID-*.png; do
    [ -f "$icon" ] || continue
    size=${icon##*-}; size=${size%.png}
    install -D -m 644 "$icon" "$ICON_THEME/${size}x${size}/apps/$APP_ID.png"
    icons=$((icons + 1))
  done
  [ "$icons" -gt 0 ] || echo "install.sh: this build ships no icon; the menu shows a generic one" >&2
  ln -sfn "$PROGRAM" "$BIN/$APP_ID"
  refresh_caches
  echo "Installed SVR Desktop: menu entry $DESKTOP_FILE, $icons icon size(s), command $BIN/$APP_ID"
  case ":$PATH:" in *":$BIN:"*) ;; *) echo "Add $BIN to PATH to run svr-desktop from a terminal." ;; esac
}

uninstall_app() {
  rm -f "$DESKTOP_FILE" "$ICON_THEME"/*/apps/$APP_ID.png
  # Remove the command only when it is ours: a link to this folder's program.
  if [ "$(readlink "$BIN/$APP_ID" 2>/dev/null)" = "$PROGRAM" ]; then rm -f "$BIN/$APP_ID"; fi
  refresh_caches
  echo "Removed the SVR Desktop menu entry, icons and command; delete $HERE to remove the program."
}

case "${1:-}" in
  "") install_app ;;
  --uninstall) uninstall_app ;;
  *) echo "usage: ./install.sh [--uninstall]" >&2; exit 2 ;;
esac
