-- crm_export: reads a CRM's contact export, whose columns are not Contactor's.
--
--   Mobile          -> phone (national numbers are read in --region / the provider's region)
--   Full Name       -> first_name and last_name: "Ada Lovelace" splits at the first space
--                      (first_name "Ada", last_name "Lovelace"; "Marie de La Fontaine"
--                      gives "Marie" / "de La Fontaine"); "LOVELACE, Ada" splits at the
--                      comma; a single word is a first name
--   Date of birth   -> birthday: DD/MM/YYYY (or D/M/YYYY) becomes YYYY-MM-DD
--   E-mail          -> email, trimmed and in lower case
--   Title           -> civility, as written
--   Segment         -> the custom field param1 (Octopush's param1)
--
-- A row without a mobile number is rejected ("no mobile number"), and so is a row whose
-- date of birth is not a real DD/MM/YYYY date: the row is reported, never half imported.
-- Empty cells are left out.
--
-- payload: for Octopush, param1 is filled from the Segment (the custom field param1),
-- or "standard" when the row had none, so that every Octopush contact carries a segment.
-- Other providers' payloads are sent unchanged. Because the segment travels as the
-- custom field param1, use this mapping with providers that have a param1 (Octopush);
-- others refuse the field (invalid_field), naming it.
--
-- Try it: contactor validate examples/crm-export.csv --region FR --mapping plugins/mappings/crm_export.lua

local function trim(text)
  if text == nil then return nil end
  text = text:match("^%s*(.-)%s*$")
  if text == "" then return nil end
  return text
end

local function split_name(full)
  if full == nil then return nil, nil end
  local last, first = full:match("^([^,]+),%s*(.+)$")
  if last then return trim(first), trim(last) end
  first, last = full:match("^(%S+)%s+(.+)$")
  if first then return first, trim(last) end
  return full, nil
end

local days_in_month = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

-- "17/05/1990" -> "1990-05-17"; nil, reason for anything that is not a real date.
local function iso_date(text)
  local d, m, y = text:match("^(%d%d?)/(%d%d?)/(%d%d%d%d)$")
  if not d then return nil end
  d, m, y = tonumber(d), tonumber(m), tonumber(y)
  if m < 1 or m > 12 then return nil end
  local leap = (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0
  local last = (m == 2 and leap) and 29 or days_in_month[m]
  if d < 1 or d > last then return nil end
  return string.format("%04d-%02d-%02d", y, m, d)
end

return {
  kind = "mapping",
  name = "crm_export",

  map = function(row)
    local mobile = trim(row["Mobile"])
    if mobile == nil then return nil, "no mobile number" end
    local first_name, last_name = split_name(trim(row["Full Name"]))
    local birthday = trim(row["Date of birth"])
    if birthday ~= nil then
      local iso = iso_date(birthday)
      if iso == nil then
        return nil, "Date of birth '" .. birthday .. "' is not a DD/MM/YYYY date"
      end
      birthday = iso
    end
    local email = trim(row["E-mail"])
    return {
      phone = mobile,
      first_name = first_name,
      last_name = last_name,
      birthday = birthday,
      email = email and email:lower(),
      civility = trim(row["Title"]),
      fields = { param1 = trim(row["Segment"]) },
    }
  end,

  payload = function(provider, contact, payload)
    if provider == "octopush" then
      payload.param1 = contact.fields.param1 or "standard"
    end
    return payload
  end,
}
