#!/usr/bin/env bash
# Keygate load benchmark (issue 6): one Caddy (the keygate binary) serves eight scenarios,
# one site each, in front of the same small upstream, and wrk loads each in interleaved
# rounds. Caddy runs on core 0 with GOMAXPROCS=1; wrk and the upstream on core 1.
#
#   bash tests/bench/run.sh            # the full run: warm-up + 5 rounds, about 5 minutes
#   bash tests/bench/run.sh --smoke    # 1 round of 1 s per scenario, for CI; exits non-zero
#                                      # if any scenario answers wrongly
#
# Options (after --smoke, they override its settings):
#   --rounds N          measured rounds (default 5)
#   --duration SECONDS  per measured run (default 6)
#   --keys N            valid keys for g (default 100000; smoke 5000)
#   --login-rate N      h's login flood, logins/s at most (default 1000; 0: as fast as
#                       answered, which floods the HTTP layer itself)
#   --keep              keep the work directory (store, Caddyfile, logs, wrk outputs)
#   --profile d,g       a CPU profile of Caddy (admin pprof) during round 1 of each listed
#                       scenario, summarized with go tool pprof; implies --keep
#   --proxy-log off     leave reverse_proxy's logger out of Caddy's default log (on:
#                       Caddy's default), for every scenario alike: its per-request debug
#                       context encodes every request header even when nothing is logged
# Scenarios:
#   a  Caddy respond (the ceiling)       e  keygate, valid token (Authorization)
#   b  reverse_proxy (the baseline)      f  keygate, random invalid keys, half malformed
#   c  basic_auth (bcrypt) + proxy       g  keygate, many valid keys at random (cache misses)
#   d  keygate, one cached API key       h  keygate, cached key + a concurrent login flood
#   i  reverse_proxy setting the six identity headers with header_up (the limit for d, e)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# The order of each round: the rows compared with one another (b, i, d, e, h) run next to
# each other, so a drift in the machine's speed moves them alike; g, whose 100,000 keys'
# last-use times the gateway writes at its next 30 s flush, is followed by rows with no
# target (a, c, f), which that write's CPU then falls on most of the time.
SCENARIOS=(b i d e h g a c f)

# The same load for every scenario: one wrk thread (wrk has one core), 32 connections.
WRK_THREADS=1
WRK_CONNS=32
LOGIN_CONNS=8                       # the login flood's connections in (h)
LOGIN_RATE=1000                     # the login flood's logins/s at most (0: unpaced)
CACHE_MAX_ENTRIES=10000             # keygate's cache size for the bench (default: 100000)
CLIENT_FAILURE_LIMIT=1000000000     # per-IP throttle effectively off (see below)

MODE=full
ROUNDS=5
DURATION=6          # seconds per measured run
WARMUP=2            # seconds per warm-up run (0: none)
NKEYS=100000        # valid keys for (g)
WATCHDOG=900        # seconds: abort the whole run after this
KEEP=0
PROFILE=""          # scenarios to profile, comma-separated
PROXY_LOG=on        # off: exclude http.handlers.reverse_proxy from the default log

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() { sed -n '2,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

parse_args() {
	while (($#)); do
		case "$1" in
		--smoke) MODE=smoke ROUNDS=1 DURATION=1 WARMUP=0 NKEYS=5000 WATCHDOG=240 ;;
		--rounds) ROUNDS=${2:?--rounds needs a number}; shift ;;
		--duration) DURATION=${2:?--duration needs seconds}; shift ;;
		--keys) NKEYS=${2:?--keys needs a number}; shift ;;
		--login-rate) LOGIN_RATE=${2:?--login-rate needs logins/s}; shift ;;
		--keep) KEEP=1 ;;
		--profile) PROFILE=${2:?--profile needs scenarios, e.g. d,h}; KEEP=1; shift ;;
		--proxy-log)
			PROXY_LOG=${2:?--proxy-log needs on or off}; shift
			[[ "$PROXY_LOG" == on || "$PROXY_LOG" == off ]] || die "--proxy-log is on or off, not $PROXY_LOG"
			;;
		-h | --help) usage; exit 0 ;;
		*) usage >&2; die "unknown argument: $1" ;;
		esac
		shift
	done
}

# --- processes and clean-up ---------------------------------------------------------

PIDS=()  # background processes still to stop on exit
WORK=""

# forget PID: a background process that has been waited for (its id may be reused).
forget() {
	local keep=() pid
	for pid in "${PIDS[@]}"; do [[ "$pid" == "$1" ]] || keep+=("$pid"); done
	PIDS=("${keep[@]}")
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	local pid
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.3; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	if [[ -n "$WORK" && -d "$WORK" ]]; then
		# Kept for a look after a failure, not after an interruption (it may be in RAM).
		if ((KEEP || (rc != 0 && rc != 130 && rc != 143))); then
			log "work directory kept: $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
	exit "$rc"
}

start_watchdog() {
	local main=$$
	(
		trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
		sleep "$WATCHDOG" &
		sleeper=$!
		wait "$sleeper"
		echo "[bench] watchdog: the run took more than ${WATCHDOG}s; aborting" >&2
		kill -TERM "$main"
	) &
	PIDS+=($!)
}

# --- set-up --------------------------------------------------------------------------

need_tools() {
	local t
	for t in go curl taskset getconf awk; do
		command -v "$t" >/dev/null || die "$t is required"
	done
	if ! command -v wrk >/dev/null; then
		log "wrk is missing; installing it from Debian's packages"
		local sudo=()
		((EUID == 0)) || sudo=(sudo)
		timeout 300 "${sudo[@]}" apt-get update -qq >&2
		timeout 300 "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2
	fi
	(($(nproc) >= 2)) || die "needs 2 cores (Caddy on core 0, wrk and upstream on core 1)"
}

make_workdir() {
	# tmpfs when there is one: seeding 100,000 keys commits (and fsyncs) 100,000 times.
	local parent=/tmp
	[[ -d /dev/shm && -w /dev/shm ]] && parent=/dev/shm
	WORK=$(mktemp -d "$parent/keygate-bench.XXXXXX")
	mkdir -p "$WORK/bin" "$WORK/out"
}

build() {
	log "building keygate and the bench tools"
	(cd "$ROOT" &&
		timeout 600 go build -o "$WORK/bin/keygate" ./cmd/keygate &&
		timeout 600 go build -o "$WORK/bin/" ./tests/bench/seed ./tests/bench/upstream ./tests/bench/report)
}

# pick_ports sets PORT_a..PORT_i and ADMIN_PORT to ten free consecutive ports, below the
# kernel's ephemeral range: a port in it may be the local end of any outgoing connection
# (a test's, a database client's), which no probe sees and which makes Caddy's bind fail.
pick_ports() {
	local base i ok low
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range
	for _ in $(seq 1 50); do
		base=$((10000 + RANDOM % (low - 10000 - 10)))
		ok=1
		for ((i = 0; i < 10; i++)); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$((base + i))") 2>/dev/null; then ok=0; break; fi
		done
		if ((ok)); then
			for i in "${!SCENARIOS[@]}"; do printf -v "PORT_${SCENARIOS[i]}" %d $((base + i)); done
			ADMIN_PORT=$((base + ${#SCENARIOS[@]}))
			return
		fi
	done
	die "found no ten free consecutive ports"
}

start_upstream() {
	GOMAXPROCS=1 taskset -c 1 "$WORK/bin/upstream" -addr-file "$WORK/upstream.addr" \
		>"$WORK/upstream.log" 2>&1 &
	UPSTREAM_PID=$!
	PIDS+=("$UPSTREAM_PID")
	for _ in $(seq 1 100); do
		[[ -s "$WORK/upstream.addr" ]] && break
		sleep 0.05
	done
	UPSTREAM=$(cat "$WORK/upstream.addr" 2>/dev/null) || die "the upstream did not start: $(cat "$WORK/upstream.log")"
	log "upstream on $UPSTREAM (core 1)"
}

seed() {
	EMAIL=bench@bench.test
	PASSWORD=$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)
	log "seeding a fresh store: a tenant, a user, 1 + $NKEYS API keys"
	timeout 300 "$WORK/bin/seed" -db "$WORK/keygate.db" -password "$PASSWORD" -email "$EMAIL" \
		-keys "$NKEYS" -keys-out "$WORK/keys.txt" -key-out "$WORK/key.txt" 2>&1 | sed 's/^/  /' >&2
	API_KEY=$(cat "$WORK/key.txt")
	BASIC_USER=bench
	BASIC_PASSWORD=$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)
	BASIC_HASH=$("$WORK/bin/keygate" hash-password --plaintext "$BASIC_PASSWORD")
}

# proxy_log_option: the global log option for --proxy-log off. With reverse_proxy's
# logger in no log, Caddy gives it a no-op core, and its per-request logger.With (which
# encodes the request's headers whether or not a debug line is written) costs nothing.
proxy_log_option() {
	[[ "$PROXY_LOG" == off ]] || return 0
	printf '\tlog default {\n\t\texclude http.handlers.reverse_proxy\n\t}\n'
}

write_caddyfile() {
	local s
	cat >"$WORK/Caddyfile" <<EOF
{
	admin localhost:$ADMIN_PORT
	persist_config off
	auto_https off
	grace_period 1s
	# The login flood (h) comes from many addresses, in X-Forwarded-For from the loopback.
	# No other scenario sends that header.
	servers {
		trusted_proxies static 127.0.0.0/8
	}
$(proxy_log_option)
	keygate {
		storage sqlite $WORK/keygate.db
		cache_max_entries $CACHE_MAX_ENTRIES
		# Effectively no per-IP throttle: all load comes from 127.0.0.1, and the limit
		# would turn the invalid-key flood (f) into cheap 429s. (The login flood (h)
		# sends a new address each time.) login_cpu_share is left at its default.
		client_failure_limit $CLIENT_FAILURE_LIMIT
		token_ttl 1h
	}
}

# (a) the ceiling: Caddy answers itself.
http://:$PORT_a {
	bind 127.0.0.1
	respond "ok" 200
}

# (b) the baseline: reverse_proxy only.
http://:$PORT_b {
	bind 127.0.0.1
	reverse_proxy $UPSTREAM
}

# (i) the limit for any proxy that passes an identity on: reverse_proxy setting the six
# headers keygate sets for a cached API key (values of the same lengths), and dropping
# the ApiKey header as keygate does.
http://:$PORT_i {
	bind 127.0.0.1
	reverse_proxy $UPSTREAM {
		header_up -ApiKey
		header_up X-User-Uid 6f1c2a9e4b7d3f0a8c5e2b19
		header_up X-User-Email $EMAIL
		header_up X-Tenant-Uid 3b8e0d4c7a1f5e9b2c6d0a37
		header_up X-User-Role user
		header_up X-Auth-Method apikey
		header_up X-Api-Key-Uid 9d2e7b0c4f1a6e3d8b5c2a04
	}
}

# (c) Caddy's own basic_auth (bcrypt; the Caddyfile enables its hash cache) + proxy.
http://:$PORT_c {
	bind 127.0.0.1
	basic_auth {
		$BASIC_USER $BASIC_HASH
	}
	reverse_proxy $UPSTREAM
}
EOF
	for s in d e f g h; do
		local port="PORT_$s"
		cat >>"$WORK/Caddyfile" <<EOF

# ($s) keygate + proxy.
http://:${!port} {
	bind 127.0.0.1
	keygate
	reverse_proxy $UPSTREAM
}
EOF
	done
}

start_caddy() {
	log "starting Caddy (core 0, GOMAXPROCS=1), admin on localhost:$ADMIN_PORT"
	# Caddy's data and config directories inside the work directory, not the user's.
	XDG_DATA_HOME="$WORK/data" XDG_CONFIG_HOME="$WORK/config" GOMAXPROCS=1 taskset -c 0 \
		"$WORK/bin/keygate" run --config "$WORK/Caddyfile" --adapter caddyfile >"$WORK/caddy.log" 2>&1 &
	CADDY_PID=$!
	PIDS+=("$CADDY_PID")
	local s port
	for _ in $(seq 1 200); do
		kill -0 "$CADDY_PID" 2>/dev/null || { tail -20 "$WORK/caddy.log" >&2; die "Caddy exited"; }
		if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$PORT_a/" 2>/dev/null; then
			for s in "${SCENARIOS[@]}"; do
				port="PORT_$s"
				curl -sS -o /dev/null --max-time 2 "http://127.0.0.1:${!port}/" || die "site $s is not answering"
			done
			return
		fi
		sleep 0.1
	done
	tail -20 "$WORK/caddy.log" >&2
	die "Caddy did not start within 20s"
}

login() {
	local body
	body=$(curl -sS --max-time 10 -H 'Content-Type: application/json' \
		-d "{\"emailId\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" \
		"http://127.0.0.1:$PORT_e/v1/auth/authenticate") || die "login failed"
	TOKEN=$(printf '%s' "$body" | sed -n 's/.*"Authorization":"\([^"]*\)".*/\1/p')
	[[ -n "$TOKEN" ]] || die "login returned no token: $body"
}

# --- checks before measuring ---------------------------------------------------------

# expect STATUS PORT [curl args...]: one request must answer STATUS.
expect() {
	local want=$1 port=$2 got
	shift 2
	got=$(curl -sS -o "$WORK/out/last-body" -w '%{http_code}' --max-time 5 "$@" "http://127.0.0.1:$port/") || got=000
	[[ "$got" == "$want" ]] || die "site :$port answered $got, not $want, to curl $* ($(head -c 200 "$WORK/out/last-body"))"
}

preflight() {
	expect 200 "$PORT_a"
	expect 200 "$PORT_b"
	expect 200 "$PORT_i" -H "ApiKey: $API_KEY"
	expect 401 "$PORT_c"
	expect 200 "$PORT_c" -u "$BASIC_USER:$BASIC_PASSWORD"
	expect 401 "$PORT_d"
	expect 200 "$PORT_d" -H "ApiKey: $API_KEY"
	expect 200 "$PORT_e" -H "Authorization: $TOKEN"
	expect 200 "$PORT_g" -H "ApiKey: $(tail -n 1 "$WORK/keys.txt")"
	expect 200 "$PORT_h" -H "ApiKey: $API_KEY"
	local code
	code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
		-d '{"emailId":"nobody@bench.test","password":"wrong"}' "http://127.0.0.1:$PORT_h/v1/auth/authenticate")
	[[ "$code" == 401 ]] || die "a wrong login answered $code, not 401"
	curl -fsS -o /dev/null --max-time 5 "http://localhost:$ADMIN_PORT/metrics" || die "no admin /metrics"
	log "preflight: every site answers as expected"
}

# check_flood_samples verifies, with curl, that the keys the f script generated are what
# it claims: well-formed ones are refused as unknown, malformed ones as malformed.
check_flood_samples() {
	local out=$1 kind key want code
	while read -r _ kind key; do
		case "$kind" in
		sample_wellformed) want=CredentialInvalid ;;
		sample_malformed) want=CredentialMalformed ;;
		*) continue ;;
		esac
		curl -sS -o "$WORK/out/last-body" --max-time 5 -H "ApiKey: $key" "http://127.0.0.1:$PORT_f/" || true
		code=$(sed -n 's/.*"code":"\([^"]*\)".*/\1/p' "$WORK/out/last-body")
		[[ "$code" == "$want" ]] || die "flood key $key ($kind) answered $code, not $want"
	done < <(grep '^SAMPLE ' "$out")
}

# probe_after_flood sends 30 requests with one valid key right after a flood and prints
# the store key lookups they made: a flood must not push a known key out of the cache, so
# at most one (when g evicted it since its last use; the cache_ttl outlasts the run).
probe_after_flood() {
	local key before after i
	key=$(head -n 1 "$WORK/keys.txt")
	before=$(key_lookups)
	for i in $(seq 1 30); do
		curl -sS -o /dev/null --max-time 5 -H "ApiKey: $key" "http://127.0.0.1:$PORT_d/" || true
	done
	after=$(key_lookups)
	if [[ "$before" == na || "$after" == na ]]; then echo -1; else echo $((after - before)); fi
}

# --- measuring -----------------------------------------------------------------------

# Ticks of CPU (user + system) used by Caddy, by the upstream, and by this script's waited-for
# children (so, around one wrk run: that wrk's).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$CADDY_PID/stat"; }
upstream_ticks() { awk '{print $14 + $15}' "/proc/$UPSTREAM_PID/stat"; }
children_ticks() { awk '{print $16 + $17}' "/proc/$$/stat"; }

# core_ticks: "user+nice+system steal irq+softirq" ticks of core 0, then of core 1
# (/proc/stat), to tell how much of each core went to processes other than ours.
core_ticks() {
	awk '$1 == "cpu0" || $1 == "cpu1" {printf "%d %d %d ", $2 + $3 + $4, $9, $7 + $8} END {print ""}' /proc/stat
}

# key_lookups prints the sum of the key_lookup store-query counter, or "na".
key_lookups() {
	curl -fsS --max-time 5 "http://localhost:$ADMIN_PORT/metrics" 2>/dev/null |
		awk '/^(caddy_)?keygate_store_duration_seconds_count\{/ && /op="key_lookup"/ {n += $NF; found = 1}
		     END {if (found) printf "%d\n", n; else print "na"}'
}

# wrk_run SECONDS OUT SCRIPT URL [wrk args...]: one wrk run on core 1, bounded in time.
wrk_run() {
	local secs=$1 out=$2 script=$3 url=$4
	shift 4
	LUA_PATH="$HERE/lua/?.lua;;" timeout -k 5 $((secs + 30)) taskset -c 1 \
		wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${secs}s" --timeout 5s -s "$HERE/lua/$script" "$@" "$url" \
		>"$out" 2>&1
}

# result_fields OUT [PREFIX]: the RESULT line's fields, each name prefixed.
result_fields() {
	local line
	line=$(grep '^RESULT ' "$1") || { cat "$1" >&2; die "wrk printed no result ($1)"; }
	printf '%s\n' "${line#RESULT }" | sed "s/\([a-z_0-9]*\)=/${2:-}\1=/g"
}

# run_scenario SCENARIO ROUND SECONDS: one wrk run, appended to results.txt.
run_scenario() {
	local s=$1 round=$2 secs=$3
	local port="PORT_$s" out="$WORK/out/$s-$round.txt" url args=() script=static.lua
	url="http://127.0.0.1:${!port}/"
	case "$s" in
	c) args=(-H "Authorization: Basic $(printf '%s:%s' "$BASIC_USER" "$BASIC_PASSWORD" | base64 -w0)") ;;
	d | h | i) args=(-H "ApiKey: $API_KEY") ;;
	e) args=(-H "Authorization: $TOKEN") ;;
	f) script=flood.lua ;;
	g) script=keys.lua ;;
	esac
	export BENCH_NONCE=$((RANDOM * 32768 + RANDOM)) BENCH_KEYS_FILE="$WORK/keys.txt"

	local login_pid="" login_out="$WORK/out/login-$round.txt" before_lookups=""
	if [[ "$s" == h ]]; then
		# The login flood starts first and ends after the measured run.
		local pause=0
		((LOGIN_RATE > 0)) && pause=$((LOGIN_CONNS * 1000 / LOGIN_RATE))
		BENCH_LOGIN_DELAY_MS=$pause LUA_PATH="$HERE/lua/?.lua;;" timeout -k 5 $((secs + 30)) taskset -c 1 \
			wrk -t1 -c"$LOGIN_CONNS" -d"$((secs + 2))s" --timeout 10s -s "$HERE/lua/login.lua" \
			"http://127.0.0.1:$PORT_h/v1/auth/authenticate" >"$login_out" 2>&1 &
		login_pid=$!
		PIDS+=("$login_pid")
		sleep 1
	fi
	[[ "$s" == f ]] && before_lookups=$(key_lookups)

	local profile_pid=""
	if [[ "$round" == 1 && ",$PROFILE," == *",$s,"* ]]; then
		curl -fsS --max-time $((secs + 10)) -o "$WORK/out/profile-$s.pprof" \
			"http://localhost:$ADMIN_PORT/debug/pprof/profile?seconds=$((secs > 2 ? secs - 1 : 1))" &
		profile_pid=$!
		PIDS+=("$profile_pid")
	fi

	local t0 t1 c0 c1 u0 u1 w0 w1 n0 n1
	t0=$(cpu_ticks) u0=$(upstream_ticks) w0=$(children_ticks) n0=$(date +%s%N)
	c0=($(core_ticks))
	wrk_run "$secs" "$out" "$script" "$url" "${args[@]}" || { cat "$out" >&2; die "wrk failed for $s"; }
	t1=$(cpu_ticks) u1=$(upstream_ticks) w1=$(children_ticks) n1=$(date +%s%N)
	c1=($(core_ticks))

	local record
	record="run scenario=$s round=$round $(result_fields "$out") cpu_ticks=$((t1 - t0)) clk_tck=$CLK_TCK"
	# Core 0's user+system time not spent by Caddy (other processes) and its steal time;
	# core 1's user+system time (wrk, the upstream, others), steal and interrupt time.
	record+=" core0_other_ticks=$((c1[0] - c0[0] - (t1 - t0))) core0_steal_ticks=$((c1[1] - c0[1]))"
	record+=" core1_usersys_ticks=$((c1[3] - c0[3])) core1_steal_irq_ticks=$((c1[4] + c1[5] - c0[4] - c0[5]))"
	record+=" wrk_ticks=$((w1 - w0)) upstream_ticks=$((u1 - u0))"
	record+=" wall_us=$(((n1 - n0) / 1000))"
	if [[ -n "$profile_pid" ]]; then
		wait "$profile_pid" || log "the profile of $s failed"
		forget "$profile_pid"
	fi
	if [[ -n "$login_pid" ]]; then
		wait "$login_pid" || { cat "$login_out" >&2; die "the login flood's wrk failed"; }
		forget "$login_pid"
		record+=" $(result_fields "$login_out" login_)"
	fi
	if [[ "$s" == f ]]; then
		local after_lookups
		after_lookups=$(key_lookups)
		check_flood_samples "$out" # after the scrape: these requests are not part of the count
		record+=" probe_lookups=$(probe_after_flood)"
		if [[ "$before_lookups" == na || "$after_lookups" == na ]]; then
			FLOOD_LOOKUPS=na
		elif [[ "$FLOOD_LOOKUPS" != na ]]; then
			FLOOD_LOOKUPS=$((FLOOD_LOOKUPS + after_lookups - before_lookups))
		fi
	fi
	echo "$record" >>"$WORK/results.txt"
	log "$s round $round: $(awk '{for (i = 1; i <= NF; i++) if ($i ~ /^(requests|status_errors|sock_errors|p99_us|cpu_ticks)=/) printf "%s ", $i}' <<<"$record")"
}

measure() {
	local s r
	FLOOD_LOOKUPS=0
	: >"$WORK/results.txt"
	if ((WARMUP > 0)); then
		log "warm-up: ${WARMUP}s per scenario"
		for s in "${SCENARIOS[@]}"; do run_scenario "$s" 0 "$WARMUP"; done
	fi
	for ((r = 1; r <= ROUNDS; r++)); do
		log "round $r of $ROUNDS: ${DURATION}s per scenario"
		for s in "${SCENARIOS[@]}"; do run_scenario "$s" "$r" "$DURATION"; done
	done
	echo "fcheck key_lookups=$FLOOD_LOOKUPS" >>"$WORK/results.txt"
}

# --- report --------------------------------------------------------------------------

print_header() {
	local commit dirty=""
	commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	[[ -z "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]] || dirty=" + uncommitted changes"
	echo
	echo "Keygate load benchmark ($MODE): $ROUNDS round(s) x ${DURATION}s per scenario, warm-up ${WARMUP}s, interleaved ${SCENARIOS[*]}"
	echo "date:      $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "machine:   $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(uname -sr)"
	echo "versions:  $(go version | awk '{print $3}'), Caddy $("$WORK/bin/keygate" version | awk '{print $1}'), keygate $commit$dirty"
	echo "wrk:       $(wrk --version 2>&1 | head -1 | awk '{print $2}'), -t$WRK_THREADS -c$WRK_CONNS --timeout 5s for every scenario; h adds a second wrk, -t1 -c$LOGIN_CONNS, of wrong-password logins for distinct emails from distinct X-Forwarded-For addresses, at most $LOGIN_RATE/s (0: unpaced)"
	echo "pinning:   Caddy GOMAXPROCS=1 taskset -c 0; upstream (Go, GOMAXPROCS=1) and wrk taskset -c 1"
	echo "keygate:   cache_max_entries $CACHE_MAX_ENTRIES (not the default 100000; g spreads over $NKEYS keys);"
	echo "           client_failure_limit $CLIENT_FAILURE_LIMIT (the per-IP throttle is effectively off, so f and h are not cheap 429s);"
	echo "           reverse_proxy's logger: $PROXY_LOG (--proxy-log; off: excluded from the default log, for every scenario)"
	echo "           store: SQLite in $(dirname "$WORK") ($(df --output=fstype "$WORK" | tail -1))"
	echo "load:      $LOAD_BEFORE (load average before the run; other processes skew the numbers, see other0/other1)"
	echo "Caddy log: $(caddy_log_summary)"
	echo
}

print_profiles() {
	local f
	for f in "$WORK"/out/profile-*.pprof; do
		[[ -s "$f" ]] || continue
		echo
		echo "CPU profile of Caddy, scenario $(basename "$f" .pprof | sed 's/profile-//'), round 1 ($f):"
		# Cumulative shares of the frames that tell where a request's time goes.
		(cd "$ROOT" && timeout 120 go tool pprof -top -cum -nodecount=20 \
			-show='^github.com/keygate|^database/sql\.\(\*DB\)\.query$|argon2\.IDKey|gcBgMarkWorker$|Syscall6$|reverseproxy\.\(\*Handler\)\.ServeHTTP$|caddyhttp\.\(\*Server\)\.ServeHTTP$' \
			"$WORK/bin/keygate" "$f" 2>/dev/null) | sed -n '/flat%/,$p' | sed 's/^/  /'
	done
}

# caddy_log_summary counts Caddy's warnings and errors, leaving out the notices that
# plain-HTTP sites get no HTTP/2 or HTTP/3, and shows the most frequent messages.
caddy_log_summary() {
	local lines
	lines=$(grep -E '"level":"(warn|error|fatal|panic)"' "$WORK/caddy.log" | grep -v -e 'requires TLS' -e '"msg":"exiting' || true)
	if [[ -z "$lines" ]]; then
		echo "no warnings or errors"
		return
	fi
	printf '%s warnings/errors: ' "$(grep -c . <<<"$lines")"
	sed -n 's/.*"msg":"\([^"]*\)".*/\1/p' <<<"$lines" | sort | uniq -c | sort -rn | head -3 |
		awk '{n = $1; $1 = ""; printf "%s%d x%s", (NR > 1 ? "; " : ""), n, $0} END {print ""}'
}

main() {
	parse_args "$@"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	need_tools
	make_workdir
	start_watchdog
	CLK_TCK=$(getconf CLK_TCK)
	LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
	local started=$SECONDS
	build
	pick_ports
	start_upstream
	seed
	write_caddyfile
	start_caddy
	login
	preflight
	measure
	print_header
	local rc=0
	"$WORK/bin/report" -keys "$NKEYS" "$WORK/results.txt" || rc=$?
	print_profiles
	echo "total time: $((SECONDS - started))s"
	return "$rc"
}

main "$@"
