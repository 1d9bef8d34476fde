#!/usr/bin/python3
"""Generates lib/tokenizer/unicode_tables.c from Debian's unicode-data package.

Usage: /usr/bin/python3 tools/gen_unicode_tables.py [UCD_DIR] > lib/tokenizer/unicode_tables.c
(UCD_DIR defaults to /usr/share/unicode, which must hold UnicodeData.txt and PropList.txt.)

The table is a sorted list of ranges, each packed into one uint32_t as
(first_code_point << 9) | flags; a range runs until the next entry starts. Flags
follow llama.cpp's unicode_cpt_flags bit layout so the pre-tokenizers can be read
against it: general category class (Cn undefined, N, L, Z, M, P, S, C other than
Cn) plus the White_Space property from PropList.txt.
"""
import os
import re
import sys

MAX_CODE_POINT = 0x110000

FLAG_UNDEFINED = 0x001
FLAG_NUMBER = 0x002
FLAG_LETTER = 0x004
FLAG_SEPARATOR = 0x008
FLAG_MARK = 0x010
FLAG_PUNCTUATION = 0x020
FLAG_SYMBOL = 0x040
FLAG_CONTROL = 0x080
FLAG_WHITESPACE = 0x100

CATEGORY_FLAGS = {
    "C": FLAG_CONTROL,  # Cc, Cf, Co, Cs (Cn never appears in UnicodeData.txt)
    "N": FLAG_NUMBER,
    "L": FLAG_LETTER,
    "Z": FLAG_SEPARATOR,
    "M": FLAG_MARK,
    "P": FLAG_PUNCTUATION,
    "S": FLAG_SYMBOL,
}


def read_categories(path):
    flags = [FLAG_UNDEFINED] * MAX_CODE_POINT
    range_first = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split(";")
            if len(fields) < 3:
                continue
            code_point = int(fields[0], 16)
            name, category = fields[1], fields[2]
            value = CATEGORY_FLAGS[category[0]]
            if name.endswith(", First>"):
                range_first = code_point
                continue
            if name.endswith(", Last>"):
                for cp in range(range_first, code_point + 1):
                    flags[cp] = value
                range_first = None
                continue
            flags[code_point] = value
    return flags


def read_white_space(path):
    white_space = []
    version = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            if version is None:
                m = re.match(r"# PropList-([0-9.]+)\.txt", line)
                if m:
                    version = m.group(1)
            body = line.split("#", 1)[0].strip()
            if not body:
                continue
            cps, prop = [s.strip() for s in body.split(";")]
            if prop != "White_Space":
                continue
            if ".." in cps:
                lo, hi = [int(s, 16) for s in cps.split("..")]
            else:
                lo = hi = int(cps, 16)
            white_space.extend(range(lo, hi + 1))
    if version is None:
        sys.exit("gen_unicode_tables: no version line in " + path)
    return white_space, version


def main():
    ucd_dir = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/unicode"
    flags = read_categories(os.path.join(ucd_dir, "UnicodeData.txt"))
    white_space, version = read_white_space(os.path.join(ucd_dir, "PropList.txt"))
    for cp in white_space:
        flags[cp] |= FLAG_WHITESPACE

    ranges = []
    for cp in range(MAX_CODE_POINT):
        if not ranges or ranges[-1][1] != flags[cp]:
            ranges.append((cp, flags[cp]))

    out = sys.stdout
    out.write("/* Unicode %s general-category classes and White_Space, as sorted ranges. GENERATED: do not edit.\n" % version)
    out.write(" * Source: Debian unicode-data (%s/UnicodeData.txt and PropList.txt, Unicode %s).\n" % (ucd_dir, version))
    out.write(" * Command: /usr/bin/python3 tools/gen_unicode_tables.py > lib/tokenizer/unicode_tables.c */\n")
    out.write('#include "tokenizer/unicode.h"\n\n')
    out.write('const char unicode_tables_version[] = "%s";\n\n' % version)
    out.write("/* (first_code_point << 9) | flags; each range ends where the next begins. */\n")
    out.write("const uint32_t unicode_ranges[] = {\n")
    for i in range(0, len(ranges), 6):
        chunk = ranges[i:i + 6]
        out.write("    " + " ".join("0x%08X," % ((cp << 9) | fl) for cp, fl in chunk) + "\n")
    out.write("};\n\n")
    out.write("const size_t unicode_ranges_count = %d;\n\n" % len(ranges))
    # For each 256-code-point block of the BMP, the index of the range holding its
    # first code point; a lookup then searches only [first[b], first[b + 1]].
    block_first = []
    r = 0
    for block in range(257):
        cp = block << 8
        while r + 1 < len(ranges) and ranges[r + 1][0] <= cp:
            r += 1
        block_first.append(r)
    out.write("/* Index of the range holding U+bb00, for each BMP block bb (and U+10000 last). */\n")
    out.write("const uint16_t unicode_bmp_block_first[257] = {\n")
    for i in range(0, 257, 12):
        out.write("    " + " ".join("%d," % v for v in block_first[i:i + 12]) + "\n")
    out.write("};\n\n")
    out.write("/* The same flags for U+0000..U+007F, indexed directly (the hot path). */\n")
    out.write("const uint16_t unicode_ascii_flags[128] = {\n")
    for i in range(0, 128, 8):
        out.write("    " + " ".join("0x%03X," % flags[cp] for cp in range(i, i + 8)) + "\n")
    out.write("};\n")


if __name__ == "__main__":
    main()
