/*
 * rtnetlink, synchronously: adding and removing the VIP on the failover path, and (rtnl_dump.c) the link and
 * address dumps that prepare and reconcile read.
 *
 * Why hand-written: the `netlink` npm package answers every request through the event loop, and on a busy
 * node each round trip waits for its turn: the
 * acquire -> first gratuitous ARP time measured 7-12 ms with two of them (link lookup, RTM_NEWADDR). The
 * kernel handles RTM_NEWADDR/RTM_DELADDR inside sendmsg() and queues the ACK before it returns, so a blocking
 * request here costs tens of microseconds and no event-loop turn: the address is on the interface, and the
 * GARP on the wire, before anything else in the process runs. The dumps are here too so that two small files
 * are all of kvip's rtnetlink: the package parsed every attribute into JS objects (a reconcile every second
 * cost ~0.5 ms of CPU and its garbage), and it loaded ~2 MB of code for the few messages kvip sends.
 *
 *   linkIndex(ifname: string): number                     if_nametoindex; ENODEV when there is none
 *   addressAdd(ifindex, family: 4 | 6, address: Buffer, prefix, label: string | null, nodad: boolean,
 *              scope?: 0 | 254): void
 *   addressDelete(ifindex, family: 4 | 6, address: Buffer, prefix): void
 *   (the dumps, links() and addresses(), are in rtnl_dump.c; routes in rtnl_route.c)
 *
 * Errors are JS Errors with .code = the errno the kernel returned (EEXIST, EADDRNOTAVAIL, EPERM, ENODEV, ...).
 * The message is built as iproute2 builds it: IFA_LOCAL and IFA_ADDRESS both the address (no peer), scope
 * universe, IFA_LABEL for IPv4, IFA_F_NODAD in ifa_flags and IFA_FLAGS for IPv6. The socket is opened per
 * request (a netlink socket closes at once, unlike AF_PACKET) in the caller's network namespace. A kernel that
 * does not answer within 1 s is ETIMEDOUT, "no answer from the kernel within 1000 ms".
 */
#include "addon.h"
#include "errors.h"
#include "rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define ATTR_SPACE 128 /* IFA_LOCAL + IFA_ADDRESS (16 each) + IFA_LABEL (16) + IFA_FLAGS (4), with headers */

struct addr_request {
  struct nlmsghdr nh;
  struct ifaddrmsg ifa;
  char attrs[ATTR_SPACE];
};

void kvip_rtnl_put_attr(struct nlmsghdr *nh, unsigned short type, const void *data, size_t len) {
  struct rtattr *rta = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));
  rta->rta_type = type;
  rta->rta_len = RTA_LENGTH(len);
  memcpy(RTA_DATA(rta), data, len);
  nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/*
 * See rtnl.h. A fresh socket per request, so sequence number 1 cannot meet a stale reply.
 *
 * Bounded, because it runs on the event loop: the kernel must answer within RTNL_WAIT_MS of the request or of
 * its previous reply, or this returns ETIMEDOUT (syscall "poll"). One deadline for the whole wait, so
 * neither signals (EINTR) nor messages from elsewhere restart it, as a per-call SO_RCVTIMEO would. No send
 * timeout: sendto() to the kernel never waits for buffer space (SO_SNDTIMEO has no effect there); the
 * kernel runs the request inside it, and the only wait there, for the rtnl lock, no socket option bounds.
 */
int kvip_rtnl_transact(struct nlmsghdr *req, bool strict, const char **syscall, reply_fn on_reply, void *ctx) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) {
    *syscall = "socket";
    return errno;
  }
  int err = 0;
  bool interrupted = false;
  int one = 1;
  /* ENOPROTOOPT: a kernel before 4.20, which has no filters to apply; the caller filters anyway. */
  if (strict && setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one) < 0 && errno != ENOPROTOOPT) {
    *syscall = "setsockopt";
    err = errno;
    goto out;
  }
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  req->nlmsg_seq = 1;
  if (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
    *syscall = "sendto";
    err = errno;
    goto out;
  }
  int64_t deadline = kvip_now_ms() + RTNL_WAIT_MS;
  for (;;) {
    /* 32 KiB: the kernel fills a dump batch up to that size; MSG_TRUNC below catches anything larger. */
    char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
    struct sockaddr_nl from;
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
    struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
    int64_t left = deadline - kvip_now_ms();
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int ready = left > 0 ? poll(&pfd, 1, (int)left) : 0;
    if (ready < 0 && errno == EINTR) continue; /* the deadline stands */
    if (ready <= 0) {
      *syscall = "poll";
      err = ready == 0 ? ETIMEDOUT : errno;
      goto out;
    }
    ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      *syscall = "recv";
      err = errno;
      goto out;
    }
    if (msg.msg_flags & MSG_TRUNC) {
      *syscall = "recv";
      err = EMSGSIZE;
      goto out;
    }
    if (from.nl_pid != 0) continue; /* only the kernel answers */
    int len = (int)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != req->nlmsg_seq) continue;
      deadline = kvip_now_ms() + RTNL_WAIT_MS; /* an answer: a long dump is progress, not a hang */
      if (h->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
      if (h->nlmsg_type == NLMSG_DONE) {
        /* A dump that failed part-way puts its error in DONE's payload. */
        if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)) && *(const int *)NLMSG_DATA(h) < 0) {
          *syscall = "rtnetlink";
          err = -*(const int *)NLMSG_DATA(h);
        } else if (interrupted) {
          *syscall = "rtnetlink";
          err = EINTR;
        }
        goto out;
      }
      if (h->nlmsg_type == NLMSG_ERROR) {
        *syscall = "rtnetlink";
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
          err = EPROTO;
          goto out;
        }
        err = -((const struct nlmsgerr *)NLMSG_DATA(h))->error; /* 0 is the ACK */
        goto out;
      }
      if (on_reply != NULL && !on_reply(h, ctx)) {
        *syscall = "napi";
        err = ENOMEM;
        goto out;
      }
    }
  }
out:
  close(fd);
  return err;
}

/* Reads (ifindex, family, address, prefix) and fills the header; false with a TypeError pending. */
static bool read_address(napi_env env, napi_value *argv, const char *op, struct addr_request *req,
                         unsigned char *addr, size_t *addr_len) {
  uint32_t ifindex, family, prefix;
  bool is_buffer = false;
  void *data;
  size_t len;
  char message[128];
  if (!kvip_get_u32(env, argv[0], &ifindex) || ifindex == 0 || !kvip_get_u32(env, argv[1], &family) ||
      (family != 4 && family != 6) || napi_is_buffer(env, argv[2], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, argv[2], &data, &len) != napi_ok || len != (family == 4 ? 4u : 16u) ||
      !kvip_get_u32(env, argv[3], &prefix) || prefix > len * 8) {
    snprintf(message, sizeof message, "%s: expects (ifindex > 0, family 4|6, a 4|16-byte Buffer, prefix)", op);
    kvip_throw_type(env, message);
    return false;
  }
  memcpy(addr, data, len);
  *addr_len = len;
  memset(req, 0, sizeof *req);
  req->nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
  req->ifa.ifa_family = family == 4 ? AF_INET : AF_INET6;
  req->ifa.ifa_prefixlen = (unsigned char)prefix;
  req->ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  req->ifa.ifa_index = ifindex;
  return true;
}

static napi_value throw_request(napi_env env, int err, const char *op, const struct addr_request *req,
                                const unsigned char *addr, const char *syscall) {
  char ip[INET6_ADDRSTRLEN];
  char name[IF_NAMESIZE];
  if (inet_ntop(req->ifa.ifa_family, addr, ip, sizeof ip) == NULL) snprintf(ip, sizeof ip, "?");
  char what[sizeof ip + IF_NAMESIZE + 16];
  snprintf(what, sizeof what, "%s/%u dev %s", ip, req->ifa.ifa_prefixlen,
           if_indextoname(req->ifa.ifa_index, name) ? name : "?");
  return kvip_rtnl_throw(env, err, op, what, syscall);
}

napi_value kvip_rtnl_throw(napi_env env, int err, const char *op, const char *what, const char *syscall) {
  if (err == ETIMEDOUT && syscall != NULL && strcmp(syscall, "poll") == 0)
    return kvip_throw_errno_reason(env, err, op, what, syscall, RTNL_WAIT_REASON);
  return kvip_throw_errno(env, err, op, what, syscall);
}

/* The shared prologue of addressAdd/addressDelete: argument count, then ifindex, family, address, prefix. */
static bool read_address_call(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *op,
                              struct addr_request *req, unsigned char *addr, size_t *len) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    char msg[64];
    snprintf(msg, sizeof msg, "%s: expects %zu arguments", op, want);
    kvip_throw_type(env, msg);
    return false;
  }
  return read_address(env, argv, op, req, addr, len);
}

/* Adds the address attributes, sends the request and turns a kernel error into a JS exception. */
static napi_value send_address(napi_env env, const char *op, struct addr_request *req, const unsigned char *addr,
                               size_t len) {
  kvip_rtnl_put_attr(&req->nh, IFA_LOCAL, addr, len);
  kvip_rtnl_put_attr(&req->nh, IFA_ADDRESS, addr, len);
  const char *syscall = NULL;
  int err = kvip_rtnl_transact(&req->nh, false, &syscall, NULL, NULL);
  if (err != 0) return throw_request(env, err, op, req, addr, syscall);
  return NULL;
}

static napi_value address_add(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  struct addr_request req;
  unsigned char addr[16];
  size_t len;
  if (!read_address_call(env, info, 6, argv, "addressAdd", &req, addr, &len)) return NULL;

  /* Room for more than fits: napi truncates at a UTF-8 character boundary, so a small buffer would hide a
   * label that is too long behind a shorter one. */
  char label[64];
  size_t label_len = 0;
  napi_valuetype t = napi_undefined;
  if (napi_typeof(env, argv[4], &t) != napi_ok) return kvip_throw_type(env, "addressAdd: bad label");
  if (t == napi_string) {
    if (napi_get_value_string_utf8(env, argv[4], label, sizeof label, &label_len) != napi_ok || label_len == 0 ||
        label_len >= IF_NAMESIZE)
      return kvip_throw_type(env, "addressAdd: label must be 1-15 characters");
  } else if (t != napi_null && t != napi_undefined) {
    return kvip_throw_type(env, "addressAdd: label must be a string or null");
  }
  bool nodad = false;
  if (napi_get_value_bool(env, argv[5], &nodad) != napi_ok)
    return kvip_throw_type(env, "addressAdd: nodad must be a boolean");
  /* Optional 7th argument: the scope (RT_SCOPE_HOST for an Elastic IP on lo, so it is never picked as the
   * source of traffic to other hosts). Absent or undefined: universe. */
  size_t argc7 = 7;
  napi_value argv7[7];
  if (napi_get_cb_info(env, info, &argc7, argv7, NULL, NULL) != napi_ok)
    return kvip_throw_type(env, "addressAdd: bad arguments");
  if (argc7 >= 7 && napi_typeof(env, argv7[6], &t) == napi_ok && t != napi_undefined) {
    uint32_t scope = 0;
    if (!kvip_get_u32(env, argv7[6], &scope) || (scope != RT_SCOPE_UNIVERSE && scope != RT_SCOPE_HOST))
      return kvip_throw_type(env, "addressAdd: scope must be 0 (universe) or 254 (host)");
    req.ifa.ifa_scope = (unsigned char)scope;
  }

  req.nh.nlmsg_type = RTM_NEWADDR;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
  if (label_len > 0 && req.ifa.ifa_family == AF_INET) kvip_rtnl_put_attr(&req.nh, IFA_LABEL, label, label_len + 1);
  if (nodad) {
    uint32_t flags = IFA_F_NODAD;
    req.ifa.ifa_flags = IFA_F_NODAD;
    kvip_rtnl_put_attr(&req.nh, IFA_FLAGS, &flags, sizeof flags);
  }
  return send_address(env, "addressAdd", &req, addr, len);
}

static napi_value address_delete(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  struct addr_request req;
  unsigned char addr[16];
  size_t len;
  if (!read_address_call(env, info, 4, argv, "addressDelete", &req, addr, &len)) return NULL;
  req.nh.nlmsg_type = RTM_DELADDR;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  return send_address(env, "addressDelete", &req, addr, len);
}

static napi_value link_index(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char ifname[64]; /* as label above: larger than any valid name, so truncation cannot go unnoticed */
  size_t n = 0;
  napi_valuetype t;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_typeof(env, argv[0], &t) != napi_ok || t != napi_string ||
      napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &n) != napi_ok || n == 0 ||
      n >= IF_NAMESIZE)
    return kvip_throw_type(env, "linkIndex: ifname must be a string of 1-15 characters");
  /* if_nametoindex reads a C string: "eth0\0x" would name eth0. No such device, as openPacket says. */
  if (strlen(ifname) != n) return kvip_throw_errno(env, ENODEV, "linkIndex", ifname, "if_nametoindex");
  unsigned index = if_nametoindex(ifname);
  if (index == 0) return kvip_throw_errno(env, errno == ENXIO ? ENODEV : errno, "linkIndex", ifname, "if_nametoindex");
  napi_value out;
  napi_create_uint32(env, index, &out);
  return out;
}

napi_status kvip_rtnl_init(napi_env env, napi_value exports) {
  napi_status s;
  if ((s = kvip_export(env, exports, "linkIndex", link_index)) != napi_ok) return s;
  if ((s = kvip_export(env, exports, "addressAdd", address_add)) != napi_ok) return s;
  return kvip_export(env, exports, "addressDelete", address_delete);
}
