#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/): small inputs that
reach each rule of the CSV reader and each tag of the Lua value codec. Run it again after
changing it; libFuzzer's own findings are not kept here (see docs/fuzzing.md)."""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    path = os.path.join(here, "corpus", target, name)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


csv = {
    "plain": "phone,first_name,last_name\n+33612345678,Ada,Lovelace\n",
    "semicolon": "phone;first_name\n+33612345678;Zoé\n",
    "bom": "\ufeffphone,name\n+33612345678,Ada\n",
    "crlf": "phone,name\r\n+33611111111,Ada\r\n+33622222222,Bob\r\n",
    "cr": "phone,name\r+33611111111,Ada\r+33622222222,Bob\r",
    "quoted": 'phone,note\n+33611111111,"He said ""hi"", then left"\n',
    "quoted-newlines": 'phone,note\n+33611111111,"a\nb\r\nc\rd"\n+33622222222,x\n',
    "tail-after-quote": 'phone,note\n+33611111111,"a"b\n',
    "quote-in-unquoted": 'phone,note\n+33611111111,plain "quote" inside\n',
    "unclosed": 'phone,note\n+33611111111,"never closed\nstill\n',
    "empty-lines": "\n\nphone,name\n\n+33611111111,Ada\n\r\n\n",
    "separators-only": "phone,name,email\n,,\n",
    "column-count": "phone,a,b\n1\n1,2,3,4\n1,2,3\n",
    "no-final-newline": "phone,name\n+33611111111,Ada",
    "header-only": "phone,name",
    "empty": "",
    "duplicate-header": "phone,name, phone\n1,2,3\n",
    "unnamed-column": "phone,,email\n",
    "quoted-header": '"phone, mobile";first_name\n1;2\n',
    "control-header": "phone,na\x1bme\n1,2\n",
    "control-value": 'phone,note\n1,"\x1b[2J\x07"\n',
    "nul-row": "phone,name\n1,a\x00b\n2,c\n",
    "long-field": "phone,note\n1," + "x" * 200 + "\n2,y\n",
    "long-quoted": 'phone,note\n1,"' + "ab\n" * 40 + '"\n2,y\n',
    "escaped-long": 'phone,note\n1,"' + '""' * 30 + '"\n',
}
for name, text in csv.items():
    write("csv", name + ".csv", text)
write("csv", "invalid-utf8.csv", b"phone,name\n1,B\xff\xfe\xc3b\n2,ok\n")
write("csv", "latin1-header.csv", b"t\xe9l\xe9phone,name\n1,2\n")
write("csv", "utf16le-bom.csv", "\ufeffphone,name\n1,2\n".encode("utf-16-le"))
write("csv", "utf16be.csv", "phone,name\n1,2\n".encode("utf-16-be"))
write("csv", "utf32le-bom.csv", b"\xff\xfe\x00\x00" + "p\n".encode("utf-32-le"))
write("csv", "double-bom.csv", b"\xef\xbb\xbf\xef\xbb\xbfphone\n1\n")
write("csv", "bom-encoded-twice.csv", "ï»¿phone\n1\n".encode("utf-8"))
write("csv", "nul-only.csv", b"\x00" * 64)

# The codec: native byte order (little-endian here), see clua_helpers.c.
def u64(n):
    return struct.pack("<Q", n)


def seq(*values):
    return u64(len(values)) + b"".join(values)


NIL, FALSE, TRUE = b"\x00", b"\x01", b"\x02"


def i64(n):
    return b"\x03" + struct.pack("<q", n)


def f64(x):
    return b"\x04" + struct.pack("<d", x)


def s(text):
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    return b"\x05" + u64(len(data)) + data


def array(*values):
    return b"\x06" + u64(len(values)) + b"".join(values)


def table(*pairs):
    return b"\x07" + u64(len(pairs)) + b"".join(k + v for k, v in pairs)


contact = table(
    (s("phone"), s("+33612345678")), (s("first_name"), s("Zoé")),
    (s("fields"), table((s("param1"), s("x\x00y")))),
)
codec = {
    "empty": seq(),
    "scalars": seq(NIL, FALSE, TRUE, i64(-1), i64(2**63 - 1), f64(1.5), f64(float("nan"))),
    "strings": seq(s(""), s("abc"), s(b"\x00\xff\xfe"), s("é" * 20)),
    "array": seq(array(i64(1), s("two"), f64(3.0))),
    "map": seq(table((s("a"), i64(1)), (i64(7), s("seven")), (f64(2.5), TRUE))),
    "nil-key": seq(table((NIL, i64(1)), (s("k"), NIL))),
    "nan-key": seq(table((f64(float("nan")), i64(1)))),
    "float-int-key": seq(table((f64(1.0), s("one")), (f64(2.0), s("two")))),
    "contact": seq(s("id"), s("map"), NIL, contact),
    "records": seq(array(contact, contact)),
    "nested": seq(array(array(array(table((s("deep"), array(TRUE))))))),
    "function-tag": seq(b"\x08\x06", array(b"\x08\x07")),
    "truncated-string": u64(1) + b"\x05" + u64(100) + b"short",
    "truncated-count": u64(3) + TRUE,
    "unknown-tag": seq(b"\x09"),
    "too-many": u64(201) + NIL * 201,
    "big-count": seq(b"\x06" + u64(999_999)),
    "huge-count": seq(b"\x07" + u64(2**63)),
}
for name, data in codec.items():
    write("lua-codec", name + ".bin", data)
