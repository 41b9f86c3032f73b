local x = nil
local y = x.field
return { kind = "validator", name = "never" }
