/*
 * Routes, through synchronous rtnetlink as rtnl.c does addresses (and for its reasons: one blocking request
 * costs tens of microseconds and no event-loop turn): what the kernel would use to reach a host (the BGP
 * peer's next hop and interface, the source address it would pick), and main-table routes added and removed
 * as `ip route add/del` would.
 *
 *   routeGet(family: 4 | 6, address: Buffer): { gateway?, ifindex?, source?, prefix?, table, type } | undefined
 *   routeAdd(family, dst: Buffer, prefix, gateway: Buffer | null, ifindex: number | null): void
 *   routeDelete(family, dst: Buffer, prefix, gateway: Buffer | null, ifindex: number | null): void
 *   routes(family): { dst, prefix, gateway?, ifindex?, table, type, protocol }[]     the main table (dump)
 *
 * routeGet is RTM_GETROUTE with RTM_F_LOOKUP_TABLE (the answer names the table the route was found in): the
 * route as resolved for that destination, as `ip route get` shows it, so gateway/ifindex are the chosen next
 * hop even of a multipath route; a second request with RTM_F_FIB_MATCH adds prefix, the length of the
 * route that matched (that is what `ip route get fibmatch` shows; left out on a kernel before 4.13). No route
 * (ENETUNREACH) and a route of type unreachable (EHOSTUNREACH) give undefined; other refusals throw (e.g.
 * EACCES for a prohibit route, EINVAL for a blackhole).
 *
 * routeAdd is RTM_NEWROUTE with NLM_F_CREATE | NLM_F_EXCL (EEXIST when the route is there) into the main
 * table, protocol static (RTPROT_STATIC, `proto static` in `ip route`), type unicast; scope universe with a
 * gateway and link without one, as iproute2 picks; it needs a gateway or an ifindex. routeDelete removes a
 * static route of the main table with that destination and prefix and, when given, that gateway and
 * interface (ESRCH when there is none); a route of another protocol (kernel, boot, bgp, ...) is left alone.
 * Addresses are 4 or 16 bytes in, strings ("198.51.100.1", "2001:db8::1") out. Errors as in rtnl.c: .code
 * the errno, ETIMEDOUT when the kernel does not answer within 1 s.
 */
#include "addon.h"
#include "errors.h"
#include "rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

struct route_request {
  struct nlmsghdr nh;
  struct rtmsg rtm;
  char attrs[64]; /* RTA_DST, RTA_GATEWAY (20 bytes each with a 16-byte address), RTA_OIF (8) */
};

/* What one RTM_NEWROUTE message says, copied out of the receive buffer. */
struct route_info {
  unsigned char family, dst_len, type, protocol, flags;
  uint32_t table, oif;
  bool has_dst, has_gateway, has_source;
  unsigned char dst[16], gateway[16], source[16];
};

/* Copies an address attribute of the family's length; a wrong length is ignored. */
static void copy_addr(const struct rtattr *a, size_t alen, bool *has, unsigned char *out) {
  if (RTA_PAYLOAD(a) != alen) return;
  memcpy(out, RTA_DATA(a), alen);
  *has = true;
}

/* Parses an RTM_NEWROUTE of family AF_INET or AF_INET6; false for anything else. */
static bool parse_route(const struct nlmsghdr *h, struct route_info *r) {
  if (h->nlmsg_type != RTM_NEWROUTE || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg))) return false;
  const struct rtmsg *rtm = NLMSG_DATA(h);
  if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6) return false;
  size_t alen = rtm->rtm_family == AF_INET ? 4 : 16;
  memset(r, 0, sizeof *r);
  r->family = rtm->rtm_family;
  r->dst_len = rtm->rtm_dst_len;
  r->type = rtm->rtm_type;
  r->protocol = rtm->rtm_protocol;
  r->flags = (unsigned char)rtm->rtm_flags;
  r->table = rtm->rtm_table; /* RTA_TABLE, when present, holds tables above 255 too */
  int len = (int)RTM_PAYLOAD(h);
  for (const struct rtattr *a = RTM_RTA(rtm); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == RTA_TABLE && RTA_PAYLOAD(a) >= 4) r->table = *(const uint32_t *)RTA_DATA(a);
    else if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= 4) r->oif = *(const uint32_t *)RTA_DATA(a);
    else if (a->rta_type == RTA_DST) copy_addr(a, alen, &r->has_dst, r->dst);
    else if (a->rta_type == RTA_GATEWAY) copy_addr(a, alen, &r->has_gateway, r->gateway);
    else if (a->rta_type == RTA_PREFSRC) copy_addr(a, alen, &r->has_source, r->source);
  }
  return true;
}

/* obj[key] = the address as a string; when !has, nothing is set. */
static bool set_ip(napi_env env, napi_value obj, const char *key, int family, bool has, const unsigned char *addr) {
  char text[INET6_ADDRSTRLEN];
  napi_value v;
  if (!has) return true;
  if (inet_ntop(family, addr, text, sizeof text) == NULL) return false;
  return napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v) == napi_ok &&
         napi_set_named_property(env, obj, key, v) == napi_ok;
}

/* The fields both routeGet and routes() report: gateway?, ifindex?, table, type. */
static bool set_route_fields(napi_env env, napi_value obj, const struct route_info *r) {
  return set_ip(env, obj, "gateway", r->family, r->has_gateway, r->gateway) &&
         (r->oif == 0 || kvip_set_u32(env, obj, "ifindex", r->oif)) && kvip_set_u32(env, obj, "table", r->table) &&
         kvip_set_u32(env, obj, "type", r->type);
}

/* The family argument: 4 or 6, else 0. */
static uint32_t read_family(napi_env env, napi_value v) {
  uint32_t family = 0;
  return kvip_get_u32(env, v, &family) && (family == 4 || family == 6) ? family : 0;
}

/* A Uint8Array (Buffer) of the family's length (4 or 16 bytes) into out; false when v is not one. */
static bool get_addr(napi_env env, napi_value v, uint32_t family, unsigned char *out) {
  napi_typedarray_type type;
  size_t len;
  void *data;
  bool typed = false;
  if (napi_is_typedarray(env, v, &typed) != napi_ok || !typed ||
      napi_get_typedarray_info(env, v, &type, &len, &data, NULL, NULL) != napi_ok || type != napi_uint8_array ||
      len != (family == 4 ? 4u : 16u))
    return false;
  memcpy(out, data, len);
  return true;
}

static bool is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && (t == napi_null || t == napi_undefined);
}

/* Fills in a request: header, rtmsg of the family, RTA_DST when dst is given (len bytes). */
static void init_route_request(struct route_request *req, uint16_t type, uint16_t flags, uint32_t family,
                               const unsigned char *dst, unsigned dst_len) {
  memset(req, 0, sizeof *req);
  kvip_rtnl_init_request(&req->nh, sizeof req->rtm, type, flags);
  req->rtm.rtm_family = family == 4 ? AF_INET : AF_INET6;
  req->rtm.rtm_dst_len = (unsigned char)dst_len;
  if (dst != NULL) kvip_rtnl_put_attr(&req->nh, RTA_DST, dst, family == 4 ? 4 : 16);
}

struct lookup_ctx {
  struct route_info *r;
  bool found;
};

static bool on_lookup(const struct nlmsghdr *h, void *vctx) {
  struct lookup_ctx *ctx = vctx;
  if (!ctx->found) ctx->found = parse_route(h, ctx->r);
  return true;
}

/* One RTM_GETROUTE for the host address with rtm_flags: 0 with *r filled, or the errno. */
static int lookup(uint32_t family, const unsigned char *address, unsigned flags, struct route_info *r,
                  const char **syscall) {
  struct route_request req;
  struct lookup_ctx ctx = {.r = r};
  init_route_request(&req, RTM_GETROUTE, NLM_F_REQUEST | NLM_F_ACK, family, address, family == 4 ? 32 : 128);
  req.rtm.rtm_flags = flags;
  int err = kvip_rtnl_transact(&req.nh, false, syscall, on_lookup, &ctx);
  if (err == 0 && !ctx.found) {
    *syscall = "rtnetlink";
    err = EPROTO; /* an ACK without the route */
  }
  return err;
}

/* routeGet(family, address): see the header. */
static napi_value route_get(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  unsigned char address[16];
  uint32_t family = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      (family = read_family(env, argv[0])) == 0 || !get_addr(env, argv[1], family, address))
    return kvip_throw_type(env, "routeGet: expects (family 4|6, a 4|16-byte Buffer)");
  char what[INET6_ADDRSTRLEN];
  inet_ntop(family == 4 ? AF_INET : AF_INET6, address, what, sizeof what);

  struct route_info r, match;
  const char *syscall = NULL;
  int err = lookup(family, address, RTM_F_LOOKUP_TABLE, &r, &syscall);
  napi_value out;
  if (err == ENETUNREACH || err == EHOSTUNREACH) {
    napi_get_undefined(env, &out);
    return out;
  }
  if (err != 0) return kvip_rtnl_throw(env, err, "routeGet", what, syscall);
  if (napi_create_object(env, &out) != napi_ok || !set_route_fields(env, out, &r) ||
      !set_ip(env, out, "source", r.family, r.has_source, r.source))
    return kvip_throw_errno(env, ENOMEM, "routeGet", what, "napi");
  if (lookup(family, address, RTM_F_LOOKUP_TABLE | RTM_F_FIB_MATCH, &match, &syscall) == 0 &&
      !kvip_set_u32(env, out, "prefix", match.dst_len))
    return kvip_throw_errno(env, ENOMEM, "routeGet", what, "napi");
  return out;
}

/* routeAdd / routeDelete: (family, dst, prefix, gateway | null, ifindex | null) into a request; false with a
 * TypeError pending. what: "<dst>/<prefix>[ via <gateway>][ dev <name>]", for messages. */
static bool read_route_call(napi_env env, napi_callback_info info, const char *op, struct route_request *req,
                            uint16_t type, uint16_t flags, char *what, size_t what_len) {
  size_t argc = 5;
  napi_value argv[5];
  uint32_t family = 0, prefix = 0, ifindex = 0;
  unsigned char dst[16], gateway[16];
  bool has_gateway = false;
  bool ok = napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= 5 &&
            (family = read_family(env, argv[0])) != 0 && get_addr(env, argv[1], family, dst) &&
            kvip_get_u32(env, argv[2], &prefix) && prefix <= (family == 4 ? 32u : 128u);
  if (ok && !is_nullish(env, argv[3])) ok = has_gateway = get_addr(env, argv[3], family, gateway);
  if (ok && !is_nullish(env, argv[4]))
    ok = kvip_get_u32(env, argv[4], &ifindex) && ifindex > 0 && ifindex <= INT32_MAX;
  if (!ok || (type == RTM_NEWROUTE && !has_gateway && ifindex == 0)) {
    char message[192];
    snprintf(message, sizeof message,
             "%s: expects (family 4|6, dst: a 4|16-byte Buffer, prefix, gateway: Buffer | null, ifindex > 0 | null)%s",
             op, type == RTM_NEWROUTE ? " with a gateway or an ifindex" : "");
    kvip_throw_type(env, message);
    return false;
  }
  init_route_request(req, type, flags, family, dst, prefix);
  req->rtm.rtm_table = RT_TABLE_MAIN;
  req->rtm.rtm_protocol = RTPROT_STATIC;
  req->rtm.rtm_type = RTN_UNICAST;
  /* Added without a gateway: on the link (as `ip route add ... dev X` makes it). Deleted: any scope. */
  if (type == RTM_NEWROUTE) req->rtm.rtm_scope = has_gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  else req->rtm.rtm_scope = RT_SCOPE_NOWHERE;
  if (has_gateway) kvip_rtnl_put_attr(&req->nh, RTA_GATEWAY, gateway, family == 4 ? 4 : 16);
  if (ifindex != 0) kvip_rtnl_put_attr(&req->nh, RTA_OIF, &ifindex, sizeof ifindex);

  int af = req->rtm.rtm_family;
  char ip[INET6_ADDRSTRLEN], via[INET6_ADDRSTRLEN + 8] = "", dev[IF_NAMESIZE + 8] = "", name[IF_NAMESIZE];
  inet_ntop(af, dst, ip, sizeof ip);
  if (has_gateway) {
    char gw[INET6_ADDRSTRLEN];
    inet_ntop(af, gateway, gw, sizeof gw);
    snprintf(via, sizeof via, " via %s", gw);
  }
  if (ifindex != 0) snprintf(dev, sizeof dev, " dev %s", if_indextoname(ifindex, name) ? name : "?");
  snprintf(what, what_len, "%s/%u%s%s", ip, prefix, via, dev);
  return true;
}

/* Sends the request (no replies but the ACK); the kernel's errno becomes a JS exception. */
static napi_value send_route(napi_env env, const char *op, struct route_request *req, const char *what) {
  const char *syscall = NULL;
  int err = kvip_rtnl_transact(&req->nh, false, &syscall, NULL, NULL);
  if (err != 0) return kvip_rtnl_throw(env, err, op, what, syscall);
  return NULL;
}

static napi_value route_add(napi_env env, napi_callback_info info) {
  struct route_request req;
  char what[128];
  if (!read_route_call(env, info, "routeAdd", &req, RTM_NEWROUTE,
                       NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, what, sizeof what))
    return NULL;
  return send_route(env, "routeAdd", &req, what);
}

static napi_value route_delete(napi_env env, napi_callback_info info) {
  struct route_request req;
  char what[128];
  if (!read_route_call(env, info, "routeDelete", &req, RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, what, sizeof what))
    return NULL;
  return send_route(env, "routeDelete", &req, what);
}

/* RTM_NEWROUTE of the main table -> { dst, prefix, gateway?, ifindex?, table, type, protocol } */
static bool on_route(const struct nlmsghdr *h, void *vctx) {
  struct dump_ctx *ctx = vctx;
  struct route_info r;
  if (!parse_route(h, &r) || r.table != RT_TABLE_MAIN || (r.flags & RTM_F_CLONED)) return true;
  napi_env env = ctx->env;
  napi_value obj;
  static const unsigned char zero[16];
  if (napi_create_object(env, &obj) != napi_ok ||
      !set_ip(env, obj, "dst", r.family, true, r.has_dst ? r.dst : zero) ||
      !kvip_set_u32(env, obj, "prefix", r.dst_len) || !set_route_fields(env, obj, &r) ||
      !kvip_set_u32(env, obj, "protocol", r.protocol))
    return false;
  return napi_set_element(env, ctx->array, ctx->count++, obj) == napi_ok;
}

/* routes(family): the main table's routes of that family (a dump; other tables are left out here). */
static napi_value routes(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t family = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      (family = read_family(env, argv[0])) == 0)
    return kvip_throw_type(env, "routes: family must be 4 or 6");
  struct route_request req;
  init_route_request(&req, RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, family, NULL, 0);
  return kvip_rtnl_collect(env, &req.nh, on_route, 0, "routes", family == 4 ? "IPv4" : "IPv6", false);
}

napi_status kvip_rtnl_route_init(napi_env env, napi_value exports) {
  napi_status s;
  if ((s = kvip_export(env, exports, "routeGet", route_get)) != napi_ok) return s;
  if ((s = kvip_export(env, exports, "routeAdd", route_add)) != napi_ok) return s;
  if ((s = kvip_export(env, exports, "routeDelete", route_delete)) != napi_ok) return s;
  return kvip_export(env, exports, "routes", routes);
}
