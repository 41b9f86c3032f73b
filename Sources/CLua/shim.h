#ifndef CONTACTOR_CLUA_SHIM_H
#define CONTACTOR_CLUA_SHIM_H
#include <lua.h>
#include <lualib.h>
#include <lauxlib.h>

// Lua's API macros as static inline functions, so that Swift can call them.
// Only ContactorLua (and the CLuaHelpers C target) use these. Remember the bridge rules
// in docs/plugins.md: the calls marked "may raise" must never run from a Swift frame
// while a script's limits are armed; CLuaHelpers runs them under lua_pcall.

/// lua_pcall without a continuation.
static inline int clua_pcall(lua_State *L, int nargs, int nresults, int msgh) {
    return lua_pcall(L, nargs, nresults, msgh);
}
/// Pops n values (never raises, unless a to-be-closed variable is popped).
static inline void clua_pop(lua_State *L, int n) { lua_pop(L, n); }
/// lua_tostring: may raise (out of memory) when the value is a number.
static inline const char *clua_tostring(lua_State *L, int idx) { return lua_tostring(L, idx); }
/// lua_newtable: may raise (out of memory).
static inline void clua_newtable(lua_State *L) { lua_newtable(L); }
/// The pseudo-index of upvalue i of the running C function.
static inline int clua_upvalueindex(int i) { return lua_upvalueindex(i); }
/// Whether the value at idx is nil.
static inline int clua_isnil(lua_State *L, int idx) { return lua_isnil(L, idx); }
/// Whether the value at idx is none or nil.
static inline int clua_isnoneornil(lua_State *L, int idx) { return lua_isnoneornil(L, idx); }
/// lua_yield without a continuation; call only as `return clua_yield(L, n)` from C.
static inline int clua_yield(lua_State *L, int nresults) { return lua_yield(L, nresults); }
/// Pushes a C function without upvalues (allocates nothing).
static inline void clua_pushcfunction(lua_State *L, lua_CFunction f) { lua_pushcfunction(L, f); }
/// The registry's pseudo-index.
static inline int clua_registryindex(void) { return LUA_REGISTRYINDEX; }
/// lua_insert.
static inline void clua_insert(lua_State *L, int idx) { lua_insert(L, idx); }
/// lua_remove.
static inline void clua_remove(lua_State *L, int idx) { lua_remove(L, idx); }
/// lua_tonumber (no conversion allocation: numbers and numeric strings).
static inline lua_Number clua_tonumber(lua_State *L, int idx) { return lua_tonumber(L, idx); }
/// lua_tointeger.
static inline lua_Integer clua_tointeger(lua_State *L, int idx) { return lua_tointeger(L, idx); }

#endif
