/* What rtnl.c (requests) shares with rtnl_dump.c (dumps): one request/reply exchange with the kernel. */
#ifndef KVIP_RTNL_H
#define KVIP_RTNL_H

#include <linux/netlink.h>
#include <node_api.h>
#include <stdbool.h>

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

/* kvip_throw_errno, with RTNL_WAIT_REASON for the message when the kernel did not answer. Returns NULL. */
napi_value kvip_rtnl_throw(napi_env env, int err, const char *op, const char *what, const char *syscall);

#endif
