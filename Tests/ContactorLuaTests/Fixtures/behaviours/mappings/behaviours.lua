-- One mapping whose map() misbehaves in the way the row's "mode" column asks.
local modes = {}
function modes.loop() while true do end end
function modes.pcall_loop()
  while true do pcall(function() while true do end end) end
end
function modes.string_bomb()
  local s = "x"
  while true do s = s .. s end
end
function modes.table_bomb()
  local t, i = {}, 0
  while true do i = i + 1; t[i] = { i, i, i } end
end
function modes.rep_bomb() return { phone = string.rep("x", 100 * 1024 * 1024) } end
function modes.recursion()
  local function f(n) return 1 + f(n + 1) end
  return f(1)
end
function modes.error_table() error({ code = 42, reason = "boom" }) end
function modes.error_nil() error(nil) end
function modes.error_tostring() error(setmetatable({}, { __tostring = function() return "custom text" end })) end
function modes.wrong_shape() return 42 end
function modes.reject() return nil, "the row is empty" end
function modes.unknown_key() return { phone = "+33612345678", city = "Paris" } end
function modes.ok() return { phone = "+33612345678", first_name = "Zoé", fields = { n = 3 } } end

return {
  kind = "mapping", name = "behaviours",
  map = function(row) return modes[row.mode]() end,
}
