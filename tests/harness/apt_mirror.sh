#!/usr/bin/env bash
# Prints the Debian mirror URI this machine's apt is configured with (first
# enabled deb822 "URIs:" or one-line "deb" entry that serves the main archive).
# Used by the image and mirror builders so nothing hard-codes a mirror host.
set -euo pipefail
uri=""
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  uri=$(awk '/^URIs:/ {for (i = 2; i <= NF; i++) if ($i !~ /security/) {print $i; exit}}' "$f")
  [ -n "$uri" ] && break
done
if [ -z "$uri" ]; then
  uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' | head -n 1)
fi
[ -n "$uri" ] || { echo "apt_mirror: no Debian mirror found in the apt sources" >&2; exit 1; }
echo "$uri"
