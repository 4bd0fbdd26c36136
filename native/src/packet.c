/*
 * Raw Ethernet frames out of one interface: what kvip's ARP provider needs to send gratuitous ARP (IPv4) and
 * unsolicited neighbour advertisements (IPv6) when it takes the VIP.
 *
 * Why hand-written: no maintained npm package sends raw AF_PACKET frames from a socket that stays open, and
 * Measured here, why that matters: closing an AF_PACKET socket can block the event loop for
 * 8-20 ms (packet_release waits for RCU grace periods; with protocol 0, as here, 0.1-2.3 ms was measured on a
 * quiet machine), while a send on an open one takes ~5 us from JS; the external fallback, `arping -U`, costs
 * 3-5 ms and a process per announcement. So the provider opens one socket per interface when it starts, sends
 * on it at every takeover, and closes it once at shutdown. The frames themselves are built in TypeScript
 * (src/vip/frames.ts); this file only moves bytes. Plain C on node_api.h (N-API 8, ABI-stable: the build does
 * not depend on the Node version).
 *
 *   openPacket(ifname: string): number      socket(AF_PACKET, SOCK_RAW) bound to ifname; returns the fd
 *   sendPacket(fd: number, frame: Buffer): number   send() the whole frame; returns the bytes sent
 *   closePacket(fd: number): void
 *
 * Errors are JS Errors with .code = errno name, e.g. "openPacket(eth9): ENODEV (No such device)".
 *
 * Details:
 * - protocol 0: the socket receives nothing, so nothing is ever queued on it and it never needs reading.
 * - SOCK_NONBLOCK: if the device queue is full, send() fails with EAGAIN/ENOBUFS instead of blocking the
 *   event loop; a lost announcement is repeated by the caller, a blocked loop would stall the lease renewal.
 * - sendPacket and closePacket check (getsockname) that the fd is an AF_PACKET socket, so a stale or wrong fd
 *   number can never write a frame into, or close, some other file of the process; that costs one
 *   getsockname() (~1.5 us on these machines, against ~5 us for a whole sendPacket call from JS).
 */
#include "addon.h"
#include "errors.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MIN_FRAME 14    /* an Ethernet header; shorter is EINVAL, as the kernel would say */
#define MAX_FRAME 65535 /* far above any MTU; the kernel rejects what the device cannot carry (EMSGSIZE) */

/* 0 when fd is an AF_PACKET socket, else an errno: EBADF (not open, or another kind of socket), ENOTSOCK.
 * One getsockname(). *ifindex: the interface it is bound to, -1 once that has been deleted. */
static int check_packet_fd(int fd, int *ifindex) {
  struct sockaddr_ll sll;
  socklen_t sl = sizeof sll;
  memset(&sll, 0, sizeof sll);
  if (getsockname(fd, (struct sockaddr *)&sll, &sl) != 0) return errno;
  if (sll.sll_family != AF_PACKET) return EBADF;
  *ifindex = sll.sll_ifindex;
  return 0;
}

/* For error messages only (if_indextoname opens a socket: ~8 us): "<ifname>", else what is known. */
static void describe_fd(int fd, int ifindex, char *what, size_t len) {
  char name[IF_NAMESIZE];
  if (ifindex > 0 && if_indextoname((unsigned)ifindex, name) != NULL) {
    snprintf(what, len, "%s", name);
  } else if (ifindex > 0) {
    snprintf(what, len, "ifindex %d", ifindex); /* being deleted right now */
  } else if (ifindex < 0) {
    snprintf(what, len, "fd %d, interface deleted", fd); /* the kernel unbinds it: ifindex -1 */
  } else {
    snprintf(what, len, "fd %d", fd);
  }
}

/* Throws for a failed operation on fd, naming its interface when there is one. */
static napi_value throw_fd(napi_env env, int err, const char *op, int fd, int ifindex, const char *syscall) {
  char what[IF_NAMESIZE + 32];
  describe_fd(fd, ifindex, what, sizeof what);
  return kvip_throw_errno(env, err, op, what, syscall);
}

static napi_value open_packet(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype type;
  char ifname[IF_NAMESIZE + 1]; /* one more than fits, to detect names that are too long */
  size_t n = 0;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_string) {
    return kvip_throw_type(env, "openPacket: ifname must be a string");
  }
  if (napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &n) != napi_ok) return NULL;
  /* Names the kernel cannot have (empty, too long, '/', whitespace, embedded NUL): no such device. */
  if (n == 0 || n >= IF_NAMESIZE || strlen(ifname) != n) {
    return kvip_throw_errno(env, ENODEV, "openPacket", ifname, "if_nametoindex");
  }

  errno = 0;
  unsigned ifindex = if_nametoindex(ifname);
  if (ifindex == 0) {
    int err = errno == 0 ? ENODEV : errno;
    return kvip_throw_errno(env, err, "openPacket", ifname, "if_nametoindex");
  }

  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return kvip_throw_errno(env, errno, "openPacket", ifname, "socket");

  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = 0; /* receive nothing */
  sll.sll_ifindex = (int)ifindex;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0) {
    int err = errno;
    close(fd);
    return kvip_throw_errno(env, err, "openPacket", ifname, "bind");
  }

  napi_value result;
  if (napi_create_int32(env, fd, &result) != napi_ok) {
    close(fd);
    return NULL;
  }
  return result;
}

static napi_value send_packet(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void *data = NULL;
  size_t len = 0;
  bool is_typed = false;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2) return kvip_throw_type(env, "sendPacket: expected (fd, frame)");
  int fd = kvip_get_fd(env, argv[0], "sendPacket");
  if (fd < 0) return NULL;

  if (napi_is_typedarray(env, argv[1], &is_typed) != napi_ok) return NULL;
  if (is_typed) {
    napi_typedarray_type ttype;
    size_t length;
    if (napi_get_typedarray_info(env, argv[1], &ttype, &length, &data, NULL, NULL) != napi_ok) return NULL;
    if (ttype != napi_uint8_array) is_typed = false;
    len = length;
  }
  if (!is_typed) return kvip_throw_type(env, "sendPacket: frame must be a Buffer (Uint8Array)");

  int ifindex = 0;
  int err = check_packet_fd(fd, &ifindex);
  if (err != 0) return throw_fd(env, err, "sendPacket", fd, 0, "getsockname");
  if (len < MIN_FRAME) return throw_fd(env, EINVAL, "sendPacket", fd, ifindex, "send");
  if (len > MAX_FRAME) return throw_fd(env, EMSGSIZE, "sendPacket", fd, ifindex, "send");

  ssize_t sent;
  do {
    sent = send(fd, data, len, 0);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    err = errno;
    return throw_fd(env, err, "sendPacket", fd, ifindex, "send");
  }

  napi_value result;
  if (napi_create_int64(env, (int64_t)sent, &result) != napi_ok) return NULL;
  return result;
}

static napi_value close_packet(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1) return kvip_throw_type(env, "closePacket: expected (fd)");
  int fd = kvip_get_fd(env, argv[0], "closePacket");
  if (fd < 0) return NULL;

  int ifindex = 0;
  int err = check_packet_fd(fd, &ifindex);
  if (err != 0) return throw_fd(env, err, "closePacket", fd, 0, "getsockname");
  /* Linux always releases the fd, even when close() reports EINTR: never retry (it could close a reused fd). */
  if (close(fd) != 0 && errno != EINTR) {
    err = errno;
    return throw_fd(env, err, "closePacket", fd, ifindex, "close");
  }

  napi_value undefined;
  napi_get_undefined(env, &undefined);
  return undefined;
}

napi_status kvip_packet_init(napi_env env, napi_value exports) {
  napi_status status;
  if ((status = kvip_export(env, exports, "openPacket", open_packet)) != napi_ok) return status;
  if ((status = kvip_export(env, exports, "sendPacket", send_packet)) != napi_ok) return status;
  return kvip_export(env, exports, "closePacket", close_packet);
}
