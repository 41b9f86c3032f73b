local M = {}
function M.full_name(contact)
  return (((contact.first_name or "") .. " " .. (contact.last_name or "")):gsub("^%s+", ""):gsub("%s+$", ""))
end
return M
