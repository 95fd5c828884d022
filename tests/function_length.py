#!/usr/bin/env python3
"""No function in daemon/ or tools/ over 80 lines (the developers' guide).

  tests/function_length.py [--max N] [FILE...]

Without FILEs it checks every tracked .c file under daemon/ and tools/.
A function is counted from the first line of its signature to its closing
brace, as clang-format lays out this tree (.clang-format: Linux braces): a
definition's "{" and "}" stand alone in column 0, and nothing else does.
Before the tree it checks itself on made-up functions, so that a change
that made it blind fails too. Exit 0 when all fit, 1 with one line per
function that does not (FILE:LINE: NAME is N lines, over M)."""
import argparse
import os
import re
import subprocess
import sys
import tempfile

NAME = re.compile(r"(\w+)\s*\(")


def functions(lines):
    """(name, first line number, length) of each definition."""
    found = []
    for i, line in enumerate(lines):
        if line.rstrip("\n") != "{":
            continue
        # The signature: the lines above the brace back to a blank line, a
        # comment's end, a directive or the end of the previous definition.
        start = i
        while start > 0:
            above = lines[start - 1].rstrip("\n")
            if not above.strip() or above.startswith(("}", "#", "/*", " *", "*/")) \
                    or above.endswith(("*/", ";")):
                break
            start -= 1
        end = next((j for j in range(i + 1, len(lines)) if lines[j].rstrip("\n") == "}"), None)
        if end is None or start == i:
            continue
        name = NAME.search("".join(lines[start:i]))
        found.append((name.group(1) if name else "?", start + 1, end - start + 1))
    return found


def check(paths, most):
    """Findings for the functions in paths longer than `most` lines."""
    out = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
        for name, line, length in functions(lines):
            if length > most:
                out.append("%s:%d: %s is %d lines, over %d" % (path, line, name, length, most))
    return out


def made_up(body_lines):
    """A comment, a prototype and a definition of 3 + body_lines lines."""
    body = "".join("    x += %d;\n" % k for k in range(body_lines))
    return ("/* a comment */\nint g(int x);\n\nstatic int\nf(int x)\n{\n%s    return x;\n}\n"
            "\nstatic const int table[] = {\n    1,\n};\n" % body)


def self_check(most):
    """The checker finds a function one line too long and passes one that fits."""
    with tempfile.TemporaryDirectory() as tmp:
        fits, over = os.path.join(tmp, "fits.c"), os.path.join(tmp, "over.c")
        # signature (2) + "{" + body + return + "}" = body + 5 lines
        with open(fits, "w") as f:
            f.write(made_up(most - 5))
        with open(over, "w") as f:
            f.write(made_up(most - 4))
        if check([fits], most) or len(check([over], most)) != 1 \
                or ": f is %d lines" % (most + 1) not in check([over], most)[0]:
            sys.exit("function_length: the self-check failed: %r %r"
                     % (check([fits], most), check([over], most)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max", type=int, default=80)
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    self_check(a.max)
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    os.chdir(root)
    files = a.files or [f for f in subprocess.run(
        ["git", "ls-files", "daemon/*.c", "tools/*.c"], capture_output=True, text=True,
        check=True).stdout.split() if os.path.isfile(f)]
    found = check(files, a.max)
    for line in found:
        print(line)
    print("function_length: %d files, %d function(s) over %d lines"
          % (len(files), len(found), a.max))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
