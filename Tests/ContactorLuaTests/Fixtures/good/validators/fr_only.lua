return {
  kind = "validator", name = "fr_only",
  validate = function(contact)
    if contact.region ~= "FR" then return false, "only French numbers, got " .. tostring(contact.region) end
    return true
  end,
}
