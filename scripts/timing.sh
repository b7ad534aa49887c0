# Sourced by the benchmark scripts. best CMD...: the best wall time in seconds of CMD over
# $runs runs (stdin /dev/null); the last run's stdout and stderr are left in $out and
# $out.err for the caller to check, and the peak resident set of CMD over the runs (KiB,
# from /usr/bin/time -f %M; "-" when /usr/bin/time is missing) in $out.rss.
best() {
  local t best="" s e rss peak=""
  for _ in $(seq "$runs"); do
    s=$(date +%s.%N)
    if [ -x /usr/bin/time ]; then
      /usr/bin/time -f %M -o "$out.time" "$@" >"$out" 2>"$out.err" </dev/null || true
    else
      "$@" >"$out" 2>"$out.err" </dev/null || true
    fi
    e=$(date +%s.%N)
    t=$(echo "$e - $s" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
    # GNU time puts "Command exited with non-zero status N" before the figure.
    rss=$(tail -n 1 "$out.time" 2>/dev/null || true)
    if [[ "$rss" =~ ^[0-9]+$ ]] && { [ -z "$peak" ] || [ "$rss" -gt "$peak" ]; }; then peak=$rss; fi
  done
  rm -f "$out.time"
  echo "${peak:--}" >"$out.rss"
  echo "$best"
}

# mib KIB: KiB as MiB with one decimal, or "-".
mib() {
  if [[ "$1" =~ ^[0-9]+$ ]]; then printf '%.1f' "$(echo "$1 / 1024" | bc -l)"; else echo -; fi
}
