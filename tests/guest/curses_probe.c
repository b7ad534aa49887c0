/* curses_probe: a person at a terminal running `popek -display curses` with the
 * tests/guest/bootsector/vga_text.asm disk. The probe is the terminal (a pseudo-terminal,
 * TERM=xterm, a UTF-8 locale): it keeps what popek draws, types keys, and follows the
 * guest's progress on its debug console file.
 *
 * usage: curses_probe DEBUGCON_FILE POPEK [ARGS...]
 *
 * Checks, in order:
 *  1. the guest's text-mode screen reaches the terminal: its teletype and direct-write
 *     text, and the line-graphics characters as their Unicode glyphs;
 *  2. "A" typed at the terminal reaches the guest through INT 16h as 'A' (shift held);
 *  3. Return takes the guest to mode 13h, and the terminal shows the graphics notice;
 *  4. Ctrl-A x ends popek with status 0 and the terminal is given back (xterm's
 *     alternate screen is left).
 * Prints "ok ..." per check, or "FAIL: ..." with what the terminal received; exit
 * status 0 when all pass, 1 otherwise, 2 on a usage or system error. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char screen[1 << 20]; /* everything popek wrote to the terminal */
static size_t screen_len;
static int master = -1;
static pid_t child;
static int fails;

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Keep what popek writes, waiting at most `ms` for it. */
static void take_output(int ms) {
  struct pollfd p = {master, POLLIN, 0};
  if (poll(&p, 1, ms) <= 0 || !(p.revents & POLLIN)) return;
  char buf[4096];
  const ssize_t n = read(master, buf, sizeof buf);
  if (n <= 0) return;
  size_t room = sizeof screen - 1 - screen_len;
  size_t k = (size_t)n < room ? (size_t)n : room;
  memcpy(screen + screen_len, buf, k);
  screen_len += k;
  screen[screen_len] = 0;
}

static int file_has_line(const char* path, const char* line) {
  FILE* f = fopen(path, "r");
  if (!f) return 0;
  char buf[256];
  int found = 0;
  while (fgets(buf, sizeof buf, f)) {
    buf[strcspn(buf, "\n")] = 0;
    if (strcmp(buf, line) == 0) found = 1;
  }
  fclose(f);
  return found;
}

/* Wait at most `ms` for `line` on the debug console. */
static int wait_line(const char* path, const char* line, int ms) {
  const long long end = now_ms() + ms;
  while (now_ms() < end) {
    if (file_has_line(path, line)) return 1;
    take_output(20);
    int st;
    if (waitpid(child, &st, WNOHANG) == child) {
      child = 0;
      break;
    }
  }
  printf("FAIL: no line '%s' from the guest on the debug console\n", line);
  fails++;
  return 0;
}

/* Did the terminal receive `text` at or after `from`? */
static int shown(size_t from, const char* text) {
  return from <= screen_len && memmem(screen + from, screen_len - from, text, strlen(text)) != NULL;
}

/* Wait at most `ms` for the terminal to receive `text` at or after `from` (popek redraws
 * on a host timer: on a loaded machine the first frame may come late). */
static void expect_shown(size_t from, const char* text, const char* what, int ms) {
  const long long end = now_ms() + ms;
  while (!shown(from, text) && now_ms() < end) take_output(20);
  if (shown(from, text)) {
    printf("ok %s\n", what);
  } else {
    printf("FAIL: %s: the terminal never received \"%s\"\n", what, text);
    fails++;
  }
}

static void type(const char* keys) {
  if (write(master, keys, strlen(keys)) != (ssize_t)strlen(keys)) {
    printf("FAIL: cannot type at the terminal: %s\n", strerror(errno));
    fails++;
  }
}

/* The terminal's bytes, escapes made visible, for a person reading a failure. */
static void dump_screen(void) {
  printf("--- what the terminal received (%zu bytes) ---\n", screen_len);
  for (size_t i = 0; i < screen_len; ++i) {
    const unsigned char c = (unsigned char)screen[i];
    if (c == 0x1B) fputs("\\e", stdout);
    else if (c == '\r') fputs("\\r", stdout);
    else putchar(c);
  }
  printf("\n---\n");
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s DEBUGCON_FILE POPEK [ARGS...]\n", argv[0]);
    return 2;
  }
  const char* debugcon = argv[1];
  struct winsize ws = {25, 80, 0, 0};
  child = forkpty(&master, NULL, NULL, &ws);
  if (child < 0) {
    fprintf(stderr, "curses_probe: forkpty: %s\n", strerror(errno));
    return 2;
  }
  if (child == 0) {
    setenv("TERM", "xterm", 1);
    setenv("LC_ALL", "C.UTF-8", 1);
    execv(argv[2], argv + 2);
    fprintf(stderr, "curses_probe: %s: %s\n", argv[2], strerror(errno));
    _exit(127);
  }
  if (wait_line(debugcon, "T", 30000)) {
    expect_shown(0, "BIOS teletype: Hello, world!", "teletype text on the terminal", 10000);
    expect_shown(0, "direct to B800", "text written to B800 on the terminal", 10000);
    expect_shown(0, "\xE2\x96\x88", "CP437 DBh as U+2588 (full block)", 10000);
    expect_shown(0, "\xE2\x94\x80", "CP437 C4h as U+2500 (box drawing)", 10000);
    type("A");
    if (wait_line(debugcon, "K", 10000)) {
      if (file_has_line(debugcon, "A")) printf("ok \"A\" typed reached INT 16h as 'A'\n");
      else printf("FAIL: the guest read another key than 'A'\n"), fails++;
    }
    const size_t before_graphics = screen_len;
    type("\r");
    if (!fails && wait_line(debugcon, "G", 10000)) {
      expect_shown(before_graphics, "graphics mode (640x400)", "the graphics-mode notice", 10000);
    }
  }
  const size_t before_quit = screen_len;
  type("\x01x");
  int status = -1;
  const long long end = now_ms() + 5000;
  while (child && now_ms() < end) {
    take_output(10);
    int st;
    if (waitpid(child, &st, WNOHANG) == child) {
      status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      child = 0;
    }
  }
  if (child) {
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    printf("FAIL: popek still running 5 s after Ctrl-A x\n");
    fails++;
  } else if (status != 0) {
    printf("FAIL: popek ended with status %d after Ctrl-A x (want 0)\n", status);
    fails++;
  } else {
    printf("ok Ctrl-A x ended popek with status 0\n");
  }
  expect_shown(before_quit, "\x1b[?1049l", "the terminal is given back (alternate screen left)", 2000);
  if (fails) {
    dump_screen();
    return 1;
  }
  printf("PASS\n");
  return 0;
}
