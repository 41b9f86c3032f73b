#!/usr/bin/env python3
"""Writes Tests/ContactorTests/Fixtures/phone-numbers.json: what libphonenumber answers for
a table of messy phone inputs, computed by an independent implementation (Python's
`phonenumbers`, a port of libphonenumber) pinned to the metadata Debian's libphonenumber
8.12.57 ships, so that PhoneNumberTests can check Contactor's C++ wrapper against it.

    pip install phonenumbers==8.12.57
    scripts/generate-phone-fixtures.py

Where Contactor's wrapper deliberately differs from plain libphonenumber, the expected
value is Contactor's and the case carries a "deviation" note:
  - a leading "00" with no usable default region is read as "+" (libphonenumber alone
    fails with INVALID_COUNTRY_CODE, since without a region it knows no IDD prefix).
"""
import json
import os
import sys

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

EXPECTED_VERSION = "8.12.57"
if phonenumbers.__version__ != EXPECTED_VERSION:
    sys.exit(f"phonenumbers {phonenumbers.__version__} installed; this script needs "
             f"{EXPECTED_VERSION} (the metadata of Debian's libphonenumber8)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "ContactorTests", "Fixtures", "phone-numbers.json")

TYPE_NAMES = {
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
    PhoneNumberType.UNKNOWN: "unknown",
}

MAX_INPUT = 250  # CPN_MAX_INPUT_LENGTH, libphonenumber's kMaxInputStringLength


def expected(text, region):
    """What Contactor's PhoneNumber(parsing:defaultRegion:) must answer, and a deviation
    note when it is not plain libphonenumber's answer."""
    deviation = None
    if region is not None and region != region.upper():
        deviation = "the default region is case-insensitive ('fr' is FR)"
        region = region.upper()
    has_region = region is not None and phonenumbers.country_code_for_region(region) != 0
    parse_region = region if has_region else "ZZ"
    to_parse = text
    stripped = text.lstrip(" \t\r\n")
    if not has_region and stripped.startswith("00"):
        to_parse = "+" + stripped[2:]
        deviation = ("leading 00 with no region read as + (libphonenumber alone: "
                     "INVALID_COUNTRY_CODE)")
    if len(text.encode("utf-8")) > MAX_INPUT:
        return {"error": "too_long"}, None
    try:
        number = phonenumbers.parse(to_parse, parse_region)
    except NumberParseException as error:
        # Without a region, INVALID_COUNTRY_CODE means "national number, region needed"
        # unless the number gave a country code (a + or, in Contactor, a leading 00).
        international = to_parse.lstrip(" \t\r\n").startswith("+") or \
            to_parse.lstrip(" \t\r\n").lower().startswith("tel:+")
        kind = {
            NumberParseException.INVALID_COUNTRY_CODE:
                "invalid_country_code" if has_region or international else "needs_region",
            NumberParseException.NOT_A_NUMBER: "not_a_number",
            NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
            NumberParseException.TOO_SHORT_NSN: "too_short",
            NumberParseException.TOO_LONG: "too_long",
        }[error.error_type]
        return {"error": kind}, deviation
    if not phonenumbers.is_valid_number(number):
        return {"error": "invalid"}, deviation
    number_region = phonenumbers.region_code_for_number(number)
    return {
        "e164": phonenumbers.format_number(number, PhoneNumberFormat.E164),
        "region": None if number_region in (None, "ZZ", "001") else number_region,
        "type": TYPE_NAMES[phonenumbers.number_type(number)],
    }, deviation


REGIONS = ["FR", "DE", "GB", "US", "CA", "BE", "CH", "ES", "IT", "AT", "NL", "MA", "SN",
           "JP", "AU", "BR", "IN", "PT", "PL", "SE"]
TYPES = [PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE]

cases = []


def add(text, region, group):
    result, deviation = expected(text, region)
    case = {"group": group, "input": text, "region": region, "expected": result}
    if deviation:
        case["deviation"] = deviation
    cases.append(case)


# Variants of libphonenumber's own example numbers, per region and line type.
for region in REGIONS:
    cc = phonenumbers.country_code_for_region(region)
    for number_type in TYPES:
        example = phonenumbers.example_number_for_type(region, number_type)
        if example is None:
            continue
        nsn = phonenumbers.national_significant_number(example)
        national = phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL)
        international = phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL)
        e164 = phonenumbers.format_number(example, PhoneNumberFormat.E164)
        rfc3966 = phonenumbers.format_number(example, PhoneNumberFormat.RFC3966)
        group = f"{region} {TYPE_NAMES[number_type]}"
        add(e164, None, group)
        add(e164, region, group)
        add(international, None, group)
        add(f"  {international}\t", None, group)
        add(international.replace(" ", "."), None, group)
        add(international.replace(" ", "-"), None, group)
        add(national, region, group)
        add(national.replace(" ", "."), region, group)
        add(f" {national} ", region, group)
        add(rfc3966, None, group)
        add(f"00{cc}{nsn}", None, group)            # 00 without region: Contactor reads +
        add(f"00 {cc} {nsn}", region, group)        # 00 with region: the region's IDD rules
        add(national, None, group)                  # national without region: needs one
        add(f"+{cc} ({nsn[:2]}) {nsn[2:]}", None, group)

# Hand-written messy inputs.
for text, region in [
    ("tel:+33-6-12-34-56-78", None), ("tel:+33-6-12-34-56-78", "DE"),
    ("+33 (0)6 12 34 56 78", None), ("0033 6 12 34 56 78", None), ("0033612345678", "FR"),
    ("06.12.34.56.78", "FR"), ("06-12-34-56-78", "FR"), ("(06) 12 34 56 78", "FR"),
    ("06 12 34 56 78", None), ("06 12 34 56 78", "fr"), ("06 12 34 56 78", "XX"),
    ("+1 (650) 253-0000", None), ("(650) 253-0000", "US"), ("650.253.0000", "US"),
    ("1-800-555-0199", "US"), ("+1 800 555 0199", None), ("011 33 6 12 34 56 78", "US"),
    ("+1 204 555 0123", None), ("+1 416 555 0199", "CA"),
    ("+44 7400 123456", None), ("07400 123456", "GB"), ("+44 (0) 20 7946 0018", None),
    ("020 7946 0018", "GB"), ("0800 123 4567", "GB"),
    ("+49 151 23456789", None), ("0151 23456789", "DE"), ("030 123456", "DE"),
    ("+32 470 12 34 56", None), ("+41 79 123 45 67", None), ("+34 612 34 56 78", None),
    ("+39 312 345 6789", None), ("+39 06 1234 5678", None), ("+43 664 123456", None),
    ("+31 6 12345678", None), ("+212 650-123456", None), ("+221 77 123 45 67", None),
    ("+81 90-1234-5678", None), ("090-1234-5678", "JP"), ("+61 412 345 678", None),
    ("0412 345 678", "AU"), ("+55 11 91234-5678", None), ("(11) 91234-5678", "BR"),
    ("+91 98765 43210", None), ("098765 43210", "IN"),
    # invalid: too short, too long, letters, empty, not numbers at all
    ("+33 6", None), ("06", "FR"), ("1", "US"), ("+", None), ("", None), ("   ", "FR"),
    ("+33 6 12 34 56 78 90 12 34 56", None), ("+1 650 253 00001", None),
    ("06 12 34 56 789", "FR"), ("061234567", "FR"),
    ("phone", None), ("phone", "FR"), ("abc-def-ghij", "US"), ("+33 6 12 AB 56 78", None),
    ("0800-FLOWERS", "US"), ("1-800-FLOWERS", "US"), ("+999 123 456 789", None),
    ("+33 1 00 00 00 00", None), ("+1 555 555 5555", None),
    ("+" + "6" * 299, None), ("6" * 300, "FR"), ("0" * 251, "FR"), ("0" * 250, "FR"),
    ("+33612345678", "ZZ"), ("+33612345678", ""), ("00999 123 456 789", None),
    ("+999 123 456 789", "FR"), ("tel:+999-123-456", None), ("+33 6 12 34 56 78", "us"),
]:
    add(text, region or None if region != "" else None, "hand-written")

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w", encoding="utf-8") as out:
    json.dump({
        "generator": "scripts/generate-phone-fixtures.py",
        "phonenumbers": phonenumbers.__version__,
        "libphonenumber_metadata": EXPECTED_VERSION,
        "deviations": [
            "The default region is case-insensitive: 'fr' is read as FR (libphonenumber "
            "alone knows no region 'fr').",
            "A leading 00 with no usable default region is read as + (plain libphonenumber "
            "fails with INVALID_COUNTRY_CODE); such cases carry a 'deviation' note.",
            "Errors are kinds, not libphonenumber's error types: needs_region (no country "
            "code and no region), invalid_country_code, not_a_number, too_short, too_long, "
            "invalid (parsed but not a valid number).",
        ],
        "cases": cases,
    }, out, ensure_ascii=False, indent=1)
    out.write("\n")
print(f"wrote {len(cases)} cases to {os.path.relpath(OUT, ROOT)}")
