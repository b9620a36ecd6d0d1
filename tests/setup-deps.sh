#!/bin/bash
# Installs the Debian packages p2ptcp needs to build and test, if missing.
# Safe to run again: it only calls apt-get when something is absent.
set -euo pipefail

PKGS=(
	gcc make pkg-config clang libclang-rt-14-dev   # build; clang for libFuzzer
	libevent-dev libsodium-dev libc-ares-dev         # driver libraries
	libnftables-dev libpcap-dev                      # firewall table, captures
	nftables iptables iproute2 tcpdump procps        # namespace lab
	time                                             # make bench: CPU and peak memory
	libhiredis-dev redis-server redis-tools          # rendezvousd --redis, test_redis.sh
)

missing=()
for p in "${PKGS[@]}"; do
	if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "setup-deps: all packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "setup-deps: missing packages: ${missing[*]}; run as root to install them" >&2
	exit 1
fi
echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
