#!/usr/bin/env python3
"""The script a user would write instead of `contactor import FILE --provider octopush`.

Reads the CSV with `csv`, normalises each phone with `phonenumbers` (region FR), and sends
the valid ones to Octopush's `POST /v1/public/contact/create` with `requests`, in batches
of 200 (Contactor's batch size for Octopush), one request after the other, printing one
JSON line per contact.
Usage: import.py FILE.csv BASE_URL LIST > out.jsonl   (BASE_URL: http://127.0.0.1:PORT/octopush)
"""
import csv
import json
import sys

import phonenumbers
import requests

BATCH = 200
HEADERS = {"api-login": "demo@contactor.test", "api-key": "octopush-demo-key",
           "Content-Type": "application/json"}


def main(path, base_url, list_name):
    out = sys.stdout
    session = requests.Session()
    batch = []

    def send():
        body = {"contacts": [contact for _, contact in batch], "list_name": list_name}
        answer = session.post(base_url + "/v1/public/contact/create", headers=HEADERS,
                              data=json.dumps(body), timeout=60)
        answer.raise_for_status()
        items = answer.json()["items"]
        for (line, contact), item in zip(batch, items):
            out.write(json.dumps({"line": line, "phone": contact["phone_number"],
                                  "status": item["status"], "id": None, "error": None},
                                 separators=(",", ":")) + "\n")
        batch.clear()

    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = [name.strip().lower() for name in next(reader)]
        columns = {name: header.index(name) for name in ("phone", "first_name", "last_name")}
        for index, row in enumerate(reader):
            line = index + 2
            text = row[columns["phone"]].strip()
            try:
                number = phonenumbers.parse(text, "FR")
                valid = phonenumbers.is_valid_number(number)
            except phonenumbers.NumberParseException:
                valid = False
            if not valid:
                out.write(json.dumps({"line": line, "phone": None, "status": "rejected", "id": None,
                                      "error": {"code": "invalid_phone", "message": text,
                                                "provider_code": None}},
                                     separators=(",", ":")) + "\n")
                continue
            contact = {"phone_number": phonenumbers.format_number(
                number, phonenumbers.PhoneNumberFormat.E164)}
            for name in ("first_name", "last_name"):
                value = row[columns[name]].strip()
                if value:
                    contact[name] = value
            batch.append((line, contact))
            if len(batch) == BATCH:
                send()
    if batch:
        send()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
