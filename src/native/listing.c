/*
 * A folder's subfolders, as hgweb's walk needs them, in one call; and a
 * reader that reads the folders a walk will visit next on a thread of its own.
 *
 * Node's readdirSync with file types makes an object per entry, and the walk
 * then stats each repository's `.hg/patches/.hg` by its whole path: at 100,000
 * repositories the two cost 2.5 s of a start. Here the patch queue is looked
 * up relative to the open folder, the entries are read with getdents64 into
 * a buffer on the stack (glibc's readdir adds an fstat and a 32 KB allocation
 * per folder), and only the names the walk can use come back. The system
 * calls are still most of a walk's time; with a reader, a second core makes
 * half of them while JavaScript walks.
 *
 * JavaScript sees:
 * - list(path, reader?) -> [subfolders, symlinks, patch queue], -errno,
 *   or null. The names are in byte order; the patch queue is whether
 *   `.hg/patches/.hg` is a folder (following symlinks, as Python's
 *   os.path.isdir). Null: a name is not UTF-8, and the caller reads the folder
 *   as bytes itself. With a reader, a listing it read ahead is taken (waited
 *   for, if under way).
 * - read(path) -> a promise of what list gives, read on Node's thread pool
 *   (a network file system's server may be slow to answer).
 * - differ(path, known) -> a promise of the names (subfolders and symlinks)
 *   that the folder and `known` (names joined by NUL, or a table) do not
 *   share, in no order; -errno or null as list.
 * - table(known) -> handle: a set of names (joined by NUL) kept in the
 *   addon; tableSet(table, name, present): adds or takes away one (throws
 *   while a comparison reads the table); tableNames(table) -> its names.
 * - reader() -> handle; ahead(reader, paths[]): read these next, in
 *   order, up to AHEAD_MAX listings held; end(reader): stop its thread and
 *   drop what was not taken (also done when the handle is collected).
 *
 * A listing read ahead is read after the caller asked for it, so it is as
 * recent as the walk that asked: nothing older than the walk is ever handed
 * back.
 */
#define _GNU_SOURCE
#include "addon.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Listings a reader holds, read or waiting to be: a bound on its memory. */
#define AHEAD_MAX 4096

/* A name, as an offset into its listing's names; ASCII ones become JavaScript strings without decoding. */
typedef struct {
  uint32_t at, length;
  char type, ascii;
} entry;

/* The entries of a listing, their names one after the other in one allocation (a malloc per name cost more than the rest at 20,000 names). */
typedef struct {
  entry *items;
  size_t count, room;
  char *names;
  size_t used, space;
} entries;

static void drop(entries *list) {
  free(list->items);
  free(list->names);
  *list = (entries){0};
}

static int push(entries *list, char type, const char *name, int ascii) {
  if (list->count == list->room) {
    size_t room = list->room == 0 ? 16 : list->room * 2;
    entry *items = realloc(list->items, room * sizeof *items);
    if (items == NULL) return -1;
    list->items = items;
    list->room = room;
  }
  size_t length = strlen(name);
  if (list->used + length + 1 > list->space) {
    size_t space = list->space == 0 ? 4096 : list->space * 2;
    while (space < list->used + length + 1) space *= 2;
    char *names = realloc(list->names, space);
    if (names == NULL) return -1;
    list->names = names;
    list->space = space;
  }
  memcpy(list->names + list->used, name, length + 1);
  list->items[list->count++] = (entry){(uint32_t)list->used, (uint32_t)length, type, (char)ascii};
  list->used += length + 1;
  return 0;
}

static int by_name(const void *a, const void *b, void *names) {
  return strcmp((const char *)names + ((const entry *)a)->at, (const char *)names + ((const entry *)b)->at);
}

/*
 * Well-formed UTF-8 as RFC 3629 and Python's strict decoder read it: no
 * overlong forms, no surrogates, nothing above U+10FFFF. 2 for ASCII, 1 for
 * other well-formed UTF-8, 0 for anything else.
 */
static int utf8(const unsigned char *s) {
  int ascii = 1;
  while (*s) {
    unsigned char c = *s;
    int n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c < 0x80) n = 0;
    else if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c == 0xe0) n = 2, lo = 0xa0;
    else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) n = 2;
    else if (c == 0xed) n = 2, hi = 0x9f;
    else if (c == 0xf0) n = 3, lo = 0x90;
    else if (c >= 0xf1 && c <= 0xf3) n = 3;
    else if (c == 0xf4) n = 3, hi = 0x8f;
    else return 0;
    if (n > 0) ascii = 0;
    s++;
    for (int i = 0; i < n; i++, s++) {
      if (*s < (i == 0 ? lo : 0x80) || *s > (i == 0 ? hi : 0xbf)) return 0;
    }
  }
  return ascii ? 2 : 1;
}

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

/* What is done with each subfolder or symlink of a folder read: 0, or -errno. */
typedef int (*take_fn)(void *into, const char *name, size_t length, char type, int ascii);

static int into_entries(void *into, const char *name, size_t length, char type, int ascii) {
  (void)length;
  return push(into, type, name, ascii) == 0 ? 0 : -ENOMEM;
}

/* What one entry adds: 0, or -errno, or 1 when its name is not UTF-8. */
static int take_entry(int fd, const char *name, unsigned char type, take_fn take, void *into, int *has_hg) {
  if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) return 0;
  if (type == DT_UNKNOWN) {
    /* Some file systems do not say: ask, as Node does. An entry gone since is no entry. */
    struct stat st;
    if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return 0;
    type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK : DT_REG;
  }
  if (type != DT_DIR && type != DT_LNK) return 0;
  int text = utf8((const unsigned char *)name);
  if (text == 0) return 1;
  if (strcmp(name, ".hg") == 0) *has_hg = 1;
  return take(into, name, strlen(name), type == DT_DIR ? 'd' : 'l', text == 2);
}

/* Reads `path`, each subfolder and symlink given to `take`: 0, or -errno; 1 when a name is not UTF-8. */
static int scan_folder(const char *path, take_fn take, void *into, int *patch_queue) {
  *patch_queue = 0;
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  char buf[32768] __attribute__((aligned(8)));
  int rc = 0, has_hg = 0;
  while (rc == 0) {
    long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) rc = -errno;
    if (n <= 0) break;
    for (long at = 0; at < n && rc == 0;) {
      struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + at);
      rc = take_entry(fd, d->d_name, d->d_type, take, into, &has_hg);
      at += d->d_reclen;
    }
  }
  struct stat st;
  *patch_queue = rc == 0 && has_hg && fstatat(fd, ".hg/patches/.hg", &st, 0) == 0 && S_ISDIR(st.st_mode);
  close(fd);
  return rc;
}

/* Reads `path`: 0 and its entries in byte order, or -errno; 1 when a name is not UTF-8. */
static int read_folder(const char *path, entries *out, int *patch_queue) {
  int rc = scan_folder(path, into_entries, out, patch_queue);
  if (rc == 0) qsort_r(out->items, out->count, sizeof *out->items, by_name, out->names);
  return rc;
}

/* A folder a reader was asked to read ahead: waiting, being read, or read. */
typedef struct slot {
  char *path;
  uint64_t hash;
  enum { WAITING, READING, READ } state;
  int rc, patch_queue;
  entries list;
  struct slot *next;           /* in its hash bucket */
  struct slot *before, *after; /* in the queue, while WAITING */
} slot;

#define BUCKETS 8192

typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t work, read;
  pthread_t thread;
  int started, stopping;
  size_t held;
  slot *buckets[BUCKETS];
  slot *head, *tail;
} reader;

static uint64_t hash_of(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

static slot **find(reader *r, const char *path, uint64_t hash) {
  slot **at = &r->buckets[hash % BUCKETS];
  while (*at != NULL && ((*at)->hash != hash || strcmp((*at)->path, path) != 0)) at = &(*at)->next;
  return at;
}

static void free_slot(slot *s) {
  drop(&s->list);
  free(s->path);
  free(s);
}

/* Takes `s` out of the queue; the lock is held. */
static void dequeue(reader *r, slot *s) {
  if (s->before != NULL) s->before->after = s->after;
  else r->head = s->after;
  if (s->after != NULL) s->after->before = s->before;
  else r->tail = s->before;
  s->before = s->after = NULL;
}

/* Takes `s` (found at `at`) out of the table and the queue; the lock is held. */
static void unlink_slot(reader *r, slot **at, slot *s) {
  *at = s->next;
  r->held--;
  if (s->state == WAITING) dequeue(r, s);
}

static void *read_ahead(void *arg) {
  reader *r = arg;
  pthread_mutex_lock(&r->lock);
  for (;;) {
    while (!r->stopping && r->head == NULL) pthread_cond_wait(&r->work, &r->lock);
    if (r->stopping) break;
    /*
     * From the end: the walk takes its folders from the front, in order, and
     * reads one still waiting itself. Taken from the front here too, the two
     * would meet at every folder, and the walk would wait on each.
     */
    slot *s = r->tail;
    dequeue(r, s);
    s->state = READING;
    pthread_mutex_unlock(&r->lock);
    entries list = {0};
    int patch_queue;
    int rc = read_folder(s->path, &list, &patch_queue);
    pthread_mutex_lock(&r->lock);
    s->list = list;
    s->rc = rc;
    s->patch_queue = patch_queue;
    s->state = READ;
    pthread_cond_broadcast(&r->read);
  }
  pthread_mutex_unlock(&r->lock);
  return NULL;
}

/* Stops the thread and drops every listing not taken. */
static void end_reader(reader *r) {
  pthread_mutex_lock(&r->lock);
  r->stopping = 1;
  pthread_cond_broadcast(&r->work);
  pthread_mutex_unlock(&r->lock);
  if (r->started) pthread_join(r->thread, NULL);
  r->started = 0;
  for (size_t b = 0; b < BUCKETS; b++) {
    for (slot *s = r->buckets[b], *next; s != NULL; s = next) {
      next = s->next;
      free_slot(s);
    }
    r->buckets[b] = NULL;
  }
  r->head = r->tail = NULL;
  r->held = 0;
}

static void finalize_reader(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  reader *r = data;
  end_reader(r);
  pthread_mutex_destroy(&r->lock);
  pthread_cond_destroy(&r->work);
  pthread_cond_destroy(&r->read);
  free(r);
}

/* What tells a table from a reader, both external values. */
static const napi_type_tag TABLE_TAG = {0x6867726c6f616431ULL, 0x6e616d657461626cULL};
static const napi_type_tag READER_TAG = {0x6867726c6f616431ULL, 0x7265616465727331ULL};

/* The external's data when it carries `tag`, else NULL. */
static void *tagged(napi_env env, napi_value value, const napi_type_tag *tag) {
  void *data = NULL;
  bool is = false;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external || napi_check_object_type_tag(env, value, tag, &is) != napi_ok || !is) return NULL;
  return napi_get_value_external(env, value, &data) == napi_ok ? data : NULL;
}

/*
 * `path`'s listing: the one `r` read ahead (waited for while being read), or
 * read here. One still waiting is read here rather than waited for.
 */
static int listing_of(reader *r, const char *path, entries *list, int *patch_queue) {
  if (r != NULL) {
    uint64_t hash = hash_of(path);
    pthread_mutex_lock(&r->lock);
    slot **at = find(r, path, hash);
    slot *s = *at;
    if (s != NULL) {
      while (s->state == READING) pthread_cond_wait(&r->read, &r->lock);
      at = find(r, path, hash);
      unlink_slot(r, at, s);
    }
    pthread_mutex_unlock(&r->lock);
    if (s != NULL && s->state == READ) {
      *list = s->list;
      *patch_queue = s->patch_queue;
      int rc = s->rc;
      s->list = (entries){0};
      free_slot(s);
      return rc;
    }
    if (s != NULL) free_slot(s);
  }
  return read_folder(path, list, patch_queue);
}

/* What JavaScript gets for a read: [subfolders, symlinks, patch queue], -errno, or null (a name not UTF-8); the entries are freed. */
static napi_value answer(napi_env env, int rc, entries *list, int patch_queue) {
  napi_value result;
  if (rc != 0) {
    drop(list);
    if (rc == 1) CHECK(napi_get_null(env, &result));
    else CHECK(napi_create_int32(env, rc, &result));
    return result;
  }
  napi_value dirs, links, flag;
  uint32_t n_dirs = 0, n_links = 0;
  napi_status status = napi_create_array(env, &result);
  if (status == napi_ok) status = napi_create_array(env, &dirs);
  if (status == napi_ok) status = napi_create_array(env, &links);
  /* One string per name (not slices of one): a slice would keep the whole listing alive for as long as a path holds it. */
  for (size_t i = 0; i < list->count && status == napi_ok; i++) {
    napi_value name;
    const entry *e = &list->items[i];
    const char *text = list->names + e->at;
    status = e->ascii ? napi_create_string_latin1(env, text, e->length, &name) : napi_create_string_utf8(env, text, e->length, &name);
    if (status == napi_ok) status = e->type == 'd' ? napi_set_element(env, dirs, n_dirs++, name) : napi_set_element(env, links, n_links++, name);
  }
  drop(list);
  CHECK(status);
  CHECK(napi_get_boolean(env, patch_queue, &flag));
  CHECK(napi_set_element(env, result, 0, dirs));
  CHECK(napi_set_element(env, result, 1, links));
  CHECK(napi_set_element(env, result, 2, flag));
  return result;
}

static napi_value js_list(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  reader *r = argc < 2 ? NULL : tagged(env, argv[1], &READER_TAG);
  char *path = argc < 1 ? NULL : path_of(env, argv[0]);
  if (path == NULL) {
    CHECK(napi_create_int32(env, -errno, &result));
    return result;
  }
  entries list = {0};
  int patch_queue = 0;
  int rc = listing_of(r, path, &list, &patch_queue);
  free(path);
  return answer(env, rc, &list, patch_queue);
}

/*
 * A set of names, open addressing with linear probing: what differ compares a
 * folder's listing with. Made for one comparison from the names JavaScript
 * joins, or kept between comparisons (a table: see js_table) and changed name
 * by name, so that a change that only a poll finds in a folder of 20,000
 * entries hands over nothing. A kept set lives as long as its folder is
 * watched, so it is compact: a slot is an index, and the names lie one after
 * another in one block (at a million names of 11 bytes, 28 bytes a name: its
 * slot at half load, its offset and hash, its text; with a pointer and an
 * allocation each, 65).
 */
typedef struct {
  /* Where the name starts in `text` (DEAD: taken away), and its hash. */
  uint32_t at, hash;
} held_name;

#define DEAD UINT32_MAX

typedef struct {
  /* 0: empty; else 1 + the index in `held` of the name there. */
  uint32_t *slots;
  size_t size, count;
  /* The names in the order they came, those taken away included until the set is made again. */
  held_name *held;
  size_t held_count, held_room;
  char *text;
  size_t text_used, text_room;
  /* Comparisons under way on the thread pool, which read the set: it must not change meanwhile. */
  int readers;
} name_set;

static uint32_t hash_name(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
  return (uint32_t)(h ^ (h >> 32));
}

/* The name in `slot`, or NULL where it is empty. */
static const char *set_name(const name_set *set, size_t slot) {
  return set->slots[slot] == 0 ? NULL : set->text + set->held[set->slots[slot] - 1].at;
}

/* The slot that holds `name`, or the empty one where it would go. */
static size_t set_find(const name_set *set, const char *name, uint32_t hash) {
  size_t mask = set->size - 1, slot = hash & mask;
  for (uint32_t i; (i = set->slots[slot]) != 0; slot = (slot + 1) & mask) {
    const held_name *h = &set->held[i - 1];
    if (h->hash == hash && strcmp(set->text + h->at, name) == 0) break;
  }
  return slot;
}

static void set_free(name_set *set) {
  free(set->slots);
  free(set->held);
  free(set->text);
  *set = (name_set){0};
}

/*
 * Makes the set again, with room for `count` names at half load or less and
 * `more` bytes of names, without the names taken away; 0, or -ENOMEM (the set
 * as it was).
 */
static int set_remake(name_set *set, size_t count, size_t more) {
  size_t size = 16, text = more;
  while (size < 2 * count) size *= 2;
  for (size_t i = 0; i < set->held_count; i++)
    if (set->held[i].at != DEAD) text += strlen(set->text + set->held[i].at) + 1;
  size_t room = count < 16 ? 16 : count;
  name_set made = {.slots = calloc(size, sizeof(uint32_t)), .size = size, .held = malloc(room * sizeof(held_name)), .held_room = room,
                   .text = malloc(text < 256 ? 256 : text), .text_room = text < 256 ? 256 : text, .readers = set->readers};
  if (made.slots == NULL || made.held == NULL || made.text == NULL) {
    set_free(&made);
    return -ENOMEM;
  }
  for (size_t i = 0; i < set->held_count; i++) {
    const held_name *h = &set->held[i];
    if (h->at == DEAD) continue;
    size_t length = strlen(set->text + h->at) + 1;
    memcpy(made.text + made.text_used, set->text + h->at, length);
    made.held[made.held_count] = (held_name){(uint32_t)made.text_used, h->hash};
    size_t slot = h->hash & (size - 1);
    while (made.slots[slot] != 0) slot = (slot + 1) & (size - 1);
    made.slots[slot] = (uint32_t)++made.held_count;
    made.text_used += length;
  }
  made.count = made.held_count;
  set_free(set);
  *set = made;
  return 0;
}

/* Grows `*buffer` (of `*room` items of `item` bytes) to hold `need`; 0, or -ENOMEM. */
static int grow(void **buffer, size_t *room, size_t need, size_t item) {
  if (need <= *room) return 0;
  size_t more = *room * 2;
  if (more < need) more = need;
  void *grown = realloc(*buffer, more * item);
  if (grown == NULL) return -ENOMEM;
  *buffer = grown;
  *room = more;
  return 0;
}

/* Adds `name` (`length` bytes); 0, or -ENOMEM. */
static int set_add(name_set *set, const char *name, size_t length) {
  /* Made again at half load, or where the names taken away outnumber the others (their text stays until then). */
  if ((set->size == 0 || 2 * (set->count + 1) > set->size || set->held_count - set->count > set->count + 16) && set_remake(set, set->count + 1, length + 1) != 0) return -ENOMEM;
  uint32_t hash = hash_name(name, length);
  size_t slot = set_find(set, name, hash);
  if (set->slots[slot] != 0) return 0;
  if (set->text_used + length + 1 >= DEAD || set->held_count + 1 >= DEAD) return -ENOMEM;
  if (grow((void **)&set->held, &set->held_room, set->held_count + 1, sizeof(held_name)) != 0 ||
      grow((void **)&set->text, &set->text_room, set->text_used + length + 1, 1) != 0)
    return -ENOMEM;
  memcpy(set->text + set->text_used, name, length);
  set->text[set->text_used + length] = 0;
  set->held[set->held_count] = (held_name){(uint32_t)set->text_used, hash};
  set->slots[slot] = (uint32_t)++set->held_count;
  set->text_used += length + 1;
  set->count++;
  return 0;
}

/* Takes `name` away, moving back the names after it that probed past its slot (no tombstones). */
static void set_remove(name_set *set, const char *name, size_t length) {
  if (set->size == 0) return;
  size_t mask = set->size - 1, hole = set_find(set, name, hash_name(name, length));
  if (set->slots[hole] == 0) return;
  set->held[set->slots[hole] - 1].at = DEAD;
  set->slots[hole] = 0;
  set->count--;
  for (size_t next = (hole + 1) & mask; set->slots[next] != 0; next = (next + 1) & mask) {
    size_t home = set->held[set->slots[next] - 1].hash & mask;
    /* Stays where it is when its home lies cyclically in (hole, next]. */
    if (hole < next ? home > hole && home <= next : home > hole || home <= next) continue;
    set->slots[hole] = set->slots[next];
    set->slots[next] = 0;
    hole = next;
  }
}

/* The set of `size` bytes of names, each ended by a NUL (a name given twice is one); 0, or -ENOMEM. */
static int set_of(name_set *set, const char *names, size_t size) {
  size_t count = 0;
  for (size_t at = 0; at < size; at += strlen(names + at) + 1) count++;
  int rc = set_remake(set, count, size);
  for (size_t at = 0; at < size && rc == 0; at += strlen(names + at) + 1) rc = set_add(set, names + at, strlen(names + at));
  return rc;
}

/*
 * Jobs on Node's thread pool, for a network file system's folder (whose
 * server may be slow to answer): read, a folder's listing as list gives it;
 * differ, the names (subfolders and symlinks) in which a folder and a set of
 * known names differ. For a change that only a poll finds in a folder of
 * 20,000 entries, differ neither sorts the listing nor makes 20,000
 * JavaScript strings.
 */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *path;
  /* differ's known names: given joined (each ended by a NUL), made into `own` on the pool; or a kept table's, held by `table`. */
  char *known;
  size_t known_size;
  name_set own, *set;
  napi_ref table;
  entries list, diff;
  int rc, patch_queue;
} listing_job;

/* While a folder is read for differ: which names of the set it holds, and those it holds that the set does not. */
typedef struct {
  const name_set *set;
  char *seen;
  entries *diff;
} comparison;

static int into_comparison(void *into, const char *name, size_t length, char type, int ascii) {
  (void)type;
  comparison *c = into;
  if (c->set->size != 0) {
    size_t slot = set_find(c->set, name, hash_name(name, length));
    if (c->set->slots[slot] != 0) {
      c->seen[slot] = 1;
      return 0;
    }
  }
  /* Every name of a difference goes in as a subfolder: job_done hands back the subfolders. */
  return push(c->diff, 'd', name, ascii) == 0 ? 0 : -ENOMEM;
}

/* Reads job->path, comparing each name with job->set as it comes (no listing kept): the difference into job->diff. */
static int differ(listing_job *job) {
  const name_set *set = job->set;
  comparison c = {set, calloc(set->size + 1, 1), &job->diff};
  if (c.seen == NULL) return -ENOMEM;
  int patch_queue;
  int rc = scan_folder(job->path, into_comparison, &c, &patch_queue);
  for (size_t slot = 0; slot < set->size && rc == 0; slot++) {
    const char *name = set_name(set, slot);
    if (name != NULL && !c.seen[slot] && push(&job->diff, 'd', name, utf8((const unsigned char *)name) == 2) != 0) rc = -ENOMEM;
  }
  free(c.seen);
  return rc;
}

static void job_in_pool(napi_env env, void *data) {
  (void)env;
  listing_job *job = data;
  if (job->known != NULL) {
    job->rc = set_of(&job->own, job->known, job->known_size);
    job->set = &job->own;
  }
  if (job->set == NULL) job->rc = read_folder(job->path, &job->list, &job->patch_queue);
  else if (job->rc == 0) job->rc = differ(job);
}

static void job_done(napi_env env, napi_status status, void *data) {
  listing_job *job = data;
  napi_value result = NULL;
  if (status == napi_ok && job->set == NULL) {
    result = answer(env, job->rc, &job->list, job->patch_queue);
  } else if (status == napi_ok) {
    napi_value names;
    result = answer(env, job->rc, &job->diff, 0);
    if (job->rc == 0 && result != NULL && napi_get_element(env, result, 0, &names) == napi_ok) result = names;
  }
  if (job->table != NULL) {
    job->set->readers--;
    napi_delete_reference(env, job->table);
  }
  drop(&job->list);
  drop(&job->diff);
  set_free(&job->own);
  settle(env, job->deferred, result);
  napi_delete_async_work(env, job->work);
  free(job->path);
  free(job->known);
  free(job);
}

/* Queues `job` and gives its promise; frees it and throws `usage` where it could not be made. */
static napi_value start(napi_env env, listing_job *job, const char *usage) {
  napi_value promise, name;
  if (job == NULL || job->path == NULL) {
    if (job != NULL) free(job->known);
    free(job);
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  CHECK(napi_create_promise(env, &job->deferred, &promise));
  CHECK(napi_create_string_utf8(env, "hgreload:listing", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, NULL, name, job_in_pool, job_done, job, &job->work));
  CHECK(napi_queue_async_work(env, job->work));
  return promise;
}

static napi_value js_read(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  listing_job *job = calloc(1, sizeof *job);
  if (job != NULL && argc >= 1) job->path = path_of(env, argv[0]);
  return start(env, job, "listing: read(path: string | Buffer)");
}

/*
 * The call's first `count` arguments into `argv` (undefined where not given),
 * and the data of the first, an external with `tag`; NULL, with a TypeError
 * saying `usage` thrown, where it is not one.
 */
static void *handle_argument(napi_env env, napi_callback_info info, size_t count, napi_value *argv, const napi_type_tag *tag, const char *usage) {
  size_t argc = count;
  void *data = napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= 1 ? tagged(env, argv[0], tag) : NULL;
  if (data == NULL) napi_throw_type_error(env, NULL, usage);
  return data;
}

/* A JavaScript string as UTF-8 in a new allocation (NULL where it is not a string, or out of memory), and its length. */
static char *text_of(napi_env env, napi_value value, size_t *length) {
  char *text;
  if (napi_get_value_string_utf8(env, value, NULL, 0, length) != napi_ok || (text = malloc(*length + 1)) == NULL) return NULL;
  if (napi_get_value_string_utf8(env, value, text, *length + 1, length) == napi_ok) return text;
  free(text);
  return NULL;
}

static napi_value js_differ(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  listing_job *job = calloc(1, sizeof *job);
  name_set *table = argc < 2 ? NULL : tagged(env, argv[1], &TABLE_TAG);
  size_t length = 0;
  if (job != NULL && table != NULL && napi_create_reference(env, argv[1], 1, &job->table) == napi_ok) {
    job->set = table;
    table->readers++;
    job->path = path_of(env, argv[0]);
    if (job->path == NULL) {
      table->readers--;
      napi_delete_reference(env, job->table);
    }
  } else if (job != NULL && argc >= 2 && (job->known = text_of(env, argv[1], &length)) != NULL) {
    /* Each known name ends with a NUL: the caller joins them with one, and the last gets its own here. */
    job->known_size = length == 0 ? 0 : length + 1;
    job->path = path_of(env, argv[0]);
  }
  return start(env, job, "listing: differ(path: string | Buffer, known: string | table)");
}

static void finalize_table(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  set_free(data);
  free(data);
}

/* table(known) -> a set of the names joined by NUL in `known`, kept by the addon until it is collected. */
static napi_value js_table(napi_env env, napi_callback_info info) {
  size_t argc = 1, length = 0;
  napi_value argv[1], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *known = argc < 1 ? NULL : text_of(env, argv[0], &length);
  if (known == NULL) {
    napi_throw_type_error(env, NULL, "listing: table(known: string)");
    return NULL;
  }
  name_set *set = calloc(1, sizeof *set);
  int rc = set == NULL ? -ENOMEM : set_of(set, known, length == 0 ? 0 : length + 1);
  free(known);
  if (rc != 0) {
    if (set != NULL) finalize_table(env, set, NULL);
    napi_throw_error(env, NULL, "listing: out of memory");
    return NULL;
  }
  if (napi_create_external(env, set, finalize_table, NULL, &result) != napi_ok || napi_type_tag_object(env, result, &TABLE_TAG) != napi_ok) {
    finalize_table(env, set, NULL);
    napi_throw_error(env, NULL, "listing: could not make a table");
    return NULL;
  }
  return result;
}

/* tableSet(table, name, present): adds or takes away one name; throws while a comparison reads the table. */
static napi_value js_table_set(napi_env env, napi_callback_info info) {
  static const char usage[] = "listing: tableSet(table, name: string, present: boolean)";
  size_t length = 0;
  napi_value argv[3];
  bool present = false;
  name_set *set = handle_argument(env, info, 3, argv, &TABLE_TAG, usage);
  if (set == NULL) return NULL;
  char *name = text_of(env, argv[1], &length);
  if (name == NULL || napi_get_value_bool(env, argv[2], &present) != napi_ok) {
    free(name);
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  int rc = 0;
  if (set->readers > 0) rc = -EBUSY;
  else if (present) rc = set_add(set, name, length);
  else set_remove(set, name, length);
  free(name);
  if (rc != 0) napi_throw_error(env, NULL, rc == -EBUSY ? "listing: a table changed while a comparison reads it" : "listing: out of memory");
  return NULL;
}

/* tableNames(table) -> its names, in no order. */
static napi_value js_table_names(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  name_set *set = handle_argument(env, info, 1, argv, &TABLE_TAG, "listing: tableNames(table)");
  if (set == NULL) return NULL;
  entries list = {0};
  int rc = 0;
  for (size_t slot = 0; slot < set->size && rc == 0; slot++) {
    const char *name = set_name(set, slot);
    if (name != NULL && push(&list, 'd', name, utf8((const unsigned char *)name) == 2) != 0) rc = -ENOMEM;
  }
  napi_value result, names;
  result = answer(env, rc, &list, 0);
  if (result == NULL || rc != 0) return result;
  CHECK(napi_get_element(env, result, 0, &names));
  return names;
}

static napi_value js_reader(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  reader *r = calloc(1, sizeof *r);
  if (r == NULL) {
    napi_throw_error(env, NULL, "listing: out of memory");
    return NULL;
  }
  pthread_mutex_init(&r->lock, NULL);
  pthread_cond_init(&r->work, NULL);
  pthread_cond_init(&r->read, NULL);
  if (napi_create_external(env, r, finalize_reader, NULL, &result) != napi_ok || napi_type_tag_object(env, result, &READER_TAG) != napi_ok) {
    finalize_reader(env, r, NULL);
    napi_throw_error(env, NULL, "listing: could not make a reader");
    return NULL;
  }
  return result;
}

static napi_value js_ahead(napi_env env, napi_callback_info info) {
  static const char usage[] = "listing: ahead(reader, paths: Array<string | Buffer>)";
  napi_value argv[2];
  reader *r = handle_argument(env, info, 2, argv, &READER_TAG, usage);
  if (r == NULL) return NULL;
  uint32_t count;
  if (napi_get_array_length(env, argv[1], &count) != napi_ok) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  pthread_mutex_lock(&r->lock);
  /* The thread starts with the first folder to read ahead: a reader of a small walk may never need it. */
  if (!r->started && !r->stopping && count > 0) r->started = pthread_create(&r->thread, NULL, read_ahead, r) == 0;
  int queued = 0;
  for (uint32_t i = 0; i < count && r->started && r->held < AHEAD_MAX; i++) {
    napi_value item;
    char *path = napi_get_element(env, argv[1], i, &item) == napi_ok ? path_of(env, item) : NULL;
    if (path == NULL) continue;
    uint64_t hash = hash_of(path);
    slot **at = find(r, path, hash);
    slot *s = *at == NULL ? calloc(1, sizeof *s) : NULL;
    if (s == NULL) {
      free(path);
      continue;
    }
    *s = (slot){.path = path, .hash = hash, .state = WAITING};
    *at = s;
    s->before = r->tail;
    if (r->tail == NULL) r->head = s;
    else r->tail->after = s;
    r->tail = s;
    r->held++;
    queued = 1;
  }
  if (queued) pthread_cond_signal(&r->work);
  pthread_mutex_unlock(&r->lock);
  return NULL;
}

static napi_value js_end(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  reader *r = handle_argument(env, info, 1, argv, &READER_TAG, "listing: end(reader)");
  if (r == NULL) return NULL;
  end_reader(r);
  return NULL;
}

napi_status define_listing(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"list", NULL, js_list, NULL, NULL, NULL, napi_default, NULL},
      {"read", NULL, js_read, NULL, NULL, NULL, napi_default, NULL},
      {"differ", NULL, js_differ, NULL, NULL, NULL, napi_default, NULL},
      {"table", NULL, js_table, NULL, NULL, NULL, napi_default, NULL},
      {"tableSet", NULL, js_table_set, NULL, NULL, NULL, napi_default, NULL},
      {"tableNames", NULL, js_table_names, NULL, NULL, NULL, napi_default, NULL},
      {"reader", NULL, js_reader, NULL, NULL, NULL, napi_default, NULL},
      {"ahead", NULL, js_ahead, NULL, NULL, NULL, napi_default, NULL},
      {"end", NULL, js_end, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
