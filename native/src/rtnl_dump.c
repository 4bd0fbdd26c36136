/*
 * rtnetlink dumps for prepare and reconcile (off the failover path): links and addresses as small JS objects,
 * only the fields kvip reads (rtnl.c says why this is not an npm package).
 *
 *   links(index?: number): { index, name, mac: Buffer, flags, mtu }[]    one link, or all (dump)
 *   addresses(family: 4 | 6, index?: number): { index, family, prefix, address: Buffer, label?, flags }[]
 */
#include "addon.h"
#include "errors.h"
#include "rtnl.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

bool kvip_set_u32(napi_env env, napi_value obj, const char *key, uint32_t v) {
  napi_value x;
  return napi_create_uint32(env, v, &x) == napi_ok && napi_set_named_property(env, obj, key, x) == napi_ok;
}

static bool set_bytes(napi_env env, napi_value obj, const char *key, const void *data, size_t len) {
  napi_value x;
  return napi_create_buffer_copy(env, len, data, NULL, &x) == napi_ok &&
         napi_set_named_property(env, obj, key, x) == napi_ok;
}

static bool set_str(napi_env env, napi_value obj, const char *key, const char *data, size_t maxlen) {
  napi_value x;
  return napi_create_string_utf8(env, data, strnlen(data, maxlen), &x) == napi_ok &&
         napi_set_named_property(env, obj, key, x) == napi_ok;
}

/* RTM_NEWLINK -> { index, name, mac: Buffer, flags (IFF_*), mtu } */
static bool on_link(const struct nlmsghdr *h, void *vctx) {
  struct dump_ctx *ctx = vctx;
  if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg))) return true;
  const struct ifinfomsg *ifi = NLMSG_DATA(h);
  if (ctx->only_index != 0 && ifi->ifi_index != ctx->only_index) return true;
  napi_env env = ctx->env;
  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok || !kvip_set_u32(env, obj, "index", (uint32_t)ifi->ifi_index) ||
      !kvip_set_u32(env, obj, "flags", ifi->ifi_flags))
    return false;
  bool has_mac = false;
  int len = (int)IFLA_PAYLOAD(h);
  for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    const void *data = RTA_DATA(a);
    size_t n = RTA_PAYLOAD(a);
    bool ok = true;
    if (a->rta_type == IFLA_IFNAME) ok = set_str(env, obj, "name", data, n);
    else if (a->rta_type == IFLA_ADDRESS) ok = set_bytes(env, obj, "mac", data, n), has_mac = true;
    else if (a->rta_type == IFLA_MTU && n >= 4) ok = kvip_set_u32(env, obj, "mtu", *(const uint32_t *)data);
    if (!ok) return false;
  }
  if (!has_mac && !set_bytes(env, obj, "mac", "", 0)) return false;
  return napi_set_element(env, ctx->array, ctx->count++, obj) == napi_ok;
}

/* RTM_NEWADDR -> { index, family: 4|6, prefix, address: Buffer (IFA_LOCAL, else IFA_ADDRESS), label?, flags } */
static bool on_addr(const struct nlmsghdr *h, void *vctx) {
  struct dump_ctx *ctx = vctx;
  if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg))) return true;
  const struct ifaddrmsg *ifa = NLMSG_DATA(h);
  if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) return true;
  if (ctx->only_index != 0 && (int)ifa->ifa_index != ctx->only_index) return true;
  napi_env env = ctx->env;
  const struct rtattr *local = NULL, *address = NULL, *label = NULL;
  uint32_t flags = ifa->ifa_flags; /* IFA_FLAGS (u32), when present, supersedes the u8 ifa_flags */
  int len = (int)IFA_PAYLOAD(h);
  for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == IFA_LOCAL) local = a;
    else if (a->rta_type == IFA_ADDRESS) address = a;
    else if (a->rta_type == IFA_LABEL) label = a;
    else if (a->rta_type == IFA_FLAGS && RTA_PAYLOAD(a) >= 4) flags = *(const uint32_t *)RTA_DATA(a);
  }
  /* IFA_LOCAL is the local address; IFA_ADDRESS the peer on point-to-point links (and the only one for IPv6) */
  const struct rtattr *mine = local != NULL ? local : address;
  if (mine == NULL) return true;
  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok || !kvip_set_u32(env, obj, "index", ifa->ifa_index) ||
      !kvip_set_u32(env, obj, "family", ifa->ifa_family == AF_INET ? 4 : 6) ||
      !kvip_set_u32(env, obj, "prefix", ifa->ifa_prefixlen) || !kvip_set_u32(env, obj, "flags", flags) ||
      !set_bytes(env, obj, "address", RTA_DATA(mine), RTA_PAYLOAD(mine)) ||
      (label != NULL && !set_str(env, obj, "label", RTA_DATA(label), RTA_PAYLOAD(label))))
    return false;
  return napi_set_element(env, ctx->array, ctx->count++, obj) == napi_ok;
}

void kvip_rtnl_init_request(struct nlmsghdr *nh, size_t body_len, uint16_t type, uint16_t flags) {
  memset(nh, 0, NLMSG_LENGTH(body_len));
  nh->nlmsg_len = NLMSG_LENGTH(body_len);
  nh->nlmsg_type = type;
  nh->nlmsg_flags = flags;
}

/* See rtnl.h. A request with an index asks for strict checking: without it the kernel ignores the index of an
 * address dump. */
napi_value kvip_rtnl_collect(napi_env env, struct nlmsghdr *req, reply_fn on_reply, int only_index, const char *op,
                             const char *what, bool missing_is_empty) {
  struct dump_ctx ctx = {.env = env, .only_index = only_index};
  const char *syscall = NULL;
  int err = EINTR;
  /* A dump interrupted by a change to the table may be inconsistent: read it again (a few times at most). */
  for (int attempt = 0; attempt < 3 && err == EINTR; attempt++) {
    ctx.count = 0;
    if (napi_create_array(env, &ctx.array) != napi_ok) return kvip_throw_errno(env, ENOMEM, op, what, "napi");
    err = kvip_rtnl_transact(req, only_index != 0, &syscall, on_reply, &ctx);
  }
  if (err == ENODEV && missing_is_empty) return ctx.array;
  if (err != 0) return kvip_rtnl_throw(env, err, op, what, syscall);
  return ctx.array;
}

/* links(index?: number): one link by index (RTM_GETLINK), or all of them (dump); [] when there is none. */
static napi_value links(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t index = 0;
  napi_valuetype t = napi_undefined;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc >= 1) napi_typeof(env, argv[0], &t);
  if (t != napi_undefined && (!kvip_get_u32(env, argv[0], &index) || index == 0))
    return kvip_throw_type(env, "links: index must be an integer > 0");
  struct {
    struct nlmsghdr nh;
    struct ifinfomsg ifi;
  } req;
  kvip_rtnl_init_request(&req.nh, sizeof req.ifi, RTM_GETLINK, NLM_F_REQUEST | (index == 0 ? NLM_F_DUMP : NLM_F_ACK));
  req.ifi.ifi_family = AF_UNSPEC;
  req.ifi.ifi_index = (int)index;
  return kvip_rtnl_collect(env, &req.nh, on_link, (int)index, "links", index == 0 ? "all" : "one", index != 0);
}

/*
 * addresses(family: 4 | 6, index?: number): the addresses of that family on one interface, or on all of them
 * (dump); [] for an index that is not there. By index, the kernel (strict checking, Linux >= 4.20) sends only
 * that interface's; on_addr drops the rest on an older kernel, before any JS object is made.
 */
static napi_value addresses(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint32_t family = 0, index = 0;
  napi_valuetype t = napi_undefined;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      !kvip_get_u32(env, argv[0], &family) || (family != 4 && family != 6))
    return kvip_throw_type(env, "addresses: family must be 4 or 6");
  if (argc >= 2) napi_typeof(env, argv[1], &t);
  if (t != napi_undefined && (!kvip_get_u32(env, argv[1], &index) || index == 0 || index > INT32_MAX))
    return kvip_throw_type(env, "addresses: index must be an integer > 0");
  struct {
    struct nlmsghdr nh;
    struct ifaddrmsg ifa;
  } req;
  kvip_rtnl_init_request(&req.nh, sizeof req.ifa, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP);
  req.ifa.ifa_family = family == 4 ? AF_INET : AF_INET6;
  req.ifa.ifa_index = index;
  char what[32];
  if (index == 0) snprintf(what, sizeof what, "%s", family == 4 ? "IPv4" : "IPv6");
  else snprintf(what, sizeof what, "%s, ifindex %u", family == 4 ? "IPv4" : "IPv6", index);
  return kvip_rtnl_collect(env, &req.nh, on_addr, (int)index, "addresses", what, index != 0);
}

napi_status kvip_rtnl_dump_init(napi_env env, napi_value exports) {
  napi_status s;
  if ((s = kvip_export(env, exports, "links", links)) != napi_ok) return s;
  return kvip_export(env, exports, "addresses", addresses);
}
