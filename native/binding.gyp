# kvip's N-API addon: plain C against node_api.h (no node-addon-api, no C++), one source file per concern.
# Built by the root package's install script (native/build.mjs -> node-gyp rebuild) during `npm ci`.
{
  "targets": [
    {
      "target_name": "kvip_native",
      "sources": ["src/addon.c", "src/errors.c", "src/packet.c", "src/rtnl.c", "src/rtnl_dump.c",
                  "src/rtnl_route.c", "src/tcp_connect.c", "src/caps.c", "src/packet_probe.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "conditions": [
        ["OS!='linux'", {
          "sources!": ["src/packet.c", "src/rtnl.c", "src/rtnl_dump.c", "src/rtnl_route.c", "src/tcp_connect.c",
                       "src/caps.c", "src/packet_probe.c"],
          "defines": ["KVIP_NO_PACKET"]
        }]
      ]
    }
  ]
}
