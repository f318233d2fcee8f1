#!/usr/bin/env bash
# layers.sh: the layer rule of src/ (src/README). Fails when a file includes
# a header of a layer above its own, when units include each other in a
# circle, when executor headers leave the store layer, or when an SQL-callable
# function is declared outside api/. Needs no server; check.sh runs it first.
set -euo pipefail
cd "$(dirname "$0")/../src"

# top to bottom; a file may include headers of its own layer and those below
LAYERS=(api worker shop ledger pricing store)
# vocabulary headers at the top of src/ that every layer may use
SHARED=(errors.h tokens.h)

rank() {
	local i
	for i in "${!LAYERS[@]}"; do
		[ "${LAYERS[$i]}" = "$1" ] && { echo "$i"; return; }
	done
	echo -1
}

failed=0
not_ok() {
	echo "not ok - $*"
	failed=1
}

edges=$(mktemp)
trap 'rm -f "$edges"' EXIT

for file in $(find . -name '*.[ch]' | sed 's|^\./||' | sort); do
	dir=$(dirname "$file")
	unit=${file%.[ch]}
	if [ "$dir" = . ]; then
		own=top
	else
		own=$(rank "$dir")
		[ "$own" -ge 0 ] || not_ok "$file: folder $dir is not a layer (${LAYERS[*]})"
	fi
	while read -r header; do
		case " ${SHARED[*]} " in *" $header "*) continue ;; esac
		if [ ! -f "$header" ]; then
			# a PostgreSQL header: executor state stays in the store layer
			case "$header" in
				executor/* | nodes/execnodes.h)
					[ "$dir" = store ] || not_ok "$file includes $header (executor headers belong to store/)" ;;
			esac
			continue
		fi
		hdir=$(dirname "$header")
		if [ "$hdir" = . ]; then
			not_ok "$file includes $header: only the module entry sits at the top of src/"
			continue
		fi
		if [ "$own" != top ] && [ "$(rank "$hdir")" -lt "$own" ]; then
			not_ok "$file ($dir) includes $header from $hdir, a layer above it"
		fi
		[ "${header%.h}" = "$unit" ] || echo "$unit ${header%.h}" >>"$edges"
	done < <(sed -nE 's/^#include "([^"]+)".*/\1/p' "$file")
	if grep -q 'PG_FUNCTION_INFO_V1' "$file" && [ "$dir" != api ]; then
		not_ok "$file declares an SQL-callable function outside api/"
	fi
done

# units that include each other in a circle (tsort reports the loop)
if ! tsort "$edges" >/dev/null 2>"$edges.err"; then
	not_ok "units include each other in a circle: $(tr '\n' ' ' <"$edges.err")"
fi
rm -f "$edges.err"

[ "$failed" -eq 0 ] && echo "ok - every include goes down the layers (${LAYERS[*]}), no circles"
[ "$failed" -eq 0 ]
