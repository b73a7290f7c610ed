/* The Pod sandbox's process, as Kubernetes' build/pause/linux/pause.c: it holds the Pod's namespaces
 * and does nothing else. It runs as PID 1 of the sandbox, so it must install its own handlers (the
 * kernel drops default-action signals sent to PID 1) and must reap zombies that get reparented to it
 * when the Pod shares one process namespace. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int signo) {
  (void)signo;
  _exit(0); /* The runtime's stop is the only way out; exit 0 so it counts as a clean stop. */
}

static void on_child(int signo) {
  (void)signo;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  if (getpid() != 1) {
    /* Same warning as upstream: outside a sandbox it cannot reap anything but its own children. */
    fputs("pause: warning: not running as PID 1\n", stderr);
  }

  struct sigaction stop;
  memset(&stop, 0, sizeof stop);
  stop.sa_handler = on_stop;
  if (sigaction(SIGINT, &stop, NULL) < 0 || sigaction(SIGTERM, &stop, NULL) < 0) {
    perror("pause: sigaction");
    return 1;
  }

  struct sigaction child;
  memset(&child, 0, sizeof child);
  child.sa_handler = on_child;
  child.sa_flags = SA_NOCLDSTOP; /* Stopped children are not zombies; wake only for exits. */
  if (sigaction(SIGCHLD, &child, NULL) < 0) {
    perror("pause: sigaction");
    return 1;
  }

  for (;;) pause();
}
