#!/bin/bash
# Installs the Debian packages p2ptcp needs to build and test, if missing.
# Safe to run again: it only calls apt-get when something is absent.
set -euo pipefail

PKGS=(
	gcc make pkg-config clang libclang-rt-14-dev   # build; clang for libFuzzer
	libevent-dev libsodium-dev libc-ares-dev         # driver libraries
	libnftables-dev libpcap-dev                      # firewall table, captures
	libnetfilter-queue-dev                           # the lab's delay helper (tests/tools/nfqdelay)
	nftables iptables iproute2 tcpdump procps        # namespace lab
	openssh-server openssh-client                    # test_service.sh: ssh through p2ptcp
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

# openssh-server is here only for the tests, which run their own sshd in a
# namespace. Its postinst would start the system's sshd (invoke-rc.d, with
# or without systemd): a policy-rc.d that says 101 ("action forbidden")
# stops that during the install, and /etc/ssh/sshd_not_to_be_run (honoured
# by Debian's init script and ssh.service) keeps it from starting at boot.
# Both only when this script installs the package; a policy-rc.d that was
# there before is left alone.
policy=/usr/sbin/policy-rc.d
own_policy=0
case " ${missing[*]} " in
*" openssh-server "*)
	mkdir -p /etc/ssh
	[ -e /etc/ssh/sshd_not_to_be_run ] || {
		echo "setup-deps: openssh-server is for the tests only; remove this file to run sshd as a service" \
			>/etc/ssh/sshd_not_to_be_run
	}
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# setup-deps.sh: no service starts while it installs\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		own_policy=1
		trap 'rm -f "$policy"' EXIT
	fi
	;;
esac

echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
if [ "$own_policy" = 1 ]; then
	rm -f "$policy"
	trap - EXIT
fi
