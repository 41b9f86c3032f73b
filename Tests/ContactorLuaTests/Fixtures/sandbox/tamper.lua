-- Tries every way to change the shared libraries; reports which attempts raised.
return {
  kind = "validator", name = "tamper",
  validate = function()
    local refused = {}
    refused.assign = not pcall(function() string.upper = function() return "pwned" end end)
    refused.metatable = not pcall(function() getmetatable("").__index = {} end)
    refused.setmetatable = not pcall(function() setmetatable(string, {}) end)
    refused.json = not pcall(function() json.encode = nil end)
    refused.nested = not pcall(function() local _, real = pairs(string); real.upper = nil end)
    -- rawset only changes this plugin's own proxy
    rawset(string, "lower", function() return "pwned" end)
    rawset(math, "pi", 3)
    return refused
  end,
}
