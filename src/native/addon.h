/* What the addon's parts share: N-API, and how a failed N-API call ends a function. */
#ifndef HGRELOAD_ADDON_H
#define HGRELOAD_ADDON_H

#define NAPI_VERSION 8
#include <node_api.h>

#define CHECK(call)                                                          \
  do {                                                                       \
    if ((call) != napi_ok) {                                                 \
      napi_throw_error(env, NULL, "hgreload addon: N-API call failed: " #call); \
      return NULL;                                                           \
    }                                                                        \
  } while (0)

/* Each part adds its functions to the module's exports. */
napi_status define_inotify(napi_env env, napi_value exports);
napi_status define_listing(napi_env env, napi_value exports);
napi_status define_stamps(napi_env env, napi_value exports);

/*
 * A path handed in as a string, or as a Buffer where it is not UTF-8 (names
 * are bytes: see fs-names.ts's fsPath), NUL-terminated in a new allocation;
 * NULL with errno set.
 */
char *path_of(napi_env env, napi_value value);

/* path_of for each of `count` items of a JavaScript array, NULL where one cannot be read; NULL when out of memory. */
char **paths_of(napi_env env, napi_value array, uint32_t count);
void free_paths(char **paths, uint32_t count);

/*
 * work(first) here and work(second) on a second thread, together, for one
 * call's many system calls (stats, watches); below a few hundred items, both
 * here: a thread would cost more than it saves.
 */
void on_two_threads(void *(*work)(void *), void *first, void *second, uint32_t count);

/* Resolves `deferred` with `result`, or (NULL: a call failed) rejects it with the pending exception. */
void settle(napi_env env, napi_deferred deferred, napi_value result);

/* stamps.c: whether `path` had an entry made, removed or renamed at or after `since` (ms: its mtime or ctime), or cannot be stat'ed. */
int changed_since(const char *path, double since);

#endif
