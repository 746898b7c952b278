#!/usr/bin/env python3
"""large-records.py CASE DIR — writes the input of one large-records.sh case
into DIR/input.xml, and what must come of it: DIR/expected.tsv (the rows of
app_base, "app_id<TAB>product<TAB>note" with the note as its length and
SHA-256, ordered by app_id), DIR/expected-rejects (one line per rejected
record: "record number<TAB>what the reason must contain") and
DIR/expected-stderr (lines migrate's stderr must hold; none: exit 0) and
maybe DIR/expected-reject-bytes (the least size of the reject file: the
rejected records' XML is in it).

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
  big-value     a record whose mapped note is 15,000,000 bytes of multi-byte
                text among small ones, all loaded exactly (default options,
                a record near --max-record-bytes), and a 5 MB record the
                mapper refuses, written to the reject file whole: also run
                against PostgreSQL and the TDS server (insert and bcp)
  two-values    the same with a 14 MB note right after the 15 MB one (two
                workers): the batches of large values go one at a time
  huge-attr     a 40 MB attribute (with newlines in it), a 40 MB comment
                and a 40 MB processing instruction inside records, a record
                element of 40 MB of attributes closed by "/>", and a 40 MB
                comment and PI between records: the filter cuts each, the
                records holding one are rejected alone ("record too large",
                the line of a later one still right), the others loaded
  tag-bound     a 15 MB attribute and a 3 MB comment, under the 16M record
                limit but over the 1 MB a tag or comment may take (libxml2
                rescans a long one: minutes): their records rejected; a
                900 KB attribute and comment loaded; 30,000 attributes on
                one tag (libxml2 compares each with all before it) rejected,
                1,000 loaded
  lt-in-markup  a '<' inside CDATA, comments and PIs (not a start tag): a
                CDATA section of a 1.5 MB data-URI <img>, one of "a<b c>d"
                and 600 KB without '<', one opening a quote, and 600 KB
                comments and PIs holding "<x": all loaded exactly; 2 MB
                comments and PIs holding "<x": cut, their records rejected
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
        self.reject_bytes = 0  # the reject file holds at least that (XML copied)
        self.nl = 0
        self.write(b'<?xml version="1.0" encoding="UTF-8"?>\n'
                     b'<a:applications xmlns:a="urn:example:apps">\n')

    def write(self, b):
        self.f.write(b)
        self.nl += b.count(b"\n")

    def record(self, app_id, product, raw=None, note=None, extra=b"", attr=b"",
               empty=False):
        """raw: the note's XML (bytes or a list of pieces); note: its text;
        empty: the record element is empty ("/>").  Sets self.line, the
        line of its start tag."""
        w = self.write
        self.line = self.nl + 1
        if empty:
            w(b'  <a:application app_id="%d"%s/>\n' % (app_id, attr))
            return None
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
            self.write(b"</a:applications>\n")
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
        if self.reject_bytes:
            with open(os.path.join(d, "expected-reject-bytes"), "w") as f:
                f.write("%d\n" % self.reject_bytes)


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


def tag_len(app_id, attr):
    """Returns the length of the start tag Writer.record writes."""
    return len(b'<a:application app_id="%d"%s>' % (app_id, attr))


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
    elif case in ("big-value", "two-values"):
        two = case == "two-values"
        unit = "abc\u00e9\u20ac\U0001F600 xyz."
        text = unit * (15000000 // len(unit.encode()))
        w.loaded(w.record(1, "CARD", [b"first"], "first"))
        w.loaded(w.record(2, "LOAN", [text.encode()], text))
        if two:
            # another right after it (two workers): loaded one at a time
            text = "q" * 14000000 + "\u00e9nd"
            w.loaded(w.record(3, "AUTO", [text.encode()], text))
        else:
            w.loaded(w.record(3, "AUTO", [b"third"], "third"))
        w.loaded(w.record(4, "LOAN", [b"after"], "after"))
        w.loaded(w.record(5, "CARD", None, None))
        # refused by the mapper: its XML (5 MB, not kept in the batch) is
        # written to the reject file all the same
        w.record(6, "TOOLONGPRODUCT", [b"n" * (5 * MB)], None)
        w.rejected(6, "longer than varchar(8)")
        w.reject_bytes = 5 * MB
    elif case == "huge-attr":
        big = b"z" * (40 * MB)
        w.loaded(w.record(1, "CARD", [b"a"], "a"))
        # newlines in the value: dropped with it, the lines after stay right
        attr = b' big="' + (b"z" * 40000 + b"\n") * 1049 + b'" x="1"'
        w.record(2, "LOAN", [b"b"], None, attr=attr)
        w.rejected(2, "record too large: a start tag of %d bytes" % tag_len(2, attr))
        w.loaded(w.record(3, "AUTO", [b"c"], "c"))
        w.record(4, "CARD", [b"d"], None, extra=b"<!--" + big + b"-->")
        w.rejected(4, "record too large: a comment of %d bytes.*see input.xml line %d -->"
                   % (40 * MB + 7, w.line))
        w.write(b"  <!-- " + big + b" -->\n  <?between " + big + b"?>\n")
        w.loaded(w.record(5, "LOAN", [b"e"], "e"))
        w.record(6, "AUTO", [b"f"], None, extra=b"<?pi " + big + b"?>")
        w.rejected(6, "record too large: a processing instruction of %d bytes" % (40 * MB + 7))
        w.record(7, "CARD", None, None, attr=b' a="1" b="' + b"&amp;x" * (7 * MB) + b'"',
                 empty=True)
        w.rejected(7, "record too large: a start tag of")
        w.record(8, "LOAN", [b"g"], None, extra=b'<a:x y="' + big + b'"/>')
        w.rejected(8, "record too large: a start tag of %d bytes" % len(b'<a:x y="' + big + b'"/>'))
        w.loaded(w.record(9, "AUTO", [b"h"], "h"))
    elif case == "tag-bound":
        w.loaded(w.record(1, "CARD", [b"a"], "a"))
        attr = b' big="' + b"z" * (15 * MB) + b'"'
        w.record(2, "LOAN", [b"b"], None, attr=attr)
        w.rejected(2, "record too large: a start tag of %d bytes, more than the 1048576 bytes"
                   % tag_len(2, attr))
        w.loaded(w.record(3, "AUTO", [b"c"], "c", attr=b' big="' + b"z" * (900 * 1024) + b'"'))
        w.record(4, "CARD", [b"d"], None, extra=b"<!--" + b"c" * (3 * MB) + b"-->")
        w.rejected(4, "record too large: a comment of")
        w.loaded(w.record(5, "LOAN", [b"e"], "e", extra=b"<!--" + b"c" * (900 * 1024) + b"-->"))
        # 30,000 short attributes (libxml2 2.9: 6.5 s) and 1,000 (loaded)
        many = b"".join(b' n%d=""' % k for k in range(30000))
        w.record(6, "AUTO", [b"f"], None, attr=many)
        w.rejected(6, "record too large: a start tag of too many attributes")
        some = b"".join(b' n%d="%d"' % (k, k) for k in range(1000))
        w.loaded(w.record(7, "CARD", [b"g"], "g", attr=some))
    elif case == "lt-in-markup":
        # a '<' inside CDATA, a comment or a PI starts no tag: the filter
        # must know where it is, else it breaks or cuts data as if it did
        w.loaded(w.record(1, "CARD", [b"a"], "a"))
        img = '<p>x</p><img src="data:image/png;base64,' + "AAAA" * (3 * MB // 8) + '">'
        w.loaded(w.record(2, "LOAN", [b"<![CDATA[" + img.encode() + b"]]>"], img))
        run = "a<b c>d" + "x" * (600 * 1024)
        w.loaded(w.record(3, "AUTO", [b"<![CDATA[" + run.encode() + b"]]>"], run))
        # a comment and a PI holding a '<', not cut (600 KB): loaded exactly
        body = b"c" * (600 * 1024)
        w.loaded(w.record(4, "CARD", [b"be<!-- <x" + body + b" -->fore"], "before"))
        w.loaded(w.record(5, "LOAN", [b"be<?pi <y" + body + b"?>fore"], "before"))
        # 2 MB: cut (no data in them), their records rejected, none changed
        body = b"c" * (2 * MB)
        w.record(6, "AUTO", [b"be<!-- <x" + body + b" -->fore"], None)
        w.rejected(6, "record too large: a comment of %d bytes" % (len(body) + 11))
        w.record(7, "CARD", [b"be<?pi <y" + body + b"?>fore"], None)
        w.rejected(7, "record too large: a processing instruction of %d bytes"
                   % (len(body) + 9))
        # a quote opened in CDATA closes nothing: the records after it whole
        w.loaded(w.record(8, "LOAN", [b"<![CDATA[<b x='" + b"q" * (40 * 1024) + b"]]>"],
                          "<b x='" + "q" * (40 * 1024)))
        tail = "t" * (1536 * 1024)
        w.loaded(w.record(9, "AUTO", [tail.encode()], tail))
        w.loaded(w.record(10, "CARD", [b"z"], "z"))
    else:
        sys.exit("unknown case " + case)
    w.close(d)


if __name__ == "__main__":
    main()
