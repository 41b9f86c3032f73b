-- A create, sent with retry = false when the first contact's field `retry` is "false";
-- then, when its field `then_get` is "yes", a GET of the status (retried as usual); then
-- every contact added, or failed transiently when its field `result` is "transient".
return {
  kind = "provider", name = "once",
  endpoint = "https://api.once.test",
  batch_size = 10,
  add = function(ctx, list, contacts)
    local f = contacts[1].fields
    local req = { method = "POST", url = ctx.endpoint .. "/contacts", json = { count = #contacts } }
    if f.retry == "false" then req.retry = false end
    ctx.http.request(req)
    if f.then_get == "yes" then
      ctx.http.request { url = ctx.endpoint .. "/status" }
    end
    local results = {}
    for i = 1, #contacts do
      if f.result == "transient" then
        results[i] = { status = "failed", error = "provider_error", message = "try later", transient = true }
      else
        results[i] = { status = "added" }
      end
    end
    return results
  end,
}
