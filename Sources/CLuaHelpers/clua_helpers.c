// The C half of Contactor's Swift–Lua bridge. See include/clua_helpers.h.
//
// Encoding of values (native byte order; the bridge never leaves the process):
//   sequence := u64 count, value*
//   value    := 0 nil | 1 false | 2 true | 3 i64 | 4 f64 | 5 u64 len, bytes
//             | 6 u64 n, value*n            (array: keys exactly 1..n)
//             | 7 u64 n, (value value)*n    (map)
//             | 8 u8 lua_type               (function, userdata, thread: decoded as nil)
#include "clua_helpers.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLH_HOOK_STEP 1000
#define CLH_MAX_DEPTH 100
#define CLH_HOST_KEY "contactor.host"
#define CLH_SANDBOX_KEY "contactor.sandbox"

typedef struct clh_limits {
    size_t used;
    size_t limit;
    int armed;
    int tripped;
    int64_t budget;
    int64_t remaining;
    /// Where the budget tripped (`file:line`, from the hook, before anything could unwind)
    /// and the traceback there (malloc'ed, or NULL); both reset by clh_start.
    char trip_where[256];
    char *trip_traceback;
    /// The results of the last clh_call, kept (and reused) until the next one.
    char *results;
    size_t results_cap;
} clh_limits;

static clh_limits *limits_of(lua_State *L) {
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return (clh_limits *)ud;
}

// MARK: allocator and hook

static void *clh_allocator(void *ud, void *ptr, size_t osize, size_t nsize) {
    clh_limits *limits = (clh_limits *)ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        limits->used -= old;
        return NULL;
    }
    if (limits->armed && nsize > old && limits->used - old + nsize > limits->limit) {
        return NULL;  // Lua runs an emergency collection, then raises LUA_ERRMEM
    }
    void *block = realloc(ptr, nsize);
    if (block == NULL) return NULL;
    limits->used = limits->used - old + nsize;
    return block;
}

/// Records where the budget tripped: the running function's `file:line` and a traceback,
/// taken in the hook at the first trip, so that the report names the loop itself and not
/// the line a script's pcall returned to.
static void record_trip(lua_State *L, lua_Debug *ar, clh_limits *limits) {
    limits->trip_where[0] = 0;
    if (lua_getinfo(L, "Sl", ar) != 0) {
        if (ar->currentline > 0)
            snprintf(limits->trip_where, sizeof limits->trip_where, "%s:%d", ar->short_src,
                     ar->currentline);
        else
            snprintf(limits->trip_where, sizeof limits->trip_where, "%s", ar->short_src);
    }
    free(limits->trip_traceback);
    limits->trip_traceback = NULL;
    // luaL_traceback allocates: lift the memory cap for it (hooks do not run inside a
    // hook, so disarming cannot let the script run unlimited) and keep a C copy.
    if (!lua_checkstack(L, 2)) return;
    limits->armed = 0;
    luaL_traceback(L, L, NULL, 0);
    limits->armed = 1;
    size_t n = 0;
    const char *text = lua_tolstring(L, -1, &n);
    if (text != NULL) {
        limits->trip_traceback = malloc(n + 1);
        if (limits->trip_traceback) memcpy(limits->trip_traceback, text, n + 1);
    }
    lua_pop(L, 1);
}

static void clh_hook(lua_State *L, lua_Debug *ar) {
    clh_limits *limits = limits_of(L);
    if (!limits->armed) return;
    if (!limits->tripped) {
        limits->remaining -= CLH_HOOK_STEP;
        if (limits->remaining > 0) return;
        limits->tripped = 1;
        record_trip(L, ar, limits);
        // Fire on every instruction from now on, so that a pcall in the script cannot
        // swallow the limit: the next instruction raises again.
        lua_sethook(L, clh_hook, LUA_MASKCOUNT, 1);
    }
    // The message is built here and pushed as data: never hand a text with values in it
    // to lua_pushfstring / luaL_error as a format (it knows neither %lld nor a stray %).
    char message[400];
    snprintf(message, sizeof message, "%s%sinstruction budget of %lld exceeded",
             limits->trip_where, limits->trip_where[0] ? ": " : "", (long long)limits->budget);
    lua_pushstring(L, message);
    lua_error(L);
}

// MARK: buffers

typedef struct clh_buf {
    char *data;
    size_t len, cap;
    int failed;
} clh_buf;

static void buf_put(clh_buf *b, const void *p, size_t n) {
    if (b->failed) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        char *data = realloc(b->data, cap);
        if (data == NULL) {
            b->failed = 1;
            return;
        }
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}
static void buf_u8(clh_buf *b, uint8_t v) { buf_put(b, &v, 1); }
static void buf_u64(clh_buf *b, uint64_t v) { buf_put(b, &v, 8); }

void clh_free(clh_bytes *bytes) {
    if (bytes == NULL) return;
    free(bytes->data);
    bytes->data = NULL;
    bytes->len = 0;
}

char *clh_alloc_bytes(size_t len) { return malloc(len ? len : 1); }

// MARK: encoding (raw access only: it never raises and runs no Lua code)

static const char *encode_value(lua_State *L, int idx, clh_buf *b, int depth);

static const char *encode_table(lua_State *L, int idx, clh_buf *b, int depth) {
    if (depth > CLH_MAX_DEPTH) return "table nesting is too deep (a table that contains itself?)";
    if (!lua_checkstack(L, 4)) return "stack overflow while reading a table";
    // First the keys alone: the table is an array when they are exactly 1..n. Then each
    // value is encoded once. (Encoding the values as a map first and again as an array
    // doubled the work at each level of nested arrays: 2^depth for arrays of arrays.)
    uint64_t count = 0;
    lua_Integer maxkey = 0;
    int is_array = 1;
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        count++;
        if (is_array && lua_type(L, -2) == LUA_TNUMBER && lua_isinteger(L, -2)) {
            lua_Integer k = lua_tointeger(L, -2);
            if (k < 1) is_array = 0;
            else if (k > maxkey) maxkey = k;
        } else {
            is_array = 0;
        }
        lua_pop(L, 1);
    }
    if (is_array && (uint64_t)maxkey == count) {
        buf_u8(b, 6);
        buf_u64(b, count);
        for (lua_Integer i = 1; i <= maxkey; i++) {
            lua_rawgeti(L, idx, i);
            const char *err = encode_value(L, lua_gettop(L), b, depth + 1);
            lua_pop(L, 1);
            if (err) return err;
        }
        return b->failed ? "out of memory while reading a value" : NULL;
    }
    buf_u8(b, 7);
    buf_u64(b, count);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        int top = lua_gettop(L);
        const char *err = encode_value(L, top - 1, b, depth + 1);
        if (!err) err = encode_value(L, top, b, depth + 1);
        if (err) {
            lua_pop(L, 2);
            return err;
        }
        lua_pop(L, 1);
    }
    return b->failed ? "out of memory while reading a value" : NULL;
}

static const char *encode_value(lua_State *L, int idx, clh_buf *b, int depth) {
    switch (lua_type(L, idx)) {
    case LUA_TNIL: buf_u8(b, 0); break;
    case LUA_TBOOLEAN: buf_u8(b, lua_toboolean(L, idx) ? 2 : 1); break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            int64_t v = (int64_t)lua_tointeger(L, idx);
            buf_u8(b, 3);
            buf_put(b, &v, 8);
        } else {
            double v = (double)lua_tonumber(L, idx);
            buf_u8(b, 4);
            buf_put(b, &v, 8);
        }
        break;
    case LUA_TSTRING: {
        size_t n = 0;
        const char *s = lua_tolstring(L, idx, &n);  // a string: no conversion, no allocation
        buf_u8(b, 5);
        buf_u64(b, n);
        buf_put(b, s, n);
        break;
    }
    case LUA_TTABLE: return encode_table(L, idx, b, depth);
    default:
        buf_u8(b, 8);
        buf_u8(b, (uint8_t)lua_type(L, idx));
        break;
    }
    return b->failed ? "out of memory while reading a value" : NULL;
}

static const char *encode_range(lua_State *L, int first, int n, clh_buf *b) {
    buf_u64(b, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        const char *err = encode_value(L, first + i, b, 0);
        if (err) return err;
    }
    return b->failed ? "out of memory while reading values" : NULL;
}

int clh_encode_top(lua_State *co, int n, clh_bytes *out) {
    clh_buf b = {0};
    const char *err = encode_range(co, lua_gettop(co) - n + 1, n, &b);
    if (err) {
        free(b.data);
        size_t len = strlen(err);
        out->data = clh_alloc_bytes(len);
        if (out->data) memcpy(out->data, err, len);
        out->len = out->data ? len : 0;
        return -1;
    }
    out->data = b.data;
    out->len = b.len;
    return 0;
}

// MARK: decoding (allocates: only under lua_pcall)

typedef struct clh_reader {
    const char *p, *end;
    /// Values announced by the counts read so far and not decoded yet. Each takes at least
    /// one more byte, so a count that does not fit in the bytes left is refused before a
    /// table is sized for it (else a few bytes of nested counts could claim gigabytes).
    uint64_t announced;
} clh_reader;

static void need(lua_State *L, clh_reader *r, size_t n) {
    if ((size_t)(r->end - r->p) < n) luaL_error(L, "bridge: truncated value");
}

static void announce(lua_State *L, clh_reader *r, uint64_t n) {
    uint64_t left = (uint64_t)(r->end - r->p);
    if (n > left || r->announced > left - n) luaL_error(L, "bridge: truncated value");
    r->announced += n;
}

static uint64_t read_u64(lua_State *L, clh_reader *r) {
    uint64_t v;
    need(L, r, 8);
    memcpy(&v, r->p, 8);
    r->p += 8;
    return v;
}

static void decode_value(lua_State *L, clh_reader *r, int depth) {
    luaL_checkstack(L, 3, "bridge: value nesting");
    if (depth > CLH_MAX_DEPTH + 1) luaL_error(L, "bridge: value nesting is too deep");
    r->announced--;  // this value, announced by its sequence's or its table's count
    need(L, r, 1);
    uint8_t tag = (uint8_t)*r->p++;
    switch (tag) {
    case 0: lua_pushnil(L); break;
    case 1: lua_pushboolean(L, 0); break;
    case 2: lua_pushboolean(L, 1); break;
    case 3: {
        int64_t v;
        need(L, r, 8);
        memcpy(&v, r->p, 8);
        r->p += 8;
        lua_pushinteger(L, (lua_Integer)v);
        break;
    }
    case 4: {
        double v;
        need(L, r, 8);
        memcpy(&v, r->p, 8);
        r->p += 8;
        lua_pushnumber(L, (lua_Number)v);
        break;
    }
    case 5: {
        uint64_t n = read_u64(L, r);
        need(L, r, (size_t)n);
        lua_pushlstring(L, r->p, (size_t)n);
        r->p += n;
        break;
    }
    case 6: {
        uint64_t n = read_u64(L, r);
        announce(L, r, n);
        lua_createtable(L, n < 1000000 ? (int)n : 0, 0);
        for (uint64_t i = 0; i < n; i++) {
            decode_value(L, r, depth + 1);
            lua_rawseti(L, -2, (lua_Integer)(i + 1));
        }
        break;
    }
    case 7: {
        uint64_t n = read_u64(L, r);
        if (n > (uint64_t)(r->end - r->p) / 2) luaL_error(L, "bridge: truncated value");
        announce(L, r, 2 * n);
        lua_createtable(L, 0, n < 1000000 ? (int)n : 0);
        for (uint64_t i = 0; i < n; i++) {
            decode_value(L, r, depth + 1);
            decode_value(L, r, depth + 1);
            if (lua_isnil(L, -2)) {
                lua_pop(L, 2);
                continue;
            }
            lua_rawset(L, -3);
        }
        break;
    }
    case 8:
        need(L, r, 1);
        r->p++;
        lua_pushnil(L);
        break;
    default: luaL_error(L, "bridge: unknown tag %d", (int)tag);
    }
}

/// Pushes the decoded sequence; returns how many values were pushed.
static int decode_sequence(lua_State *L, clh_reader *r) {
    uint64_t n = read_u64(L, r);
    if (n > 200) luaL_error(L, "bridge: too many values");
    announce(L, r, n);
    luaL_checkstack(L, (int)n + 3, "bridge: too many values");
    for (uint64_t i = 0; i < n; i++) decode_value(L, r, 0);
    return (int)n;
}

static int decode_protected(lua_State *L) {
    clh_reader *r = (clh_reader *)lua_touserdata(L, 1);
    lua_settop(L, 0);
    return decode_sequence(L, r);
}

/// Decodes under pcall; on success the values are on the top, else the error message.
static int decode_onto(lua_State *L, const char *data, size_t len, int *count) {
    clh_reader reader = {data, data + len};
    int base = lua_gettop(L);
    if (!lua_checkstack(L, 3)) return LUA_ERRMEM;
    lua_pushcfunction(L, decode_protected);
    lua_pushlightuserdata(L, &reader);
    int status = lua_pcall(L, 1, LUA_MULTRET, 0);
    if (count) *count = lua_gettop(L) - base;
    return status;
}

// MARK: the trampoline: the one C function through which Lua calls Swift

typedef struct clh_hostbox {
    clh_host_fn fn;
    void *context;
    clh_release_fn release;
} clh_hostbox;

static int hostbox_gc(lua_State *L) {
    clh_hostbox *box = (clh_hostbox *)lua_touserdata(L, 1);
    if (box && box->context && box->release) {
        box->release(box->context);
        box->context = NULL;
    }
    return 0;
}

static int clh_trampoline(lua_State *L) {
    clh_hostbox *box = (clh_hostbox *)lua_touserdata(L, lua_upvalueindex(1));
    if (box == NULL || box->context == NULL) return luaL_error(L, "host function is gone");
    clh_buf args = {0};
    const char *err = encode_range(L, 1, lua_gettop(L), &args);
    if (err) {
        free(args.data);
        return luaL_error(L, "%s", err);
    }
    clh_bytes out = {0};
    // Swift runs here and returns; no Lua error or yield can cross its frames.
    int what = box->fn(box->context, args.data, args.len, &out);
    free(args.data);
    if (what == CLH_HOST_YIELD) {
        free(out.data);
        return lua_yield(L, 0);
    }
    lua_settop(L, 0);
    int count = 0;
    int status = decode_onto(L, out.data ? out.data : "", out.data ? out.len : 0, &count);
    free(out.data);
    if (status != LUA_OK) return lua_error(L);  // the decoding error, already on the top
    if (what == CLH_HOST_ERROR) {
        if (count < 1) lua_pushliteral(L, "host function failed");
        lua_settop(L, 1);
        return lua_error(L);
    }
    return count;
}

typedef struct clh_register_args {
    const char *name;
    clh_hostbox box;
} clh_register_args;

static int register_protected(lua_State *L) {
    clh_register_args *a = (clh_register_args *)lua_touserdata(L, 1);
    if (lua_getfield(L, LUA_REGISTRYINDEX, CLH_HOST_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, CLH_HOST_KEY);
    }
    clh_hostbox *box = (clh_hostbox *)lua_newuserdatauv(L, sizeof(clh_hostbox), 0);
    memset(box, 0, sizeof *box);
    if (luaL_newmetatable(L, "contactor.hostbox")) {
        lua_pushcfunction(L, hostbox_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
    }
    lua_setmetatable(L, -2);
    *box = a->box;  // from here on, __gc releases the context
    a->box.context = NULL;
    lua_pushcclosure(L, clh_trampoline, 1);
    lua_setfield(L, -2, a->name);
    return 0;
}

int clh_register_host(lua_State *L, const char *name, clh_host_fn fn, void *context,
                      clh_release_fn release) {
    clh_register_args args = {name, {fn, context, release}};
    if (!lua_checkstack(L, 3)) {
        release(context);
        return LUA_ERRMEM;
    }
    lua_pushcfunction(L, register_protected);
    lua_pushlightuserdata(L, &args);
    int status = lua_pcall(L, 1, 0, 0);
    if (args.box.context != NULL) release(args.box.context);
    return status;
}

// MARK: state

static int openlibs_protected(lua_State *L) {
    luaL_openlibs(L);
    return 0;
}

lua_State *clh_newstate(size_t memory_limit) {
    clh_limits *limits = calloc(1, sizeof(clh_limits));
    if (limits == NULL) return NULL;
    limits->limit = memory_limit;
    limits->budget = 10000000;
    lua_State *L = lua_newstate(clh_allocator, limits);
    if (L == NULL) {
        free(limits);
        return NULL;
    }
    lua_pushcfunction(L, openlibs_protected);
    if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
        clh_close(L);
        return NULL;
    }
    return L;
}

void clh_close(lua_State *L) {
    if (L == NULL) return;
    clh_limits *limits = limits_of(L);
    limits->armed = 0;
    lua_close(L);
    free(limits->results);
    free(limits->trip_traceback);
    free(limits);
}

void clh_set_budget(lua_State *L, int64_t instructions) {
    limits_of(L)->budget = instructions > CLH_HOOK_STEP ? instructions : CLH_HOOK_STEP;
}

size_t clh_memory_used(lua_State *L) { return limits_of(L)->used; }

int clh_budget_tripped(lua_State *L) { return limits_of(L)->tripped; }

const char *clh_budget_where(lua_State *L) { return limits_of(L)->trip_where; }

const char *clh_budget_traceback(lua_State *L) {
    const char *text = limits_of(L)->trip_traceback;
    return text ? text : "";
}

int clh_error_location(lua_State *co, char *buffer, size_t capacity) {
    if (capacity == 0) return 0;
    buffer[0] = 0;
    lua_Debug ar;
    // The first frame of a script's own code (chunk names `@file`): the function that
    // called `error`, or the one that raised. Frames of C functions and of the trusted
    // prelude (`=contactor`) are skipped. lua_getstack and lua_getinfo("Sl") allocate
    // nothing and raise nothing.
    for (int level = 0; level < 64 && lua_getstack(co, level, &ar); level++) {
        if (lua_getinfo(co, "Sl", &ar) == 0) continue;
        if (ar.source == NULL || ar.source[0] != '@' || ar.currentline <= 0) continue;
        snprintf(buffer, capacity, "%s:%d", ar.short_src, ar.currentline);
        return 1;
    }
    return 0;
}

/// The registry slots of sandbox.call and of the loaded plugins (see clh_init_sandbox).
static char clh_call_key;
static char clh_plugins_key;

static int traceback_handler(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
    return 1;
}

int clh_init_sandbox(lua_State *L, const char *source, size_t len, const char *chunkname) {
    if (!lua_checkstack(L, 4)) return LUA_ERRMEM;
    lua_pushcfunction(L, traceback_handler);
    int handler = lua_gettop(L);
    int status = luaL_loadbufferx(L, source, len, chunkname, "t");
    if (status != LUA_OK) {
        lua_remove(L, handler);
        return status;
    }
    if (lua_getfield(L, LUA_REGISTRYINDEX, CLH_HOST_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);  // cannot raise here in practice: the state is fresh and unarmed
    }
    status = lua_pcall(L, 1, 1, handler);
    lua_remove(L, handler);
    if (status != LUA_OK) return status;
    // Keep sandbox.call, the entry of every plugin call, where clh_start finds it without
    // looking a name up (the sandbox table is never visible to scripts, so it cannot change).
    // The plugins table (sandbox.plugins) lets clh_start call a plugin's method directly.
    if (lua_type(L, -1) == LUA_TTABLE) {
        if (lua_getfield(L, -1, "call") == LUA_TFUNCTION)
            lua_rawsetp(L, LUA_REGISTRYINDEX, &clh_call_key);
        else
            lua_pop(L, 1);
        if (lua_getfield(L, -1, "plugins") == LUA_TTABLE)
            lua_rawsetp(L, LUA_REGISTRYINDEX, &clh_plugins_key);
        else
            lua_pop(L, 1);
    }
    lua_setfield(L, LUA_REGISTRYINDEX, CLH_SANDBOX_KEY);
    return LUA_OK;
}

// MARK: calls

typedef struct clh_start_args {
    const char *entry;
    clh_reader reader;
    lua_State *thread;
    int nargs;
} clh_start_args;

/// The registry slot of the state's spare coroutine (see clh_recycle).
static char clh_spare_key;

/// With sandbox.call at index 2 and its arguments (id, method, ctxinfo, ...) above it:
/// when ctxinfo is nil and the plugin's method is a function, puts that function in
/// sandbox.call's place and drops id, method and ctxinfo, which is what sandbox.call
/// would do (`return fn(...)`, a tail call) without running it. Otherwise leaves the
/// stack as it is, for sandbox.call to make the error. Returns the argument count.
static int call_directly(lua_State *L, int n) {
    int top = lua_gettop(L);  // n + 2
    if (lua_type(L, 5) != LUA_TNIL) return n;
    luaL_checkstack(L, 3, "bridge: call");
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &clh_plugins_key) == LUA_TTABLE) {
        lua_pushvalue(L, 3);
        if (lua_rawget(L, -2) == LUA_TTABLE) {  // plugins[id]
            lua_pushvalue(L, 4);
            if (lua_rawget(L, -2) == LUA_TFUNCTION) {  // rawget(plugin, method)
                lua_replace(L, 2);
                lua_settop(L, top);
                lua_rotate(L, 3, -3);
                lua_settop(L, top - 3);
                return n - 3;
            }
        }
    }
    lua_settop(L, top);
    return n;
}

static int start_protected(lua_State *L) {
    clh_start_args *a = (clh_start_args *)lua_touserdata(L, 1);
    lua_settop(L, 0);
    // Index 1 anchors the coroutine: the state's spare one when clh_recycle made it ready
    // again (a state runs one call at a time, so nobody else is using it), else a new one,
    // which becomes the spare.
    lua_State *co = NULL;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &clh_spare_key) == LUA_TTHREAD) {
        co = lua_tothread(L, 1);
        if (lua_status(co) != LUA_OK || lua_gettop(co) != 0) co = NULL;
    }
    if (co == NULL) {
        lua_settop(L, 0);
        co = lua_newthread(L);
        lua_pushvalue(L, 1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &clh_spare_key);
    }
    lua_sethook(co, clh_hook, LUA_MASKCOUNT, CLH_HOOK_STEP);
    int call = strcmp(a->entry, "call") == 0;
    if (!call || lua_rawgetp(L, LUA_REGISTRYINDEX, &clh_call_key) != LUA_TFUNCTION) {
        call = 0;
        lua_settop(L, 1);
        if (lua_getfield(L, LUA_REGISTRYINDEX, CLH_SANDBOX_KEY) != LUA_TTABLE)
            return luaL_error(L, "the sandbox is not initialised");
        if (lua_getfield(L, -1, a->entry) != LUA_TFUNCTION)
            return luaL_error(L, "sandbox has no function '%s'", a->entry);
        lua_remove(L, 2);
    }
    int n = decode_sequence(L, &a->reader);
    if (call && n >= 3) n = call_directly(L, n);
    if (!lua_checkstack(co, n + 2)) return luaL_error(L, "stack overflow");
    lua_xmove(L, co, n + 1);
    a->thread = co;
    a->nargs = n;
    return 1;
}

int clh_start(lua_State *L, const char *entry, const char *args, size_t len,
              lua_State **thread, int *nargs) {
    clh_limits *limits = limits_of(L);
    limits->armed = 0;
    limits->tripped = 0;
    limits->remaining = limits->budget;
    limits->trip_where[0] = 0;
    free(limits->trip_traceback);
    limits->trip_traceback = NULL;
    clh_start_args a = {entry, {args, args + len}, NULL, 0};
    if (!lua_checkstack(L, 3)) return LUA_ERRMEM;
    lua_pushcfunction(L, start_protected);
    lua_pushlightuserdata(L, &a);
    int status = lua_pcall(L, 1, 1, 0);
    if (status == LUA_OK) {
        *thread = a.thread;
        *nargs = a.nargs;
    }
    return status;
}

int clh_resume(lua_State *L, lua_State *co, int nargs, int *nresults) {
    clh_limits *limits = limits_of(L);
    limits->armed = 1;
    int status = lua_resume(co, L, nargs, nresults);
    limits->armed = 0;
    return status;
}

/// Encodes the `n` results on `co`'s top into the state's results buffer, then recycles
/// the coroutine; on failure the buffer holds the message and the coroutine is dropped.
int clh_finish(lua_State *L, lua_State *co, int n, const char **results, size_t *len) {
    clh_limits *limits = limits_of(L);
    clh_buf b = {limits->results, 0, limits->results_cap, 0};
    const char *err = encode_range(co, lua_gettop(co) - n + 1, n, &b);
    limits->results = b.data;
    limits->results_cap = b.cap;
    if (err) {
        *results = err;
        *len = strlen(err);
        return -1;
    }
    *results = b.data;
    *len = b.len;
    clh_recycle(L, co);
    return 0;
}

int clh_call(lua_State *L, const char *entry, const char *args, size_t len, int *started,
             lua_State **thread, int *count, const char **results, size_t *results_len,
             int *encoded) {
    *started = clh_start(L, entry, args, len, thread, count);
    if (*started != LUA_OK) return *started;
    int nresults = 0;
    int status = clh_resume(L, *thread, *count, &nresults);
    *count = nresults;
    if (status == LUA_OK) *encoded = clh_finish(L, *thread, nresults, results, results_len);
    return status;
}

int clh_prepare_resume(lua_State *L, lua_State *co, int nyielded, const char *args,
                       size_t len, int *nargs) {
    lua_pop(co, nyielded);
    int base = lua_gettop(L);
    int count = 0;
    int status = decode_onto(L, args, len, &count);
    if (status != LUA_OK) return status;
    if (!lua_checkstack(co, count + 1)) {
        lua_settop(L, base);
        lua_pushliteral(L, "stack overflow");
        return LUA_ERRMEM;
    }
    lua_xmove(L, co, count);
    *nargs = count;
    return LUA_OK;
}

/// Makes the value at idx readable as text: strings as is; nil, booleans and numbers
/// spelled out; tables with __tostring through it; other tables as a short listing.
static void push_readable(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TSTRING: lua_pushvalue(L, idx); return;
    case LUA_TNIL: lua_pushliteral(L, "error called with nil (no message)"); return;
    case LUA_TTABLE:
        if (luaL_getmetafield(L, idx, "__tostring") != LUA_TNIL) {
            lua_pop(L, 1);
            luaL_tolstring(L, idx, NULL);
            return;
        }
        {
            // A plain C buffer: luaL_Buffer would need a balanced stack around lua_next.
            char text[1024];
            size_t pos = (size_t)snprintf(text, sizeof text, "error object is a table: {");
            int shown = 0;
            lua_pushnil(L);
            while (lua_next(L, idx) != 0) {
                if (shown == 8) {
                    lua_pop(L, 2);
                    pos += (size_t)snprintf(text + pos, sizeof text - pos, ", ...");
                    break;
                }
                // Convert copies, so that lua_next's key is left untouched.
                lua_pushvalue(L, -2);
                const char *k = luaL_tolstring(L, -1, NULL);
                lua_pushvalue(L, -3);
                const char *v = lua_type(L, -1) == LUA_TSTRING
                                    ? lua_pushfstring(L, "\"%s\"", lua_tostring(L, -1))
                                    : luaL_tolstring(L, -1, NULL);
                pos += (size_t)snprintf(text + pos, sizeof text - pos, "%s%s = %s",
                                        shown ? ", " : "", k, v);
                if (pos >= sizeof text) pos = sizeof text - 1;
                lua_pop(L, 5);  // the two conversions, the two copies and the value
                shown++;
            }
            if (pos < sizeof text) snprintf(text + pos, sizeof text - pos, "}");
            lua_pushstring(L, text);
        }
        return;
    default:
        luaL_tolstring(L, idx, NULL);
        lua_pushfstring(L, "error object is a %s value: %s", luaL_typename(L, idx),
                        lua_tostring(L, -1));
        lua_remove(L, -2);
        return;
    }
}

typedef struct clh_error_args {
    lua_State *co;
} clh_error_args;

static int error_protected(lua_State *L) {
    clh_error_args *a = (clh_error_args *)lua_touserdata(L, 1);
    lua_settop(L, 0);
    // Never raise on the dead coroutine itself: it has no protected frame.
    if (!lua_checkstack(a->co, 2)) return luaL_error(L, "stack overflow");
    lua_pushvalue(a->co, -1);
    lua_xmove(a->co, L, 1);  // the error value
    push_readable(L, 1);
    luaL_traceback(L, a->co, lua_tostring(L, 2), 0);
    return 1;
}

int clh_error_message(lua_State *L, lua_State *co, clh_bytes *out) {
    out->data = NULL;
    out->len = 0;
    int status = LUA_ERRMEM;
    if (lua_checkstack(L, 3)) {
        clh_error_args a = {co};
        lua_pushcfunction(L, error_protected);
        lua_pushlightuserdata(L, &a);
        status = lua_pcall(L, 1, 1, 0);
    }
    if (status == LUA_OK) {
        clh_take_message(L, out);
        return LUA_OK;
    }
    if (status != LUA_ERRMEM || lua_checkstack(L, 1)) lua_pop(L, 1);
    // Fall back on the raw message when it is a string.
    size_t n = 0;
    const char *s = lua_type(co, -1) == LUA_TSTRING ? lua_tolstring(co, -1, &n) : NULL;
    if (s == NULL) {
        s = "error object could not be converted to text";
        n = strlen(s);
    }
    out->data = clh_alloc_bytes(n);
    if (out->data) {
        memcpy(out->data, s, n);
        out->len = n;
    }
    return status;
}

void clh_take_message(lua_State *L, clh_bytes *out) {
    size_t n = 0;
    const char *s =
        lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : "(error object is not a string)";
    if (lua_type(L, -1) != LUA_TSTRING) n = strlen(s);
    out->data = clh_alloc_bytes(n);
    out->len = 0;
    if (out->data) {
        memcpy(out->data, s, n);
        out->len = n;
    }
    lua_pop(L, 1);
}

void clh_recycle(lua_State *L, lua_State *co) {
    (void)L;
    // Only a coroutine whose function returned normally: its status is LUA_OK and its
    // call info is the base one, so once its results are dropped it is as good as new.
    // Errored, yielded or budget-tripped coroutines keep a status or values that make
    // clh_start replace them.
    if (lua_status(co) != LUA_OK) return;
    lua_settop(co, 0);  // the results: plain values, no to-be-closed variables
}

int clh_resetthread(lua_State *co) {
    // Closing the coroutine's to-be-closed variables runs script code: keep the limits
    // armed (a tripped budget fires at once).
    clh_limits *limits = limits_of(co);
    limits->armed = 1;
    int status = lua_resetthread(co);
    limits->armed = 0;
    return status;
}
