#!/usr/bin/env bash
# Build a raw disk image that boots the PC way — BIOS -> MBR -> GRUB 2 -> Linux — with
# file-level tools only (no loop device, no mount, no root):
#
#   sector 0          GRUB's boot.img, with the MBR partition table sfdisk wrote
#   sectors 1..2047   GRUB's core.img (biosdisk, part_msdos, ext2 and friends built in)
#   sectors 2048..    partition 1 (type 83, active): ext2 made with mke2fs -d, holding
#                     /boot/vmlinuz, /boot/initramfs.cpio.gz, /boot/grub/grub.cfg and
#                     GRUB's modules in /boot/grub/i386-pc
#
# grub.cfg puts GRUB on the screen and the serial console (COM1, 115200) at once, keys
# from either reaching it, and has two entries: "linux"
# (the 32-bit boot protocol: GRUB enters the kernel in protected mode) and "linux16" (the
# 16-bit protocol: the kernel's real-mode setup code runs first). --entry picks the one
# booted when the menu times out.
#
#   scripts/make-grub-disk.sh [--entry linux|linux16] [--timeout SECONDS]
#                             [--append "KERNEL ARGS"] [--kernel FILE] [--initrd FILE]
#                             [--size MiB] OUTPUT.img
#
# The kernel and initramfs default to what scripts/fetch-linux.sh leaves in
# guests/linux/ (POPEK_GUESTS moves it). Needs Debian's grub-pc-bin (grub-mkimage and
# /usr/lib/grub/i386-pc), fdisk (sfdisk) and e2fsprogs (mke2fs); scripts/setup.sh
# installs them. Exit status: 0 built, 1 error, 2 a tool or input is missing.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
guests="${POPEK_GUESTS:-$here/guests}/linux"
entry=linux
timeout=2
append="console=ttyS0 panic=-1 loglevel=4"
kernel="$guests/vmlinuz"
initrd="$guests/initramfs.cpio.gz"
size_mib=64
out=""

say() { echo "make-grub-disk: $*" >&2; }
die() { say "error: $*"; exit 1; }
missing() { say "missing: $*"; exit 2; }

while (($#)); do
  case "$1" in
    --entry) entry="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    --append) append="$2"; shift 2 ;;
    --kernel) kernel="$2"; shift 2 ;;
    --initrd) initrd="$2"; shift 2 ;;
    --size) size_mib="$2"; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (try --help)" ;;
    *) [ -z "$out" ] || die "more than one output file"; out="$1"; shift ;;
  esac
done
[ -n "$out" ] || die "no output file (try --help)"
case "$entry" in linux) default=0 ;; linux16) default=1 ;; *) die "--entry must be linux or linux16" ;; esac
[[ "$timeout" =~ ^[0-9]+$ ]] || die "--timeout must be a number of seconds"
[[ "$size_mib" =~ ^[0-9]+$ ]] && ((size_mib >= 8)) || die "--size must be a number of MiB, at least 8"

grubdir=/usr/lib/grub/i386-pc
for tool in grub-mkimage sfdisk mke2fs; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || [ -x "/sbin/$tool" ] ||
    missing "$tool (install grub-pc-bin, fdisk and e2fsprogs: scripts/setup.sh)"
done
PATH="$PATH:/usr/sbin:/sbin"
[ -f "$grubdir/boot.img" ] || missing "$grubdir/boot.img (install grub-pc-bin)"
[ -f "$kernel" ] || missing "kernel $kernel (run scripts/fetch-linux.sh)"
[ -f "$initrd" ] || missing "initramfs $initrd (run scripts/fetch-linux.sh)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# --- the file system's contents
root="$work/root"
mkdir -p "$root/boot/grub/i386-pc"
cp "$kernel" "$root/boot/vmlinuz"
cp "$initrd" "$root/boot/initramfs.cpio.gz"
# What grub-install copies: every module and the lists normal mode loads them by.
cp "$grubdir"/*.mod "$grubdir"/*.lst "$root/boot/grub/i386-pc/"
cat >"$root/boot/grub/grub.cfg" <<EOF
serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
set timeout=$timeout
set default=$default
menuentry 'linux (32-bit boot protocol)' {
  echo 'GRUB: loading /boot/vmlinuz with linux'
  linux /boot/vmlinuz $append
  initrd /boot/initramfs.cpio.gz
}
menuentry 'linux16 (16-bit boot protocol)' {
  echo 'GRUB: loading /boot/vmlinuz with linux16'
  linux16 /boot/vmlinuz $append
  initrd16 /boot/initramfs.cpio.gz
}
EOF
# Reproducible: fixed times in the image.
find "$root" -exec touch -h -d @0 {} +

# --- the partition: ext2 from the directory, no mount
part_start=2048
total=$((size_mib * 2048))
part_sectors=$((total - part_start))
export E2FSPROGS_FAKE_TIME=0
mke2fs -q -F -t ext2 -L popek-boot -U 6f70656b-0000-4000-8000-000000000001 -E root_owner=0:0,hash_seed=6f70656b-0000-4000-8000-000000000002 \
  -d "$root" "$work/part.img" "$((part_sectors / 2))k" >/dev/null || die "mke2fs failed (is the disk too small for the kernel and initramfs? try --size)"

# --- the disk: partition table, then the partition
truncate -s 0 "$work/disk.img"
truncate -s "$((total * 512))" "$work/disk.img"
printf 'label: dos\nlabel-id: 0x706f7065\nstart=%d, size=%d, type=83, bootable\n' "$part_start" "$part_sectors" |
  sfdisk -q --no-reread --no-tell-kernel "$work/disk.img" >/dev/null || die "sfdisk failed"
dd if="$work/part.img" of="$work/disk.img" bs=512 seek="$part_start" conv=notrunc status=none

# --- GRUB: core.img behind the MBR, boot.img in it
cat >"$work/early.cfg" <<'EOF'
set root=(hd0,msdos1)
set prefix=(hd0,msdos1)/boot/grub
EOF
grub-mkimage -O i386-pc -o "$work/core.img" -c "$work/early.cfg" -p '(hd0,msdos1)/boot/grub' \
  biosdisk part_msdos ext2 normal serial terminal linux echo test configfile || die "grub-mkimage failed"
core_sectors=$(( ($(stat -c %s "$work/core.img") + 511) / 512 ))
((core_sectors < part_start)) || die "core.img ($core_sectors sectors) does not fit before the partition"
# core.img's first sector (diskboot.img) loads the rest from its default block list:
# sector 2 onwards, the length grub-mkimage filled in. So it goes at sector 1.
dd if="$work/core.img" of="$work/disk.img" bs=512 seek=1 conv=notrunc status=none
# boot.img: its code up to the partition table (0x1B8, the disk signature, onwards stays
# as sfdisk wrote it), then what grub-install patches (grub's include/grub/i386/pc/boot.h):
# 0x5C the 64-bit LBA of core.img, 0x64 the drive (0xFF: the one the BIOS booted from),
# 0x66 the 2-byte jump that skips the hard-disk check, replaced with two NOPs on a disk.
dd if="$grubdir/boot.img" of="$work/disk.img" bs=1 count=$((0x1B8)) conv=notrunc status=none
printf '\x01\x00\x00\x00\x00\x00\x00\x00' | dd of="$work/disk.img" bs=1 seek=$((0x5C)) conv=notrunc status=none
printf '\xff' | dd of="$work/disk.img" bs=1 seek=$((0x64)) conv=notrunc status=none
printf '\x90\x90' | dd of="$work/disk.img" bs=1 seek=$((0x66)) conv=notrunc status=none

mkdir -p "$(dirname "$out")"
mv -f "$work/disk.img" "$out"
say "built $out ($size_mib MiB; default entry $entry; core.img $core_sectors sectors)"
