// Command line translation and parsing: good options fill MachineConfig, every bad one is
// exactly one "popek: " line naming the option or file, with status 1.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "bus/log.h"
#include "frontend/cli.h"
#include "temp_files.h"

namespace popek::frontend {
namespace {

using Args = std::vector<std::string>;

TEST(TranslateArgs, QemuSpellingsBecomeBoostLongOptions) {
  const TranslatedArgs t = translate_args(
      {"-kernel", "k.elf", "-m", "64", "-no-reboot", "-nographic", "-d", "int,cpu", "-D", "log",
       "-engine", "interp", "-serial", "none", "-debugcon", "stdio", "-device", "isa-debug-exit"});
  ASSERT_EQ(t.error, "");
  const Args want = {"--kernel=k.elf", "--memory=64", "--no-reboot", "--nographic",
                     "--debug=int,cpu", "--logfile=log", "--engine=interp", "--serial=none",
                     "--debugcon=stdio", "--device=isa-debug-exit"};
  EXPECT_EQ(t.args, want);
}

TEST(TranslateArgs, LongFormsAndEqualsSignsPassThrough) {
  const TranslatedArgs t =
      translate_args({"--engine=jit", "--pg-report", "--stats", "--kernel", "k", "-bios=b.bin"});
  ASSERT_EQ(t.error, "");
  const Args want = {"--engine=jit", "--pg-report", "--stats", "--kernel=k", "--bios=b.bin"};
  EXPECT_EQ(t.args, want);
}

TEST(TranslateArgs, ValuesThatLookLikeOptionsStayValues) {
  const TranslatedArgs t = translate_args({"-append", "-v --quiet", "-initrd", "-x"});
  ASSERT_EQ(t.error, "");
  const Args want = {"--append=-v --quiet", "--initrd=-x"};
  EXPECT_EQ(t.args, want);
}

TEST(TranslateArgs, EmptyValuesBecomeTheNextToken) {
  const TranslatedArgs t = translate_args({"-append", ""});
  ASSERT_EQ(t.error, "");
  EXPECT_EQ(t.args, (Args{"--append", ""}));
}

TEST(TranslateArgs, HelpSpellings) {
  for (const char* h : {"-h", "-help", "--help"}) {
    const TranslatedArgs t = translate_args({h});
    ASSERT_EQ(t.error, "") << h;
    EXPECT_EQ(t.args, Args{"--help"}) << h;
  }
}

TEST(TranslateArgs, Errors) {
  EXPECT_EQ(translate_args({"-foo"}).error, "popek: unknown option '-foo' (try --help)");
  EXPECT_EQ(translate_args({"--kernelx=1"}).error, "popek: unknown option '--kernelx=1' (try --help)");
  // Single-dash spellings of the Boost long names are not QEMU's: -memory is unknown.
  EXPECT_NE(translate_args({"-memory", "4"}).error, "");
  EXPECT_EQ(translate_args({"-kernel"}).error, "popek: option '-kernel' requires a value");
  EXPECT_EQ(translate_args({"-no-reboot=1"}).error, "popek: option '-no-reboot' takes no value");
  EXPECT_EQ(translate_args({"k.elf"}).error,
            "popek: unexpected argument 'k.elf' (options start with '-')");
  EXPECT_EQ(translate_args({"-"}).error, "popek: unexpected argument '-' (options start with '-')");
}

TEST(RamSize, Suffixes) {
  uint64_t b = 0;
  EXPECT_TRUE(parse_ram_size("64", b));
  EXPECT_EQ(b, 64ull << 20);
  EXPECT_TRUE(parse_ram_size("2048K", b));
  EXPECT_EQ(b, 2048ull << 10);
  EXPECT_TRUE(parse_ram_size("32M", b));
  EXPECT_EQ(b, 32ull << 20);
  EXPECT_TRUE(parse_ram_size("1g", b));
  EXPECT_EQ(b, 1ull << 30);
  EXPECT_FALSE(parse_ram_size("", b));
  EXPECT_FALSE(parse_ram_size("M", b));
  EXPECT_FALSE(parse_ram_size("12X", b));
  EXPECT_FALSE(parse_ram_size("12MB", b));
  EXPECT_FALSE(parse_ram_size("-5", b));
  EXPECT_FALSE(parse_ram_size("99999999999999999999", b));
  // (2^34 + 1) GiB is 2^64 + 1 GiB: the shift must not wrap to 1 GiB.
  EXPECT_FALSE(parse_ram_size("17179869185G", b));
  EXPECT_FALSE(parse_ram_size("17179869184G", b));
  EXPECT_TRUE(parse_ram_size("17179869183G", b));
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override { kernel = files.write("k.elf", std::string("not checked here")); }

  // Parse and expect one error line.
  std::string error_of(const Args& a) {
    const CliResult r = parse_cli(a);
    EXPECT_TRUE(r.exit);
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.error.rfind("popek: ", 0), 0u) << r.error;
    EXPECT_EQ(r.error.find('\n'), std::string::npos) << r.error;
    EXPECT_EQ(r.out, "");
    return r.error;
  }
  Args with_kernel(Args a) {
    a.insert(a.begin(), {"-kernel", kernel});
    return a;
  }

  TempFiles files;
  std::string kernel;
};

TEST_F(Cli, Defaults) {
  const CliResult r = parse_cli({"-kernel", kernel});
  ASSERT_FALSE(r.exit) << r.error;
  const MachineConfig& c = r.config;
  EXPECT_EQ(c.kernel_path, kernel);
  EXPECT_EQ(c.ram_size, 128ull << 20);
  EXPECT_EQ(c.serial, "stdio");
  EXPECT_EQ(c.debugcon, "none");
  EXPECT_EQ(c.debug_exit_iobase, 0xF4);
  EXPECT_EQ(c.debug_exit_iosize, 4);
  EXPECT_EQ(c.engine, Engine::Jit);  // the default
  EXPECT_FALSE(c.no_reboot);
  EXPECT_FALSE(c.pg_report);
  EXPECT_FALSE(c.stats);
  EXPECT_EQ(c.trace_mask, 0u);
}

TEST_F(Cli, TheGuestTestCommandLine) {
  const CliResult r = parse_cli({"-m", "32", "-nographic", "-no-reboot", "-serial", "none",
                                 "-debugcon", "stdio", "-device",
                                 "isa-debug-exit,iobase=0xf4,iosize=4", "-kernel", kernel});
  ASSERT_FALSE(r.exit) << r.error;
  EXPECT_EQ(r.config.ram_size, 32ull << 20);
  EXPECT_TRUE(r.config.no_reboot);
  EXPECT_EQ(r.config.serial, "none");
  EXPECT_EQ(r.config.debugcon, "stdio");
  EXPECT_EQ(r.config.debug_exit_iobase, 0xF4);
  EXPECT_EQ(r.config.debug_exit_iosize, 4);
}

TEST_F(Cli, EverythingElse) {
  const std::string initrd = files.write("initrd", std::string("mod"));
  const std::string bios = files.write("bios.bin", std::vector<uint8_t>(65536, 0xFF));
  const CliResult r = parse_cli(
      {"--kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0 -v", "-bios", bios,
       "--engine=jit", "--pg-report", "--stats", "-d", "in_asm,int,exec,cpu,guest_errors,unimp,ioport",
       "-D", "trace.log", "-serial", "file:serial.txt", "-device", "isa-debug-exit,iobase=1281,iosize=0x2"});
  ASSERT_FALSE(r.exit) << r.error;
  const MachineConfig& c = r.config;
  EXPECT_EQ(c.initrd_path, initrd);
  EXPECT_EQ(c.append, "console=ttyS0 -v");
  EXPECT_EQ(c.bios_path, bios);
  EXPECT_EQ(c.engine, Engine::Jit);
  EXPECT_TRUE(c.pg_report);
  EXPECT_TRUE(c.stats);
  EXPECT_EQ(c.trace_mask, bus::trace::IN_ASM | bus::trace::INT | bus::trace::EXEC | bus::trace::CPU |
                              bus::trace::GUEST_ERRORS | bus::trace::UNIMP | bus::trace::IOPORT);
  EXPECT_EQ(c.trace_file, "trace.log");
  EXPECT_EQ(c.serial, "file:serial.txt");
  EXPECT_EQ(c.debug_exit_iobase, 1281);
  EXPECT_EQ(c.debug_exit_iosize, 2);
}

TEST_F(Cli, EmptyAppendIsAllowed) {
  const CliResult r = parse_cli(with_kernel({"-append", "", "-no-reboot"}));
  ASSERT_FALSE(r.exit) << r.error;
  EXPECT_EQ(r.config.append, "");
  EXPECT_TRUE(r.config.no_reboot);
}

TEST_F(Cli, BiosAlone) {
  const std::string bios = files.write("bios.bin", std::vector<uint8_t>(4096, 0));
  const CliResult r = parse_cli({"-bios", bios});
  ASSERT_FALSE(r.exit) << r.error;
  EXPECT_EQ(r.config.bios_path, bios);
  EXPECT_EQ(r.config.kernel_path, "");
}

TEST_F(Cli, HelpVersionAndDHelpExitZero) {
  CliResult r = parse_cli({"--help"});
  EXPECT_TRUE(r.exit);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("-kernel"), std::string::npos);
  EXPECT_NE(r.out.find("--engine"), std::string::npos);
  r = parse_cli({"-version"});
  EXPECT_TRUE(r.exit);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, std::string("popek ") + POPEK_VERSION + "\n");
  r = parse_cli({"-d", "help"});
  EXPECT_TRUE(r.exit);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, "");
  for (const char* item : {"in_asm", "int", "exec", "cpu", "guest_errors", "unimp", "ioport"})
    EXPECT_NE(r.out.find(item), std::string::npos) << item;
}

TEST_F(Cli, MemoryLimits) {
  EXPECT_EQ(parse_cli(with_kernel({"-m", "1"})).config.ram_size, 1ull << 20);
  EXPECT_EQ(parse_cli(with_kernel({"-m", "3G"})).config.ram_size, 3ull << 30);
  EXPECT_EQ(error_of(with_kernel({"-m", "1023K"})),
            "popek: -m 1023K: guest RAM must be between 1 MiB and 3 GiB");
  EXPECT_EQ(error_of(with_kernel({"-m", "0"})),
            "popek: -m 0: guest RAM must be between 1 MiB and 3 GiB");
  EXPECT_EQ(error_of(with_kernel({"-m", "3073"})),
            "popek: -m 3073: guest RAM must be between 1 MiB and 3 GiB");
  EXPECT_EQ(error_of(with_kernel({"-m", "lots"})),
            "popek: -m lots: bad size (a number of MiB, or with a K, M or G suffix)");
}

TEST_F(Cli, BadValues) {
  EXPECT_EQ(error_of(with_kernel({"-d", "int,bogus"})),
            "popek: -d: unknown log item 'bogus' (try -d help)");
  EXPECT_EQ(error_of(with_kernel({"-serial", "pty"})),
            "popek: -serial pty: unsupported backend (use stdio, file:PATH or none)");
  EXPECT_EQ(error_of(with_kernel({"-debugcon", "file:"})),
            "popek: -debugcon file:: unsupported backend (use stdio, file:PATH or none)");
  EXPECT_EQ(error_of(with_kernel({"--engine=fast"})),
            "popek: --engine fast: unknown engine (use interp or jit)");
  EXPECT_EQ(error_of(with_kernel({"-device", "e1000"})),
            "popek: -device e1000: unsupported device 'e1000' (popek has isa-debug-exit and isa-debugcon)");
  EXPECT_EQ(error_of(with_kernel({"-device", "isa-debug-exit,irq=5"})),
            "popek: -device isa-debug-exit,irq=5: unknown property 'irq' (use iobase=N, iosize=N)");
  EXPECT_EQ(error_of(with_kernel({"-device", "isa-debug-exit,iobase=zz"})),
            "popek: -device isa-debug-exit,iobase=zz: bad iobase value 'zz'");
  EXPECT_EQ(error_of(with_kernel({"-device", "isa-debug-exit,iobase=0x10000"})),
            "popek: -device isa-debug-exit,iobase=0x10000: iobase must be at most 0xffff");
  EXPECT_EQ(error_of(with_kernel({"-device", "isa-debug-exit,iosize=0"})),
            "popek: -device isa-debug-exit,iosize=0: iosize must be 1 to 0x10000 - iobase");
  EXPECT_EQ(error_of(with_kernel({"-D", ""})), "popek: -D: empty file name");
}

TEST_F(Cli, LockstepIsLongFormOnlyAndRunsTheJit) {
  CliResult r = parse_cli(with_kernel({"--lockstep"}));
  ASSERT_FALSE(r.exit) << r.error;
  EXPECT_TRUE(r.config.lockstep);
  EXPECT_EQ(r.config.engine, Engine::Jit);
  r = parse_cli(with_kernel({"--engine=jit", "--lockstep"}));
  ASSERT_FALSE(r.exit) << r.error;
  EXPECT_TRUE(r.config.lockstep);
  EXPECT_FALSE(parse_cli({"-kernel", kernel}).config.lockstep);
  EXPECT_EQ(error_of(with_kernel({"--engine=interp", "--lockstep"})),
            "popek: --lockstep compares the JIT with the interpreter: use it with --engine=jit");
  EXPECT_EQ(error_of(with_kernel({"-lockstep"})), "popek: unknown option '-lockstep' (try --help)");
  EXPECT_EQ(error_of(with_kernel({"--lockstep=on"})), "popek: option '--lockstep' takes no value");
  const std::string help = parse_cli({"--help"}).out;
  EXPECT_NE(help.find("\n  --lockstep  "), std::string::npos) << help;
}

// Neither -kernel nor -bios: SeaBIOS, or one line naming the package when it is missing.
TEST_F(Cli, DefaultFirmware) {
  const std::string bios = files.write("bios.bin", std::string(131072, '\0'));
  const CliResult r = parse_cli({"-m", "32"}, bios);
  ASSERT_FALSE(r.exit) << r.error;
  EXPECT_EQ(r.config.bios_path, bios);
  EXPECT_EQ(r.config.boot_order, "cad");
  const std::string missing = files.path_for("no-bios.bin");
  const CliResult m = parse_cli({}, missing);
  EXPECT_TRUE(m.exit);
  EXPECT_EQ(m.error, "popek: no -kernel or -bios given, and the default firmware " + missing +
                         " is missing (install Debian's seabios package)");
  EXPECT_EQ(parse_cli({"-kernel", kernel}, missing).config.bios_path, "");
}

TEST_F(Cli, VgaAndMonitor) {
  EXPECT_TRUE(parse_cli(with_kernel({})).config.vga);
  EXPECT_FALSE(parse_cli(with_kernel({"-vga", "none"})).config.vga);
  EXPECT_EQ(error_of(with_kernel({"-vga", "cirrus"})), "popek: -vga cirrus: expected std or none");
  EXPECT_EQ(parse_cli(with_kernel({"-monitor", "unix:/tmp/m.sock,server,nowait"})).config.monitor,
            "unix:/tmp/m.sock,server,nowait");
  EXPECT_EQ(parse_cli(with_kernel({"-serial", "none", "-monitor", "stdio"})).config.monitor, "stdio");
  EXPECT_EQ(error_of(with_kernel({"-monitor", "tcp::4444"})),
            "popek: -monitor tcp::4444: expected stdio, none or unix:PATH,server,nowait");
  EXPECT_NE(error_of(with_kernel({"-monitor", "stdio"})).find("already belong to the serial console"),
            std::string::npos);
  EXPECT_NE(error_of(with_kernel({"--lockstep", "-serial", "none", "-monitor", "stdio"})).find("--lockstep"),
            std::string::npos);
}

TEST_F(Cli, CursesDisplayTakesTheTerminal) {
  const MachineConfig plain = parse_cli(with_kernel({})).config;
  EXPECT_EQ(plain.display, "none");
  EXPECT_EQ(plain.serial, "stdio");
  EXPECT_FALSE(plain.icount_sleep);
  const MachineConfig c = parse_cli(with_kernel({"-display", "curses"})).config;
  EXPECT_EQ(c.display, "curses");
  EXPECT_EQ(c.serial, "none") << "the serial console leaves the terminal";
  EXPECT_TRUE(c.icount_sleep) << "an idle guest waits in real time";
  EXPECT_FALSE(parse_cli(with_kernel({"-display", "curses", "-icount", "shift=3,sleep=off"})).config.icount_sleep);
  EXPECT_EQ(parse_cli(with_kernel({"-display", "curses", "-serial", "file:/tmp/s.txt"})).config.serial,
            "file:/tmp/s.txt");
  EXPECT_EQ(error_of(with_kernel({"-display", "gtk"})), "popek: -display gtk: expected curses or none");
  EXPECT_NE(error_of(with_kernel({"-display", "curses", "-serial", "stdio"})).find("cannot use stdio"),
            std::string::npos);
  EXPECT_NE(error_of(with_kernel({"-display", "curses", "-monitor", "stdio"})).find("-monitor unix:"),
            std::string::npos);
  EXPECT_NE(error_of(with_kernel({"-display", "curses", "-vga", "none"})).find("-vga none"), std::string::npos);
  EXPECT_NE(error_of(with_kernel({"-display", "curses", "--lockstep"})).find("--lockstep"), std::string::npos);
}

TEST_F(Cli, BootOrder) {
  EXPECT_EQ(parse_cli(with_kernel({"-boot", "order=c"})).config.boot_order, "c");
  EXPECT_EQ(parse_cli(with_kernel({"-boot", "dc"})).config.boot_order, "dc");
  EXPECT_EQ(parse_cli(with_kernel({"-boot", "order=ca,menu=off"})).config.boot_order, "ca");
  EXPECT_EQ(error_of(with_kernel({"-boot", "order=x"})),
            "popek: -boot order=x: invalid boot device 'x' (use a, c, d or n)");
  EXPECT_EQ(error_of(with_kernel({"-boot", "order=cc"})), "popek: -boot order=cc: boot device 'c' given twice");
  EXPECT_EQ(error_of(with_kernel({"-boot", "order=acdn"})),
            "popek: -boot order=acdn: give one to three boot devices (a, c, d, n)");
  EXPECT_EQ(error_of(with_kernel({"-boot", "splash=x.jpg"})),
            "popek: -boot splash=x.jpg: unknown property 'splash' (use order=DRIVES)");
}

// QEMU's spelling of SeaBIOS's log port: -chardev file,id=d,path=X -device isa-debugcon,...
TEST_F(Cli, IsaDebugconWithChardev) {
  const std::string log = files.path_for("seabios.log");
  const CliResult r = parse_cli(with_kernel(
      {"-chardev", "file,id=d,path=" + log, "-device", "isa-debugcon,iobase=0x402,chardev=d"}));
  ASSERT_FALSE(r.exit) << r.error;
  EXPECT_EQ(r.config.debugcon, "file:" + log);
  EXPECT_EQ(r.config.debugcon_iobase, 0x402);
  const CliResult s = parse_cli(with_kernel({"-chardev", "stdio,id=o", "-device", "isa-debugcon,chardev=o"}));
  ASSERT_FALSE(s.exit) << s.error;
  EXPECT_EQ(s.config.debugcon, "stdio");
  EXPECT_EQ(s.config.debugcon_iobase, 0xE9);
  EXPECT_EQ(error_of(with_kernel({"-device", "isa-debugcon,chardev=x"})),
            "popek: -device isa-debugcon,chardev=x: no -chardev with id 'x'");
  EXPECT_EQ(error_of(with_kernel({"-chardev", "file,id=d"})), "popek: -chardev file,id=d: missing path=");
  EXPECT_EQ(error_of(with_kernel({"-chardev", "socket,id=d"})),
            "popek: -chardev socket,id=d: unsupported backend 'socket' (use file, stdio or null)");
  EXPECT_EQ(error_of(with_kernel({"-debugcon", "stdio", "-chardev", "null,id=n", "-device", "isa-debugcon,chardev=n"})),
            "popek: -device isa-debugcon,chardev=n: popek has one debug console, already given (-debugcon or isa-debugcon)");
}

TEST_F(Cli, RepeatedOptionIsAnError) {
  const std::string e = error_of({"-kernel", kernel, "-kernel", kernel});
  EXPECT_NE(e.find("kernel"), std::string::npos) << e;
}

TEST_F(Cli, UnknownOptionAndMissingValue) {
  EXPECT_EQ(error_of(with_kernel({"-cdrom", "x.iso"})), "popek: unknown option '-cdrom' (try --help)");
  EXPECT_EQ(error_of(with_kernel({"-m"})), "popek: option '-m' requires a value");
}

TEST_F(Cli, GuestFiles) {
  const std::string missing = files.path_for("missing.elf");
  EXPECT_EQ(error_of({"-kernel", missing}),
            "popek: -kernel " + missing + ": No such file or directory");
  const std::string empty = files.write("empty.elf", std::string());
  EXPECT_EQ(error_of({"-kernel", empty}), "popek: -kernel " + empty + ": file is empty");
  EXPECT_EQ(error_of({"-bios", ::testing::TempDir()}),
            "popek: -bios " + ::testing::TempDir() + ": not a regular file");
  EXPECT_EQ(error_of({"-kernel", ""}), "popek: -kernel: empty file name");
  EXPECT_EQ(error_of(with_kernel({"-initrd", missing})),
            "popek: -initrd " + missing + ": No such file or directory");
}

// An output option naming an input file would truncate it before it is read; refused
// however the path is spelt. An output that is a new file, or another file, is fine.
TEST_F(Cli, OutputsMustNotOverwriteInputs) {
  const std::string initrd = files.write("initrd.img", std::string("initrd"));
  const std::string disk = files.write("disk.img", std::vector<uint8_t>(1024, 0));
  EXPECT_EQ(error_of(with_kernel({"-debugcon", "file:" + kernel})),
            "popek: -debugcon file:" + kernel + ": " + kernel + " is also the -kernel " + kernel +
                "; refusing to overwrite an input");
  const std::string dotted = ::testing::TempDir() + "./" + kernel.substr(::testing::TempDir().size());
  EXPECT_EQ(error_of(with_kernel({"-D", dotted})),
            "popek: -D: " + dotted + " is also the -kernel " + kernel + "; refusing to overwrite an input");
  EXPECT_EQ(error_of(with_kernel({"-initrd", initrd, "-serial", "file:" + initrd})),
            "popek: -serial file:" + initrd + ": " + initrd + " is also the -initrd " + initrd +
                "; refusing to overwrite an input");
  EXPECT_EQ(error_of(with_kernel({"-hda", disk, "-serial", "file:" + disk})),
            "popek: -serial file:" + disk + ": " + disk + " is also the disk image " + disk +
                "; refusing to overwrite an input");
  const std::string out = files.path_for("out.txt");
  EXPECT_FALSE(parse_cli(with_kernel({"-serial", "file:" + out, "-D", files.path_for("log.txt")})).exit);
  files.write("out.txt", std::string("old"));
  EXPECT_FALSE(parse_cli(with_kernel({"-serial", "file:" + out})).exit);
}

// Dates that do not exist are refused (31 February), leap days are not.
TEST_F(Cli, RtcDatesMustExist) {
  EXPECT_EQ(error_of(with_kernel({"-rtc", "base=2000-02-31T00:00:00"})),
            "popek: -rtc base=2000-02-31T00:00:00: no such date");
  EXPECT_EQ(error_of(with_kernel({"-rtc", "base=2001-02-29T00:00:00"})),
            "popek: -rtc base=2001-02-29T00:00:00: no such date");
  EXPECT_EQ(error_of(with_kernel({"-rtc", "base=2023-04-31T12:00:00"})),
            "popek: -rtc base=2023-04-31T12:00:00: no such date");
  EXPECT_FALSE(parse_cli(with_kernel({"-rtc", "base=2000-02-29T23:59:59"})).exit);
  EXPECT_FALSE(parse_cli(with_kernel({"-rtc", "base=2024-12-31T00:00:00"})).exit);
}

TEST_F(Cli, InitrdAndAppendNeedAKernel) {
  const std::string bios = files.write("bios.bin", std::vector<uint8_t>(4096, 0));
  EXPECT_EQ(error_of({"-bios", bios, "-initrd", kernel}), "popek: -initrd is only allowed with -kernel");
  EXPECT_EQ(error_of({"-bios", bios, "-append", "x"}), "popek: -append is only allowed with -kernel");
}

TEST_F(Cli, GdbStubOptions) {
  {
    const CliResult r = parse_cli(with_kernel({"-s", "-S"}));
    ASSERT_FALSE(r.exit) << r.error;
    EXPECT_EQ(r.config.gdb, "tcp::1234");
    EXPECT_TRUE(r.config.gdb_wait);
  }
  {
    const CliResult r = parse_cli(with_kernel({"-gdb", "unix:/tmp/g.sock", "-serial", "none"}));
    ASSERT_FALSE(r.exit) << r.error;
    EXPECT_EQ(r.config.gdb, "unix:/tmp/g.sock");
    EXPECT_FALSE(r.config.gdb_wait);
  }
  EXPECT_TRUE(parse_cli(with_kernel({"-gdb", "stdio", "-serial", "none"})).config.gdb == "stdio");
  EXPECT_EQ(error_of(with_kernel({"-S"})), "popek: -S waits for gdb: give -s or -gdb too");
  EXPECT_EQ(error_of(with_kernel({"-gdb", "tcp::99999"})),
            "popek: -gdb tcp::99999: the port must be a number from 0 to 65535");
  EXPECT_EQ(error_of(with_kernel({"-gdb", "1234"})),
            "popek: -gdb 1234: expected tcp:[HOST]:PORT, unix:PATH or stdio");
  EXPECT_EQ(error_of(with_kernel({"-gdb", "stdio"})).rfind("popek: -gdb stdio: standard input and output", 0), 0u);
  EXPECT_EQ(error_of(with_kernel({"-s", "--engine=jit", "--lockstep"})),
            "popek: -gdb cannot be used with --lockstep (the debugger would drive one machine only)");
}

}  // namespace
}  // namespace popek::frontend
