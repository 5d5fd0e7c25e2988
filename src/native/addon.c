/*
 * hgreload's addon: the kernel calls that Node makes costly at a hundred
 * thousand folders. inotify.c: one inotify instance for every watched folder.
 * listing.c: a folder's subfolders as the walk needs them, in one call.
 * stamps.c: which of many folders changed since a time.
 */
#include "addon.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

char *path_of(napi_env env, napi_value value) {
  bool is_buffer;
  void *bytes;
  size_t length;
  if (napi_is_buffer(env, value, &is_buffer) != napi_ok || !is_buffer || napi_get_buffer_info(env, value, &bytes, &length) != napi_ok) {
    errno = EFAULT;
    return NULL;
  }
  if (memchr(bytes, 0, length) != NULL) {
    errno = EINVAL;
    return NULL;
  }
  char *path = malloc(length + 1);
  if (path == NULL) return NULL;
  memcpy(path, bytes, length);
  path[length] = 0;
  return path;
}

static napi_value init(napi_env env, napi_value exports) {
  if (define_inotify(env, exports) != napi_ok || define_listing(env, exports) != napi_ok || define_stamps(env, exports) != napi_ok) {
    napi_throw_error(env, NULL, "hgreload addon: could not define its functions");
    return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
