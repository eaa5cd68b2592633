{
  "targets": [
    {
      "target_name": "tandem",
      "sources": ["native/tandem.c", "native/util.c", "native/stamp.c", "native/sock.c", "native/packet.c", "native/netlink.c", "native/iface.c", "native/gpio.c", "native/notify.c", "native/cpg.c", "native/pacer.c", "native/pacer_rx.c", "native/pacer_load.c"],
      "include_dirs": ["native/uapi"],
      "libraries": ["-lcpg", "-lpthread"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-O2"],
      "cflags!": ["-fno-exceptions"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
