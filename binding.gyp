# The native loop addon (node-gyp). Node's own headers provide uv.h and node_api.h; nothing links
# a system libuv. Built by the package's "install" script; see scripts/build-failed.mjs.
{
  "targets": [
    {
      "target_name": "aloop",
      "sources": ["native/addon.cc", "native/call.cc", "native/shared.cc", "native/loop.cc", "native/io.cc", "native/stream.cc", "native/tcp.cc", "native/pipe.cc", "native/listen.cc", "native/udp.cc", "native/process.cc", "native/poll.cc", "native/socket.cc", "native/timer_wheel.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags": ["-fvisibility=hidden", "-fno-exceptions", "-O3"],
      "cflags_cc": ["-fvisibility=hidden", "-fno-exceptions", "-std=c++17", "-O3"],
      "xcode_settings": {
        "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
        "GCC_ENABLE_CPP_EXCEPTIONS": "NO",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "MACOSX_DEPLOYMENT_TARGET": "10.15",
        "OTHER_CFLAGS": ["-fvisibility=hidden", "-O3"]
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 0, "AdditionalOptions": ["/std:c++17"] }
      }
    }
  ]
}
