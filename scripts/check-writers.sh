#!/bin/sh
# The single-writer rule (`make check-writers`): only user/sync/write.c
# writes the datapath's maps. Fails, naming file and line, when product
# code (user/, lib/, tools/) writes a map anywhere else or reaches for a
# writable fd. Bounded exceptions, each for a reason:
#   user/loader.c    the layout migration: copies entries of a map pinned
#                    in another layout into ours, during the load
#   user/attach.c    the XDP entry's one-slot program array: putting
#                    xlb_xdp in it is attaching it (no datapath state)
#   user/explain.c   writes only its private program instance's maps (its
#                    own skeleton's fds); the live maps it reads are
#                    read-only fds (lib/maps.h)
# selftests/ and bench/ build states the agent never writes (conntrack
# entries, counters) through xlb_dp_map_fd_rw(); they are not checked.
# Usage: scripts/check-writers.sh [dir...] (default: user lib tools)
set -u
dirs=${*:-user lib tools}
bad=0

# $1: what is forbidden, $2: regex, $3...: the files allowed to match
rule() {
	what=$1 re=$2
	shift 2
	allowed=$(printf '%s\n' "$@" | sed 's/[.]/\\./g' | paste -sd'|')
	hits=$(grep -rnE --include='*.c' --include='*.h' "$re" $dirs 2>/dev/null |
		grep -vE "^($allowed):" || true)
	[ -z "$hits" ] && return 0
	echo "check-writers: $what outside $*:" >&2
	echo "$hits" | sed 's/^/  /' >&2
	bad=1
}

rule "map writes" \
	'bpf_map_(update|delete)_(elem|batch)|bpf_map_lookup_and_delete|bpf_map__(update|delete|lookup_and_delete)_elem|BPF_F_LOCK' \
	user/sync/write.c user/loader.c user/explain.c user/attach.c
rule "the writable fds (lib/maps_rw.h)" \
	'include[[:space:]]+"(lib/)?maps_rw\.h"' \
	lib/maps.c user/loader.c user/sync/write.c
rule "the harnesses' writable fd (xlb_dp_map_fd_rw)" \
	'xlb_dp_map_fd_rw' \
	user/sync/write.c user/sync/write.h
rule "a skeleton's map fds (writable)" \
	'bpf_map__fd[[:space:]]*\(' \
	user/loader.c user/explain.c
exit $bad
