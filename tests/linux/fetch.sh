# Sourced by the Linux tests: fetches Debian's i386 kernel and busybox into
# $here/guests/linux (scripts/fetch-linux.sh) or ends the test: skipped (exit 77) when
# they cannot be fetched, failed when the script itself fails. Needs $here (the source tree).
bash "$here/scripts/fetch-linux.sh"
case $? in
  0) ;;
  2) echo "SKIP: the Linux kernel could not be fetched (see the messages above)"; exit 77 ;;
  *) echo "FAIL: scripts/fetch-linux.sh failed"; exit 1 ;;
esac
