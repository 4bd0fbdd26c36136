/*
 * The TCP connection of a BGP session: an outgoing connect with what BGP asks of its socket before the SYN
 * leaves (RFC 2385 TCP MD5 signatures, the TTL / hop limit of eBGP, a chosen source address), resolved to a
 * connected fd that JS wraps in a net.Socket ({fd, readable: true, writable: true}).
 *
 * Why hand-written: Node's net cannot set a socket option before connect(), and the key must be on the
 * socket before the SYN (a peer that requires signatures drops an unsigned SYN); net.Socket does take a
 * connected fd, so only the connect is done here.
 *
 *   tcpConnect({ address, port, localAddress?, localPort?, ttl?, md5Key?, timeoutMs }): Promise<number>
 *
 * socket(AF_INET or AF_INET6, by the address; non-blocking, close-on-exec), IP_TTL / IPV6_UNICAST_HOPS when
 * ttl is given (1-255), TCP_MD5SIG for the peer's address when md5Key is given (1-80 bytes; a string is
 * taken as UTF-8), bind() to localAddress / localPort when given, a non-blocking connect(), then a wait for
 * its outcome (poll for POLLOUT, then SO_ERROR) until timeoutMs has passed since the call.
 *
 * The timeout is always armed. Measured on Linux 6.18 (test/native/tcp-connect.netns.test.ts): with a key
 * set, a connect that would be refused (no listener, a listener without the key or with another) is not
 * refused: the signed socket drops the peer's unsigned RST, and the connect would only end when the SYN
 * retries run out (net.ipv4.tcp_syn_retries 6: about two minutes); here it is ETIMEDOUT at timeoutMs.
 * Without a key the same connect is ECONNREFUSED within a millisecond.
 *
 * The wait runs on a thread of its own (one per pending connect, signals blocked), not on the event loop
 * and not on libuv's threadpool: a peer that drops the SYN would hold a pool thread for the whole timeout,
 * and with four of them (the default pool) a few silent peers would stall every fs call and DNS lookup of
 * the process. The thread hands the outcome back through a thread-safe function, which keeps the event loop
 * alive while a connect is pending, as net.connect does; the function's finalizer joins the thread, so a
 * worker terminated with a connect pending stops it (within 100 ms) and closes its fd.
 *
 * Errors reject with an Error whose .code is the errno name (ETIMEDOUT, ECONNREFUSED, EHOSTUNREACH,
 * ENETUNREACH, EADDRNOTAVAIL, EADDRINUSE, EINVAL, ENOPROTOOPT: a kernel without CONFIG_TCP_MD5SIG, ...) and
 * .syscall the failing call: "tcpConnect(198.51.100.2:179 from 198.51.100.1): ECONNREFUSED (...)". Options
 * of the wrong type or range throw a TypeError. The fd is closed on every error path; the key is never in
 * a message (its length is), and this file's copies of it are wiped once it is on the socket.
 */
#include "addon.h"
#include "errors.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define OP "tcpConnect"
#define POLL_SLICE_MS 100

struct request {
  struct sockaddr_storage peer, local;
  socklen_t peer_len, local_len; /* local_len 0: no bind */
  uint32_t ttl;                  /* 0: the system's default */
  unsigned char key[TCP_MD5SIG_MAXKEYLEN];
  size_t key_len; /* meaningful when has_key */
  bool has_key;
  bool bad_key_len; /* 0 or > 80 bytes: EINVAL, before any socket is opened */
  uint32_t timeout_ms;
  char what[144]; /* "<peer> from <local>", for messages */
};

/* A connect in progress: filled by tcp_connect, then the waiting thread, read by settle(), freed by finished(). */
struct pending {
  int fd; /* -1 once settle() has handed it to JS or closed it */
  int64_t deadline;
  int err;
  const char *syscall;
  bool timed_out; /* err ETIMEDOUT from the deadline here, not from the kernel's SYN retries */
  bool md5;
  uint32_t timeout_ms;
  napi_deferred deferred;
  napi_threadsafe_function tsfn;
  pthread_t thread;
  bool started;            /* thread is running (or ran) and must be joined */
  atomic_bool abandoned;   /* the environment is going away: the thread stops, and leaves tsfn alone */
  char what[144];
};

/* "198.51.100.2:179", "[2001:db8::2]:179"; port 0 (a source address alone): "198.51.100.1", "2001:db8::1". */
static void format_endpoint(const struct sockaddr_storage *ss, char *out, size_t len) {
  char ip[INET6_ADDRSTRLEN] = "?";
  const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
  const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
  bool v4 = ss->ss_family == AF_INET;
  unsigned port = ntohs(v4 ? in->sin_port : in6->sin6_port);
  inet_ntop(ss->ss_family, v4 ? (const void *)&in->sin_addr : (const void *)&in6->sin6_addr, ip, sizeof ip);
  if (port == 0) snprintf(out, len, "%s", ip);
  else snprintf(out, len, v4 ? "%s:%u" : "[%s]:%u", ip, port);
}

/* A numeric IPv4 or IPv6 address (no host names, no scope) and a port into a sockaddr. */
static bool parse_ip(const char *text, uint16_t port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *in = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    *len = sizeof *in;
    return true;
  }
  if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    *len = sizeof *in6;
    return true;
  }
  return false;
}

/* A string option holding an IP address; present: parsed into ss (false when it is not an address). */
static bool get_ip_opt(napi_env env, napi_value opts, const char *name, uint16_t port, struct sockaddr_storage *ss,
                       socklen_t *len, bool *present) {
  napi_value v;
  *present = kvip_get_opt(env, opts, name, &v);
  if (!*present) return true;
  char text[INET6_ADDRSTRLEN + 2]; /* one more than fits, so truncation shows as a parse failure */
  size_t n;
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && t == napi_string &&
         napi_get_value_string_utf8(env, v, text, sizeof text, &n) == napi_ok && strlen(text) == n &&
         parse_ip(text, port, ss, len);
}

/* md5Key: a Uint8Array (Buffer) or a string (UTF-8), copied into req->key when it fits. */
static bool get_key_opt(napi_env env, napi_value opts, struct request *req) {
  napi_value v;
  if (!kvip_get_opt(env, opts, "md5Key", &v)) return true;
  req->has_key = true;
  napi_valuetype t;
  bool typed = false;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  if (t == napi_string) {
    if (napi_get_value_string_utf8(env, v, NULL, 0, &req->key_len) != napi_ok) return false;
    req->bad_key_len = req->key_len == 0 || req->key_len > TCP_MD5SIG_MAXKEYLEN;
    if (req->bad_key_len) return true;
    char buf[TCP_MD5SIG_MAXKEYLEN + 1];
    size_t n;
    bool ok = napi_get_value_string_utf8(env, v, buf, sizeof buf, &n) == napi_ok && n == req->key_len;
    memcpy(req->key, buf, req->key_len);
    explicit_bzero(buf, sizeof buf);
    return ok;
  }
  napi_typedarray_type type;
  void *data;
  if (napi_is_typedarray(env, v, &typed) != napi_ok || !typed ||
      napi_get_typedarray_info(env, v, &type, &req->key_len, &data, NULL, NULL) != napi_ok ||
      type != napi_uint8_array)
    return false;
  req->bad_key_len = req->key_len == 0 || req->key_len > TCP_MD5SIG_MAXKEYLEN;
  if (!req->bad_key_len) memcpy(req->key, data, req->key_len);
  return true;
}

/* Reads and checks the options object; false with a TypeError (or the getter's exception) pending. */
static bool read_request(napi_env env, napi_callback_info info, struct request *req) {
  size_t argc = 1;
  napi_value opts;
  napi_valuetype t = napi_undefined;
  memset(req, 0, sizeof *req);
  if (napi_get_cb_info(env, info, &argc, &opts, NULL, NULL) != napi_ok || argc < 1 ||
      napi_typeof(env, opts, &t) != napi_ok || t != napi_object)
    return kvip_fail_type(env, OP ": expects an options object");
  uint32_t port = 0, local_port = 0;
  bool has_address, has_local;
  if (!kvip_get_u32_opt(env, opts, "port", 1, 65535, true, &port))
    return kvip_fail_type(env, OP ": port must be an integer 1-65535");
  if (!get_ip_opt(env, opts, "address", (uint16_t)port, &req->peer, &req->peer_len, &has_address) || !has_address)
    return kvip_fail_type(env, OP ": address must be an IPv4 or IPv6 address");
  if (!kvip_get_u32_opt(env, opts, "localPort", 0, 65535, false, &local_port))
    return kvip_fail_type(env, OP ": localPort must be an integer 0-65535");
  if (!get_ip_opt(env, opts, "localAddress", (uint16_t)local_port, &req->local, &req->local_len, &has_local))
    return kvip_fail_type(env, OP ": localAddress must be an IPv4 or IPv6 address");
  if (has_local && req->local.ss_family != req->peer.ss_family)
    return kvip_fail_type(env, OP ": localAddress must be of the address's family");
  if (!has_local && local_port != 0) { /* a port alone: the wildcard address of the peer's family */
    parse_ip(req->peer.ss_family == AF_INET ? "0.0.0.0" : "::", (uint16_t)local_port, &req->local, &req->local_len);
  }
  if (!kvip_get_u32_opt(env, opts, "ttl", 1, 255, false, &req->ttl))
    return kvip_fail_type(env, OP ": ttl must be an integer 1-255");
  if (!kvip_get_u32_opt(env, opts, "timeoutMs", 1, INT32_MAX, true, &req->timeout_ms))
    return kvip_fail_type(env, OP ": timeoutMs must be an integer 1-2147483647");
  if (!get_key_opt(env, opts, req)) return kvip_fail_type(env, OP ": md5Key must be a Uint8Array or a string");
  char peer[64], local[64];
  format_endpoint(&req->peer, peer, sizeof peer);
  if (req->local_len == 0) {
    snprintf(req->what, sizeof req->what, "%s", peer);
  } else {
    format_endpoint(&req->local, local, sizeof local);
    snprintf(req->what, sizeof req->what, "%s from %s", peer, local);
  }
  return true;
}

/* Rejects the promise with the errno's Error (or, when even that cannot be made, the pending exception). */
static void reject(napi_env env, napi_deferred deferred, int err, const char *what, const char *syscall,
                   const char *reason) {
  napi_value error = kvip_errno_error(env, err, OP, what, syscall, reason);
  if (error == NULL) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending || napi_get_and_clear_last_exception(env, &error) != napi_ok) napi_get_undefined(env, &error);
  }
  napi_reject_deferred(env, deferred, error);
}

/* The outcome, on the JS thread: resolve with the fd, or close it and reject. env NULL: the environment is
 * being torn down (a worker exits) and finished() has already run: p is gone, nothing is left to do. */
static void settle(napi_env env, napi_value js_cb, void *context, void *data) {
  struct pending *p = data;
  napi_value fd;
  if (env == NULL) return;
  if (p->err == 0 && napi_create_int32(env, p->fd, &fd) == napi_ok) {
    napi_resolve_deferred(env, p->deferred, fd);
  } else {
    int err = p->err != 0 ? p->err : ENOMEM;
    char reason[160];
    close(p->fd);
    if (p->timed_out)
      snprintf(reason, sizeof reason, "not connected within %u ms%s", p->timeout_ms,
               p->md5 ? "; with a TCP MD5 key a refused connect or a key mismatch also ends so" : "");
    reject(env, p->deferred, err, p->what, p->syscall, p->timed_out ? reason : NULL);
  }
  p->fd = -1;
}

/* The thread-safe function's finalizer, on the JS thread, the last use of p: after settle() normally; when
 * the environment is torn down with a connect pending, instead of it (then the fd is closed here). The
 * thread is stopped and joined first, so that it can never touch the freed thread-safe function. */
static void finished(napi_env env, void *data, void *hint) {
  struct pending *p = data;
  atomic_store(&p->abandoned, true);
  if (p->started) pthread_join(p->thread, NULL);
  if (p->fd >= 0) close(p->fd);
  free(p);
}

/* The waiting thread: poll until the connect is done or the deadline passes, then hand over to settle().
 * In slices of POLL_SLICE_MS, to see `abandoned` (a worker being terminated waits at most that long). */
static void *wait_connect(void *arg) {
  struct pending *p = arg;
  struct pollfd pfd = {.fd = p->fd, .events = POLLOUT};
  int ready;
  do {
    if (atomic_load(&p->abandoned)) return NULL;
    int64_t left = p->deadline - kvip_now_ms();
    ready = left > 0 ? poll(&pfd, 1, left > POLL_SLICE_MS ? POLL_SLICE_MS : (int)left) : 0;
  } while ((ready < 0 && errno == EINTR) || (ready == 0 && p->deadline > kvip_now_ms()));
  int soerr = 0;
  socklen_t len = sizeof soerr;
  if (ready == 0) {
    p->timed_out = true;
    p->err = ETIMEDOUT;
    p->syscall = "connect";
  } else if (ready < 0) {
    p->err = errno;
    p->syscall = "poll";
  } else if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) {
    p->err = errno;
    p->syscall = "getsockopt";
  } else {
    p->err = soerr; /* 0: connected */
    p->syscall = "connect";
  }
  /* napi_closing: the environment is going away (finished() is joining this thread); tsfn is not ours. */
  if (napi_call_threadsafe_function(p->tsfn, p, napi_tsfn_blocking) != napi_closing)
    napi_release_threadsafe_function(p->tsfn, napi_tsfn_release);
  return NULL;
}

/* Starts the waiting thread for a connect in progress; 0, or an errno with *syscall (then fd is still the
 * caller's). */
static int start_wait(napi_env env, int fd, const struct request *req, int64_t deadline, napi_deferred deferred,
                      const char **syscall) {
  *syscall = "napi";
  struct pending *p = calloc(1, sizeof *p);
  if (p == NULL) return ENOMEM;
  p->fd = fd;
  p->deadline = deadline;
  p->md5 = req->has_key;
  p->timeout_ms = req->timeout_ms;
  p->deferred = deferred;
  atomic_init(&p->abandoned, false);
  memcpy(p->what, req->what, sizeof p->what);
  napi_value name;
  if (napi_create_string_utf8(env, OP, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, p, finished, NULL, settle, &p->tsfn) != napi_ok) {
    free(p);
    return ENOMEM;
  }
  *syscall = "pthread_create";
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread inherits it: signals stay with the event loop */
  int err = pthread_create(&p->thread, NULL, wait_connect, p);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  p->started = err == 0;
  if (err != 0) {
    p->fd = -1; /* the caller closes it */
    napi_release_threadsafe_function(p->tsfn, napi_tsfn_abort); /* finished() frees p */
  }
  return err;
}

/* Sets the key for the peer's address: TCP_MD5SIG, from before the SYN on. 0 or an errno. */
static int set_md5_key(int fd, struct request *req) {
  struct tcp_md5sig md;
  memset(&md, 0, sizeof md);
  memcpy(&md.tcpm_addr, &req->peer, req->peer_len);
  md.tcpm_keylen = (uint16_t)req->key_len;
  memcpy(md.tcpm_key, req->key, req->key_len);
  int err = setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md, sizeof md) == 0 ? 0 : errno;
  explicit_bzero(&md, sizeof md);
  return err;
}

/* socket, options, bind, connect: 0 with *fd connected or connecting (*in_progress), else an errno with
 * *syscall naming the call (and *fd still open when it was opened: the caller closes it). */
static int open_and_connect(struct request *req, int *fd, bool *in_progress, const char **syscall) {
  int family = req->peer.ss_family;
  int ttl = (int)req->ttl;
  *syscall = "socket";
  *fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (*fd < 0) return errno;
  *syscall = "setsockopt";
  if (ttl != 0 && (family == AF_INET ? setsockopt(*fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl)
                                     : setsockopt(*fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl)) != 0)
    return errno;
  int err = req->has_key ? set_md5_key(*fd, req) : 0;
  if (err != 0) return err;
  *syscall = "bind";
  if (req->local_len != 0 && bind(*fd, (struct sockaddr *)&req->local, req->local_len) != 0) return errno;
  *syscall = "connect";
  if (connect(*fd, (struct sockaddr *)&req->peer, req->peer_len) == 0) return 0;
  /* EINTR: the connect goes on in the background, as with EINPROGRESS. */
  if (errno != EINPROGRESS && errno != EINTR) return errno;
  *in_progress = true;
  return 0;
}

static napi_value tcp_connect(napi_env env, napi_callback_info info) {
  struct request req;
  if (!read_request(env, info, &req)) {
    explicit_bzero(req.key, sizeof req.key);
    return NULL;
  }
  int64_t deadline = kvip_now_ms() + req.timeout_ms;
  napi_deferred deferred;
  napi_value promise;
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) {
    explicit_bzero(req.key, sizeof req.key);
    return NULL;
  }
  if (req.bad_key_len) {
    char reason[96];
    snprintf(reason, sizeof reason, "the TCP MD5 key is %zu bytes; it must be 1-%d", req.key_len,
             TCP_MD5SIG_MAXKEYLEN);
    reject(env, deferred, EINVAL, req.what, "setsockopt", reason);
    return promise;
  }
  int fd = -1;
  bool in_progress = false;
  const char *syscall = NULL;
  int err = open_and_connect(&req, &fd, &in_progress, &syscall);
  explicit_bzero(req.key, sizeof req.key); /* also when open_and_connect failed before the key was set */
  if (err == 0 && in_progress) {
    err = start_wait(env, fd, &req, deadline, deferred, &syscall);
    if (err == 0) return promise;
  }
  napi_value value;
  if (err == 0 && napi_create_int32(env, fd, &value) == napi_ok) {
    napi_resolve_deferred(env, deferred, value); /* connected within the call */
    return promise;
  }
  if (fd >= 0) close(fd);
  reject(env, deferred, err != 0 ? err : ENOMEM, req.what, syscall, NULL);
  return promise;
}

napi_status kvip_tcp_connect_init(napi_env env, napi_value exports) {
  return kvip_export(env, exports, "tcpConnect", tcp_connect);
}
