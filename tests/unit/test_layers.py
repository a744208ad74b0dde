"""The C library's layers, checked on its include graph (README, "Layout").

csrc/lib and csrc/include/eos are split into core/ < drivers/ < ops/. A file includes only its
own layer or a lower one, an operation (a file or folder under ops/) includes no other
operation, and the graph has no cycle. Every source file lives in one of the layers."""
import os
import re

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "csrc")
LAYERS = {"core": 0, "drivers": 1, "ops": 2}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def unit(rel):
    """(layer, operation) of a path relative to csrc/lib or csrc/include/eos."""
    parts = rel.split("/")
    if parts[0] not in LAYERS or len(parts) < 2:
        raise ValueError(f"{rel}: not in a layer folder ({', '.join(LAYERS)})")
    op = os.path.splitext(parts[1])[0] if parts[0] == "ops" else None
    return LAYERS[parts[0]], op


def graph(root=ROOT):
    """{file: [included file, ...]} over csrc/lib and csrc/include/eos, paths relative to csrc."""
    files = {}
    for base in ("lib", os.path.join("include", "eos")):
        for d, _, names in os.walk(os.path.join(root, base)):
            for n in names:
                if n.endswith((".c", ".h")):
                    path = os.path.relpath(os.path.join(d, n), root)
                    with open(os.path.join(root, path)) as f:
                        files[path] = INCLUDE.findall(f.read())
    edges = {}
    for path, incs in files.items():
        edges[path] = []
        for inc in incs:
            if inc.startswith("eos/"):
                target = os.path.join("include", inc)
            else:  # a private header next to the file
                target = os.path.normpath(os.path.join(os.path.dirname(path), inc))
            if target not in files:
                raise ValueError(f"{path} includes {inc!r}, which is not in the library")
            edges[path].append(target)
    return edges


def layer_of(path):
    rel = path.split(os.sep, 2)
    rel = rel[2] if rel[0] == "include" else path.split(os.sep, 1)[1]
    return unit(rel.replace(os.sep, "/"))


def violations(edges):
    """Every broken rule of the include graph, as sentences."""
    out = []
    for src, targets in edges.items():
        try:
            s_layer, s_op = layer_of(src)
        except ValueError as exc:
            out.append(str(exc))
            continue
        for dst in targets:
            try:
                d_layer, d_op = layer_of(dst)
            except ValueError as exc:
                out.append(str(exc))
                continue
            if d_layer > s_layer:
                out.append(f"{src} includes {dst}: a lower layer includes a higher one")
            elif s_op and d_op and s_op != d_op:
                out.append(f"{src} includes {dst}: operation {s_op} includes operation {d_op}")
    state = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in edges.get(node, ()):
            if state.get(nxt) == 1:
                out.append("include cycle: " + " -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif not state.get(nxt):
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(edges):
        if not state.get(node):
            visit(node, [node])
    return out


def test_the_library_keeps_its_layers():
    edges = graph()
    assert len(edges) > 60 and any(p.startswith(os.path.join("lib", "ops")) for p in edges)
    assert violations(edges) == []


def test_no_source_file_outside_the_layers():
    for base in ("lib", os.path.join("include", "eos")):
        flat = [n for n in os.listdir(os.path.join(ROOT, base)) if n.endswith((".c", ".h"))]
        assert flat == [], f"csrc/{base} holds files outside core/, drivers/, ops/: {flat}"


def j(*p):
    return os.path.join(*p)


@pytest.mark.parametrize("edges, expected", [
    ({j("lib", "core", "buf.c"): [j("include", "eos", "ops", "expand.h")],
      j("include", "eos", "ops", "expand.h"): []}, "a lower layer includes a higher one"),
    ({j("lib", "drivers", "xfs.c"): [j("include", "eos", "ops", "probe.h")],
      j("include", "eos", "ops", "probe.h"): []}, "a lower layer includes a higher one"),
    ({j("lib", "ops", "convert.c"): [j("include", "eos", "ops", "provision.h")],
      j("include", "eos", "ops", "provision.h"): []}, "operation convert includes operation provision"),
    ({j("lib", "ops", "expand", "run.c"): [j("include", "eos", "ops", "analyze.h")],
      j("include", "eos", "ops", "analyze.h"): []}, "operation expand includes operation analyze"),
    ({j("include", "eos", "core", "a.h"): [j("include", "eos", "core", "b.h")],
      j("include", "eos", "core", "b.h"): [j("include", "eos", "core", "a.h")]}, "include cycle"),
    ({j("lib", "flat.c"): []}, "not in a layer folder"),
])
def test_the_check_finds_each_kind_of_violation(edges, expected):
    found = violations(edges)
    assert any(expected in v for v in found), found


def test_an_operation_may_include_its_own_private_header_and_lower_layers():
    edges = {
        j("lib", "ops", "expand", "run.c"): [j("lib", "ops", "expand", "expand_int.h"),
                                              j("include", "eos", "ops", "expand.h"),
                                              j("include", "eos", "core", "journal.h")],
        j("lib", "ops", "expand", "expand_int.h"): [j("include", "eos", "drivers", "xfs.h")],
        j("include", "eos", "ops", "expand.h"): [],
        j("include", "eos", "core", "journal.h"): [],
        j("include", "eos", "drivers", "xfs.h"): [j("include", "eos", "core", "journal.h")],
    }
    assert violations(edges) == []
