#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `ember export` in every format and `ember report`, run as a user would:
# 1. on the deterministic chain database of test_export: the output equals the golden files; the
#    speedscope JSON parses with jq and its timeline adds up; the SVG is well-formed XML
#    (xmllint) with the frames and tooltips, and its script hovers, searches and zooms (node); the pprof file opens in `go tool pprof` with
#    the right counts, inline frames and labels; the perf-script text folded with FlameScope's
#    and stackcollapse-perf.pl's rules gives the folded output; the progress bar draws.
# 2. bad input: unknown formats and filters, empty ranges, unwritable outputs fail with a message
#    and never leave a file under the requested name.
# 3. as root, a live recording of tests/progs/chain exported in every format says the same.
. "$(dirname "$0")/lib.sh"
: "${TEST_EXPORT:?TEST_EXPORT must name the test_export binary}"
GOLDEN=$(cd "$(dirname "$0")/../golden/export" && pwd)
FOLD="$(cd "$(dirname "$0")" && pwd)/perfscript_fold.py"
export TZ=UTC

cd "$WORK" || fail "no work directory"
"$TEST_EXPORT" --make-db g.db || fail "cannot build the chain database"

# --- 1. Golden files, through the real binary.
for f in folded perf-script svg; do
	expect_exit 0 "$EMBER" export --db g.db --format "$f" -o "out.$f"
done
cmp out.folded "$GOLDEN/chain.folded" || fail "folded differs from the golden file"
cmp out.perf-script "$GOLDEN/chain.perf-script" || fail "perf-script differs"
cmp out.svg "$GOLDEN/chain.svg" || fail "svg differs"
expect_exit 0 "$EMBER" export --db g.db --show-tid --mark-inlined -o tid.folded
cmp tid.folded "$GOLDEN/chain-tid-inlined.folded" || fail "folded --show-tid --mark-inlined differs"
expect_exit 0 "$EMBER" export --db g.db -f svg --reverse --title 'Chain <icicle>' --width 800 \
	--colors blue -o icicle.svg
cmp icicle.svg "$GOLDEN/chain-icicle.svg" || fail "icicle svg differs"
expect_exit 0 "$EMBER" export --db g.db -f svg --diff --from @1733550000.15 \
	--base-from @1733550000 --base-to @1733550000.15 -o diff.svg
cmp diff.svg "$GOLDEN/chain-diff.svg" || fail "differential svg differs"
# Standard output works as well as a file.
"$EMBER" export --db g.db | cmp - "$GOLDEN/chain.folded" || fail "folded on stdout differs"

# speedscope: the golden file but for the command line in "name"; a real JSON parser reads it.
expect_exit 0 "$EMBER" export --db g.db --format speedscope -o out.json
cmp <(jq -S 'del(.name)' out.json) <(jq -S 'del(.name)' "$GOLDEN/chain.speedscope.json") ||
	fail "speedscope differs from the golden file"
jq -e '."$schema" == "https://www.speedscope.app/file-format-schema.json"' out.json >/dev/null ||
	fail "speedscope: no schema"
# Every profile: as many weights as samples, the weights fill startValue..endValue (the real
# timeline), every frame index exists; the non-empty samples count the thread's samples.
jq -e '(.shared.frames | length) as $nf | all(.profiles[];
	(.samples | length) == (.weights | length) and
	(.weights | add) == (.endValue - .startValue) and
	all(.samples[][]; . >= 0 and . < $nf))' out.json >/dev/null ||
	fail "speedscope: a profile's samples, weights and times do not add up"
[ "$(jq '[.profiles[].samples[] | select(length > 0)] | length' out.json)" = 46 ] ||
	fail "speedscope: not 46 samples"
[ "$(jq -r '.profiles[1] | .name, .startValue, (.samples | map(length == 0) | index(true))' \
	out.json | tr '\n' ' ')" = "chain-worker (pid 100, tid 101) 1400000000 5 " ] ||
	fail "speedscope: the worker's gap of 4.6 s is not where its samples stopped"

# SVG: well-formed, one group per frame, tooltips with samples and shares, the script.
for s in out.svg icicle.svg diff.svg; do
	xmllint --noout "$s" || fail "$s is not well-formed XML"
done
[ "$(xmllint --xpath 'count(//*[local-name()="g"][@data-x])' out.svg)" = 37 ] ||
	fail "svg: expected 37 frames (the tree of the 7 folded lines and all)"
grep -q '<title>chain_leaf_b (20 samples, 43.48%)</title>' out.svg || fail "svg: leaf_b tooltip"
grep -q '<title>spin&lt;&amp;&quot;quoted&quot;&gt; (2 samples, 4.35%)</title>' out.svg ||
	fail "svg: names are not escaped"
grep -q 'function search(t)' out.svg && grep -q 'function zoom(node)' out.svg ||
	fail "svg: the script is missing"
grep -q '<text id="title" x="400" y="24">Chain &lt;icicle&gt;</text>' icicle.svg ||
	fail "svg: --title/--width"
grep -q '<title>chain_leaf_a (.*; -' diff.svg && grep -q 'rgb(0,0,255)\|rgb([0-9]*,[0-9]*,255)' diff.svg ||
	fail "svg --diff: no shrinking frame drawn in blue"

# The script works: hover, search with the matched share, zoom, unzoom, in a stand-in DOM.
if command -v node >/dev/null; then
	for s in out.svg icicle.svg; do
		node "$(dirname "$FOLD")/svg_script.js" "$s" >script.txt 2>&1 ||
			fail "$s: the script misbehaves: $(cat script.txt)"
	done
else
	skip "node (nodejs) is not installed: scripts/setup.sh installs it"
fi

# pprof in go tool pprof: counts per function, inline frames, labels.
expect_exit 0 "$EMBER" export --db g.db --format pprof -o out.pb.gz
gzip -t out.pb.gz || fail "pprof is not gzip'd"
if command -v go >/dev/null; then
	go tool pprof -sample_index=samples -top -nodefraction=0 out.pb.gz >top.txt 2>&1 ||
		fail "go tool pprof cannot read it: $(cat top.txt)"
	grep -Eq '^ +25 +54.35% .* chain_mix \(inline\)$' top.txt || fail "pprof: chain_mix: $(cat top.txt)"
	grep -Eq '^ +14 +30.43% .* chain_leaf_a$' top.txt || fail "pprof: chain_leaf_a"
	grep -Eq '^ +0 +0% .* 25 54.35% +chain_leaf_b$' top.txt || fail "pprof: chain_leaf_b total"
	grep -q 'Total samples = 46' top.txt || fail "pprof: total"
	go tool pprof -tags out.pb.gz >tags.txt 2>&1 || fail "go tool pprof -tags"
	for t in 'pid: Total' 'tid: Total' 'comm: Total' 'cgroup: Total' '(65.89%): chain$'; do
		grep -q "$t" tags.txt || fail "pprof labels: no '$t' in $(cat tags.txt)"
	done
else
	skip "go (golang-go) is not installed: scripts/setup.sh installs it"
fi

# perf-script read as FlameScope and stackcollapse-perf.pl read it gives the folded stacks
# (their names for frames ember could not name: [dso] instead of dso+0xOFFSET).
/usr/bin/python3 "$FOLD" out.perf-script >refolded.txt || fail "perf-script: $(cat refolded.txt)"
sed -E 's/([^;]+)\+0x[0-9a-f]+/[\1]/g' out.folded | sort >expected.txt
cmp refolded.txt expected.txt || fail "perf-script refolded differs: $(diff refolded.txt expected.txt)"

# ember report: text and JSON.
expect_exit 0 "$EMBER" report --db g.db -n 4
cmp "$WORK/stdout" "$GOLDEN/chain.report.txt" || fail "report differs: $(cat "$WORK/stdout")"
expect_exit 0 "$EMBER" report --db g.db --json --by-process --processes 2 -n 3
cmp "$WORK/stdout" "$GOLDEN/chain.report.json" || fail "report --json differs"
jq -e '.samples == 46 and (.processes | length) == 2 and .processes[0].pid == 100 and
	.processes[0].functions[0].name == "chain_mix" and .processes[0].functions[0].self == 25' \
	"$WORK/stdout" >/dev/null || fail "report --json content"
expect_exit 0 "$EMBER" report --db g.db --diff --from @1733550000.15 --base-from @1733550000 \
	--base-to @1733550000.15 --json
jq -e '.functions | map(select(.name == "chain_leaf_a"))[0] |
	.self_change > 7 and (.self_change - (.self_pct - .base_self_pct) | fabs) < 0.001' \
	"$WORK/stdout" >/dev/null || fail "report --diff: leaf_a's change: $(cat "$WORK/stdout")"
expect_exit 0 "$EMBER" report --db g.db --diff --pid 200 --base-pid 0
grep -q 'spin<&"quoted">' "$WORK/stdout" || fail "report --diff of two processes"

# The progress bar, forced (the database is too small to take half a second).
EMBER_PROGRESS=1 expect_exit 0 "$EMBER" export --db g.db -f speedscope -o p.json
expect_stderr '\] 100%'
expect_exit 0 "$EMBER" export --db g.db -o q.folded
[ -s "$WORK/stderr" ] && fail "a progress bar on a pipe: $(cat "$WORK/stderr")"

# Filters: a cgroup by path (the root cgroup's id is 1) or id, an executable, a thread.
[ "$("$EMBER" export --db g.db --cgroup /)" = "swapper/0;default_idle_[k] 2" ] ||
	fail "--cgroup / (the root cgroup, id 1)"
[ "$("$EMBER" export --db g.db --cgroup 42 --binary chain | cut -d' ' -f2)" = 3 ] ||
	fail "--cgroup 42 --binary chain"
[ "$("$EMBER" export --db g.db --tid 101 | awk '{ n += $NF } END { print n }')" = 9 ] ||
	fail "--tid 101"
[ "$("$EMBER" export --db g.db --binary /opt/o --comm other)" = 'other;spin<&"quoted"> 2' ] ||
	fail "--binary /opt/o --comm other"

# --- 2. Bad input: a message, a non-zero exit, no file left behind.
echo precious >keep.txt
expect_exit 2 "$EMBER" export --db g.db --format nope -o keep.txt
expect_stderr "unknown format 'nope' \(known: folded, pprof, speedscope, svg, perf-script\)"
expect_exit 2 "$EMBER" export --db g.db --bogus-filter 1
expect_stderr "unknown option '--bogus-filter'"
expect_exit 2 "$EMBER" export --db g.db --tid x
expect_stderr "not a thread id"
expect_exit 2 "$EMBER" export --db g.db --cgroup /no/such/cgroup
expect_stderr "neither a cgroup id nor an existing cgroup directory"
expect_exit 2 "$EMBER" export --db g.db -f svg --colors plaid
expect_stderr "unknown palette 'plaid'"
expect_exit 2 "$EMBER" export --db g.db -f folded --diff --base-pid 1
expect_stderr "no differential form"
expect_exit 2 "$EMBER" export --db g.db -f svg --diff
expect_stderr "needs a base"
expect_exit 2 "$EMBER" export --db g.db --base-from -1h
expect_stderr "need --diff"
expect_exit 2 "$EMBER" export --db g.db --from -1m --to -2m
expect_stderr "range is empty"
expect_exit 2 "$EMBER" report --db g.db --from -1m --to -2m
expect_stderr "range is empty"
expect_exit 2 "$EMBER" export --db g.db -f svg --diff --base-from -1m --base-to -2m
expect_stderr "base range is empty"
expect_exit 2 "$EMBER" report --db g.db --frobnicate
expect_exit 2 "$EMBER" report --db g.db -n many
expect_stderr "is not a count"
for f in folded pprof speedscope svg perf-script; do
	expect_exit 1 "$EMBER" export --db g.db -f "$f" --pid 4242 -o keep.txt
	expect_stderr "no samples match"
	expect_exit 1 "$EMBER" export --db g.db -f "$f" --from 2001-01-01 --to 2001-01-02 -o "none.$f"
	[ -e "none.$f" ] && fail "$f: an empty export left its output file"
	expect_exit 1 "$EMBER" export --db g.db -f "$f" -o /proc/ember-out
	expect_stderr "cannot write /proc/ember-out"
	expect_exit 1 "$EMBER" export --db g.db -f "$f" -o "$WORK/no/such/dir/out"
	expect_stderr "cannot write"
done
[ "$(cat keep.txt)" = precious ] || fail "a failed export overwrote an existing file"
ls | grep -q '\.tmp\.' && fail "a failed export left a temporary file: $(ls)"
expect_exit 1 "$EMBER" export --db g.db -f svg --diff --base-pid 4242 -o none.svg
expect_stderr "no samples match .* base range"
expect_exit 1 "$EMBER" report --db g.db --comm nobody
expect_stderr "no samples match"

# --- 3. A live recording of the chain workload.
if [ "$(id -u)" != 0 ]; then
	skip "the live recording needs root"
fi
start_bg "$PROGS/chain" 30
CHAIN=$BG_PID
sleep 0.5
expect_exit 0 "$EMBER" record --db live.db -F 499 --duration 4
for f in folded pprof speedscope svg perf-script; do
	expect_exit 0 "$EMBER" export --db live.db -f "$f" --pid "$CHAIN" -o "live.$f"
done
kill "$CHAIN" 2>/dev/null
total=$(folded_count '' live.folded)
leaves=$(folded_count ';main;chain_run;chain_mid1;chain_mid2;chain_leaf_[ab]( |;)' live.folded)
# chain alone on a CPU gives about 2,000 samples; at a load of 15 on 2 CPUs it got 300-400.
[ "$total" -gt 150 ] || fail "live: only $total samples of chain"
[ $((leaves * 100)) -ge $((total * 90)) ] || fail "live: $leaves of $total samples in the chain"
/usr/bin/python3 "$FOLD" live.perf-script >live.refolded || fail "live perf-script: $(cat live.refolded)"
sed -E 's/([^;]+)\+0x[0-9a-f]+/[\1]/g' live.folded | sort >live.expected
cmp live.refolded live.expected || fail "live: perf-script refolded differs from folded"
jq -e --argjson n "$total" '[.profiles[].samples[] | select(length > 0)] | length == $n' \
	live.speedscope >/dev/null || fail "live: speedscope does not hold the $total samples"
xmllint --noout live.svg || fail "live: svg is not well-formed"
grep -q '<title>chain_leaf_b (' live.svg || fail "live: svg has no chain_leaf_b"
if command -v go >/dev/null; then
	go tool pprof -sample_index=samples -top -nodefraction=0 live.pprof >live.top 2>&1 ||
		fail "live: go tool pprof: $(cat live.top)"
	grep -q "Total samples = $total *$" live.top || fail "live: pprof total is not $total: $(head live.top)"
	grep -q 'chain_leaf_b$' live.top || fail "live: pprof has no chain_leaf_b"
fi
exit 0
