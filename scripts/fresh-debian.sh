#!/usr/bin/env bash
# Run the project's CI (or any command) inside a pristine Debian 12 root, the way a new user's
# fresh machine would: only the base system, then whatever the project installs by itself.
# A green run here means no install step is missing from the repo; a green run on your own
# machine can hide one (a package you installed by hand).
#
#   ../shared/tools/fresh-debian.sh                 # clean clone of HEAD, then `bash .ci/run`
#   ../shared/tools/fresh-debian.sh make demo       # any command, run in the clone's root
#   FRESH_KEEP=1 ../shared/tools/fresh-debian.sh    # keep the root afterwards (path printed)
#
# The project's copy of ../shared/tools/fresh-debian.sh (what .ci/run uses). Changed here:
#   - exit status 125 when the fresh root cannot be built or entered on this machine (not root,
#     no debootstrap or mirror, mounts refused), so a caller can tell "cannot run here" apart from
#     "the command failed" (make exits 2 on a failure, which the shared tool also uses for setup);
#   - `--probe`: build/unpack and enter the root, run `true`, report whether this machine can do it;
# Run as root from the project's root. The first run builds a Debian 12 base (debootstrap's default
# set: required + important packages, as a fresh server install has, plus git and make to fetch and
# start the project) from the mirror your apt sources name (a few minutes) and caches it as a tarball;
# later runs unpack the cache (seconds). Inside, FRESH_DEBIAN=1 is set (so a .ci/run that calls this
# tool knows not to call it again). The kernel, /sys, /proc and /dev are the host's (BPF,
# XDP and network namespaces work as on the host); everything in userspace is the fresh root's.
set -euo pipefail
CANNOT=125
probe=0
[ "${1:-}" = --probe ] && { probe=1; shift; }

CACHE=${FRESH_CACHE:-/var/cache/fresh-debian}
SUITE=bookworm
top=$(git rev-parse --show-toplevel 2>/dev/null) || { echo "fresh-debian: run it inside the project's git checkout" >&2; exit $CANNOT; }
[ "$(id -u)" = 0 ] || { echo "fresh-debian: run as root" >&2; exit $CANNOT; }
command -v chroot >/dev/null && command -v tar >/dev/null || { echo "fresh-debian: needs chroot and tar" >&2; exit $CANNOT; }

mirror() { # the first Debian archive URI of the host's apt configuration
	local u
	u=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1)
	[ -n "$u" ] || u=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -1)
	echo "$u"
}

base=$CACHE/$SUITE-base.tar
if [ ! -s "$base" ]; then
	command -v debootstrap >/dev/null || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null; } ||
		{ echo "fresh-debian: cannot install debootstrap" >&2; exit $CANNOT; }
	m=$(mirror); [ -n "$m" ] || { echo "fresh-debian: no Debian mirror in the apt sources" >&2; exit $CANNOT; }
	mkdir -p "$CACHE"; b=$(mktemp -d "$CACHE/build.XXXX")
	echo "fresh-debian: building a fresh $SUITE root (once; cached in $CACHE)"
	debootstrap --include=ca-certificates,git,make "$SUITE" "$b" "$m" >"$CACHE/debootstrap.log" 2>&1 ||
		{ echo "fresh-debian: debootstrap failed, see $CACHE/debootstrap.log" >&2; rm -rf "$b"; exit $CANNOT; }
	# apt inside the root uses the same sources as the host (security updates included)
	if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
		: >"$b/etc/apt/sources.list"; mkdir -p "$b/etc/apt/sources.list.d"
		cp /etc/apt/sources.list.d/*.sources "$b/etc/apt/sources.list.d/"
	else
		cp /etc/apt/sources.list "$b/etc/apt/"
	fi
	tar -C "$b" -cf "$base.tmp" . && mv "$base.tmp" "$base"; rm -rf "$b"
fi

root=$(mktemp -d /var/tmp/fresh-debian.XXXX)
mounted=()
cleanup() {
	local i
	for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
	if [ "${FRESH_KEEP:-0}" = 1 ]; then echo "fresh-debian: root kept at $root"; else rm -rf --one-file-system "$root"; fi
}
trap cleanup EXIT INT TERM
setup() {
	tar -C "$root" -xf "$base" || return 1
	# the root must be a mount point of its own, or `ip netns exec` (mount --make-rslave /) fails inside
	mount --bind "$root" "$root" || return 1; mounted=("$root")
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	bindm /proc && bindm /sys && bindm /dev || return 1
	mkdir -p "$root/run" && mount -t tmpfs tmpfs "$root/run" && mounted+=("$root/run") || return 1
	mkdir -p "$root/tmp" && mount -t tmpfs -o size=4g tmpfs "$root/tmp" && mounted+=("$root/tmp") || return 1
	chroot "$root" /bin/true || return 1
}
bindm() { mkdir -p "$root$1" && mount --rbind "$1" "$root$1" && mount --make-rslave "$root$1" && mounted+=("$root$1"); }
setup || { echo "fresh-debian: cannot set up the fresh root on this machine" >&2; exit $CANNOT; }
if [ $probe = 1 ]; then echo "fresh-debian: this machine can run a fresh $SUITE root"; exit 0; fi

# a clean clone of what is committed, as CI gets it; shared/ beside it, read-only, as CI has it
git clone -q "$top" "$root/srv/project" || { echo "fresh-debian: cannot clone $top" >&2; exit $CANNOT; }
if [ -d "$top/../shared" ]; then cp -a "$top/../shared" "$root/srv/shared"; chmod -R a-w "$root/srv/shared"; fi
cmd=("$@"); [ ${#cmd[@]} -gt 0 ] || cmd=(bash .ci/run)
echo "fresh-debian: running '${cmd[*]}' in a fresh $SUITE root"
set +e
chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root LANG=C.UTF-8 CI=true DEBIAN_FRONTEND=noninteractive FRESH_DEBIAN=1 \
	bash -c 'cd /srv/project && "$@"' bash "${cmd[@]}" </dev/null
rc=$?
set -e
echo "fresh-debian: exit status $rc"
exit $rc
