/* See errors.h. */
#include "errors.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *kvip_errno_name(int err, char *buf, size_t len) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char *name = strerrorname_np(err);
  if (name != NULL) return name;
#else
  switch (err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case ENXIO: return "ENXIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOTSOCK: return "ENOTSOCK";
    case EMSGSIZE: return "EMSGSIZE";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ENOBUFS: return "ENOBUFS";
    case ENETDOWN: return "ENETDOWN";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ETIMEDOUT: return "ETIMEDOUT";
    default: break;
  }
#endif
  snprintf(buf, len, "E%d", err);
  return buf;
}

napi_value kvip_throw_errno(napi_env env, int err, const char *op, const char *what, const char *syscall) {
  return kvip_throw_errno_reason(env, err, op, what, syscall, strerror(err));
}

napi_value kvip_throw_errno_reason(napi_env env, int err, const char *op, const char *what, const char *syscall,
                                   const char *reason) {
  napi_value error = kvip_errno_error(env, err, op, what, syscall, reason);
  if (error != NULL) napi_throw(env, error);
  return NULL;
}

napi_value kvip_errno_error(napi_env env, int err, const char *op, const char *what, const char *syscall,
                            const char *reason) {
  char namebuf[16];
  char message[384]; /* tcpConnect names two IPv6 endpoints and a long reason */
  const char *name = kvip_errno_name(err, namebuf, sizeof namebuf);
  snprintf(message, sizeof message, "%s(%s): %s (%s)", op, what, name, reason != NULL ? reason : strerror(err));

  napi_value code, msg, error, sys;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg) != napi_ok ||
      napi_create_error(env, code, msg, &error) != napi_ok) {
    napi_throw_error(env, name, message);
    return NULL;
  }
  if (syscall != NULL && napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys) == napi_ok) {
    napi_set_named_property(env, error, "syscall", sys);
  }
  return error;
}

napi_value kvip_throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

int kvip_get_fd(napi_env env, napi_value value, const char *op) {
  char message[128];
  napi_valuetype type;
  double d;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number ||
      napi_get_value_double(env, value, &d) != napi_ok || !(d >= 0) || d > 2147483647.0 || d != floor(d)) {
    snprintf(message, sizeof message, "%s: fd must be an integer >= 0", op);
    kvip_throw_type(env, message);
    return -1;
  }
  return (int)d;
}

bool kvip_get_u32(napi_env env, napi_value v, uint32_t *out) {
  napi_valuetype t;
  double d;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, &d) != napi_ok)
    return false;
  if (!(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d) return false;
  *out = (uint32_t)d;
  return true;
}

bool kvip_fail_type(napi_env env, const char *message) {
  kvip_throw_type(env, message);
  return false;
}

bool kvip_get_opt(napi_env env, napi_value opts, const char *name, napi_value *out) {
  napi_valuetype t;
  return napi_get_named_property(env, opts, name, out) == napi_ok && napi_typeof(env, *out, &t) == napi_ok &&
         t != napi_undefined;
}

bool kvip_get_u32_opt(napi_env env, napi_value opts, const char *name, uint32_t min, uint32_t max, bool required,
                      uint32_t *out) {
  napi_value v;
  if (!kvip_get_opt(env, opts, name, &v)) return !required;
  uint32_t n;
  if (!kvip_get_u32(env, v, &n) || n < min || n > max) return false;
  *out = n;
  return true;
}

int64_t kvip_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

napi_status kvip_export(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value value;
  napi_status status = napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &value);
  if (status != napi_ok) return status;
  return napi_set_named_property(env, exports, name, value);
}
