#!/bin/sh
# Checks the Debian packages libseqgen needs and installs the missing ones (as root), or prints the
# exact command to run and fails. Add a package here when a feature needs one.
PACKAGES="gcc make pkg-config python3 libopenblas-dev libcmocka-dev doxygen zlib1g-dev libgif-dev libjansson-dev
          dataset-fashion-mnist wamerican"
# Packages given as arguments replace the list: a target needing more (`make fuzz`) checks its own.
if [ $# -gt 0 ]; then PACKAGES="$*"; fi

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0

echo "deps: missing Debian packages:$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: run this, then try again:"
    echo "    sudo apt-get update && sudo apt-get install -y$missing"
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q && apt-get install -y -q $missing || {
    echo "deps: apt-get could not install:$missing" >&2
    exit 1
}
