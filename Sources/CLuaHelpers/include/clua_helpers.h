#ifndef CONTACTOR_CLUA_HELPERS_H
#define CONTACTOR_CLUA_HELPERS_H
// The C half of Contactor's Swift–Lua bridge. Every Lua API call that can raise an error
// (allocation, metamethods, getfield/gettable, tolstring on numbers) runs here, under
// lua_pcall; Swift only calls these functions and non-raising API (gettop/settop/type).
// Values cross the bridge as whole records in one compact binary encoding (see
// clua_helpers.c), so strings keep embedded NULs and non-UTF-8 bytes.
#include <stddef.h>
#include <stdint.h>
#include <lua.h>

/// A heap buffer (malloc) handed across the bridge; free it with clh_free.
typedef struct clh_bytes {
    char *data;
    size_t len;
} clh_bytes;

/// What a Swift host function asks the trampoline to do after it has returned.
enum {
    /// Return the encoded values in `out` to the script.
    CLH_HOST_RETURN = 0,
    /// Raise an error whose message is the encoded string in `out`.
    CLH_HOST_ERROR = 1,
    /// Yield the running coroutine (the host resumes it with the values later).
    CLH_HOST_YIELD = 2,
};

/// A Swift host function: decodes `args`, does its work and fills `out` (malloc'ed) with an
/// encoded value sequence; returns one of CLH_HOST_*. It must never call into Lua.
typedef int (*clh_host_fn)(void *context, const char *args, size_t args_len, clh_bytes *out);
/// Releases a host function's context when its userdata is collected.
typedef void (*clh_release_fn)(void *context);

/// Creates a state with the custom allocator (memory cap `memory_limit` bytes while a
/// script runs) and the standard libraries open. Returns NULL when that fails.
lua_State *clh_newstate(size_t memory_limit);
/// Closes a state made by clh_newstate and frees its limits.
void clh_close(lua_State *L);
/// Sets the instruction budget for each following call.
void clh_set_budget(lua_State *L, int64_t instructions);
/// Bytes currently allocated by the state.
size_t clh_memory_used(lua_State *L);
/// 1 when the last call ran out of its instruction budget.
int clh_budget_tripped(lua_State *L);
/// Where the last call's budget tripped (`file:line` of the running code when it first
/// ran out, before a script's pcall could unwind), or "" when it did not.
const char *clh_budget_where(lua_State *L);
/// The traceback taken where the budget tripped, or "".
const char *clh_budget_traceback(lua_State *L);
/// Writes `file:line` of the innermost frame of script code (chunk name `@...`) on `co`'s
/// stack into `buffer`: after an error, the line that raised it (for `error(value)`, the
/// caller of error). Returns 1 when found, else 0 with "" in `buffer`. Never raises.
int clh_error_location(lua_State *co, char *buffer, size_t capacity);

/// Registers a host function as `host[name]` (a table passed to the prelude). On failure
/// the context is released. Returns a Lua status.
int clh_register_host(lua_State *L, const char *name, clh_host_fn fn, void *context,
                      clh_release_fn release);

/// Runs the trusted prelude (text chunk named `chunkname`) with the host table as its
/// argument; it must return the sandbox table, which is kept in the registry. Returns a
/// Lua status; on failure the message is on the stack top.
int clh_init_sandbox(lua_State *L, const char *source, size_t len, const char *chunkname);

/// Starts a call of sandbox[entry](args...) in a new coroutine. On success, the coroutine
/// is anchored on L's stack top, `*thread` is set and `*nargs` is the argument count to
/// pass to clh_resume. Returns a Lua status; on failure the message is on the stack top.
int clh_start(lua_State *L, const char *entry, const char *args, size_t len,
              lua_State **thread, int *nargs);
/// clh_start, then clh_resume, then (when the call returned) clh_finish, in one trip:
/// the hot path of a call that does not yield. `*started` is clh_start's status; when it
/// is LUA_OK the return value is clh_resume's status, `*thread` the coroutine and `*count`
/// the number of values it yielded or returned; when it is LUA_OK too, `*encoded` is
/// clh_finish's result and `*results` / `*results_len` its output.
int clh_call(lua_State *L, const char *entry, const char *args, size_t len, int *started,
             lua_State **thread, int *count, const char **results, size_t *results_len,
             int *encoded);
/// After `co` returned `n` values: encodes them into a buffer owned by the state (valid
/// until the next call on it) and recycles `co` (clh_recycle). Returns 0; or -1 with a
/// static error message in `*results`, the coroutine left as it is.
int clh_finish(lua_State *L, lua_State *co, int n, const char **results, size_t *len);
/// Resumes `co` with `nargs` values on its stack, with the script's limits armed.
int clh_resume(lua_State *L, lua_State *co, int nargs, int *nresults);
/// After a yield of `nyielded` values, replaces them by the decoded `args`.
int clh_prepare_resume(lua_State *L, lua_State *co, int nyielded, const char *args,
                       size_t len, int *nargs);
/// Encodes the top `n` values of `co` into `out`. Returns 0, or -1 with a message in `out`.
int clh_encode_top(lua_State *co, int n, clh_bytes *out);
/// Builds the message (non-string error values made readable) and traceback of the error
/// that stopped `co`, as UTF-8-ish bytes in `out`. Returns a Lua status.
int clh_error_message(lua_State *L, lua_State *co, clh_bytes *out);
/// Copies the string on L's top (or a description of a non-string) into `out` and pops it.
void clh_take_message(lua_State *L, clh_bytes *out);
/// Keeps a coroutine whose call returned normally (after its results were read) for the
/// next clh_start on this state, which saves creating one per call.
void clh_recycle(lua_State *L, lua_State *co);
/// lua_resetthread (Lua 5.4.4).
int clh_resetthread(lua_State *co);
/// Frees a buffer from the bridge.
void clh_free(clh_bytes *bytes);
/// Allocates `len` bytes for a host function's output (freed by the bridge).
char *clh_alloc_bytes(size_t len);

#endif
