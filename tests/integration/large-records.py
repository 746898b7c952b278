#!/usr/bin/env python3
"""large-records.py CASE DIR — writes the input of one large-records.sh case
into DIR/input.xml, and what must come of it: DIR/expected.tsv (the rows of
app_base, "app_id<TAB>product<TAB>note" with the note as its length and
SHA-256, ordered by app_id), DIR/expected-rejects (one line per rejected
record: "record number<TAB>what the reason must contain") and
DIR/expected-stderr (lines migrate's stderr must hold; none: exit 0).

Every record is <a:application app_id="N"><a:product>P</a:product>
[<a:note>TEXT</a:note>]</a:application>.  The cases:

  many-large    30 records with a 10 MB memo each (not mapped), all loaded
  mapped-text   notes of 3 MB with multi-byte characters, character and
                entity references, comments and CDATA in them, all loaded
                exactly (the note is mapped)
  huge-text     a record whose note is one 40 MB text, another whose note is
                40 MB of white space: each rejected alone, the others loaded
  many-nodes    a record of 400,000 small elements (too large), one nested
                1,000 deep (loaded), the others loaded
  big-in-batch  one record with a 6 MB note among 999 small ones, all
                loaded exactly in batches of 500: the parameter buffers are
                sized piece by piece, not every row as wide as the widest
  huge-attr     a record whose start tag holds a 40 MB attribute: libxml2
                parses a tag whole, so the input stops there with one line;
                the records before it are loaded
"""
import hashlib
import os
import sys

MB = 1024 * 1024


def note_sig(text):
    return "%d:%s" % (len(text.encode()), hashlib.sha256(text.encode()).hexdigest())


class Writer:
    def __init__(self, d):
        self.f = open(os.path.join(d, "input.xml"), "wb")
        self.rows = []
        self.rejects = []
        self.stderr = []
        self.f.write(b'<?xml version="1.0" encoding="UTF-8"?>\n'
                     b'<a:applications xmlns:a="urn:example:apps">\n')

    def record(self, app_id, product, raw=None, note=None, extra=b"", attr=b""):
        """raw: the note's XML (bytes or a list of pieces); note: its text."""
        w = self.f.write
        w(b'  <a:application app_id="%d"%s><a:product>%s</a:product>'
          % (app_id, attr, product.encode()))
        if raw is not None:
            w(b"<a:note>")
            for piece in raw if isinstance(raw, list) else [raw]:
                w(piece)
            w(b"</a:note>")
        w(extra)
        w(b"</a:application>\n")
        return (app_id, product, "\\N" if note is None else note_sig(note))

    def loaded(self, row):
        self.rows.append(row)

    def rejected(self, app_id, why):
        self.rejects.append((app_id, why))

    def close(self, d, end=True):
        if end:
            self.f.write(b"</a:applications>\n")
        self.f.close()
        with open(os.path.join(d, "expected.tsv"), "w") as f:
            for r in sorted(self.rows):
                f.write("%d\t%s\t%s\n" % r)
        with open(os.path.join(d, "expected-rejects"), "w") as f:
            for a, why in self.rejects:
                f.write("%d\t%s\n" % (a, why))
        with open(os.path.join(d, "expected-stderr"), "w") as f:
            for line in self.stderr:
                f.write(line + "\n")


def mixed_note(size, seed):
    """Returns (xml pieces, text) of about size bytes: ASCII, 2-, 3- and
    4-byte characters and references throughout, a comment and a CDATA
    section every 64 KB, so that the filter's breaks fall next to each of
    them somewhere."""
    unit_xml = "abc\u00e9\u20ac\U0001F600 x&amp;y&lt;&#233;&#x20AC;&quot;\n%d " % seed
    unit_txt = "abc\u00e9\u20ac\U0001F600 x&y<\u00e9\u20ac\"\n%d " % seed
    # an odd offset each record: the breaks fall elsewhere each time
    xml, txt = ["q" * (seed * 7919 % 4099)], ["q" * (seed * 7919 % 4099)]
    per = 65536 // len(unit_xml.encode())
    while sum(len(p.encode()) for p in xml[-1:]) * 0 + len(xml) * 65536 < size:
        xml.append(unit_xml * per + "<!-- c -->z<![CDATA[d&e>]]>")
        txt.append(unit_txt * per + "zd&e>")
    return ["".join(xml).encode()], "".join(txt)


def main():
    case, d = sys.argv[1], sys.argv[2]
    w = Writer(d)
    if case == "many-large":
        big = b"<a:memo>" + b"x" * (10 * MB) + b"</a:memo>"
        for i in range(1, 31):
            w.loaded(w.record(i, "CARD", None, None, extra=big))
    elif case == "mapped-text":
        for i in range(1, 9):
            xml, txt = mixed_note(3 * MB // 2, i)
            w.loaded(w.record(i, "LOAN", xml, txt))
    elif case == "huge-text":
        w.loaded(w.record(1, "CARD", [b"small"], "small"))
        w.record(2, "LOAN", [b"y" * (40 * MB)], None)
        w.rejected(2, "record too large")
        w.loaded(w.record(3, "AUTO", [b"after"], "after"))
        w.record(4, "CARD", [b" \n\t" * (14 * MB)], None)
        w.rejected(4, "record too large")
        w.loaded(w.record(5, "LOAN", [b"last"], "last"))
    elif case == "many-nodes":
        w.loaded(w.record(1, "CARD", [b"a"], "a"))
        w.record(2, "LOAN", None, None, extra=b"<a:i>v</a:i>" * 400000)
        w.rejected(2, "record too large")
        deep = b"<a:n>" * 1000 + b"deep" + b"</a:n>" * 1000
        w.loaded(w.record(3, "AUTO", None, None, extra=deep))
        w.loaded(w.record(4, "CARD", [b"d"], "d"))
    elif case == "big-in-batch":
        for i in range(1, 1001):
            if i == 250:
                text = "\u00e9" * (3 * MB)
                w.loaded(w.record(i, "LOAN", [text.encode()], text))
            else:
                w.loaded(w.record(i, "CARD", [b"n%d" % i], "n%d" % i))
    elif case == "huge-attr":
        w.loaded(w.record(1, "CARD", [b"a"], "a"))
        w.loaded(w.record(2, "LOAN", [b"b"], "b"))
        w.record(3, "AUTO", None, None, attr=b' big="' + b"z" * (40 * MB) + b'"')
        w.record(4, "CARD", [b"never read"], None)
        w.stderr.append("input.xml:5: a tag, comment or processing instruction longer than")
    else:
        sys.exit("unknown case " + case)
    w.close(d)


if __name__ == "__main__":
    main()
