-- A provider that adds each contact with one POST and reads the id from the JSON answer.
local util = require("util")

return {
  kind = "provider", name = "echo",
  credentials = { "api_key" },
  endpoint = "https://api.echo.test",
  batch_size = { add = 10, delete = 5 },
  region = "fr",
  add = function(ctx, list, contacts)
    local results = {}
    for i, contact in ipairs(contacts) do
      local res = ctx.http.request {
        method = "POST", url = ctx.endpoint .. "/lists/" .. list .. "/contacts",
        headers = { ["X-Key"] = ctx.credentials.api_key },
        json = { phone = contact.phone, name = util.full_name(contact) },
      }
      if res.status == 201 then
        results[i] = { status = "added", id = res.json.id }
      else
        results[i] = { status = "rejected", error = "invalid_phone", message = res.body,
          provider_code = res.status }
      end
    end
    return results
  end,
  delete = function(ctx, list, contacts)
    local results = {}
    for i = 1, #contacts do results[i] = { status = "skipped" } end
    return results
  end,
}
