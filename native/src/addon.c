/*
 * kvip_native: module init. The functions live one file per concern (packet.c: raw Ethernet frames; rtnl.c,
 * rtnl_dump.c, rtnl_route.c: addresses, links and routes; tcp_connect.c: the TCP connection of a BGP
 * session; caps.c: file capabilities made effective;
 * packet_probe.c: kvip check's ARP probe / DAD); this file only registers them. Context-aware
 * (NAPI_MODULE_INIT), no global JS state, so it loads in worker threads too.
 */
#include "addon.h"

NAPI_MODULE_INIT() {
#ifndef KVIP_NO_PACKET
  if (kvip_packet_init(env, exports) != napi_ok) return NULL;
  if (kvip_rtnl_init(env, exports) != napi_ok) return NULL;
  if (kvip_rtnl_dump_init(env, exports) != napi_ok) return NULL;
  if (kvip_rtnl_route_init(env, exports) != napi_ok) return NULL;
  if (kvip_tcp_connect_init(env, exports) != napi_ok) return NULL;
  if (kvip_caps_init(env, exports) != napi_ok) return NULL;
  if (kvip_packet_probe_init(env, exports) != napi_ok) return NULL;
#endif
  return exports;
}
