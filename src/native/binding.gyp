{
  "targets": [
    {
      "target_name": "hgreload",
      "sources": ["addon.c", "inotify.c", "listing.c", "stamps.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
