#!/bin/sh
# Compiles buyer.c once per run directory into ./c_buyer, then runs it.
# Copies started together take a lock so only the first one compiles; the
# others wait for it and find ./c_buyer ready.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec 8>>c_buyer.lock
flock 8
if [ ! -x ./c_buyer ]; then
  cc -O2 -std=c99 -Wall -I"$here/../../helpers/c" -o ./c_buyer.tmp \
    "$here/buyer.c"
  mv ./c_buyer.tmp ./c_buyer
fi
flock -u 8
exec 8>&-
exec ./c_buyer "$@"
