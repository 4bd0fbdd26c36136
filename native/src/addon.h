/* Each concern registers its functions on the module's exports; addon.c calls them all. */
#ifndef KVIP_ADDON_H
#define KVIP_ADDON_H

#include <node_api.h>

/* packet.c: openPacket, sendPacket, closePacket (AF_PACKET raw frames: gratuitous ARP, unsolicited NA). */
napi_status kvip_packet_init(napi_env env, napi_value exports);

/* rtnl.c: linkIndex, addressAdd, addressDelete (synchronous rtnetlink, for the failover path). */
napi_status kvip_rtnl_init(napi_env env, napi_value exports);

/* rtnl_dump.c: links, addresses (rtnetlink dumps, for prepare and reconcile). */
napi_status kvip_rtnl_dump_init(napi_env env, napi_value exports);

/* rtnl_route.c: routeGet, routeAdd, routeDelete, routes (synchronous rtnetlink: the kernel's routes). */
napi_status kvip_rtnl_route_init(napi_env env, napi_value exports);

/* tcp_connect.c: tcpConnect (BGP's TCP connection: TCP_MD5SIG, TTL, source address; waited for off the loop). */
napi_status kvip_tcp_connect_init(napi_env env, napi_value exports);

/* caps.c: raiseCapabilities (permitted -> effective, for a non-root kvip with file capabilities on node). */
napi_status kvip_caps_init(napi_env env, napi_value exports);
/* packet_probe.c: packetProbe (a frame out, a bounded wait for its answer: kvip check's ARP probe / DAD). */
napi_status kvip_packet_probe_init(napi_env env, napi_value exports);

#endif
