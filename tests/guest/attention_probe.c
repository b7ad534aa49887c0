/* attention_probe: run popek on a pseudo-terminal, as a user at a terminal does, and
 * measure how long popek takes to end after SIGTERM or after the console escape Ctrl-A x.
 *
 * usage: attention_probe term|keys WAIT_MS POPEK [ARGS...]
 *
 * popek starts with the terminal as its standard input and output (the output is read
 * and discarded); after WAIT_MS the probe sends SIGTERM (term) or types Ctrl-A x (keys)
 * and prints "ended N ms after ACTION, status S" (S: the exit status, or 128 + the signal
 * that killed it). Exit status: 0 when popek ended, 1 when it ended before the action or
 * was still running 5 s after it (it is then killed), 2 on a usage or system error. */
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

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Read and discard whatever popek wrote, waiting at most `ms`. */
static void drain(int fd, int ms) {
  struct pollfd p = {fd, POLLIN, 0};
  char buf[4096];
  if (poll(&p, 1, ms) > 0 && (p.revents & POLLIN)) (void)!read(fd, buf, sizeof buf);
}

static int status_of(int st) { return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st); }

int main(int argc, char** argv) {
  if (argc < 4 || (strcmp(argv[1], "term") != 0 && strcmp(argv[1], "keys") != 0)) {
    fprintf(stderr, "usage: %s term|keys WAIT_MS POPEK [ARGS...]\n", argv[0]);
    return 2;
  }
  const int keys = strcmp(argv[1], "keys") == 0;
  const long long wait = atoll(argv[2]);
  int master;
  const pid_t pid = forkpty(&master, NULL, NULL, NULL);
  if (pid < 0) {
    fprintf(stderr, "attention_probe: forkpty: %s\n", strerror(errno));
    return 2;
  }
  if (pid == 0) {
    execv(argv[3], argv + 3);
    fprintf(stderr, "attention_probe: %s: %s\n", argv[3], strerror(errno));
    _exit(127);
  }
  int st;
  const long long start = now_ms();
  while (now_ms() - start < wait) {
    drain(master, 5);
    if (waitpid(pid, &st, WNOHANG) == pid) {
      printf("popek ended by itself before the %s, status %d\n", keys ? "keys" : "signal", status_of(st));
      return 1;
    }
  }
  const long long t0 = now_ms();
  if (keys) {
    if (write(master, "\001x", 2) != 2) {
      fprintf(stderr, "attention_probe: write to the terminal: %s\n", strerror(errno));
      kill(pid, SIGKILL);
      return 2;
    }
  } else {
    kill(pid, SIGTERM);
  }
  while (now_ms() - t0 < 5000) {
    if (waitpid(pid, &st, WNOHANG) == pid) {
      printf("ended %lld ms after %s, status %d\n", now_ms() - t0, keys ? "Ctrl-A x" : "SIGTERM",
             status_of(st));
      return 0;
    }
    drain(master, 1);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &st, 0);
  printf("still running 5 s after %s (killed)\n", keys ? "Ctrl-A x" : "SIGTERM");
  return 1;
}
