-- One mapping whose map() returns the contact shape the row's "mode" column names: the
-- shapes that LuaMapping decodes on its fast path and those it leaves to the generic one.
local shapes = {}
function shapes.integers() return { phone = 33612345678, first_name = 7 } end
function shapes.field_types() return { phone = "+33612345678", fields = { a = true, b = 3, c = "x", d = false } } end
function shapes.accents(row) return { phone = "+33612345678", first_name = row.name, last_name = "Éloïse ✓" } end
function shapes.bad_utf8() return { phone = "+33612345678", first_name = "caf\233" } end
function shapes.empty_fields() return { phone = "+33612345678", fields = {} } end
function shapes.list_fields() return { phone = "+33612345678", fields = { "x" } } end
function shapes.repeated(row) return { phone = row.dup } end
function shapes.empty_phone() return { phone = "" } end
function shapes.region_type() return { phone = "+33612345678", region = "FR", type = "mobile", email = "a@b.c" } end
function shapes.float() return { phone = "+33612345678", first_name = 1.5 } end
function shapes.all(row)
  return { phone = row.phone, first_name = "Ada", last_name = "Lovelace", email = "ada@example.com",
           birthday = "1815-12-10", civility = "Mme", fields = { param1 = "vip" } }
end

return {
  kind = "mapping", name = "shapes",
  map = function(row) return shapes[row.mode](row) end,
}
