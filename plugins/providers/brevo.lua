-- brevo: Brevo (ex-Sendinblue) contacts (API v3), as a Contactor provider plugin.
--
-- Credentials: api_key (CONTACTOR_BREVO_API_KEY or --credential api_key=...), sent as
-- the api-key header. The list is a Brevo list id (digits). The number goes in the
-- contact's SMS attribute in E.164 (+33612345678); first and last names in FIRSTNAME and
-- LASTNAME; the email, when there is one, as the contact's email.
--
-- Endpoints (under https://api.brevo.com, which --endpoint replaces) and what each
-- response becomes:
--
-- add: POST /v3/contacts { email?, attributes = { SMS, FIRSTNAME, LASTNAME },
--                          listIds = [list], updateEnabled = true }
--   201 { id }                             -> added, id
--   204 (an existing contact was updated and put in the list)
--                                          -> updated
--   400 { code = "duplicate_parameter" }   -> with updateEnabled (the default) the number
--       or email belongs to another contact: rejected (invalid_field); with the option
--       update_enabled=false the contact exists: skipped (already_in_list)
--   400 with a message about the phone/SMS -> rejected (invalid_phone)
--   400 with a message about the list; 404 -> the batch fails: list_not_found
--   other 400                              -> rejected (invalid_field)
--   401, 403                               -> the batch fails: auth_failed
--   429                                    -> failed (rate_limited, transient)
--   anything else                          -> failed (provider_error; transient for 5xx)
--
-- delete: removes the contact from the list and keeps it at Brevo (the contact may be in
-- other lists; deleting it would take it out of all of them). Brevo removes list members
-- by email or by contact id, so the contact is first found by its SMS attribute:
--   GET /v3/contacts/{+33612345678, percent-encoded}?identifierType=phone_id
--     404                                  -> skipped (not_in_list)
--     200 { id, listIds } without the list -> skipped (not_in_list)
--     200 with the list:
--       POST /v3/contacts/lists/{list}/contacts/remove { ids = [id] }
--         201 { contacts = { success, failure } } -> deleted (skipped if id is in failure)
--         400 "already removed / does not exist"  -> skipped (not_in_list)
--         404                                     -> the batch fails: list_not_found
--
-- update: PUT /v3/contacts/{id} (contact.id, which the ledger records from the add), or
-- PUT /v3/contacts/{+33612345678, percent-encoded}?identifierType=phone_id without it,
-- { email?, attributes = { SMS, FIRSTNAME, LASTNAME } } (list memberships unchanged)
--   204                                    -> updated
--   404                                    -> skipped (not_in_list)
--   400 with a message about the phone/SMS -> rejected (invalid_phone); other 400 invalid_field
--
-- list: GET /v3/contacts/lists/{list}/contacts?limit=500&offset=N, every page
-- (ctx.http.pages, offsets)
--   200 { contacts = [{ id, email, attributes = { SMS, FIRSTNAME, LASTNAME } }], count }
--                                          -> one page of contacts (those with an SMS)
--   401, 403 -> auth_failed; 404 -> list_not_found; 429 -> rate_limited (transient);
--   other -> provider_error (transient for 5xx)
--
-- Errors come as { code, message } (code is a word such as "invalid_parameter").

local function headers(ctx)
  return { ["api-key"] = ctx.credentials.api_key, ["Accept"] = "application/json" }
end

local function percent(text)
  return (text:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function code_of(res)
  return type(res.json) == "table" and type(res.json.code) == "string" and res.json.code or nil
end

local function message_of(res)
  if type(res.json) == "table" and type(res.json.message) == "string" then
    return res.json.message
  end
  return "HTTP " .. res.status
end

local function check_batch_failure(res, list)
  if res.status == 401 or res.status == 403 then
    error({ code = "auth_failed", provider_code = code_of(res) or tostring(res.status),
            message = "Brevo refused the API key: " .. message_of(res) })
  end
  if res.status == 404 then
    error({ code = "list_not_found", provider_code = code_of(res) or "404",
            message = "Brevo has no list " .. list .. ": " .. message_of(res) })
  end
end

local function other_failure(res)
  if res.status == 429 then
    return { status = "failed", error = "rate_limited", transient = true,
             provider_code = code_of(res) or "429", message = message_of(res) }
  end
  return { status = "failed", error = "provider_error", transient = res.status >= 500,
           provider_code = code_of(res) or tostring(res.status), message = message_of(res) }
end

local function add_one(ctx, list, contact, update_enabled)
  local res = ctx.http.request {
    method = "POST",
    url = ctx.endpoint .. "/v3/contacts",
    headers = headers(ctx),
    json = {
      email = contact.email,
      attributes = { SMS = contact.phone, FIRSTNAME = contact.first_name, LASTNAME = contact.last_name },
      listIds = { math.tointeger(tonumber(list)) },
      updateEnabled = update_enabled,
    },
  }
  check_batch_failure(res, list)
  if res.status == 201 or res.status == 200 then
    return { status = "added", id = res.json and res.json.id }
  elseif res.status == 204 then
    return { status = "updated" }
  elseif res.status == 400 then
    local code, message = code_of(res) or "400", message_of(res)
    local lower = message:lower()
    if code == "duplicate_parameter" then
      if update_enabled then
        return { status = "rejected", error = "invalid_field", provider_code = code,
                 message = "the number or email belongs to another Brevo contact: " .. message }
      end
      return { status = "skipped", error = "already_in_list", provider_code = code, message = message }
    elseif lower:find("list", 1, true) then
      error({ code = "list_not_found", provider_code = code,
              message = "Brevo refused list " .. list .. ": " .. message })
    elseif lower:find("sms", 1, true) or lower:find("phone", 1, true) then
      return { status = "rejected", error = "invalid_phone", provider_code = code, message = message }
    end
    return { status = "rejected", error = "invalid_field", provider_code = code, message = message }
  end
  return other_failure(res)
end

local function delete_one(ctx, list, contact)
  local found = ctx.http.request {
    url = ctx.endpoint .. "/v3/contacts/" .. percent(contact.phone),
    query = { identifierType = "phone_id" },
    headers = headers(ctx),
  }
  if found.status == 401 or found.status == 403 then check_batch_failure(found, list) end
  if found.status == 404 then
    return { status = "skipped", error = "not_in_list", message = "not a Brevo contact" }
  end
  if found.status ~= 200 or type(found.json) ~= "table" or found.json.id == nil then
    return other_failure(found)
  end
  local id = found.json.id
  local member = false
  for _, listId in ipairs(type(found.json.listIds) == "table" and found.json.listIds or {}) do
    if tostring(listId) == list then member = true end
  end
  if not member then
    return { status = "skipped", error = "not_in_list", id = id, message = "not in list " .. list }
  end
  local res = ctx.http.request {
    method = "POST",
    url = ctx.endpoint .. "/v3/contacts/lists/" .. list .. "/contacts/remove",
    headers = headers(ctx),
    json = { ids = { id } },
  }
  check_batch_failure(res, list)
  if res.status == 201 or res.status == 200 then
    local contacts = type(res.json) == "table" and res.json.contacts or nil
    local failure = type(contacts) == "table" and type(contacts.failure) == "table" and contacts.failure or {}
    for _, failed in ipairs(failure) do
      if tostring(failed) == tostring(id) then
        return { status = "skipped", error = "not_in_list", id = id, message = "Brevo did not remove it" }
      end
    end
    return { status = "deleted", id = id }
  elseif res.status == 400 then
    return { status = "skipped", error = "not_in_list", id = id,
             provider_code = code_of(res), message = message_of(res) }
  end
  return other_failure(res)
end

local function update_one(ctx, list, contact)
  local url, query
  if contact.id ~= nil then
    url = ctx.endpoint .. "/v3/contacts/" .. percent(tostring(contact.id))
  else
    url = ctx.endpoint .. "/v3/contacts/" .. percent(contact.phone)
    query = { identifierType = "phone_id" }
  end
  local res = ctx.http.request {
    method = "PUT", url = url, query = query, headers = headers(ctx),
    json = {
      email = contact.email,
      attributes = { SMS = contact.phone, FIRSTNAME = contact.first_name, LASTNAME = contact.last_name },
    },
  }
  if res.status == 401 or res.status == 403 then check_batch_failure(res, list) end
  if res.status == 204 or res.status == 200 then
    return { status = "updated", id = contact.id }
  elseif res.status == 404 then
    return { status = "skipped", error = "not_in_list", provider_code = code_of(res),
             message = "not a Brevo contact: " .. message_of(res) }
  elseif res.status == 400 then
    local code, message = code_of(res) or "400", message_of(res)
    local lower = message:lower()
    if lower:find("sms", 1, true) or lower:find("phone", 1, true) then
      return { status = "rejected", error = "invalid_phone", provider_code = code, message = message }
    end
    return { status = "rejected", error = "invalid_field", provider_code = code, message = message }
  end
  return other_failure(res)
end

local function check_list_page(list)
  return function(res)
    if res.status >= 200 and res.status < 300 then
      if type(res.json) ~= "table" or type(res.json.contacts) ~= "table" then
        error({ code = "provider_error",
                message = "Brevo answered the contacts of list " .. list .. " without contacts" })
      end
      return
    end
    check_batch_failure(res, list)
    local failure = other_failure(res)
    error({ code = failure.error, transient = failure.transient,
            provider_code = failure.provider_code, message = failure.message })
  end
end

local function check_list(list)
  if not list:match("^%d+$") then
    error({ code = "list_not_found", message = "a Brevo list is a numeric id, not '" .. list .. "'" })
  end
end

return {
  kind = "provider",
  name = "brevo",
  summary = "Brevo contacts (API v3); the number in the SMS attribute",
  credentials = { "api_key" },
  endpoint = "https://api.brevo.com",
  batch_size = 1,
  fields = { "first_name", "last_name", "email" },
  custom_fields = {},

  add = function(ctx, list, contacts)
    check_list(list)
    local update_enabled = ctx.options.update_enabled ~= "false"
    local results = {}
    for i, contact in ipairs(contacts) do results[i] = add_one(ctx, list, contact, update_enabled) end
    return results
  end,

  delete = function(ctx, list, contacts)
    check_list(list)
    local results = {}
    for i, contact in ipairs(contacts) do results[i] = delete_one(ctx, list, contact) end
    return results
  end,

  update = function(ctx, list, contacts)
    check_list(list)
    local results = {}
    for i, contact in ipairs(contacts) do results[i] = update_one(ctx, list, contact) end
    return results
  end,

  -- The whole list in one page (ctx.http.pages reads every page of Brevo's).
  list = function(ctx, list, page)
    check_list(list)
    local contacts = {}
    for items in ctx.http.pages {
      request = { url = ctx.endpoint .. "/v3/contacts/lists/" .. list .. "/contacts",
                  headers = headers(ctx) },
      style = "offset", size = 500, size_param = "limit",
      items = function(res) return res.json.contacts end,
      check = check_list_page(list),
    } do
      for _, item in ipairs(items) do
        local attributes = type(item) == "table" and type(item.attributes) == "table"
          and item.attributes or {}
        if attributes.SMS ~= nil then
          contacts[#contacts + 1] = {
            phone = tostring(attributes.SMS),
            first_name = type(attributes.FIRSTNAME) == "string" and attributes.FIRSTNAME or nil,
            last_name = type(attributes.LASTNAME) == "string" and attributes.LASTNAME or nil,
            email = type(item.email) == "string" and item.email or nil,
            id = item.id,
          }
        end
      end
    end
    return { contacts = contacts, next = nil }
  end,
}
