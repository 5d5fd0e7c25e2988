/*
 * One inotify instance for every watched folder, read on Node's event loop.
 *
 * Node's fs.watch costs about 1 KB of memory per folder (a JavaScript watcher,
 * its handle, three closures, libuv's record and a copy of the path): 100 MB at
 * 100,000 folders. Here a watch is a number the kernel keeps; what it means is
 * the caller's business. fs.watch also drops the kernel's IN_Q_OVERFLOW
 * record; this reads it like any other event.
 *
 * JavaScript sees: open(onEvents) -> handle; add(handle, paths, mask,
 * sinceMs?, changed?) -> a watch descriptor or -errno for each; remove(handle,
 * wd) -> 0 or -errno; close(handle). With `sinceMs` and `changed` (a
 * Uint8Array as long as `paths`), each folder watched is then stat'ed, and
 * changed[i] set where its mtime or ctime is at or after sinceMs, or the stat
 * fails: after a walk, what changed between a folder's read and its watch,
 * found in the same pass as the watch (the path just looked up) instead of a
 * second one.
 * onEvents receives a Buffer of raw `struct inotify_event` records, as many as
 * one read returned, and is called until the queue is empty.
 */
#include "addon.h"
#include <uv.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/inotify.h>
#include <unistd.h>

/* Room for at least one event with the longest name (NAME_MAX + 1 bytes). */
#define READ_SIZE 65536

typedef struct {
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  uv_poll_t poll;
  int fd;
  int closed;
  /* The JavaScript handle and libuv's poll handle: freed when both are done with it. */
  int owners;
} instance;

static void release(instance *in) {
  if (--in->owners == 0) free(in);
}

static void on_poll_closed(uv_handle_t *handle) {
  release(handle->data);
}

/* Stops reading, closes the descriptor (the kernel drops every watch with it) and frees the instance once libuv is done with it. */
static void shut(instance *in) {
  if (in->closed) return;
  in->closed = 1;
  uv_poll_stop(&in->poll);
  close(in->fd);
  napi_delete_reference(in->env, in->callback);
  napi_async_destroy(in->env, in->context);
  uv_close((uv_handle_t *)&in->poll, on_poll_closed);
}

static void on_readable(uv_poll_t *poll, int status, int events) {
  (void)events;
  instance *in = poll->data;
  napi_env env = in->env;
  if (status < 0 || in->closed) return;
  char buf[READ_SIZE] __attribute__((aligned(__alignof__(struct inotify_event))));
  while (!in->closed) {
    ssize_t n = read(in->fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return; /* EAGAIN: the queue is empty */
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value fn, recv, data, result;
    void *copy;
    if (napi_get_reference_value(env, in->callback, &fn) == napi_ok && napi_get_global(env, &recv) == napi_ok &&
        napi_create_buffer_copy(env, (size_t)n, buf, &copy, &data) == napi_ok) {
      /* make_callback: the caller's exceptions go to 'uncaughtException', and promises settled in it run after it. */
      if (napi_make_callback(env, in->context, recv, fn, 1, &data, &result) == napi_pending_exception) {
        napi_value err;
        if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
      }
    }
    napi_close_handle_scope(env, scope);
  }
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  shut(data);
  release(data);
}

static instance *unwrap(napi_env env, napi_value value) {
  void *data = NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "inotify: not an instance");
    return NULL;
  }
  return data;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], external, name;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype type;
  CHECK(napi_typeof(env, argv[0], &type));
  if (argc < 1 || type != napi_function) {
    napi_throw_type_error(env, NULL, "inotify: open(onEvents) needs a function");
    return NULL;
  }
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    napi_value result;
    CHECK(napi_create_int32(env, -errno, &result));
    return result;
  }
  uv_loop_t *loop;
  instance *in = calloc(1, sizeof *in);
  if (in == NULL || napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &in->poll, fd) != 0) {
    close(fd);
    free(in);
    napi_throw_error(env, NULL, "inotify: could not poll the instance");
    return NULL;
  }
  in->env = env;
  in->fd = fd;
  in->owners = 2;
  in->poll.data = in;
  CHECK(napi_create_reference(env, argv[0], 1, &in->callback));
  CHECK(napi_create_string_utf8(env, "hgreload:inotify", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &in->context));
  uv_poll_start(&in->poll, UV_READABLE, on_readable);
  CHECK(napi_create_external(env, in, finalize, NULL, &external));
  return external;
}

/* The instance a call is for (its first argument) and the `n - 1` arguments after it; NULL with an exception pending. */
static instance *args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < n) {
    napi_throw_type_error(env, NULL, "inotify: missing arguments");
    return NULL;
  }
  return unwrap(env, argv[0]);
}

typedef struct {
  int fd;
  uint32_t mask, from, to;
  char **paths;
  int32_t *answers;
  /* NULL, or where a folder watched is marked as changed since `since` (ms). */
  uint8_t *changed;
  double since;
} adds;

static void *add_part(void *arg) {
  adds *p = arg;
  for (uint32_t i = p->from; i < p->to; i++) {
    if (p->paths[i] == NULL) continue;
    int wd = inotify_add_watch(p->fd, p->paths[i], p->mask);
    p->answers[i] = wd < 0 ? -errno : wd;
    /* After the watch: a change from here on is an event, one before it shows in the stamps. */
    if (wd >= 0 && p->changed != NULL) p->changed[i] = changed_since(p->paths[i], p->since);
  }
  return NULL;
}

/*
 * Watches many paths in one call: their watch descriptors or -errno, in order.
 * At 100,000 folders a call each cost twice the system calls; here the paths
 * are shared with a second thread, where the kernel takes two at once.
 */
static napi_value js_add(napi_env env, napi_callback_info info) {
  napi_value argv[5], result;
  size_t argc = 5;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    napi_throw_type_error(env, NULL, "inotify: missing arguments");
    return NULL;
  }
  instance *in = unwrap(env, argv[0]);
  if (in == NULL) return NULL;
  uint32_t mask, count;
  double since = 0;
  uint8_t *changed = NULL;
  size_t changed_length = 0;
  napi_typedarray_type kind;
  int usage = napi_get_value_uint32(env, argv[2], &mask) != napi_ok || napi_get_array_length(env, argv[1], &count) != napi_ok;
  if (!usage && argc >= 5) {
    usage = napi_get_value_double(env, argv[3], &since) != napi_ok ||
            napi_get_typedarray_info(env, argv[4], &kind, &changed_length, (void **)&changed, NULL, NULL) != napi_ok || kind != napi_uint8_array ||
            changed_length < count;
  }
  if (usage) {
    napi_throw_type_error(env, NULL, "inotify: add(handle, paths: Array<string | Buffer>, mask: number, sinceMs?: number, changed?: Uint8Array)");
    return NULL;
  }
  char **paths = in->closed ? NULL : paths_of(env, argv[1], count);
  int32_t *answers = calloc(count + 1, sizeof *answers);
  if ((paths == NULL && !in->closed) || answers == NULL) {
    free_paths(paths, count);
    free(answers);
    napi_throw_error(env, NULL, "inotify: out of memory");
    return NULL;
  }
  /* A path that cannot be read (not a string or Buffer, a NUL in it) is no folder to watch. */
  for (uint32_t i = 0; i < count; i++) answers[i] = in->closed ? -EBADF : -EINVAL;
  if (!in->closed) {
    adds first = {in->fd, mask, 0, count / 2, paths, answers, changed, since}, second = {in->fd, mask, count / 2, count, paths, answers, changed, since};
    on_two_threads(add_part, &first, &second, count);
  }
  free_paths(paths, count);
  napi_status status = napi_create_array_with_length(env, count, &result);
  for (uint32_t i = 0; i < count && status == napi_ok; i++) {
    napi_value answer;
    status = napi_create_int32(env, answers[i], &answer);
    if (status == napi_ok) status = napi_set_element(env, result, i, answer);
  }
  free(answers);
  CHECK(status);
  return result;
}

static napi_value js_remove(napi_env env, napi_callback_info info) {
  napi_value argv[2], result;
  instance *in = args(env, info, 2, argv);
  if (in == NULL) return NULL;
  int32_t wd;
  CHECK(napi_get_value_int32(env, argv[1], &wd));
  int rc = in->closed ? -EBADF : inotify_rm_watch(in->fd, wd) < 0 ? -errno : 0;
  CHECK(napi_create_int32(env, rc, &result));
  return result;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  instance *in = args(env, info, 1, argv);
  if (in == NULL) return NULL;
  shut(in);
  return NULL;
}

napi_status define_inotify(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"add", NULL, js_add, NULL, NULL, NULL, napi_default, NULL},
      {"remove", NULL, js_remove, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
