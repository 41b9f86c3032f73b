-- textmagic: Textmagic contacts (REST API v2), as a Contactor provider plugin.
--
-- Credentials: username and api_key (CONTACTOR_TEXTMAGIC_USERNAME,
-- CONTACTOR_TEXTMAGIC_API_KEY, or --credential username=... --credential api_key=...),
-- sent as the X-TM-Username and X-TM-Key headers. The list is a Textmagic list id
-- (digits). Numbers are sent in international form without "+" (33612345678), as
-- Textmagic writes them.
--
-- Endpoints (under https://rest.textmagic.com, which --endpoint replaces) and what each
-- response becomes:
--
-- add: POST /api/v2/contacts { phone, firstName, lastName, email, lists = "<list id>" }
--   201 { id, href }                       -> added, id
--   400, errors on `phone` saying the number already exists
--                                          -> the contact exists at Textmagic, so:
--        GET /api/v2/contacts/phone/{phone} -> 200 contact { id, lists = [{ id }, ...] }
--          already in the list              -> skipped (already_in_list), id
--          not in it: PUT /api/v2/lists/{list}/contacts { contacts = "<id>" }
--                     200/201/204            -> updated, id (assigned to the list)
--   400, other errors on `phone`           -> rejected (invalid_phone), provider_code 400
--   400, errors on `lists`; 404            -> the batch fails: list_not_found
--   400, errors on another field           -> rejected (invalid_field)
--   401, 403                               -> the batch fails: auth_failed
--   429                                    -> failed (rate_limited, transient)
--   anything else                          -> failed (provider_error; transient for 5xx)
--
-- delete: Textmagic deletes by id, so the contact is first found by its number:
--   GET /api/v2/contacts/phone/{phone}
--     404                                  -> skipped (not_in_list)
--     200 and the list is not among the contact's lists
--                                          -> skipped (not_in_list)
--     200 and this is the contact's only list:
--        DELETE /api/v2/contacts/{id}       204 -> deleted; 404 -> skipped (not_in_list)
--     200 and the contact is in other lists too: only unassign it from this one, so that
--       the other lists keep it:
--        DELETE /api/v2/lists/{list}/contacts { contacts = "<id>" }
--                                           204 -> deleted; 404 -> list_not_found
--
-- update: by the contact's Textmagic id (contact.id, which the ledger records from the add),
-- else found by its number as for delete:
--   not a Textmagic contact, or not in the list -> skipped (not_in_list)
--   PUT /api/v2/contacts/{id} { phone, firstName, lastName, email, lists = "<list id>" }
--     200/201                              -> updated, id
--     404                                  -> skipped (not_in_list)
--     400 with errors on `phone`           -> rejected (invalid_phone)
--
-- list: GET /api/v2/lists/{list}/contacts?page=N&limit=100, every page (ctx.http.pages)
--   200 { page, pageCount, resources = [{ id, phone, firstName, lastName, email }] }
--                                          -> one page of contacts (phone as +digits)
--   401, 403 -> auth_failed; 404 -> list_not_found; 429 -> rate_limited (transient);
--   other -> provider_error (transient for 5xx)
--
-- Errors come as { code, message, errors }; `errors` is read in both shapes the API has
-- used: { fields = { phone = { "..." } } } and { children = { phone = { errors = {...} } } }.

local function digits(e164)
  return (e164:gsub("^%+", ""))
end

local function headers(ctx)
  return {
    ["X-TM-Username"] = ctx.credentials.username,
    ["X-TM-Key"] = ctx.credentials.api_key,
    ["Accept"] = "application/json",
  }
end

-- The messages of the errors on `field` in a Textmagic error body, as one string ("" if none).
local function field_errors(body, field)
  local errors = type(body) == "table" and type(body.errors) == "table" and body.errors or {}
  local found = {}
  local fields = type(errors.fields) == "table" and errors.fields or {}
  if type(fields[field]) == "table" then
    for _, text in ipairs(fields[field]) do found[#found + 1] = tostring(text) end
  end
  local children = type(errors.children) == "table" and errors.children or {}
  if type(children[field]) == "table" and type(children[field].errors) == "table" then
    for _, text in ipairs(children[field].errors) do found[#found + 1] = tostring(text) end
  end
  return table.concat(found, "; ")
end

local function has_field_errors(body)
  local errors = type(body) == "table" and type(body.errors) == "table" and body.errors or {}
  for _, group in ipairs({ errors.fields, errors.children }) do
    if type(group) == "table" then
      for name in pairs(group) do
        if field_errors(body, name) ~= "" then return name end
      end
    end
  end
  return nil
end

local function message_of(res)
  if type(res.json) == "table" and type(res.json.message) == "string" then
    return res.json.message
  end
  return "HTTP " .. res.status
end

-- Raises the batch-wide failures every endpoint shares; returns otherwise.
local function check_batch_failure(res, list)
  if res.status == 401 or res.status == 403 then
    error({ code = "auth_failed", provider_code = tostring(res.status),
            message = "Textmagic refused the credentials: " .. message_of(res) })
  end
end

local function other_failure(res)
  if res.status == 429 then
    return { status = "failed", error = "rate_limited", transient = true,
             provider_code = "429", message = message_of(res) }
  end
  return { status = "failed", error = "provider_error", transient = res.status >= 500,
           provider_code = tostring(res.status), message = message_of(res) }
end

local function list_not_found(list, res)
  error({ code = "list_not_found", provider_code = tostring(res.status),
          message = "Textmagic has no list " .. list .. ": " .. message_of(res) })
end

-- GET /contacts/phone/{phone}: the contact, or nil when Textmagic has none.
local function find(ctx, phone)
  local res = ctx.http.request {
    url = ctx.endpoint .. "/api/v2/contacts/phone/" .. digits(phone),
    headers = headers(ctx),
  }
  check_batch_failure(res)
  if res.status == 404 then return nil, nil end
  if res.status == 200 and type(res.json) == "table" and res.json.id ~= nil then
    return res.json, nil
  end
  return nil, other_failure(res)
end

-- The ids (as strings) of the lists a contact belongs to, or nil when not reported.
local function list_ids(contact)
  if type(contact.lists) ~= "table" then return nil end
  local ids = {}
  for _, item in ipairs(contact.lists) do
    local id = type(item) == "table" and item.id or item
    if id ~= nil then ids[#ids + 1] = tostring(id) end
  end
  return ids
end

local function contains(ids, list)
  for _, id in ipairs(ids) do
    if id == list then return true end
  end
  return false
end

local function add_one(ctx, list, contact)
  local res = ctx.http.request {
    method = "POST",
    url = ctx.endpoint .. "/api/v2/contacts",
    headers = headers(ctx),
    json = {
      phone = digits(contact.phone),
      firstName = contact.first_name,
      lastName = contact.last_name,
      email = contact.email,
      lists = list,
    },
  }
  check_batch_failure(res)
  if res.status == 201 or res.status == 200 then
    return { status = "added", id = res.json and res.json.id }
  elseif res.status == 404 then
    list_not_found(list, res)
  elseif res.status == 400 then
    if field_errors(res.json, "lists") ~= "" then list_not_found(list, res) end
    local phone_errors = field_errors(res.json, "phone")
    if phone_errors:lower():find("exist", 1, true) then
      -- The number is already a Textmagic contact: make sure it is in this list.
      local existing, failure = find(ctx, contact.phone)
      if failure then return failure end
      if not existing then
        return { status = "failed", error = "provider_error", transient = true,
                 message = "Textmagic says the number exists but cannot find it" }
      end
      local ids = list_ids(existing)
      if ids and contains(ids, list) then
        return { status = "skipped", error = "already_in_list", id = existing.id,
                 message = "already in list " .. list }
      end
      local assign = ctx.http.request {
        method = "PUT",
        url = ctx.endpoint .. "/api/v2/lists/" .. list .. "/contacts",
        headers = headers(ctx),
        json = { contacts = tostring(existing.id) },
      }
      check_batch_failure(assign)
      if assign.status == 200 or assign.status == 201 or assign.status == 204 then
        return { status = "updated", id = existing.id }
      elseif assign.status == 404 then
        list_not_found(list, assign)
      end
      return other_failure(assign)
    elseif phone_errors ~= "" then
      return { status = "rejected", error = "invalid_phone", provider_code = "400",
               message = phone_errors }
    end
    local field = has_field_errors(res.json)
    return { status = "rejected", error = "invalid_field", provider_code = "400",
             message = field and (field .. ": " .. field_errors(res.json, field))
                            or message_of(res) }
  end
  return other_failure(res)
end

local function delete_one(ctx, list, contact)
  local existing, failure = find(ctx, contact.phone)
  if failure then return failure end
  if not existing then
    return { status = "skipped", error = "not_in_list", message = "not a Textmagic contact" }
  end
  local ids = list_ids(existing)
  if ids and not contains(ids, list) then
    return { status = "skipped", error = "not_in_list", id = existing.id,
             message = "not in list " .. list }
  end
  local res
  if ids and #ids > 1 then
    res = ctx.http.request {
      method = "DELETE",
      url = ctx.endpoint .. "/api/v2/lists/" .. list .. "/contacts",
      headers = headers(ctx),
      json = { contacts = tostring(existing.id) },
    }
    check_batch_failure(res)
    if res.status == 404 then list_not_found(list, res) end
  else
    res = ctx.http.request {
      method = "DELETE",
      url = ctx.endpoint .. "/api/v2/contacts/" .. tostring(existing.id),
      headers = headers(ctx),
    }
    check_batch_failure(res)
    if res.status == 404 then
      return { status = "skipped", error = "not_in_list", message = "already deleted" }
    end
  end
  if res.status == 204 or res.status == 200 then
    return { status = "deleted", id = existing.id }
  end
  return other_failure(res)
end

local function update_one(ctx, list, contact)
  local id = contact.id
  if id == nil then
    local existing, failure = find(ctx, contact.phone)
    if failure then return failure end
    if not existing then
      return { status = "skipped", error = "not_in_list", message = "not a Textmagic contact" }
    end
    local ids = list_ids(existing)
    if ids and not contains(ids, list) then
      return { status = "skipped", error = "not_in_list", id = existing.id,
               message = "not in list " .. list }
    end
    id = existing.id
  end
  local res = ctx.http.request {
    method = "PUT",
    url = ctx.endpoint .. "/api/v2/contacts/" .. tostring(id),
    headers = headers(ctx),
    json = {
      phone = digits(contact.phone),
      firstName = contact.first_name,
      lastName = contact.last_name,
      email = contact.email,
      lists = list,
    },
  }
  check_batch_failure(res)
  if res.status == 200 or res.status == 201 then
    return { status = "updated", id = (res.json and res.json.id) or id }
  elseif res.status == 404 then
    return { status = "skipped", error = "not_in_list", message = "Textmagic has no contact " .. tostring(id) }
  elseif res.status == 400 then
    local phone_errors = field_errors(res.json, "phone")
    if phone_errors ~= "" then
      return { status = "rejected", error = "invalid_phone", provider_code = "400",
               message = phone_errors }
    end
    if field_errors(res.json, "lists") ~= "" then list_not_found(list, res) end
    return { status = "rejected", error = "invalid_field", provider_code = "400",
             message = message_of(res) }
  end
  return other_failure(res)
end

local function check_list_page(list)
  return function(res)
    if res.status >= 200 and res.status < 300 then
      if type(res.json) ~= "table" or type(res.json.resources) ~= "table" then
        error({ code = "provider_error",
                message = "Textmagic answered the contacts of list " .. list .. " without resources" })
      end
      return
    end
    check_batch_failure(res)
    if res.status == 404 then list_not_found(list, res) end
    local failure = other_failure(res)
    error({ code = failure.error, transient = failure.transient,
            provider_code = failure.provider_code, message = failure.message })
  end
end

return {
  kind = "provider",
  name = "textmagic",
  summary = "Textmagic contacts (REST API v2)",
  credentials = { "username", "api_key" },
  endpoint = "https://rest.textmagic.com",
  batch_size = 1,
  fields = { "first_name", "last_name", "email" },
  custom_fields = {},

  add = function(ctx, list, contacts)
    if not list:match("^%d+$") then
      error({ code = "list_not_found", message = "a Textmagic list is a numeric id, not '" .. list .. "'" })
    end
    local results = {}
    for i, contact in ipairs(contacts) do results[i] = add_one(ctx, list, contact) end
    return results
  end,

  delete = function(ctx, list, contacts)
    if not list:match("^%d+$") then
      error({ code = "list_not_found", message = "a Textmagic list is a numeric id, not '" .. list .. "'" })
    end
    local results = {}
    for i, contact in ipairs(contacts) do results[i] = delete_one(ctx, list, contact) end
    return results
  end,

  update = function(ctx, list, contacts)
    if not list:match("^%d+$") then
      error({ code = "list_not_found", message = "a Textmagic list is a numeric id, not '" .. list .. "'" })
    end
    local results = {}
    for i, contact in ipairs(contacts) do results[i] = update_one(ctx, list, contact) end
    return results
  end,

  -- The whole list in one page (ctx.http.pages reads every page of Textmagic's).
  list = function(ctx, list, page)
    if not list:match("^%d+$") then
      error({ code = "list_not_found", message = "a Textmagic list is a numeric id, not '" .. list .. "'" })
    end
    local contacts = {}
    for items in ctx.http.pages {
      request = { url = ctx.endpoint .. "/api/v2/lists/" .. list .. "/contacts",
                  headers = headers(ctx) },
      style = "page", size = 100, size_param = "limit",
      items = function(res) return res.json.resources end,
      check = check_list_page(list),
    } do
      for _, item in ipairs(items) do
        if type(item) == "table" and item.phone ~= nil then
          local number = tostring(item.phone)
          contacts[#contacts + 1] = {
            phone = number:sub(1, 1) == "+" and number or "+" .. number,
            first_name = type(item.firstName) == "string" and item.firstName or nil,
            last_name = type(item.lastName) == "string" and item.lastName or nil,
            email = type(item.email) == "string" and item.email ~= "" and item.email or nil,
            id = item.id,
          }
        end
      end
    end
    return { contacts = contacts, next = nil }
  end,
}
