#!/usr/bin/env python3
"""The direction of includes: a file includes its own folder and the folders
below it (LAYERS, lowest first), never a sibling on its level or a folder
above. Prints FILE:LINE: for each include that breaks the rule and exits 1;
exits 0 when every include points down or within its own folder.

Usage: check_includes.py [ROOT]"""
import os
import re
import sys

# Lowest first: a folder may include itself and the folders before it.
LAYERS = [
    "base",
    "storage",
    "sim/history",
    "sim/check",
    "sim/scenario",
    "sim/guards",
    "sim/result",
    "sim/buyers",
    "sim/schedule",
    "sim/program",
    "sim/hosts",
    "sim/run",
    "sim/server",
    "sim/report",
    "sim/history_file",
    "sim/timeline",
    "sim/cli",
]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(path):
    folder = os.path.dirname(path)
    return LAYERS.index(folder) if folder in LAYERS else None


def sources(root):
    """Every .h and .cc under the layers' folders and sim/ itself."""
    for top in ["base", "storage", "sim"]:
        for folder, _, names in os.walk(os.path.join(root, top)):
            for name in sorted(names):
                if name.endswith((".h", ".cc")):
                    yield os.path.relpath(os.path.join(folder, name), root)


def problems(root):
    for rel in sources(root):
        mine = layer_of(rel)
        if mine is None:
            yield f"{rel}:1: is in no layer's folder ({', '.join(LAYERS)})"
            continue
        with open(os.path.join(root, rel), errors="replace") as f:
            for number, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = layer_of(m.group(1))
                if m.group(1).startswith(("base/", "storage/", "sim/")) and \
                        target is None:
                    yield (f"{rel}:{number}: includes {m.group(1)}, which is "
                           f"in no layer's folder")
                elif target is not None and target > mine:
                    yield (f"{rel}:{number}: includes {m.group(1)}: "
                           f"{LAYERS[mine]}/ may include only itself and the "
                           f"folders below it, and {LAYERS[target]}/ is above")


def main(root):
    found = list(problems(root))
    for p in found:
        print(p)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
