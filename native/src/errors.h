/*
 * Error helpers (and option readers) shared by every part of the addon: each failure becomes a JS Error whose
 * .code is the errno name ("ENODEV") and whose message names the operation and its object, e.g.
 * "openPacket(eth9): ENODEV (No such device)". .syscall names the failing C call.
 */
#ifndef KVIP_ERRORS_H
#define KVIP_ERRORS_H

#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>

/* The errno's symbolic name ("EPERM"), or "E<number>" for one this libc cannot name. buf: >= 16 bytes. */
const char *kvip_errno_name(int err, char *buf, size_t len);

/* Throws Error{message: "<op>(<what>): <ENAME> (<strerror>)", code: ENAME, syscall}. Returns NULL. */
napi_value kvip_throw_errno(napi_env env, int err, const char *op, const char *what, const char *syscall);

/* The same with reason in place of strerror(err), for a cause the errno alone does not say. */
napi_value kvip_throw_errno_reason(napi_env env, int err, const char *op, const char *what, const char *syscall,
                                   const char *reason);

/* The same Error, returned instead of thrown (to reject a promise with); reason NULL: strerror(err). NULL
 * when it cannot be made, with an exception pending. */
napi_value kvip_errno_error(napi_env env, int err, const char *op, const char *what, const char *syscall,
                            const char *reason);

/* Throws TypeError{code: "ERR_INVALID_ARG_TYPE"} with the given message. Returns NULL. */
napi_value kvip_throw_type(napi_env env, const char *message);

/* Reads an integer argument >= 0 (a file descriptor). On failure a TypeError is pending and -1 is returned. */
int kvip_get_fd(napi_env env, napi_value value, const char *op);

/* A JS number that is a whole number in [0, 2^32): false otherwise (napi_get_value_uint32 alone would
 * truncate 24.7 to 24 and wrap -1 to 0xffffffff). Sets no exception. */
bool kvip_get_u32(napi_env env, napi_value v, uint32_t *out);

/* Option readers for functions that take an options object (tcp_connect.c, packet_probe.c). */

/* Throws TypeError(message); false, for `return kvip_fail_type(...)` in the readers. */
bool kvip_fail_type(napi_env env, const char *message);

/* opts[name] into *out: false when it is undefined (or cannot be read: then an exception is pending). */
bool kvip_get_opt(napi_env env, napi_value opts, const char *name, napi_value *out);

/* An integer option in [min, max]; absent is allowed when !required (then *out is left as it is). */
bool kvip_get_u32_opt(napi_env env, napi_value opts, const char *name, uint32_t min, uint32_t max, bool required,
                      uint32_t *out);

/* Milliseconds on the monotonic clock (for deadlines that signals and wall-clock steps cannot move). */
int64_t kvip_now_ms(void);

/* Registers fn as exports[name]. Returns napi_ok or the failing status. */
napi_status kvip_export(napi_env env, napi_value exports, const char *name, napi_callback fn);

#endif
