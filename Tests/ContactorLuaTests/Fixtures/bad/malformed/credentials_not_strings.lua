return { kind = "provider", name = "p2", endpoint = "https://a.test", credentials = { 1, 2 },
  add = function() end }
