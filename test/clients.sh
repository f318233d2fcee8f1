#!/usr/bin/env bash
# clients.sh: the example applications of test/clients/ (Go with pgx, Java
# with JDBC, TypeScript with node-postgres, Python with psycopg 3), each run
# with its own test against one throwaway server, each in its own database,
# connected as the README's `app` role with exactly the grants of "Roles".
# Each prints its own ok/not ok lines; this ends with "N passed, M failed",
# one per language, and exits non-zero on any failure.
#   bash test/clients.sh [python|go|java|typescript ...]   (default: all four)
# Run by check.sh (run_script), which exports TREE_BIN and WORK; run alone it
# builds and installs its own. Installs only the missing Debian packages;
# TypeScript's come from the npm registry by `npm ci` (package-lock.json).
source "$(dirname "$0")/lib.sh"
require_root "$@"

LANGS=("$@")
[ ${#LANGS[@]} -gt 0 ] || LANGS=(python go java typescript)

packages=(golang-go golang-github-jackc-pgx-v4-dev libpostgresql-jdbc-java python3-psycopg)
command -v javac >/dev/null || packages+=(default-jdk-headless)
command -v node >/dev/null || packages+=(nodejs npm)
install_packages "${packages[@]}"
script_env clients

CLIENTS=$CL_REPO/test/clients
# caches kept between runs (check.sh empties its work dir): Go's build cache,
# npm's download cache; nothing goes to root's home
CACHE=$(work_dir clients-cache)
export GOCACHE=$CACHE/go-build npm_config_cache=$CACHE/npm HOME=$DIR/home
mkdir -p "$HOME"

PORT=$(free_port 5600)
SERVER=$DIR/server
trap 'cluster_stop "$SERVER" "$TREE_BIN"' EXIT
cluster_start "$SERVER" "$PORT" "$TREE_BIN" "fsync = off" "max_connections = 40"
CHECK_DIR=$SERVER
CHECK_PORT=$PORT

# the Roles section's statements, as written (its first sql block): the
# roles once, the grants in every database
awk '/^## Roles/ { r = 1 } r && /^```sql$/ { s = 1; next } s && /^```$/ { exit } s' \
	"$CL_REPO/README.md" >"$DIR/roles.sql"
grep -q 'GRANT EXECUTE' "$DIR/roles.sql" || { echo "clients: no Roles block in README.md"; exit 1; }
chmod a+r "$DIR/roles.sql"
sql postgres "CREATE ROLE app LOGIN; CREATE ROLE ledger_operator"

# new_db NAME: a database owned by app (its tables are the app's own), with
# the extension, the grants, one price rule for charge() and one product
new_db() {
	sql postgres "CREATE DATABASE $1 OWNER app"
	sql "$1" "CREATE EXTENSION credit_ledger"
	grep -v '^CREATE ROLE' "$DIR/roles.sql" \
		| as_pg "$TREE_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SERVER/sock" -p "$PORT" \
			-U postgres -d "$1" >/dev/null
	sql "$1" "INSERT INTO credit_ledger.price_rule (provider, model, input_price, output_price,
		cached_price, reasoning_price) VALUES ('openai', 'gpt-4o-mini', 150000, 600000, 75000, 600000)"
	# the credit pack the webhook tests order, inserted as an operator would
	# (the Roles block's ledger_operator: the app cannot write products)
	sql "$1" "SET ROLE ledger_operator; INSERT INTO credit_ledger.product (sku, name, credits, price_minor,
		currency) VALUES ('pack-500', '500 credits', 500, 499, 'USD')"
}

# what every example connects with: libpq's variables (pgx, psycopg and
# node-postgres read them; the Java example builds its JDBC URL from them)
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=app

run_python() {
	cd "$CLIENTS/python"
	PYTHONPYCACHEPREFIX=$DIR/python/pycache timeout 120 /usr/bin/python3 test_app.py
}

run_go() {
	# GOPATH mode: pgx and its dependencies from Debian's /usr/share/gocode,
	# no module download (GOPROXY=off)
	cd "$CLIENTS/go"
	GO111MODULE=off GOPATH=$DIR/go/gopath:/usr/share/gocode GOPROXY=off GOFLAGS= \
		timeout 300 go test -count=1 -v .
}

run_java() {
	local classes=$DIR/java/classes cp=/usr/share/java/postgresql.jar
	rm -rf "$classes"
	mkdir -p "$classes"
	javac -Xlint:all -Werror -d "$classes" -cp "$cp" "$CLIENTS"/java/*.java
	timeout 120 java -cp "$classes:$cp" AppTest
}

run_typescript() {
	# built in the work dir: node_modules and the compiled JS never land in
	# the clone
	local build=$DIR/typescript
	rm -rf "$build"
	mkdir -p "$build"
	cp "$CLIENTS"/typescript/{package.json,package-lock.json,tsconfig.json,*.ts} "$build/"
	cd "$build"
	npm ci --no-audit --no-fund --loglevel=error
	npx tsc -p .
	timeout 120 node --test --test-reporter=spec dist/
}

passed=0
failed=0
for lang in "${LANGS[@]}"; do
	echo "== clients/$lang"
	start=$SECONDS
	db=clients_$lang
	new_db "$db"
	if (export PGDATABASE=$db; "run_$lang") 2>&1 | tee "$DIR/$lang.log"; then
		echo "ok - clients/$lang ($((SECONDS - start)) s)"
		passed=$((passed + 1))
	else
		echo "not ok - clients/$lang ($((SECONDS - start)) s, log: $DIR/$lang.log)"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
