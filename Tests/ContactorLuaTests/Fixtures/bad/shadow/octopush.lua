return { kind = "provider", name = "octopush", endpoint = "https://api.octopush.com",
  add = function(ctx, list, contacts) return {} end }
