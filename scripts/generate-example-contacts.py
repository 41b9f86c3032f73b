#!/usr/bin/env python3
"""Writes examples/contacts.csv: a few hundred realistic French contacts for the README demo,
with a handful of deliberately bad rows (invalid numbers, a bad date, a short row, a
duplicate, numbers from other countries). Deterministic: the same file every run."""
import csv
import unicodedata
import random
import sys

random.seed(20261123)
first_f = ["Camille", "Léa", "Chloé", "Manon", "Inès", "Jade", "Louise", "Zoé", "Emma", "Alice",
           "Juliette", "Lina", "Rose", "Anna", "Élise", "Margaux", "Sarah", "Lucie", "Clémence", "Nina"]
first_m = ["Lucas", "Hugo", "Louis", "Gabriel", "Arthur", "Jules", "Adam", "Raphaël", "Nathan", "Théo",
           "Paul", "Tom", "Noah", "Mathis", "Victor", "Antoine", "Maxime", "Étienne", "Rémi", "Bastien"]
last = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
        "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
        "Vincent", "Fournier", "Morel", "Girard", "André", "Lefebvre", "Mercier", "Dupont", "Lambert",
        "Bonnet", "François", "Martinez", "Le Gall", "N'Diaye", "Da Silva", "Müller"]
segments = ["newsletter", "vip", "promo", "b2b", "retail"]

def mobile():
    # 06 numbers outside 069x, which French metropolitan mobile ranges do not use.
    digits = "6" + random.choice("0124578") + "".join(random.choice("0123456789") for _ in range(7))
    style = random.randrange(6)
    pairs = [digits[1:3], digits[3:5], digits[5:7], digits[7:9]]
    if style == 0:
        return "0" + digits
    if style == 1:
        return "0" + digits[0] + " " + " ".join(pairs)
    if style == 2:
        return "+33 " + digits[0] + " " + " ".join(pairs)
    if style == 3:
        return "0" + digits[0] + "." + ".".join(pairs)
    if style == 4:
        return "0033" + digits
    return "+33" + digits

rows = []
seen = set()
while len(rows) < 300:
    phone = mobile()
    key = phone[-8:]
    if key in seen:
        continue
    seen.add(key)
    woman = random.random() < 0.5
    first = random.choice(first_f if woman else first_m)
    name = random.choice(last)
    email = (first + "." + name).lower().replace(" ", "").replace("'", "")
    email = unicodedata.normalize("NFKD", email).encode("ascii", "ignore").decode() + "@example.com"
    birthday = "" if random.random() < 0.15 else "%04d-%02d-%02d" % (
        random.randint(1950, 2005), random.randint(1, 12), random.randint(1, 28))
    civility = "Mme" if woman else "M"
    rows.append([phone, first, name, email, birthday, civility, random.choice(segments)])

bad = {
    17: ["12345", "Trop", "Court", "trop.court@example.com", "", "M", "promo"],
    42: ["06 12 34", "Numéro", "Incomplet", "", "", "Mme", "promo"],
    77: ["not a number", "Pas", "Numéro", "", "", "M", "retail"],
    101: [rows[5][0], "Doublon", "Du Cinquième", "", "", "M", "vip"],
    133: ["0611223344", "Date", "Impossible", "", "1990-02-30", "Mme", "b2b"],
    160: ["+32 470 12 34 56", "Belge", "Dupont", "belge@example.be", "", "M", "retail"],
    188: ["+44 7911 123456", "British", "Visitor", "", "", "M", "retail"],
    205: ["0622334455", "Date", "Française", "", "31/12/1985", "Mme", "newsletter"],
    250: ["", "Sans", "Téléphone", "sans.tel@example.com", "", "M", "promo"],
}
for index in sorted(bad, reverse=True):
    rows.insert(index, bad[index])

out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow(["phone", "first_name", "last_name", "email", "birthday", "civility", "other"])
for i, row in enumerate(rows):
    if i == 220:
        out.writerow(row[:3])  # a short row: wrong number of columns
        continue
    out.writerow(row)
