-- Sends the request its first contact's fields describe; returns the response as the id.
return {
  kind = "provider", name = "wire",
  endpoint = "https://api.wire.test",
  hosts = { "https://auth.wire.test:8443" },
  batch_size = 50,
  add = function(ctx, list, contacts)
    local f = contacts[1].fields
    local req = { method = f.method, url = f.url or (ctx.endpoint .. "/contacts"),
      headers = { ["X-List"] = list } }
    if f.query then req.query = { b = "2 3", a = "é&" } end
    if f.body_kind == "json" then req.json = { phone = contacts[1].phone, tags = json.array() }
    elseif f.body_kind == "form" then req.form = { phone = contacts[1].phone, z = 1, a = true }
    elseif f.body_kind == "raw" then req.body = "raw\0bytes\255" end
    if f.retry == "false" then req.retry = false end
    local res = ctx.http.request(req)
    local results = {}
    for i = 1, #contacts do
      results[i] = { status = "added", id = tostring(res.status) .. ":" .. tostring(res.json and res.json.id) }
    end
    return results
  end,
  delete = function(ctx, list, contacts)
    local res = ctx.http.request { method = "DELETE", url = ctx.endpoint .. "/lists/" .. list,
      json = { phones = { contacts[1].phone } } }
    return { { status = res.status == 200 and "deleted" or "failed", error = res.status ~= 200 and "provider_error" or nil } }
  end,
}
