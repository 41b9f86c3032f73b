#!/usr/bin/env python3
"""The script a user would write instead of `contactor validate FILE --region FR --output json`.

Reads the CSV with `csv`, checks each phone with `phonenumbers` (region FR), and writes one
JSON line per row with `json`, shaped like Contactor's: line, phone (E.164), status (valid,
rejected, or skipped for a phone met before), id, error.
Usage: validate.py FILE.csv > out.jsonl
"""
import csv
import json
import sys

import phonenumbers


def main(path):
    out = sys.stdout
    seen = {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = [name.strip().lower() for name in next(reader)]
        phone_column = header.index("phone")
        for index, row in enumerate(reader):
            line = index + 2
            text = row[phone_column].strip()
            phone, status, error = None, "valid", None
            try:
                number = phonenumbers.parse(text, "FR")
                if phonenumbers.is_valid_number(number):
                    phone = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                else:
                    status = "rejected"
                    error = {"code": "invalid_phone", "message": f"{text} is not a valid phone number",
                             "provider_code": None}
            except phonenumbers.NumberParseException as failure:
                status = "rejected"
                error = {"code": "invalid_phone", "message": str(failure), "provider_code": None}
            if phone is not None:
                if phone in seen:
                    status = "skipped"
                    error = {"code": "already_in_list", "message": f"same phone as line {seen[phone]}",
                             "provider_code": None}
                else:
                    seen[phone] = line
            out.write(json.dumps({"line": line, "phone": phone, "status": status, "id": None,
                                  "error": error}, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
