/* The cluster test's backend: answers every HTTP/1.1 request, on any path, with its Pod's name, so a
 * client can tell which Pod (the leader's or not) served it. One detached thread per connection keeps
 * it small: a keep-alive client parked on one connection never delays another client.
 * Environment: POD_NAME (default: the host name, which is the Pod name in a Pod), PORT (default 8080). */
#define _GNU_SOURCE /* memmem, accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum { kHeaderLimit = 8192 };

/* Built once at start, read-only afterwards, so threads share them without locks. */
static char body[300];
static size_t body_len;

static void on_stop(int signo) {
  (void)signo;
  /* Exit at once, from whichever thread took the signal: nothing is buffered and the kernel closes
   * the sockets, so the kubelet sees the container end without waiting out the grace period. */
  _exit(0);
}

static int send_all(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Whether the comma-separated header value (len bytes) holds token, case-insensitively. */
static int has_token(const char* value, size_t len, const char* token) {
  size_t token_len = strlen(token);
  size_t i = 0;
  while (i < len) {
    while (i < len && (value[i] == ' ' || value[i] == '\t' || value[i] == ',')) i++;
    size_t start = i;
    while (i < len && value[i] != ',') i++;
    size_t end = i;
    while (end > start && (value[end - 1] == ' ' || value[end - 1] == '\t')) end--;
    if (end - start == token_len && strncasecmp(value + start, token, token_len) == 0) return 1;
  }
  return 0;
}

struct request {
  int keep_alive;
  int head; /* HEAD: same headers, no body */
  long long content_length;
  int chunked;
};

/* Parses the request line and headers in [buf, buf+len), which ends with the blank line.
 * Returns -1 when the request is malformed. */
static int parse_request(const char* buf, size_t len, struct request* req) {
  const char* end = buf + len;
  const char* line_end = memchr(buf, '\r', len);
  if (line_end == NULL) return -1;
  /* Request line: METHOD SP TARGET SP HTTP/1.x */
  const char* sp1 = memchr(buf, ' ', (size_t)(line_end - buf));
  if (sp1 == NULL || sp1 == buf) return -1;
  const char* sp2 = memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1));
  if (sp2 == NULL || line_end - sp2 - 1 != 8 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) return -1;
  int http10 = sp2[8] == '0';
  req->head = sp1 - buf == 4 && strncmp(buf, "HEAD", 4) == 0;
  req->content_length = 0;
  req->chunked = 0;
  /* HTTP/1.1 keeps the connection by default, HTTP/1.0 only when asked (RFC 9112 section 9.3). */
  int close_asked = 0, keep_asked = 0;

  const char* line = line_end + 2;
  while (line < end && !(line[0] == '\r' && line + 1 < end && line[1] == '\n')) {
    line_end = memchr(line, '\r', (size_t)(end - line));
    if (line_end == NULL) return -1;
    const char* colon = memchr(line, ':', (size_t)(line_end - line));
    if (colon == NULL) return -1;
    size_t name_len = (size_t)(colon - line);
    const char* value = colon + 1;
    size_t value_len = (size_t)(line_end - value);
    if (name_len == 10 && strncasecmp(line, "Connection", 10) == 0) {
      close_asked |= has_token(value, value_len, "close");
      keep_asked |= has_token(value, value_len, "keep-alive");
    } else if (name_len == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
      char number[24];
      while (value_len > 0 && (*value == ' ' || *value == '\t')) value++, value_len--;
      if (value_len == 0 || value_len >= sizeof number) return -1;
      memcpy(number, value, value_len);
      number[value_len] = '\0';
      char* number_end;
      errno = 0;
      req->content_length = strtoll(number, &number_end, 10);
      while (*number_end == ' ' || *number_end == '\t') number_end++;
      if (errno != 0 || *number_end != '\0' || req->content_length < 0 || number[0] == '-') return -1;
    } else if (name_len == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0) {
      req->chunked = 1;
    }
    line = line_end + 2;
  }
  req->keep_alive = !close_asked && (!http10 || keep_asked);
  return 0;
}

static void* serve(void* arg) {
  int fd = (int)(long)arg;
  char buf[kHeaderLimit];
  size_t have = 0;

  for (;;) {
    /* Read until the blank line ending the headers; more than 8 KiB without one is refused. */
    char* headers_end = NULL;
    while ((headers_end = memmem(buf, have, "\r\n\r\n", 4)) == NULL) {
      if (have == sizeof buf) goto done;
      ssize_t n = recv(fd, buf + have, sizeof buf - have, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) goto done; /* peer closed, idle timeout or error */
      have += (size_t)n;
    }
    size_t request_len = (size_t)(headers_end + 4 - buf);

    struct request req;
    if (parse_request(buf, request_len, &req) < 0) {
      static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      send_all(fd, bad, sizeof bad - 1);
      goto done;
    }
    /* A chunked body is not worth parsing here: answer, then close instead of misreading it. */
    if (req.chunked) req.keep_alive = 0;

    char response[512];
    int header_len = snprintf(response, sizeof response,
                              "HTTP/1.1 200 OK\r\n"
                              "Content-Type: text/plain; charset=utf-8\r\n"
                              "Content-Length: %zu\r\n"
                              "%s\r\n",
                              body_len, req.keep_alive ? "" : "Connection: close\r\n");
    size_t response_len = (size_t)header_len;
    if (!req.head) {
      memcpy(response + response_len, body, body_len);
      response_len += body_len;
    }
    if (send_all(fd, response, response_len) < 0 || !req.keep_alive) goto done;

    /* Drop the request's body, then keep whatever follows (a pipelined request). */
    have -= request_len;
    memmove(buf, buf + request_len, have);
    long long skip = req.content_length;
    if ((long long)have >= skip) {
      have -= (size_t)skip;
      memmove(buf, buf + (size_t)skip, have);
    } else {
      skip -= (long long)have;
      have = 0;
      while (skip > 0) {
        ssize_t n = recv(fd, buf, skip < (long long)sizeof buf ? (size_t)skip : sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) goto done;
        skip -= n;
      }
    }
  }
done:
  close(fd);
  return NULL;
}

int main(void) {
  const char* name = getenv("POD_NAME");
  char host[256];
  if (name == NULL || name[0] == '\0') {
    if (gethostname(host, sizeof host) < 0) {
      perror("echo-pod: gethostname");
      return 1;
    }
    host[sizeof host - 1] = '\0';
    name = host;
  }
  if (strlen(name) > 253) { /* a DNS subdomain, the longest name Kubernetes gives an object */
    fprintf(stderr, "echo-pod: POD_NAME longer than 253 characters\n");
    return 2;
  }
  body_len = (size_t)snprintf(body, sizeof body, "%s\n", name);

  long port = 8080;
  const char* port_env = getenv("PORT");
  if (port_env != NULL && port_env[0] != '\0') {
    char* port_end;
    port = strtol(port_env, &port_end, 10);
    if (*port_end != '\0' || port < 1 || port > 65535) {
      fprintf(stderr, "echo-pod: PORT=%s is not a port number (1-65535)\n", port_env);
      return 2;
    }
  }

  struct sigaction stop;
  memset(&stop, 0, sizeof stop);
  stop.sa_handler = on_stop;
  sigaction(SIGTERM, &stop, NULL);
  sigaction(SIGINT, &stop, NULL);
  /* A client that goes away mid-response must cost one connection, not the process. */
  signal(SIGPIPE, SIG_IGN);

  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) {
    perror("echo-pod: socket");
    return 1;
  }
  int on = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons((unsigned short)port);
  if (bind(listener, (struct sockaddr*)&addr, sizeof addr) < 0) {
    fprintf(stderr, "echo-pod: bind 0.0.0.0:%ld: %s\n", port, strerror(errno));
    return 1;
  }
  if (listen(listener, SOMAXCONN) < 0) {
    perror("echo-pod: listen");
    return 1;
  }

  /* Small stacks: a connection needs its 8 KiB buffer and little else, and a load test may hold
   * thousands of them. */
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);

  fprintf(stderr, "echo-pod: answering as %s on 0.0.0.0:%ld\n", name, port);

  for (;;) {
    int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS) {
        usleep(10 * 1000); /* out of descriptors: let connections close rather than spin */
      }
      continue; /* EINTR, ECONNABORTED and the like concern one connection only */
    }
    /* An idle keep-alive connection whose client vanished would hold its thread forever. */
    struct timeval idle = {.tv_sec = 120, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
    pthread_t thread;
    if (pthread_create(&thread, &attr, serve, (void*)(long)fd) != 0) close(fd);
  }
}
