return {
  kind = "validator", name = "observer",
  validate = function()
    return { upper = ("a"):upper(), upper2 = string.upper("a"), lower = string.lower("A"),
      pi = math.pi, json = type(json.encode) }
  end,
}
