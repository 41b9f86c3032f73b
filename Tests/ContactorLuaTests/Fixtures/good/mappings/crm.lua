return {
  kind = "mapping", name = "crm",
  map = function(row)
    if row.tel == nil or row.tel == "" then return nil, "no phone in column tel" end
    return { phone = row.tel, first_name = row.prenom, fields = { param1 = row.ville } }
  end,
  payload = function(provider, contact, payload)
    payload.param1 = contact.fields.param1 and contact.fields.param1:upper()
    payload.provider = provider
    return payload
  end,
}
