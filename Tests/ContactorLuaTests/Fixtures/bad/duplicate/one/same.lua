return { kind = "validator", name = "same", validate = function() return true end }
