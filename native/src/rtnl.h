/* What rtnl.c (requests) shares with rtnl_dump.c (dumps): one request/reply exchange with the kernel. */
#ifndef KVIP_RTNL_H
#define KVIP_RTNL_H

#include <linux/netlink.h>
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How long the kernel may take to answer (rtnl.c says why there is a bound). */
#define RTNL_WAIT_MS 1000
#define RTNL_WAIT_REASON "no answer from the kernel within 1000 ms"

/* Called for each reply message of a dump; returns false to stop with ENOMEM (JS allocation failed). */
typedef bool (*reply_fn)(const struct nlmsghdr *h, void *ctx);

/*
 * Sends one request and reads until its ACK (or, for a dump, NLMSG_DONE): 0, or the errno the kernel (or a
 * syscall) returned, with *syscall naming where. Every other reply message with the request's sequence
 * number goes to on_reply. A dump the kernel marks NLM_F_DUMP_INTR (the table changed while it was read)
 * returns EINTR: the caller retries. strict: NETLINK_GET_STRICT_CHK, so that the kernel applies the filters
 * in a get request's header (where it has them: Linux >= 4.20; older ones ignore them).
 */
int kvip_rtnl_transact(struct nlmsghdr *req, bool strict, const char **syscall, reply_fn on_reply, void *ctx);

/* Zeroes a request of header + body_len and fills in the header. */
void kvip_rtnl_init_request(struct nlmsghdr *nh, size_t body_len, uint16_t type, uint16_t flags);

/* Appends one attribute (len bytes of data) to the message at nh; the caller's buffer must have room. */
void kvip_rtnl_put_attr(struct nlmsghdr *nh, unsigned short type, const void *data, size_t len);

/* What a dump's reply_fn adds its objects to (rtnl_dump.c's collect). */
struct dump_ctx {
  napi_env env;
  napi_value array;
  uint32_t count;
  int only_index; /* 0 for all */
};

/*
 * Sends a get request and collects each reply into a JS array through on_reply (ctx: a struct dump_ctx), or
 * throws. ENODEV (a link asked for by index that is not there) gives [] when missing_is_empty. A dump that
 * was interrupted by a change to the table is read again. only_index != 0 asks for strict checking.
 */
napi_value kvip_rtnl_collect(napi_env env, struct nlmsghdr *req, reply_fn on_reply, int only_index, const char *op,
                             const char *what, bool missing_is_empty);

/* obj[key] = v; false when the JS value cannot be made. */
bool kvip_set_u32(napi_env env, napi_value obj, const char *key, uint32_t v);

/* kvip_throw_errno, with RTNL_WAIT_REASON for the message when the kernel did not answer. Returns NULL. */
napi_value kvip_rtnl_throw(napi_env env, int err, const char *op, const char *what, const char *syscall);

#endif
