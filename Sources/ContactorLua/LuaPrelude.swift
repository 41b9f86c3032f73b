/// The trusted Lua code that builds the sandbox, run once per state before any plugin.
///
/// It receives the host functions (`host.log`, `host.http`, `host.phone`,
/// `host.read_module`, `host.unknown_key`) and returns the sandbox table the Swift side
/// calls into:
/// `load(id, source, chunkname)` and `call(id, method, ctxinfo, ...)`. Plugins never see
/// the real globals: each gets a fresh environment of safe functions and read-only
/// proxies of the shared libraries.
enum LuaPrelude {
    static let source = #"""
        local host = ...
        local real_load, pairs, ipairs, next, type, tostring, tonumber, error, select =
          load, pairs, ipairs, next, type, tostring, tonumber, error, select
        local setmetatable, getmetatable, rawget, rawset, pcall = setmetatable, getmetatable, rawget, rawset, pcall
        local string, table, math, utf8, os = string, table, math, utf8, os
        local concat, sort, insert = table.concat, table.sort, table.insert
        local byte, char, format, sub, gsub, find = string.byte, string.char, string.format, string.sub, string.gsub, string.find
        local math_type, floor, huge = math.type, math.floor, math.huge
        -- The debug library stays here, in the trusted prelude: plugins never see it.
        local getinfo, raw_getmetatable = debug.getinfo, debug.getmetatable
        -- The known keys (Swift's PluginKeys, the one list of them).
        local result_keys = \#(PluginKeys.luaSet(PluginKeys.result))
        local result_functions = \#(PluginKeys.luaSet(PluginKeys.resultFunctions))
        local pages_keys = \#(PluginKeys.luaSet(PluginKeys.pages))
        local request_keys = \#(PluginKeys.luaSet(PluginKeys.request))

        -- Strings share one metatable: protect it, and take away string.dump (no bytecode).
        string.dump = nil
        getmetatable("").__metatable = false

        local function readonly(lib, name)
          return setmetatable({}, {
            __index = lib,
            __newindex = function(_, key)
              error("cannot change " .. name .. "." .. tostring(key) .. ": shared libraries are read-only", 2)
            end,
            __pairs = function(proxy)
              return function(_, key) return next(lib, key) end, proxy, nil
            end,
            __len = function() return #lib end,
            __metatable = false,
          })
        end

        ------------------------------------------------------------------ json
        local json = {}
        local null = setmetatable({}, {
          __newindex = function() error("json.null is read-only", 2) end,
          __tostring = function() return "null" end,
          __metatable = "json.null",
        })
        local array_mt = { __metatable = "json.array" }
        json.null = null
        function json.array(t)
          t = t or {}
          if type(t) ~= "table" then error("json.array expects a table", 2) end
          return setmetatable(t, array_mt)
        end

        local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
          ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
        local function escape_string(s)
          return '"' .. gsub(s, '[%c"\\]', function(c)
            return escapes[c] or format("\\u%04x", byte(c))
          end) .. '"'
        end

        local encode_value
        local function encode_table(t, depth, out)
          if depth > 100 then return nil, "json.encode: nesting too deep (a cycle?)" end
          local n, max, count = 0, 0, 0
          for k in next, t do
            count = count + 1
            if math_type(k) == "integer" and k > 0 then
              n = n + 1
              if k > max then max = k end
            end
          end
          local is_array = (count > 0 and n == count and max == count)
            or (count == 0 and getmetatable(t) == "json.array")
          if is_array then
            out[#out + 1] = "["
            for i = 1, count do
              if i > 1 then out[#out + 1] = "," end
              local ok, err = encode_value(t[i], depth + 1, out)
              if not ok then return nil, err end
            end
            out[#out + 1] = "]"
            return true
          end
          local keys = {}
          for k in next, t do
            local tk = type(k)
            if tk == "string" then keys[#keys + 1] = k
            elseif tk == "number" then keys[#keys + 1] = tostring(k)
            else return nil, "json.encode: object keys must be strings, got a " .. tk end
          end
          sort(keys)
          out[#out + 1] = "{"
          for i, key in ipairs(keys) do
            if i > 1 then out[#out + 1] = "," end
            out[#out + 1] = escape_string(key)
            out[#out + 1] = ":"
            local v = rawget(t, key)
            if v == nil then v = rawget(t, tonumber(key)) end
            local ok, err = encode_value(v, depth + 1, out)
            if not ok then return nil, err end
          end
          out[#out + 1] = "}"
          return true
        end

        encode_value = function(v, depth, out)
          local tv = type(v)
          if v == nil or v == null then out[#out + 1] = "null"
          elseif tv == "boolean" then out[#out + 1] = v and "true" or "false"
          elseif tv == "number" then
            if math_type(v) == "integer" then out[#out + 1] = format("%d", v)
            elseif v ~= v or v == huge or v == -huge then
              return nil, "json.encode: cannot encode " .. tostring(v)
            elseif v == floor(v) and v > -1e15 and v < 1e15 then out[#out + 1] = format("%.1f", v)
            else out[#out + 1] = format("%.17g", v) end
          elseif tv == "string" then out[#out + 1] = escape_string(v)
          elseif tv == "table" then return encode_table(v, depth, out)
          else return nil, "json.encode: cannot encode a " .. tv end
          return true
        end

        local function try_encode(v)
          local out = {}
          local ok, err = encode_value(v, 0, out)
          if not ok then return nil, err end
          return concat(out)
        end

        function json.encode(v)
          local s, err = try_encode(v)
          if not s then error(err, 2) end
          return s
        end

        local decode_error = {}
        local function derr(pos, what) error({ decode_error, format("json.decode: %s at position %d", what, pos) }, 0) end
        local function skip(s, pos)
          local _, last = find(s, "^[ \t\r\n]*", pos)
          return last + 1
        end
        local decode_at
        local function decode_string(s, pos)
          local out, i = {}, pos + 1
          while true do
            local c = byte(s, i)
            if c == nil then derr(pos, "unterminated string") end
            if c == 34 then return concat(out), i + 1 end
            if c == 92 then
              local e = sub(s, i + 1, i + 1)
              local map = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }
              if map[e] then out[#out + 1] = map[e]; i = i + 2
              elseif e == "u" then
                local hex = sub(s, i + 2, i + 5)
                if not hex:match("^%x%x%x%x$") then derr(i, "bad \\u escape") end
                local code = tonumber(hex, 16)
                i = i + 6
                if code >= 0xD800 and code <= 0xDBFF and sub(s, i, i + 1) == "\\u" then
                  local low = tonumber(sub(s, i + 2, i + 5), 16)
                  if low and low >= 0xDC00 and low <= 0xDFFF then
                    code = 0x10000 + (code - 0xD800) * 0x400 + (low - 0xDC00)
                    i = i + 6
                  end
                end
                out[#out + 1] = utf8.char(code)
              else derr(i, "bad escape") end
            elseif c < 32 then derr(i, "control character in string")
            else
              local j = find(s, '["\\%c]', i)
              if not j then derr(pos, "unterminated string") end
              out[#out + 1] = sub(s, i, j - 1)
              i = j
            end
          end
        end
        decode_at = function(s, pos, depth)
          if depth > 200 then derr(pos, "nesting too deep") end
          pos = skip(s, pos)
          local c = sub(s, pos, pos)
          if c == "{" then
            local obj = {}
            pos = skip(s, pos + 1)
            if sub(s, pos, pos) == "}" then return obj, pos + 1 end
            while true do
              if sub(s, pos, pos) ~= '"' then derr(pos, "expected a string key") end
              local key
              key, pos = decode_string(s, pos)
              pos = skip(s, pos)
              if sub(s, pos, pos) ~= ":" then derr(pos, "expected ':'") end
              local v
              v, pos = decode_at(s, pos + 1, depth + 1)
              obj[key] = v
              pos = skip(s, pos)
              local d = sub(s, pos, pos)
              if d == "}" then return obj, pos + 1 end
              if d ~= "," then derr(pos, "expected ',' or '}'") end
              pos = skip(s, pos + 1)
            end
          elseif c == "[" then
            local arr = setmetatable({}, array_mt)
            pos = skip(s, pos + 1)
            if sub(s, pos, pos) == "]" then return arr, pos + 1 end
            local n = 0
            while true do
              local v
              v, pos = decode_at(s, pos, depth + 1)
              n = n + 1
              arr[n] = v
              pos = skip(s, pos)
              local d = sub(s, pos, pos)
              if d == "]" then return arr, pos + 1 end
              if d ~= "," then derr(pos, "expected ',' or ']'") end
              pos = pos + 1
            end
          elseif c == '"' then return decode_string(s, pos)
          elseif sub(s, pos, pos + 3) == "true" then return true, pos + 4
          elseif sub(s, pos, pos + 4) == "false" then return false, pos + 5
          elseif sub(s, pos, pos + 3) == "null" then return null, pos + 4
          else
            local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
            if not num or num == "" or num == "-" then derr(pos, "unexpected character") end
            local value
            if num:find("^-?%d+$") then value = math.tointeger(tonumber(num)) or tonumber(num)
            else value = tonumber(num) end
            if value == nil then derr(pos, "bad number") end
            return value, pos + #num
          end
        end

        function json.decode(s)
          if type(s) ~= "string" then return nil, "json.decode expects a string, got a " .. type(s) end
          local ok, v, pos = pcall(decode_at, s, 1, 0)
          if not ok then
            if type(v) == "table" and v[1] == decode_error then return nil, v[2] end
            error(v, 0)
          end
          pos = skip(s, pos)
          if pos <= #s then return nil, format("json.decode: trailing data at position %d", pos) end
          return v
        end

        ------------------------------------------------------------------ base64
        local base64 = {}
        local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        local decode_map = {}
        for i = 1, 64 do decode_map[byte(alphabet, i)] = i - 1 end
        function base64.encode(s)
          if type(s) ~= "string" then error("base64.encode expects a string", 2) end
          local out = {}
          for i = 1, #s, 3 do
            local a, b, c = byte(s, i, i + 2)
            local n = (a << 16) | ((b or 0) << 8) | (c or 0)
            local d1, d2, d3, d4 = (n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63
            out[#out + 1] = sub(alphabet, d1 + 1, d1 + 1) .. sub(alphabet, d2 + 1, d2 + 1)
              .. (b and sub(alphabet, d3 + 1, d3 + 1) or "=") .. (c and sub(alphabet, d4 + 1, d4 + 1) or "=")
          end
          return concat(out)
        end
        function base64.decode(s)
          if type(s) ~= "string" then return nil, "base64.decode expects a string" end
          s = gsub(s, "[\r\n]", "")
          if #s % 4 ~= 0 then return nil, "base64.decode: length is not a multiple of 4" end
          local out = {}
          for i = 1, #s, 4 do
            local n, pad = 0, 0
            for j = i, i + 3 do
              local c = byte(s, j)
              local v = decode_map[c]
              if c == 61 and j >= #s - 1 then pad = pad + 1; v = 0
              elseif v == nil or pad > 0 then return nil, format("base64.decode: invalid character at position %d", j) end
              n = (n << 6) | v
            end
            local bytes = char((n >> 16) & 255, (n >> 8) & 255, n & 255)
            out[#out + 1] = sub(bytes, 1, 3 - pad)
          end
          return concat(out)
        end

        ------------------------------------------------------------------ form
        local form = {}
        local function pct(s)
          return (gsub(s, "[^%w%-%._~ ]", function(c) return format("%%%02X", byte(c)) end):gsub(" ", "+"))
        end
        local function scalar(v, what)
          local tv = type(v)
          if tv == "string" then return v end
          if tv == "number" then
            if math_type(v) == "float" and v == floor(v) and v > -1e15 and v < 1e15 then return format("%d", v) end
            return tostring(v)
          end
          if tv == "boolean" then return tostring(v) end
          error(what .. " must be a string, number or boolean, got a " .. tv, 3)
        end
        function form.encode(t)
          if type(t) ~= "table" then error("form.encode expects a table", 2) end
          local keys = {}
          for k in pairs(t) do keys[#keys + 1] = tostring(k) end
          sort(keys)
          local out = {}
          for _, key in ipairs(keys) do
            local v = t[key]
            if v == nil then v = t[tonumber(key)] end
            if type(v) == "table" then
              for _, item in ipairs(v) do out[#out + 1] = pct(key) .. "[]=" .. pct(scalar(item, "form value " .. key)) end
            else
              out[#out + 1] = pct(key) .. "=" .. pct(scalar(v, "form value " .. key))
            end
          end
          return concat(out, "&")
        end

        ------------------------------------------------------------------ phone
        local phone = {}
        local host_phone = host.phone
        function phone.parse(s, region)
          if type(s) ~= "string" then return nil, "phone.parse expects a string" end
          if region ~= nil and type(region) ~= "string" then return nil, "phone.parse: region must be a string" end
          return host_phone(s, region)
        end

        ------------------------------------------------------------------ environments
        local host_log, host_http, host_read = host.log, host.http, host.read_module
        local host_unknown_key = host.unknown_key
        local safe_os = { time = os.time, date = os.date, clock = os.clock }
        local base = {
          assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs,
          pcall = pcall, xpcall = xpcall, rawequal = rawequal, rawget = rawget, rawlen = rawlen,
          rawset = rawset, select = select,
          -- Finalizers would run at GC time, outside any call's limits: refuse __gc.
          setmetatable = function(t, mt)
            if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
              error("__gc metamethods are not allowed in plugins", 2)
            end
            return setmetatable(t, mt)
          end,
          getmetatable = getmetatable, tonumber = tonumber, tostring = tostring, type = type,
          _VERSION = _VERSION,
        }
        local libraries = { string = string, table = table, math = math, utf8 = utf8, os = safe_os,
          json = json, base64 = base64, form = form, phone = phone }

        ------------------------------------------------------------------ log
        -- Tables in log lines read as JSON: keys sorted, at most 6 levels and 50 members a
        -- table, 4000 bytes a table; a table met again inside itself is "<cycle>", a
        -- function "<function>". `secrets` (a set) replaces equal strings by "***" (the host
        -- also redacts every line).
        local log_limit = 4000
        local function key_order(a, b)
          local ta, tb = type(a), type(b)
          if ta ~= tb then return ta < tb end
          if ta == "string" or ta == "number" then return a < b end
          return tostring(a) < tostring(b)
        end
        local function describe(v, secrets)
          local out, size, seen = {}, 0, {}
          local function put(text)
            if size >= log_limit then return false end
            out[#out + 1] = text
            size = size + #text
            return size < log_limit
          end
          local function str(text)
            if secrets and secrets[text] then return '"***"' end
            return escape_string(text)
          end
          local walk
          walk = function(x, depth)
            local tx = type(x)
            if tx == "string" then return put(str(x))
            elseif tx == "number" then
              return put(math_type(x) == "integer" and format("%d", x) or tostring(x))
            elseif tx == "boolean" then return put(x and "true" or "false")
            elseif tx == "nil" or rawequal(x, null) then return put("null")
            elseif tx ~= "table" then return put('"<' .. tx .. '>"') end
            local mt = raw_getmetatable(x)
            if type(mt) == "table" and mt ~= array_mt and rawget(mt, "__tostring") ~= nil then
              local ok, text = pcall(tostring, x)
              return put(str(ok and type(text) == "string" and text or "<table>"))
            end
            if seen[x] then return put('"<cycle>"') end
            if depth >= 6 then return put('"<table>"') end
            seen[x] = true
            local n, count, max = 0, 0, 0
            for k in next, x do
              count = count + 1
              if math_type(k) == "integer" and k > 0 then
                n = n + 1
                if k > max then max = k end
              end
            end
            local ok = true
            if (count > 0 and n == count and max == count) or (count == 0 and mt == array_mt) then
              put("[")
              for i = 1, count do
                if i > 1 then put(",") end
                if i > 50 then put('"..."') break end
                if not walk(rawget(x, i), depth + 1) then ok = false break end
              end
              put("]")
            else
              local keys = {}
              for k in next, x do keys[#keys + 1] = k end
              sort(keys, key_order)
              put("{")
              for i, k in ipairs(keys) do
                if i > 1 then put(",") end
                if i > 50 then put('"...":"..."') break end
                put(str(type(k) == "string" and k or tostring(k)))
                put(":")
                if not walk(rawget(x, k), depth + 1) then ok = false break end
              end
              put("}")
            end
            seen[x] = nil
            return ok
          end
          walk(v, 0)
          local text = concat(out)
          if size >= log_limit then text = sub(text, 1, log_limit) .. "..." end
          return text
        end

        local function to_text(secrets, separator, ...)
          local parts = {}
          for i = 1, select("#", ...) do
            local v = select(i, ...)
            local tv = type(v)
            if tv == "string" then parts[i] = v
            elseif tv == "table" then parts[i] = describe(v, secrets)
            else parts[i] = tostring(v) end
          end
          return concat(parts, separator)
        end

        -- ctx.log(...) logs at info; ctx.log.debug / info / warning / error at that level.
        local log_levels = { "debug", "info", "warning", "error" }
        local function make_log(secrets)
          local log = {}
          for _, level in ipairs(log_levels) do
            log[level] = function(...) host_log(level, to_text(secrets, " ", ...)) end
          end
          return setmetatable(log, {
            __call = function(_, ...) host_log("info", to_text(secrets, " ", ...)) end,
            __index = function(_, key)
              error("ctx.log." .. tostring(key) .. " does not exist: use ctx.log(...) or ctx.log.debug, "
                .. "ctx.log.info, ctx.log.warning, ctx.log.error", 2)
            end,
            __newindex = function() error("ctx.log is read-only", 2) end,
            __metatable = false,
          })
        end

        local new_env
        local function make_require(loaded)
          return function(name)
            if type(name) ~= "string" then error("require expects a module name", 2) end
            local cached = loaded[name]
            if cached ~= nil then return cached end
            local source, chunkname = host_read(name)
            if source == nil then error(chunkname, 2) end
            local fn, err = real_load(source, chunkname, "t", new_env(loaded))
            if not fn then error(err, 2) end
            local result = fn(name)
            if result == nil then result = true end
            loaded[name] = result
            return result
          end
        end

        new_env = function(loaded)
          local env = {}
          for k, v in next, base do env[k] = v end
          for k, lib in next, libraries do env[k] = readonly(lib, k) end
          env._G = env
          env.print = function(...) host_log("info", to_text(nil, "\t", ...)) end
          env.load = function(chunk, chunkname, mode, chunk_env)
            if mode ~= nil and mode ~= "t" then
              return nil, "load: only text chunks are allowed (mode \"t\")"
            end
            if chunk_env == nil then chunk_env = env end
            return real_load(chunk, chunkname, "t", chunk_env)
          end
          env.require = make_require(loaded or {})
          return env
        end

        ------------------------------------------------------------------ calls
        -- ctx.http.request's work; `level` is where its errors point, counted from here (3:
        -- the script that called ctx.http.request, or the loop over ctx.http.pages).
        local function request_impl(req, level)
          if type(req) ~= "table" then
            error("ctx.http.request expects a table { method, url, headers, query, json | form | body }", level)
          end
          for k in next, req do
            if type(k) ~= "string" or not request_keys[k] then
              error("ctx.http.request: the request has " .. host_unknown_key("request", tostring(k)), level)
            end
          end
          local given = (req.json ~= nil and 1 or 0) + (req.form ~= nil and 1 or 0) + (req.body ~= nil and 1 or 0)
          if given > 1 then error("ctx.http.request: give only one of json, form and body", level) end
          local r = { method = req.method or "GET", url = req.url, headers = req.headers,
            query = req.query, timeout = req.timeout, body = req.body, retry = req.retry }
          if req.json ~= nil then
            local s, err = try_encode(req.json)
            if not s then error("ctx.http.request: " .. err, level) end
            r.body, r.content_type = s, "application/json"
          elseif req.form ~= nil then
            local ok, s = pcall(form.encode, req.form)
            if not ok then error("ctx.http.request: " .. tostring(s), level) end
            r.body, r.content_type = s, "application/x-www-form-urlencoded"
          end
          local ok, res = host_http(r)
          if not ok then error(res, level) end
          if #res.body > 0 then
            local v = json.decode(res.body)
            if v ~= nil then res.json = v end
          end
          return res
        end

        -- ctx.http.pages: an iterator over the pages of a paged list (see docs/plugins.md).
        local function positive_integer(v) return math_type(v) == "integer" and v > 0 end
        local function default_page_check(res, req)
          local status = res.status
          if status >= 200 and status < 300 then return end
          local code = "provider_error"
          if status == 401 or status == 403 then code = "auth_failed"
          elseif status == 429 then code = "rate_limited" end
          local url = type(req.url) == "string" and gsub(req.url, "%?.*$", "") or "?"
          error({ code = code, provider_code = tostring(status),
            transient = status == 429 or status >= 500,
            message = format("%s %s answered HTTP %d", tostring(req.method or "GET"), url, status) }, 0)
        end
        local function pages(spec)
          local function bad(text) error("ctx.http.pages: " .. text, 3) end
          if type(spec) ~= "table" then
            error("ctx.http.pages expects a table { request = {...}, style = ..., items = function(res) ... end }", 2)
          end
          for k in next, spec do
            if type(k) ~= "string" or not pages_keys[k] then
              bad("the table has " .. host_unknown_key("pages", tostring(k)))
            end
          end
          local style = spec.style or "page"
          if style ~= "page" and style ~= "offset" and style ~= "cursor" then
            bad('style must be "page", "offset" or "cursor", got ' .. tostring(style))
          end
          local request = spec.request
          local request_type = type(request)
          if request_type ~= "table" and request_type ~= "function" then
            bad("request must be a request table, or a function(value) that returns one")
          end
          local param = spec.param or style
          if type(param) ~= "string" then bad("param must be the name of a query parameter") end
          local size = spec.size
          if size ~= nil and not positive_integer(size) then bad("size must be a positive integer") end
          local size_param = spec.size_param
          if size_param ~= nil and (type(size_param) ~= "string" or size == nil) then
            bad("size_param must be the name of a query parameter, and needs size")
          end
          local value = spec.start
          if value == nil then value = (style == "page" and 1) or (style == "offset" and 0) or nil end
          if style ~= "cursor" and math_type(value) ~= "integer" then bad("start must be an integer") end
          local items_of = spec.items
          if items_of ~= nil and type(items_of) ~= "function" then
            bad("items must be a function(res) that returns the page's list")
          end
          local next_cursor = spec.next_cursor
          if style == "cursor" and type(next_cursor) ~= "function" then
            bad('style "cursor" needs next_cursor = function(res, items) that returns the next cursor, or nil at the end')
          elseif style ~= "cursor" and next_cursor ~= nil then
            bad('next_cursor is for style "cursor" only')
          end
          local max_pages = spec.max_pages or 1000
          if not positive_integer(max_pages) then bad("max_pages must be a positive integer") end
          local check = spec.check or default_page_check
          if type(check) ~= "function" then bad("check must be a function(res, req)") end
          local fetched, done = 0, false
          return function()
            if done then return nil end
            if fetched >= max_pages then
              error(format("ctx.http.pages: there are more than max_pages = %d pages; raise max_pages "
                .. "if the list is that long, or check the stop condition", max_pages), 2)
            end
            local req
            if request_type == "function" then
              req = request(value)
              if type(req) ~= "table" then
                error("ctx.http.pages: request(" .. tostring(value) .. ") must return a request table, got "
                  .. type(req), 2)
              end
            else
              req = {}
              for k, v in next, request do req[k] = v end
              local query, q = request.query, {}
              if query ~= nil and type(query) ~= "table" then
                error("ctx.http.pages: request.query must be a table", 2)
              end
              if query ~= nil and rawget(query, 1) ~= nil then
                -- a list of { name, value } pairs
                for i, pair in ipairs(query) do q[i] = pair end
                if value ~= nil then q[#q + 1] = { param, value } end
                if size_param then q[#q + 1] = { size_param, size } end
              else
                if query ~= nil then for k, v in next, query do q[k] = v end end
                if value ~= nil then q[param] = value end
                if size_param then q[size_param] = size end
              end
              req.query = q
            end
            local res = request_impl(req, 3)
            fetched = fetched + 1
            check(res, req)
            local items
            if items_of then items = items_of(res) else items = res.json end
            if type(items) ~= "table" then
              error("ctx.http.pages: " .. (items_of and "items(res)" or "the response body (give items = function(res) ... end)")
                .. " is a " .. type(items) .. ", not a list of items", 2)
            end
            local n = #items
            if n == 0 then
              done = true
              return nil
            end
            if style == "cursor" then
              local cursor = next_cursor(res, items)
              if cursor == nil or cursor == false or cursor == "" or cursor == null then
                done = true
              elseif cursor == value then
                error("ctx.http.pages: next_cursor gave the cursor of the page it read again ("
                  .. tostring(cursor) .. "); the list would never end", 2)
              else
                value = cursor
              end
            else
              if size and n < size then done = true end
              value = style == "page" and value + 1 or value + n
            end
            return items, res, fetched
          end
        end

        local function make_ctx(info)
          local ctx = {}
          for k, v in next, info do ctx[k] = v end
          local secrets = {}
          if type(info.credentials) == "table" then
            for _, v in next, info.credentials do
              if type(v) == "string" and v ~= "" then secrets[v] = true end
            end
          end
          ctx.log = make_log(secrets)
          ctx.http = {
            request = function(req)
              local res = request_impl(req, 3)
              return res
            end,
            pages = pages,
          }
          return ctx
        end

        -- After add / delete / update: a result with a key no result has is an error that
        -- names the key, the nearest known one and the function (file:line) that returned it.
        local function check_results(fn, results)
          if type(results) ~= "table" then return end
          local i = 1
          while true do
            local r = rawget(results, i)
            if r == nil then return end
            if type(r) == "table" then
              local bad
              for k in next, r do
                if type(k) == "string" and not result_keys[k] and (bad == nil or k < bad) then bad = k end
              end
              if bad then
                local info = getinfo(fn, "S")
                error(format("%s:%d: result %d has %s", info.short_src, info.linedefined, i,
                  host_unknown_key("result", bad)), 0)
              end
            end
            i = i + 1
          end
        end

        local plugins = {}
        -- The bridge reads sandbox.plugins to call a plugin's method without ctx directly,
        -- as sandbox.call would (the sandbox table is never visible to plugins).
        local sandbox = { plugins = plugins }

        function sandbox.load(id, source, chunkname)
          local fn, err = real_load(source, chunkname, "t", new_env())
          if not fn then return false, err end
          local plugin = fn()
          plugins[id] = plugin
          return true, plugin
        end

        function sandbox.call(id, method, ctxinfo, ...)
          local plugin = plugins[id]
          local fn = type(plugin) == "table" and rawget(plugin, method)
          if type(fn) ~= "function" then error("the plugin has no function '" .. tostring(method) .. "'", 0) end
          if ctxinfo ~= nil then
            if result_functions[method] then
              local results = fn(make_ctx(ctxinfo), ...)
              check_results(fn, results)
              return results
            end
            return fn(make_ctx(ctxinfo), ...)
          end
          return fn(...)
        end

        function sandbox.payload(id, provider, contact, payload_json)
          local plugin = plugins[id]
          local fn = type(plugin) == "table" and rawget(plugin, "payload")
          if type(fn) ~= "function" then error("the plugin has no function 'payload'", 0) end
          local payload = assert(json.decode(payload_json))
          local result = fn(provider, contact, payload)
          if result == nil then result = payload end
          local s, err = try_encode(result)
          if not s then error("payload: " .. err, 0) end
          return s
        end

        return sandbox
        """#
}
