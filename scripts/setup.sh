#!/usr/bin/env bash
# Install every Debian package popek's build, tests and benchmark need. Idempotent:
# packages already installed are left alone, and apt is not touched when nothing is
# missing. Needs root (or sudo).
set -euo pipefail

packages=(
  cmake make g++ pkg-config bc               # build (bc: the benchmark script)
  time                                       # the benchmarks' peak RSS (/usr/bin/time)
  libzydis-dev libasmjit-dev libxbyak-dev    # decoder, JIT assembler, host-CPU oracle
  libboost-program-options-dev               # command line
  zlib1g-dev                                 # PNG screen dumps
  libncurses-dev                             # -display curses
  libvncserver-dev                           # the -vnc display (and the VNC test client)
  vncsnapshot                                # a VNC client from elsewhere for the -vnc test
  googletest libgtest-dev                    # unit tests
  nasm binutils gcc-multilib                 # guest programs (nasm, gcc -m32, ld)
  gdb python3                                # the gdb stub's tests (a real gdb; a raw protocol client)
  qemu-system-x86                            # the peer the guest outputs are compared with
  seabios                                    # the default firmware (/usr/share/seabios/bios.bin)
  bochsbios vgabios                          # a second BIOS to try (-bios /usr/share/bochs/BIOS-bochs-latest) and its VGA BIOS
  grub-pc-bin fdisk e2fsprogs                # scripts/make-grub-disk.sh (GRUB for i386-pc, sfdisk, mke2fs)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "popek setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
