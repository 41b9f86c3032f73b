// libFuzzer harness for the Lua bridge's value codec (Sources/CLuaHelpers/clua_helpers.c),
// compiled with it by scripts/fuzz:
//
//     clang -fsanitize=fuzzer,address -g -O1 -I Sources/CLuaHelpers/include \
//         $(pkg-config --cflags lua5.4) Sources/CLuaHelpers/clua_helpers.c \
//         fuzz/lua-codec/harness.c $(pkg-config --libs lua5.4) -o .build/fuzz/lua-codec
//
// Each input is taken as an encoded argument sequence, as ContactorLua passes arguments
// (clh_call): it is decoded under lua_pcall onto a coroutine, handed to a function that
// returns its arguments, and the results are encoded back (clh_finish), the way every
// plugin call returns. A malformed input must end as a clean error (never a crash, a
// leak on the C heap, or a read past the input); a decoded one must encode, and its
// encoding must decode and encode again to the same length (the same values; only the
// order of map entries may change).
#include "clua_helpers.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lua_State *L;

static const char prelude[] =
    "local host = ...\n"
    "return { echo = function(...) return ... end }\n";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    L = clh_newstate((size_t)64 << 20);
    if (L == NULL || clh_init_sandbox(L, prelude, sizeof prelude - 1, "=fuzz") != LUA_OK) {
        fprintf(stderr, "cannot create the Lua state\n");
        abort();
    }
    clh_set_budget(L, 1000000);
    return 0;
}

/// Calls echo(args...); returns 1 with a malloc'ed copy of the encoded results, or 0 when
/// the arguments did not decode or the results did not encode.
static int echo(const char *args, size_t len, char **out, size_t *out_len) {
    int base = lua_gettop(L);
    int started = 0, count = 0, encoded = -1;
    lua_State *thread = NULL;
    const char *results = NULL;
    size_t results_len = 0;
    int status = clh_call(L, "echo", args, len, &started, &thread, &count, &results,
                          &results_len, &encoded);
    int ok = 0;
    if (started != LUA_OK) {
        // The decoding error's message is on L's top: it must be a string.
        if (lua_type(L, -1) != LUA_TSTRING) abort();
    } else if (status != LUA_OK) {
        // echo itself cannot fail, except out of memory under the cap.
        if (status != LUA_ERRMEM) {
            clh_bytes message = {0};
            clh_error_message(L, thread, &message);
            fprintf(stderr, "echo failed: %.*s\n", (int)message.len, message.data);
            abort();
        }
        clh_resetthread(thread);
    } else if (encoded == 0) {
        *out = malloc(results_len ? results_len : 1);
        memcpy(*out, results, results_len);
        *out_len = results_len;
        ok = 1;
    }
    lua_settop(L, base);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *first = NULL, *second = NULL;
    size_t first_len = 0, second_len = 0;
    if (echo((const char *)data, size, &first, &first_len)) {
        if (!echo(first, first_len, &second, &second_len)) {
            fprintf(stderr, "an encoding made by the bridge did not decode again\n");
            abort();
        }
        if (second_len != first_len) {
            fprintf(stderr, "round trip changed the encoding's length: %zu then %zu\n",
                    first_len, second_len);
            abort();
        }
    }
    free(first);
    free(second);
    if (clh_memory_used(L) > ((size_t)256 << 20)) lua_gc(L, LUA_GCCOLLECT);
    return 0;
}
