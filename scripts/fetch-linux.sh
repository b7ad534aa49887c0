#!/usr/bin/env bash
# Fetch Debian 12's i386 "686" (non-PAE) Linux kernel and busybox with apt, and build
# what the Linux boot test and benchmark run:
#
#   guests/linux/vmlinuz             the bzImage
#   guests/linux/initramfs.cpio.gz   busybox, the IDE modules and an init script
#   guests/linux/disk.img            an 8 MiB raw disk with known content
#   guests/linux/disk.sha256         its sha256
#   guests/linux/versions            the package names and versions used
#
# Idempotent: a second run with the outputs in place does nothing. Needs root (or sudo)
# for apt the first time only. The only network used is Debian's package archive.
#
# Environment: POPEK_GUESTS (default: guests/ under the project) moves the cache;
# POPEK_LINUX_PKG names the kernel package to use instead of the newest one found.
#
# The init script's protocol: with popek.test=1 on the kernel command line it runs the
# workload and prints "POPEK-TEST: <name> <value>" lines (see tests/linux/boot_test.sh
# for the full list), ends with "POPEK-TEST: done" or "POPEK-TEST: FAIL <what>", then
# reboots (-no-reboot makes the emulator exit). Without it, a shell on the console.
#
# Exit status: 0 ready, 1 error, 2 the packages could not be fetched (the tests skip).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
out="${POPEK_GUESTS:-$here/guests}/linux"
# What was built depends on this script only: any change to it rebuilds the outputs.
recipe="$(sha256sum <"$0" | cut -d' ' -f1)"

say() { echo "fetch-linux: $*" >&2; }
die() { say "error: $*"; exit 1; }
unavailable() { say "cannot fetch: $*"; exit 2; }

if [ -f "$out/.done" ] && [ "$(cat "$out/.done")" = "$recipe" ] &&
   [ -f "$out/vmlinuz" ] && [ -f "$out/initramfs.cpio.gz" ] && [ -f "$out/disk.img" ] &&
   [ -f "$out/disk.sha256" ]; then
  say "up to date in $out"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "needs root (or sudo) to run apt"
  sudo="sudo"
fi
command -v apt-get >/dev/null || unavailable "apt-get not found (not a Debian system)"

# Host tools: cpio for the initramfs (gzip, sha256sum, seq are in every Debian).
if ! command -v cpio >/dev/null; then
  say "installing cpio"
  $sudo apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends cpio ||
    die "could not install cpio"
fi

if ! dpkg --print-foreign-architectures | grep -qx i386; then
  say "adding the i386 architecture to dpkg"
  $sudo dpkg --add-architecture i386
  $sudo apt-get update -qq || unavailable "apt-get update failed"
fi

# The newest kernel package by version; the unsigned image if the archive has it.
pick_kernel() {
  local re
  for re in '^linux-image-6\.1\.0-[0-9]+-686-unsigned$' '^linux-image-6\.1\.0-[0-9]+-686$'; do
    local found
    found="$(apt-cache search --names-only "$re" 2>/dev/null | awk '{print $1}' | sort -V | tail -n 1)"
    if [ -n "$found" ]; then echo "$found"; return 0; fi
  done
  return 1
}
kpkg="${POPEK_LINUX_PKG:-}"
if [ -z "$kpkg" ]; then
  kpkg="$(pick_kernel)" || {
    $sudo apt-get update -qq || true
    kpkg="$(pick_kernel)" || unavailable "no linux-image-6.1.0-*-686 package in the apt sources"
  }
fi

work="$out/work"
rm -rf "$work"
mkdir -p "$out/debs" "$work"
chmod 755 "$out/debs"  # apt's sandbox user downloads into it
if ls "$out/debs/${kpkg}"_*_i386.deb "$out"/debs/busybox-static_*_i386.deb >/dev/null 2>&1; then
  say "using the packages already in $out/debs"
else
  say "downloading $kpkg:i386 and busybox-static:i386"
  (cd "$out/debs" && rm -f ./*.deb &&
    apt-get download -q "$kpkg:i386" "busybox-static:i386" >"$work/apt.log" 2>&1) || {
    cat "$work/apt.log" >&2
    unavailable "apt-get download $kpkg:i386 busybox-static:i386 failed"
  }
fi
kdeb="$(ls "$out/debs/${kpkg}"_*_i386.deb 2>/dev/null | head -n 1)"
bdeb="$(ls "$out"/debs/busybox-static_*.deb 2>/dev/null | head -n 1)"
[ -n "$kdeb" ] && [ -n "$bdeb" ] || unavailable "apt-get download produced no packages"
{
  echo "kernel: $(dpkg-deb -f "$kdeb" Package) $(dpkg-deb -f "$kdeb" Version)"
  echo "busybox: $(dpkg-deb -f "$bdeb" Package) $(dpkg-deb -f "$bdeb" Version)"
} >"$work/versions"
dpkg-deb -x "$kdeb" "$work/kernel"
dpkg-deb -x "$bdeb" "$work/busybox"

vmlinuz="$(ls "$work"/kernel/boot/vmlinuz-* | head -n 1)"
kver="${vmlinuz##*/vmlinuz-}"
config="$work/kernel/boot/config-$kver"
moddir="$work/kernel/lib/modules/$kver"
[ -f "$config" ] || die "$kdeb has no boot/config-$kver"

# The IDE stack. Built-in options need no module; the package has no modules.dep (depmod
# runs at install), so each module's dependencies come from its own .modinfo "depends=".
declare -A want_of=([PATA_LEGACY]=pata_legacy [ATA]=libata [SCSI_MOD]=scsi_mod [BLK_DEV_SD]=sd_mod)
declare -A path_of=()
while IFS= read -r ko; do
  name="$(basename "$ko" .ko)"
  path_of["${name//-/_}"]="$ko"
done < <(find "$moddir/kernel" -name '*.ko')
order=()
declare -A seen=()
add_module() {
  local key="${1//-/_}"
  [ -n "${seen[$key]:-}" ] && return 0
  seen[$key]=1
  local ko="${path_of[$key]:-}"
  [ -n "$ko" ] || die "module $1 is not in $kdeb"
  local deps
  deps="$(tr '\0' '\n' <"$ko" | grep -a '^depends=' | head -n 1 | cut -d= -f2)"
  local d
  for d in ${deps//,/ }; do add_module "$d"; done
  order+=("$ko")
}
for opt in ATA SCSI_MOD BLK_DEV_SD PATA_LEGACY; do
  case "$(grep -E "^CONFIG_$opt=" "$config" | cut -d= -f2)" in
    y) say "CONFIG_$opt is built in" ;;
    m) add_module "${want_of[$opt]}" ;;
    *) die "CONFIG_$opt is neither built in nor a module in $config" ;;
  esac
done

# The initramfs tree.
root="$work/root"
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,mnt,root} "$root/lib/modules/$kver"
cp "$work/busybox/bin/busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
: >"$root/etc/modules-order"
for ko in "${order[@]}"; do
  rel="${ko#"$moddir"/}"
  mkdir -p "$root/lib/modules/$kver/$(dirname "$rel")"
  cp "$ko" "$root/lib/modules/$kver/$rel"
  echo "/lib/modules/$kver/$rel" >>"$root/etc/modules-order"
done
cat >"$root/init" <<'EOF'
#!/bin/sh
# popek test initramfs. popek.test=1 on the command line runs the workload; otherwise a
# shell on the console. Every result line starts with "POPEK-TEST: ".
/bin/busybox mkdir -p /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts
mount -t tmpfs tmpfs /tmp

test_mode=0
expect_disk=""
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    popek.test=1) test_mode=1 ;;
    popek.disk_sha256=*) expect_disk="${arg#popek.disk_sha256=}" ;;
  esac
done

say() { echo "POPEK-TEST: $*"; }
fail() { say "FAIL $*"; sync; reboot -f; sleep 5; exit 1; }

[ "$test_mode" = 1 ] && say "init started, kernel $(uname -r)"
# With no PCI bus, pata_legacy probes the legacy ISA ports (0x1f0/irq 14, 0x170/irq 15...)
# without parameters.
while read -r mod; do
  insmod "$mod" || { [ "$test_mode" = 1 ] && fail "insmod $mod"; }
done </etc/modules-order
# The disk shows up asynchronously (SCSI scanning).
i=0
while [ ! -b /dev/sda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done

if [ "$test_mode" != 1 ]; then
  echo "popek initramfs: no popek.test=1 on the command line; starting a shell"
  echo "popek initramfs: the IDE disk is /dev/sda; 'exit' (or end of input) reboots"
  setsid cttyhack sh
  reboot -f
  sleep 5
fi

say "modules loaded"
say "zero16 $(dd if=/dev/zero bs=1M count=16 2>/dev/null | sha256sum | cut -d' ' -f1)"
say "seq $(seq 1 200000 | sha256sum | cut -d' ' -f1)"
n=0; sum=0
while [ $n -lt 20000 ]; do
  n=$((n + 1))
  sum=$(( (sum + n * n * 7 + (n ^ (n >> 3))) % 1000000007 ))
done
say "arith $sum"
seq 1 100000 >/tmp/plain
orig="$(sha256sum </tmp/plain | cut -d' ' -f1)"
gzip -9 -c /tmp/plain >/tmp/plain.gz || fail "gzip"
back="$(gunzip -c /tmp/plain.gz | sha256sum | cut -d' ' -f1)"
[ "$orig" = "$back" ] || fail "gzip round trip: $orig != $back"
say "gzip $back"
[ -b /dev/sda ] || fail "no /dev/sda"
say "disk size $(cat /sys/block/sda/size) sectors"
disk="$(sha256sum </dev/sda | cut -d' ' -f1)"
say "disk sha256 $disk"
if [ -n "$expect_disk" ]; then
  [ "$disk" = "$expect_disk" ] || fail "disk sha256 $disk, expected $expect_disk"
  say "disk read ok"
fi
# One sector at sector 4096 (2 MiB): 16 lines of 32 bytes.
i=0
while [ $i -lt 16 ]; do printf 'popek wrote this sector, line%02d\n' $i; i=$((i + 1)); done >/tmp/sector
dd if=/tmp/sector of=/dev/sda bs=512 seek=4096 count=1 conv=fsync 2>/dev/null || fail "disk write"
sync
say "disk write $(sha256sum </tmp/sector | cut -d' ' -f1)"
say "done"
reboot -f
sleep 5
EOF
chmod 755 "$root/init"
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
  cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -n -9 >"$work/initramfs.cpio.gz"

# The test disk: 262144 lines of 32 bytes (8 MiB), each naming its own number.
seq -f 'popek test disk line %010g' 0 262143 >"$work/disk.img"
[ "$(stat -c %s "$work/disk.img")" = 8388608 ] || die "test disk is not 8 MiB"
sha256sum <"$work/disk.img" | cut -d' ' -f1 >"$work/disk.sha256"

cp "$vmlinuz" "$work/vmlinuz"
for f in vmlinuz initramfs.cpio.gz disk.img disk.sha256 versions; do mv -f "$work/$f" "$out/$f"; done
rm -rf "$work"
echo "$recipe" >"$out/.done"
say "ready in $out ($(tr '\n' ';' <"$out/versions"))"
