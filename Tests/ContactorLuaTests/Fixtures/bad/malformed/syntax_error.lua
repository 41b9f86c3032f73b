return {
  kind = "validator",
  name = "broken"
  validate = function() return true end,
}
