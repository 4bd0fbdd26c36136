/*
 * Capabilities of the calling thread: raiseCapabilities(bits) makes each of the given capabilities that is
 * permitted also effective, and returns the bits that are effective afterwards (of those asked for).
 *
 * Why: kvip's image runs as a non-root user whose node binary carries file capabilities cap_net_admin and
 * cap_net_raw as *permitted only* (setcap ...+p). A file with the effective bit (+ep) would hand them over
 * without this call, but then execve of node fails with EPERM wherever they are not in the bounding set (a
 * `docker run` without --cap-add NET_ADMIN), so not even `kvip version` or `kvip manifest` would start. As
 * permitted-only file capabilities, node always starts, and `kvip start` raises them here. They apply to this
 * thread (the JS thread, which makes every call that needs them: AF_PACKET sockets, rtnetlink) and to threads
 * it creates later; a non-root process loses them on execve (exec credential plugins get none).
 *
 *   raiseCapabilities(bits: number[]): number[]
 */
#include "addon.h"
#include "errors.h"

#include <errno.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_BITS 64 /* two 32-bit words of _LINUX_CAPABILITY_VERSION_3 */

static napi_value raise_capabilities(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool is_array = false;
  uint32_t n = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[0], &n) != napi_ok || n > MAX_BITS)
    return kvip_throw_type(env, "raiseCapabilities(bits): bits must be an array of capability numbers");
  uint32_t bits[MAX_BITS];
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    if (napi_get_element(env, argv[0], i, &v) != napi_ok || !kvip_get_u32(env, v, &bits[i]) ||
        bits[i] >= MAX_BITS)
      return kvip_throw_type(env, "raiseCapabilities(bits): each bit must be a whole number in [0, 64)");
  }

  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &header, data) != 0)
    return kvip_throw_errno(env, errno, "raiseCapabilities", "", "capget");
  bool change = false;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t word = bits[i] / 32, mask = 1u << (bits[i] % 32);
    if ((data[word].permitted & mask) && !(data[word].effective & mask)) {
      data[word].effective |= mask;
      change = true;
    }
  }
  if (change && syscall(SYS_capset, &header, data) != 0)
    return kvip_throw_errno(env, errno, "raiseCapabilities", "", "capset");

  napi_value out;
  if (napi_create_array(env, &out) != napi_ok) return NULL;
  uint32_t k = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (!(data[bits[i] / 32].effective & (1u << (bits[i] % 32)))) continue;
    napi_value v;
    if (napi_create_uint32(env, bits[i], &v) != napi_ok || napi_set_element(env, out, k++, v) != napi_ok)
      return NULL;
  }
  return out;
}

napi_status kvip_caps_init(napi_env env, napi_value exports) {
  return kvip_export(env, exports, "raiseCapabilities", raise_capabilities);
}
