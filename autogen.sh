#!/bin/sh
# Generate ./configure. Needs autoconf, automake, autoconf-archive, pkgconf.
set -e
cd "$(dirname "$0")"
autoreconf -fi
# automake installs test-driver but not tap-driver.sh, which the counted
# cmocka (TAP) test run uses.
cp -f "$(automake --print-libdir)/tap-driver.sh" build-aux/tap-driver.sh
