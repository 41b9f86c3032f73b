-- eu_mobiles: accepts mobile numbers of the European Union and EEA countries (and
-- Switzerland) only; rejects every other country and every fixed-line, toll-free, VoIP
-- or unknown-type number, saying why.
--
-- The country and line type are those libphonenumber gave the contact (contact.region,
-- contact.type). A number libphonenumber types as "fixed_line_or_mobile" (the US and a
-- few others, where numbers cannot be told apart) is accepted: it can receive SMS.
-- Should a contact come without them, the validator parses the number itself with
-- phone.parse.
--
-- Use it: contactor import FILE.csv --provider P --list L --validator eu_mobiles
-- To allow other countries, copy this file under another name and edit `allowed`.

local allowed = {}
for code in ([[
  AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE
  IS LI NO CH
  GP MQ GF RE YT
]]):gmatch("%u%u") do
  allowed[code] = true
end

local sms_types = { mobile = true, fixed_line_or_mobile = true }

return {
  kind = "validator",
  name = "eu_mobiles",

  validate = function(contact)
    local region, kind = contact.region, contact.type
    if region == nil or kind == nil then
      local parsed, err = phone.parse(contact.phone)
      if parsed == nil then return false, "unreadable number: " .. tostring(err) end
      region, kind = parsed.region, parsed.type
    end
    if region == nil or not allowed[region] then
      return false, contact.phone .. " is not a number of an EU/EEA country (" .. tostring(region) .. ")"
    end
    if not sms_types[kind] then
      return false, contact.phone .. " is not a mobile number (" .. tostring(kind) .. ")"
    end
    return true
  end,
}
