return { kind = "validator", validate = function() return true end }
