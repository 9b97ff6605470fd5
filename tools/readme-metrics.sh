#!/bin/sh
# readme-metrics.sh [README [DIR...]]: check README.md's metrics table (the
# section "## Metrics") against the metric names the code defines: the
# "hostlat.*" string literals of the C sources under DIR... (default: agent
# exporters), adjacent literals and string macros (#define NAME "...")
# joined as the compiler joins them. Not metric names: attribute keys (the
# key of hl_point_attr(point, KEY, value), of a (struct hl_attr){KEY, v} and
# of the exporters' lookup attr_of(point, KEY)),
# "hostlat." alone (the namespace the statsd exporter replaces) and
# #include lines. A literal that ends in "." other than that is a name
# prefix completed at run time, which this check cannot follow: it fails
# on one, asking for the check to be extended.
#
# Exits 1 naming every metric the code defines that has no row in the
# table and every name in the table the code does not define; and when
# either side yields no name at all (a broken extraction never passes).
set -eu
cd "$(dirname "$0")/.."
exec "${PY:-python3}" - "$@" <<'PY'
import glob, os, re, sys

readme = sys.argv[1] if len(sys.argv) > 1 else "README.md"
dirs = sys.argv[2:] or ["agent", "exporters"]
NAME = re.compile(r"hostlat\.[A-Za-z0-9_.]+$")
BUILT = re.compile(r"hostlat\.[A-Za-z0-9_.]*%")  # a printf format: a name built at run time
TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|[A-Za-z_][A-Za-z0-9_]*|\S', re.S)


def strip_comments(text):
    """Comments become spaces (newlines kept: line numbers stay right)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            m = TOKEN.match(text, i)
            j = m.end() if m and m.group(0)[0] == c else i + 1
            out.append(text[i:j])
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def tokens(text):
    """(token, line) pairs of the text, preprocessor lines left out; also
    the object-like macros those lines define (NAME -> body tokens)."""
    macros, toks = {}, []
    lines = text.split("\n")
    k = 0
    while k < len(lines):
        start, line = k, lines[k]
        while line.endswith("\\") and k + 1 < len(lines):
            k += 1
            line = line[:-1] + " " + lines[k]
        k += 1
        s = line.strip()
        if s.startswith("#"):
            m = re.match(r"#\s*define\s+([A-Za-z_][A-Za-z0-9_]*)\s+(.*)$", s)
            if m:
                macros[m.group(1)] = TOKEN.findall(m.group(2))
            continue
        toks += [(t, start + 1) for t in TOKEN.findall(line)]
    return toks, macros


def string_macro(macros, name, seen=()):
    """The literals a macro stands for when it is made of literals and
    such macros only (#define A "x" / #define B A "y"); else None."""
    if name not in macros or name in seen:
        return None
    out = []
    for t in macros[name]:
        if t.startswith('"'):
            out.append(t)
            continue
        sub = string_macro(macros, t, seen + (name,))
        if not sub:
            return None
        out += sub
    return out or None


def literals(path, global_macros):
    """(value, line, is_attribute_key) of every joined string literal."""
    with open(path, errors="replace") as f:
        toks, macros = tokens(strip_comments(f.read()))
    macros = {**global_macros, **macros}
    flat = []
    for t, ln in toks:  # string macros become their literals
        sub = string_macro(macros, t)
        flat += [(b, ln) for b in sub] if sub else [(t, ln)]
    joined = []  # adjacent literals joined; other tokens kept
    for t, ln in flat:
        if t.startswith('"') and joined and joined[-1][0].startswith('"'):
            joined[-1] = (joined[-1][0][:-1] + t[1:], joined[-1][1])
        else:
            joined.append((t, ln))
    out = []
    for i, (t, ln) in enumerate(joined):
        if t.startswith('"'):
            out.append((t[1:-1], ln, attribute_key(joined, i)))
    return out


def attribute_key(toks, i):
    """toks[i] is the key of hl_point_attr(p, KEY, v), attr_of(p, KEY) or (struct hl_attr){KEY, v}."""
    prev = [t for t, _ in toks[max(0, i - 6):i]]
    if prev[-4:] == ["struct", "hl_attr", ")", "{"]:
        return True
    # Back over the first argument to the call's "(".
    depth, j = 0, i - 1
    if j < 0 or toks[j][0] != ",":
        return False
    j -= 1
    while j >= 0:
        t = toks[j][0]
        if t in ")]":
            depth += 1
        elif t in "([":
            if depth == 0:
                return t == "(" and j > 0 and toks[j - 1][0] in ("hl_point_attr", "attr_of")
            depth -= 1
        elif t in ",;{}" and depth == 0:
            return False
        j -= 1
    return False


errors = []
sources = sorted(p for d in dirs for p in glob.glob(os.path.join(d, "**", "*.[ch]"), recursive=True))
global_macros = {}
for p in sources:
    if p.endswith(".h"):
        with open(p, errors="replace") as f:
            global_macros.update(tokens(strip_comments(f.read()))[1])
code = {}  # name -> first place
for p in sources:
    for value, ln, is_key in literals(p, global_macros):
        if not is_key and BUILT.match(value):
            errors.append("%s:%d: the metric names built from '%s' at run time cannot be "
                          "checked: extend tools/readme-metrics.sh" % (p, ln, value))
            continue
        if is_key or not NAME.match(value) or value == "hostlat.":
            continue
        if value.endswith("."):
            errors.append("%s:%d: the metric names built from the prefix '%s' at run time "
                          "cannot be checked: extend tools/readme-metrics.sh" % (p, ln, value))
            continue
        code.setdefault(value, "%s:%d" % (p, ln))

table = {}  # name -> README line
try:
    with open(readme) as f:
        lines = f.read().split("\n")
except OSError as e:
    sys.exit("readme-metrics: %s" % e)
in_section = False
for n, line in enumerate(lines, 1):
    if line.startswith("#"):
        in_section = line.strip() == "## Metrics"
        continue
    if not in_section or not line.startswith("|"):
        continue
    first = line.split("|")[1]
    for name in re.findall(r"`([^`]*)`", first):
        if not NAME.match(name):
            errors.append("%s:%d: '%s' in the metrics table is not a metric name" % (readme, n, name))
        elif name in table:
            errors.append("%s:%d: %s is in the metrics table twice (also line %d)"
                          % (readme, n, name, table[name]))
        else:
            table[name] = n

if not code:
    errors.append("no metric name found in the C sources under %s: the extraction is broken"
                  % " ".join(dirs))
if not table:
    errors.append("no metric name found in the table of %s's section '## Metrics'" % readme)
for name in sorted(set(code) - set(table)) if table else []:
    errors.append("%s (%s) has no row in %s's metrics table" % (name, code[name], readme))
for name in sorted(set(table) - set(code)) if code else []:
    errors.append("%s:%d: %s is in the metrics table, but no code defines it"
                  % (readme, table[name], name))
for e in errors:
    print("readme-metrics: " + e, file=sys.stderr)
if errors:
    sys.exit(1)
print("readme-metrics: the %d metrics of the code are the %d of %s's table"
      % (len(code), len(table), readme))
PY
