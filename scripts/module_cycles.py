#!/usr/bin/env python3
"""Import cycles between the source files of each library crate.

A file depends on another when it names a path into it (`use crate::a::b`,
`crate::a::b::f()`, `super::x`, `self::x` from a mod.rs). Prints every
strongly connected group of two or more files; exits 1 when there is one.
Child modules naming their parent (`super::`) are reported too, except a
file's own `mod tests`.

    python3 scripts/module_cycles.py [CRATE_SRC_DIR ...]
"""
import os
import pathlib
import re
import sys

PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")


def module_of(src: pathlib.Path, f: pathlib.Path):
    parts = list(f.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def strip_tests(text: str) -> str:
    # drop `#[cfg(test)] mod tests { ... }` blocks (they may name anything)
    i = text.find("#[cfg(test)]")
    while i != -1:
        j = text.find("{", i)
        if j == -1:
            break
        depth, k = 0, j
        while k < len(text):
            depth += {"{": 1, "}": -1}.get(text[k], 0)
            k += 1
            if depth == 0:
                break
        text = text[:i] + text[k:]
        i = text.find("#[cfg(test)]")
    return text


def reexports(files, module):
    """Names a module file re-exports (`pub use a::b::{C, D};`), to the
    module path they come from."""
    out = {}
    f = files.get(module)
    if f is None:
        return out
    text = re.sub(r"//[^\n]*", "", f.read_text())
    for prefix, path, group, single in re.findall(
            r"pub(?:\([a-z]+\))? use (self::|crate::|super::)?([A-Za-z0-9_:]+?)::"
            r"(?:\{([^}]*)\}|([A-Za-z0-9_]+))\s*;", text):
        base = {"crate::": (), "super::": module[:-1]}.get(prefix, module)
        if not prefix and path.split("::")[0] not in {m[len(module)] for m in files
                                                      if len(m) > len(module) and m[:len(module)] == module}:
            continue  # another crate's path
        src = base + tuple(path.split("::"))
        for name in (group.split(",") if group else [single]):
            name = name.strip().split(" as ")[-1].strip()
            if name and name != "self":
                out[name] = src
    return out


def graph(src: pathlib.Path):
    files = {module_of(src, f): f for f in src.rglob("*.rs")}
    edges = {m: set() for m in files}
    exported = {m: reexports(files, m) for m in files}
    for m, f in files.items():
        text = strip_tests(re.sub(r"//[^\n]*", "", f.read_text()))
        for root, rest in PATH.findall(text):
            names = rest.split("::")[1:]
            base = {"crate": (), "self": m, "super": m[:-1]}[root]
            target = resolve(files, exported, base + tuple(names))
            if target != m and target != ():
                edges[m].add(target)
    return files, edges


def resolve(files, exported, path):
    """The file that defines `path`, following `pub use` re-exports."""
    for _ in range(16):
        prefix = path
        while prefix and prefix not in files:
            prefix = prefix[:-1]
        rest = path[len(prefix):]
        if rest and rest[0] in exported.get(prefix, {}):
            path = exported[prefix][rest[0]] + rest[1:]
            continue
        return prefix
    return prefix


def sccs(edges):
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            out.append(group)

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return [g for g in out if len(g) > 1]


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    dirs = [pathlib.Path(a).resolve() for a in sys.argv[1:]] or sorted(
        p.parent for p in root.glob("*/src/lib.rs")) + sorted(
        p.parent for p in root.glob("plugins/*/src/lib.rs")) + [root / "src"]
    found = False
    for src in dirs:
        files, edges = graph(src)
        for group in sccs(edges):
            found = True
            names = sorted(os.path.relpath(files[m], root) for m in group)
            print(f"cycle ({len(names)} files):")
            for name in names:
                print(f"  {name}")
    if not found:
        print("no import cycles between files")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
