#!/usr/bin/env python3
"""Lists the Rust functions longer than a limit (default 80 lines), tests left out.

Usage: scripts/long-fns.py [--limit N] [PATH...]   (default: the repository's tracked *.rs files)

A function's length runs from its `fn` line to its closing brace. Left out: files under a
`tests/` or `benches/` folder, `#[cfg(test)]` modules and `#[test]` functions, and the fuzz
targets. The Rust is read with a small scanner (comments, strings, raw strings and char literals
skipped), not compiled: good enough to count braces, not a parser. Exits 0; prints one line a
function, longest first: `LINES path:line name`.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def code_only(src):
    """The source with comments, strings and char literals blanked (newlines kept)."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif re.match(r'b?r#*"', src[i:i + 40]) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            m = re.match(r'b?r(#*)"', src[i:])
            end = src.find('"' + m.group(1), i + m.end())
            j = n if end < 0 else end + 1 + len(m.group(1))
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            j += 1
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif c == "'":
            m = re.match(r"'(\\.[^']*|[^\\'])'", src[i:])
            if m:
                out.append(" " * m.end())
                i += m.end()
            else:  # a lifetime
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def test_ranges(code):
    """(start, end) offsets of `#[cfg(test)]` items and `#[test]` functions."""
    ranges = []
    for m in re.finditer(r"#\[(cfg\(test\)|test|tokio::test[^\]]*)\]", code):
        brace = code.find("{", m.end())
        semi = code.find(";", m.end())
        if brace < 0 or (0 <= semi < brace):
            continue
        end = matching(code, brace)
        ranges.append((m.start(), end))
    return ranges


def matching(code, open_at):
    depth = 0
    for j in range(open_at, len(code)):
        if code[j] == "{":
            depth += 1
        elif code[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(code) - 1


def functions(path):
    src = open(path, encoding="utf-8", errors="replace").read()
    code = code_only(src)
    tests = test_ranges(code)
    for m in re.finditer(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)", code):
        if any(a <= m.start() <= b for a, b in tests):
            continue
        # The body: the first `{` after the signature, unless a `;` ends it first (a declaration).
        depth, j = 0, m.end()
        while j < len(code):
            ch = code[j]
            if ch in "(<[":
                depth += 1
            elif ch in ")>]":
                depth -= 1 if code[j - 1] != "-" else 0
            elif ch == ";" and depth <= 0:
                j = -1
                break
            elif ch == "{" and depth <= 0:
                break
            j += 1
        if j < 0 or j >= len(code):
            continue
        end = matching(code, j)
        first = code.count("\n", 0, m.start()) + 1
        last = code.count("\n", 0, end) + 1
        yield last - first + 1, first, m.group(1)


def main(argv):
    limit = 80
    if argv[:1] == ["--limit"]:
        limit, argv = int(argv[1]), argv[2:]
    if argv:
        files = argv
    else:
        listed = subprocess.run(["git", "-C", ROOT, "ls-files", "*.rs"], capture_output=True, text=True, check=True)
        files = [os.path.join(ROOT, f) for f in listed.stdout.split()]
    rows = []
    for f in files:
        rel = os.path.relpath(f, ROOT)
        parts = rel.split(os.sep)
        if "tests" in parts or "benches" in parts or parts[0] == "fuzz":
            continue
        for length, line, name in functions(f):
            if length > limit:
                rows.append((length, f"{rel}:{line}", name))
    for length, where, name in sorted(rows, reverse=True):
        print(f"{length:5} {where} {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
