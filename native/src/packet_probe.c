/*
 * One question on the wire and a bounded wait for its answer: what `kvip check` needs to find out whether
 * another host already answers for the VIP (an RFC 5227 ARP probe, an IPv6 DAD neighbour solicitation).
 *
 *   packetProbe({ ifname, frame, timeoutMs, resendMs?, ethertype, offset, bytes, mask?, maxAnswers? })
 *     : Promise<Buffer[]>
 *
 * An AF_PACKET raw socket bound to ifname for one ethertype sends `frame` (at once, then again every
 * resendMs while waiting, when given) and reads what arrives until timeoutMs has passed since the call. A
 * received frame whose bytes at `offset` equal `bytes` (under `mask`: (frame & mask) == (bytes & mask),
 * absent mask: all ones) is an answer; the promise resolves with the answers (their first 256 bytes each) once
 * maxAnswers (1-16, default 1) have come, or at the deadline with those that did (none: an empty array). More
 * than one is how `kvip check` tells two hosts that both answer for the VIP. Frames this host sends are never
 * a match (see below).
 *
 * Why in C: Node has no raw sockets. Why on libuv's threadpool (napi async work) and not on a thread of its
 * own as tcp_connect.c: this runs in `kvip check`, a short one-shot command, a few times and one at a time,
 * with a wait capped at MAX_TIMEOUT_MS, so a pool thread is held for at most that long; `kvip start` never
 * calls it. The socket is opened, used and closed inside the worker (close() of an AF_PACKET socket waits for
 * an RCU grace period, 8-20 ms, which is thus never on the event loop), so no path can leave it open.
 *
 * The socket is created with protocol 0 (it receives nothing) and only bind() names the ethertype and the
 * interface: a socket created with the ethertype would queue matching frames of every interface until bound.
 * Bound to one ethertype (not ETH_P_ALL) it sees no frame this host sends, its own probe nor a running kvip's
 * gratuitous ARP for the VIP; PACKET_OUTGOING frames are skipped all the same.
 *
 * Errors reject with an Error whose .code is the errno name (ENODEV, EPERM without CAP_NET_RAW, ENETDOWN, ...)
 * and .syscall the failing call: "packetProbe(eth0): EPERM (Operation not permitted)". Arguments of the wrong
 * type or range throw a TypeError.
 */
#include "addon.h"

#include <linux/capability.h>
#include "errors.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define OP "packetProbe"
#define MIN_FRAME 14
#define MAX_FRAME 1514
#define CAPTURE 256 /* bytes kept of a received frame: far more than an ARP reply or an NA needs */
#define MAX_MATCH 64
#define MAX_TIMEOUT_MS 10000
#define MAX_ANSWERS 16

struct probe {
  char ifname[IF_NAMESIZE + 1]; /* one more than fits, to detect names that are too long */
  unsigned char frame[MAX_FRAME];
  size_t frame_len;
  bool bad_name; /* empty, too long or with a NUL: no interface can have it */
  uint32_t timeout_ms, resend_ms; /* resend_ms 0: sent once */
  uint16_t ethertype;
  uint32_t offset;
  unsigned char bytes[MAX_MATCH], mask[MAX_MATCH];
  size_t match_len;
  int64_t deadline;
  /* The outcome, written by the worker, read by complete(). */
  int err;
  const char *syscall;
  uint32_t max_answers;
  size_t answers;
  unsigned char got[MAX_ANSWERS][CAPTURE];
  size_t got_len[MAX_ANSWERS];
  napi_deferred deferred;
  napi_async_work work;
};

/* A Uint8Array option of min..max bytes, copied into out. */
static bool get_bytes(napi_env env, napi_value opts, const char *name, size_t min, size_t max, bool required,
                      unsigned char *out, size_t *len) {
  napi_value v;
  if (!kvip_get_opt(env, opts, name, &v)) return !required;
  bool typed = false;
  napi_typedarray_type type;
  void *data;
  size_t n;
  if (napi_is_typedarray(env, v, &typed) != napi_ok || !typed ||
      napi_get_typedarray_info(env, v, &type, &n, &data, NULL, NULL) != napi_ok || type != napi_uint8_array ||
      n < min || n > max)
    return false;
  memcpy(out, data, n);
  *len = n;
  return true;
}

static bool read_probe(napi_env env, napi_callback_info info, struct probe *p) {
  size_t argc = 1;
  napi_value opts, v;
  napi_valuetype t = napi_undefined;
  if (napi_get_cb_info(env, info, &argc, &opts, NULL, NULL) != napi_ok || argc < 1 ||
      napi_typeof(env, opts, &t) != napi_ok || t != napi_object)
    return kvip_fail_type(env, OP ": expects an options object");
  size_t n = 0;
  if (!kvip_get_opt(env, opts, "ifname", &v) || napi_typeof(env, v, &t) != napi_ok || t != napi_string ||
      napi_get_value_string_utf8(env, v, p->ifname, sizeof p->ifname, &n) != napi_ok)
    return kvip_fail_type(env, OP ": ifname must be a string");
  if (!get_bytes(env, opts, "frame", MIN_FRAME, MAX_FRAME, true, p->frame, &p->frame_len))
    return kvip_fail_type(env, OP ": frame must be a Uint8Array of 14-1514 bytes");
  if (!kvip_get_u32_opt(env, opts, "timeoutMs", 1, MAX_TIMEOUT_MS, true, &p->timeout_ms))
    return kvip_fail_type(env, OP ": timeoutMs must be an integer 1-10000");
  if (!kvip_get_u32_opt(env, opts, "resendMs", 0, MAX_TIMEOUT_MS, false, &p->resend_ms))
    return kvip_fail_type(env, OP ": resendMs must be an integer 0-10000");
  uint32_t ethertype = 0;
  if (!kvip_get_u32_opt(env, opts, "ethertype", 0x600, 0xffff, true, &ethertype))
    return kvip_fail_type(env, OP ": ethertype must be an integer 0x600-0xffff");
  p->ethertype = (uint16_t)ethertype;
  if (!kvip_get_u32_opt(env, opts, "offset", 0, CAPTURE - 1, true, &p->offset))
    return kvip_fail_type(env, OP ": offset must be an integer 0-255");
  if (!get_bytes(env, opts, "bytes", 1, MAX_MATCH, true, p->bytes, &p->match_len) ||
      p->offset + p->match_len > CAPTURE)
    return kvip_fail_type(env, OP ": bytes must be a Uint8Array of 1-64 bytes ending within the first 256");
  p->max_answers = 1;
  if (!kvip_get_u32_opt(env, opts, "maxAnswers", 1, MAX_ANSWERS, false, &p->max_answers))
    return kvip_fail_type(env, OP ": maxAnswers must be an integer 1-16");
  size_t mask_len = p->match_len;
  memset(p->mask, 0xff, sizeof p->mask);
  if (!get_bytes(env, opts, "mask", 1, MAX_MATCH, false, p->mask, &mask_len) || mask_len != p->match_len)
    return kvip_fail_type(env, OP ": mask must be a Uint8Array as long as bytes");
  p->bad_name = n == 0 || n >= IF_NAMESIZE || strlen(p->ifname) != n; /* ENODEV, as the kernel would say */
  return true;
}

static bool matches(const struct probe *p, const unsigned char *frame, size_t len) {
  if (len < p->offset + p->match_len) return false;
  for (size_t i = 0; i < p->match_len; i++)
    if ((frame[p->offset + i] & p->mask[i]) != (p->bytes[i] & p->mask[i])) return false;
  return true;
}

static int send_frame(int fd, const struct probe *p) {
  ssize_t sent;
  do {
    sent = send(fd, p->frame, p->frame_len, 0);
  } while (sent < 0 && errno == EINTR);
  return sent < 0 ? errno : 0;
}

/* Reads every queued frame, keeping the answers (in p->got); true once there are max_answers of them. 0 or an
 * errno in *err. */
static bool drain(int fd, int ifindex, struct probe *p, int *err) {
  unsigned char buf[CAPTURE];
  for (;;) {
    struct sockaddr_ll from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
    if (n < 0) {
      *err = errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : errno;
      return false;
    }
    if (from.sll_pkttype == PACKET_OUTGOING || from.sll_ifindex != ifindex) continue;
    if (!matches(p, buf, (size_t)n)) continue;
    memcpy(p->got[p->answers], buf, (size_t)n);
    p->got_len[p->answers] = (size_t)n;
    if (++p->answers == p->max_answers) return true;
  }
}

/* The exchange itself, on a pool thread: 0 or an errno with p->syscall. */
static int exchange(int fd, int ifindex, struct probe *p) {
  int64_t next_send = kvip_now_ms();
  for (;;) {
    int64_t now = kvip_now_ms();
    if (now >= p->deadline) return 0;
    if (next_send >= 0 && now >= next_send) {
      p->syscall = "send";
      int err = send_frame(fd, p);
      if (err != 0) return err;
      next_send = p->resend_ms > 0 ? now + p->resend_ms : -1;
    }
    int64_t until = next_send >= 0 && next_send < p->deadline ? next_send : p->deadline;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int ready = poll(&pfd, 1, until > now ? (int)(until - now) : 0);
    if (ready < 0 && errno != EINTR) {
      p->syscall = "poll";
      return errno;
    }
    if (ready > 0) {
      int err = 0;
      p->syscall = "recvfrom";
      if (drain(fd, ifindex, p, &err)) return 0;
      if (err != 0) return err;
    }
  }
}

static void execute(napi_env env, void *data) {
  struct probe *p = data;
  p->syscall = "if_nametoindex";
  errno = 0;
  unsigned ifindex = p->bad_name ? 0 : if_nametoindex(p->ifname);
  if (ifindex == 0) {
    p->err = !p->bad_name && errno != 0 ? errno : ENODEV;
    return;
  }
  // This runs on a libuv pool thread, whose capabilities are its own: a non-root kvip raised NET_RAW on the
  // JS thread only. Failing here is not an error in itself: socket() then says EPERM.
  (void)kvip_raise_capability_here(CAP_NET_RAW);
  p->syscall = "socket";
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    p->err = errno;
    return;
  }
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(p->ethertype);
  sll.sll_ifindex = (int)ifindex;
  p->syscall = "bind";
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0) p->err = errno;
  else p->err = exchange(fd, (int)ifindex, p);
  close(fd); /* Linux releases the fd even when close() reports EINTR: never retried */
}

static void complete(napi_env env, napi_status status, void *data) {
  struct probe *p = data;
  napi_value result;
  if (status != napi_ok) {
    napi_value error = kvip_errno_error(env, ECANCELED, OP, p->ifname, "napi", "the probe was cancelled");
    if (error != NULL) napi_reject_deferred(env, p->deferred, error);
  } else if (p->err != 0) {
    napi_value error = kvip_errno_error(env, p->err, OP, p->ifname, p->syscall, NULL);
    if (error != NULL) napi_reject_deferred(env, p->deferred, error);
  } else {
    bool ok = napi_create_array_with_length(env, p->answers, &result) == napi_ok;
    for (size_t i = 0; ok && i < p->answers; i++) {
      void *copy;
      napi_value frame;
      ok = napi_create_buffer_copy(env, p->got_len[i], p->got[i], &copy, &frame) == napi_ok &&
           napi_set_element(env, result, (uint32_t)i, frame) == napi_ok;
    }
    if (ok) {
      napi_resolve_deferred(env, p->deferred, result);
    } else {
      napi_value error = kvip_errno_error(env, ENOMEM, OP, p->ifname, "napi", "cannot copy the frames");
      if (error != NULL) napi_reject_deferred(env, p->deferred, error);
    }
  }
  napi_delete_async_work(env, p->work);
  free(p);
}

static napi_value packet_probe(napi_env env, napi_callback_info info) {
  struct probe *p = calloc(1, sizeof *p);
  if (p == NULL) {
    napi_throw_error(env, "ENOMEM", OP ": out of memory");
    return NULL;
  }
  if (!read_probe(env, info, p)) {
    free(p);
    return NULL;
  }
  p->deadline = kvip_now_ms() + p->timeout_ms;
  napi_value promise, name;
  if (napi_create_promise(env, &p->deferred, &promise) != napi_ok) {
    free(p);
    return NULL;
  }
  if (napi_create_string_utf8(env, OP, NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, p, &p->work) != napi_ok ||
      napi_queue_async_work(env, p->work) != napi_ok) {
    napi_value error = kvip_errno_error(env, ENOMEM, OP, p->ifname, "napi", "cannot queue the probe");
    if (error != NULL) napi_reject_deferred(env, p->deferred, error);
    if (p->work != NULL) napi_delete_async_work(env, p->work);
    free(p);
  }
  return promise;
}

napi_status kvip_packet_probe_init(napi_env env, napi_value exports) {
  return kvip_export(env, exports, "packetProbe", packet_probe);
}
