# Sourced by the benchmark scripts. best CMD...: the best wall time in seconds of CMD over
# $runs runs (stdin /dev/null); the last run's stdout and stderr are left in $out and
# $out.err for the caller to check.
best() {
  local t best="" s e
  for _ in $(seq "$runs"); do
    s=$(date +%s.%N)
    "$@" >"$out" 2>"$out.err" </dev/null || true
    e=$(date +%s.%N)
    t=$(echo "$e - $s" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
  done
  echo "$best"
}
