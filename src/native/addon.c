/*
 * hgreload's addon: the kernel calls that Node makes costly at a hundred
 * thousand folders. inotify.c: one inotify instance for every watched folder.
 * listing.c: a folder's subfolders as the walk needs them, in one call.
 * stamps.c: which of many folders changed since a time. Here: what they
 * share, and giving the C heap's free memory back.
 */
#include "addon.h"
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Below this many items a second thread costs more than it saves. */
#define SHARE_FROM 256

char *path_of(napi_env env, napi_value value) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok) {
    errno = EFAULT;
    return NULL;
  }
  if (type == napi_string) {
    /* A path that is valid UTF-8 comes as a string: no Buffer to make for it on the JavaScript side. */
    size_t length;
    if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) {
      errno = EFAULT;
      return NULL;
    }
    char *path = malloc(length + 1);
    if (path == NULL) return NULL;
    if (napi_get_value_string_utf8(env, value, path, length + 1, &length) != napi_ok || memchr(path, 0, length) != NULL) {
      free(path);
      errno = EINVAL;
      return NULL;
    }
    return path;
  }
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

char **paths_of(napi_env env, napi_value array, uint32_t count) {
  char **paths = calloc(count + 1, sizeof *paths);
  for (uint32_t i = 0; paths != NULL && i < count; i++) {
    napi_value item;
    paths[i] = napi_get_element(env, array, i, &item) == napi_ok ? path_of(env, item) : NULL;
  }
  return paths;
}

void free_paths(char **paths, uint32_t count) {
  for (uint32_t i = 0; paths != NULL && i < count; i++) free(paths[i]);
  free(paths);
}

void on_two_threads(void *(*work)(void *), void *first, void *second, uint32_t count) {
  pthread_t thread;
  int shared = count >= SHARE_FROM && pthread_create(&thread, NULL, work, second) == 0;
  work(first);
  if (shared) pthread_join(thread, NULL);
  else work(second);
}

void settle(napi_env env, napi_deferred deferred, napi_value result) {
  if (result != NULL) {
    napi_resolve_deferred(env, deferred, result);
    return;
  }
  napi_value err = NULL;
  if (napi_get_and_clear_last_exception(env, &err) != napi_ok || err == NULL) napi_create_int32(env, -EIO, &err);
  napi_reject_deferred(env, deferred, err);
}

/*
 * trimHeap() -> whether the C library gave memory back. A walk's folders are
 * read on threads, and glibc keeps what each thread's arena freed (8 MB at
 * 100,000 folders) until asked; malloc_trim goes through every arena. Other
 * C libraries: nothing to do here.
 */
static napi_value trim_heap(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
#ifdef __GLIBC__
  napi_get_boolean(env, malloc_trim(0) != 0, &result);
#else
  napi_get_boolean(env, false, &result);
#endif
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value trim;
  if (define_inotify(env, exports) != napi_ok || define_listing(env, exports) != napi_ok || define_stamps(env, exports) != napi_ok ||
      napi_create_function(env, "trimHeap", NAPI_AUTO_LENGTH, trim_heap, NULL, &trim) != napi_ok ||
      napi_set_named_property(env, exports, "trimHeap", trim) != napi_ok) {
    napi_throw_error(env, NULL, "hgreload addon: could not define its functions");
    return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
