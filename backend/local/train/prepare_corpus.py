#!/usr/bin/env python3
"""Extract the training corpus for twinkle's built-in model from Go's own source tree.

Runs on any machine with Go installed (Python 3.11+, standard library only). It walks
$(go env GOROOT)/src, keeps hand-written .go files, and splits them by package so that the
held-out packages are never seen in training:

    a package (its directory relative to src, "/"-separated) is held out when
    zlib.crc32(path.encode()) % 20 == 0

Output (in --out, default <repo>/.train, which git ignores):
    train.txt.xz     every kept file (source and tests) of the training packages
    heldout.txt.xz   the non-test source of the held-out packages (the test files of held-out
                     packages are dropped entirely, so the held-out figure is comparable with
                     model-probe.md, which measured non-test source)
    corpus.json      counts, bytes, the Go version and the held-out package list
Files inside each .txt.xz are joined by the separator <|endoftext|>, which never occurs in
the kept files (a file containing it is skipped).
"""

import argparse
import json
import lzma
import os
import re
import subprocess
import sys
import zlib

SEP = "<|endoftext|>"
MAX_FILE_BYTES = 200 * 1024
# The Go convention for machine-written files (go help generate): such files are tables and
# rewrite rules that teach a small model to recite rather than to write Go.
GENERATED = re.compile(r"^// Code generated .* DO NOT EDIT\.$", re.M)


def goroot():
    out = subprocess.run(["go", "env", "GOROOT"], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def held_out(pkg):
    return zlib.crc32(pkg.encode("utf-8")) % 20 == 0


def collect(src):
    """Yield (package, relative path, text, is_test) for every kept file, in sorted order."""
    skipped = {"testdata": 0, "large": 0, "generated": 0, "not_utf8": 0, "has_sep": 0}
    files = []
    for dirpath, dirnames, filenames in os.walk(src):
        # testdata holds inputs for tests (often deliberately malformed Go), not Go code.
        kept_dirs = sorted(d for d in dirnames if d != "testdata")
        skipped["testdata"] += len(dirnames) - len(kept_dirs)
        dirnames[:] = kept_dirs
        pkg = os.path.relpath(dirpath, src).replace(os.sep, "/")
        for name in sorted(filenames):
            if not name.endswith(".go"):
                continue
            full = os.path.join(dirpath, name)
            if os.path.getsize(full) > MAX_FILE_BYTES:
                skipped["large"] += 1
                continue
            with open(full, "rb") as f:
                raw = f.read()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                skipped["not_utf8"] += 1
                continue
            if GENERATED.search(text):
                skipped["generated"] += 1
                continue
            if SEP in text:
                skipped["has_sep"] += 1
                continue
            files.append((pkg, pkg + "/" + name, text, name.endswith("_test.go")))
    files.sort(key=lambda f: f[1])
    return files, skipped


def write_xz(path, texts):
    data = SEP.join(texts).encode("utf-8")
    with lzma.open(path, "wb", preset=6) as f:
        f.write(data)
    return len(data)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.abspath(os.path.join(here, "..", "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--goroot", default=None, help="Go root (default: go env GOROOT)")
    ap.add_argument("--out", default=os.path.join(repo, ".train"), help="output folder")
    args = ap.parse_args()

    root = args.goroot or goroot()
    src = os.path.join(root, "src")
    if not os.path.isdir(src):
        sys.exit(f"prepare_corpus: {src} is not a directory (is GOROOT right?)")
    version = "unknown"
    vfile = os.path.join(root, "VERSION")
    if os.path.exists(vfile):
        with open(vfile, encoding="utf-8") as f:
            version = f.readline().strip()

    files, skipped = collect(src)
    train, heldout, heldout_pkgs, dropped_tests = [], [], set(), 0
    for pkg, _, text, is_test in files:
        if held_out(pkg):
            heldout_pkgs.add(pkg)
            if is_test:
                dropped_tests += 1
            else:
                heldout.append(text)
        else:
            train.append(text)
    if not train or not heldout:
        sys.exit(f"prepare_corpus: empty split (train {len(train)} files, held-out {len(heldout)})")

    os.makedirs(args.out, exist_ok=True)
    train_bytes = write_xz(os.path.join(args.out, "train.txt.xz"), train)
    heldout_bytes = write_xz(os.path.join(args.out, "heldout.txt.xz"), heldout)
    info = {
        "go_version": version,
        "rule": "package held out when zlib.crc32(dir relative to src) % 20 == 0",
        "train_files": len(train),
        "train_bytes": train_bytes,
        "heldout_files": len(heldout),
        "heldout_bytes": heldout_bytes,
        "heldout_test_files_dropped": dropped_tests,
        "skipped": skipped,
        "heldout_packages": sorted(heldout_pkgs),
    }
    with open(os.path.join(args.out, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump(info, f, indent=1)
    sizes = {n: os.path.getsize(os.path.join(args.out, n)) for n in ("train.txt.xz", "heldout.txt.xz")}
    print(f"go {version}: train {len(train)} files {train_bytes/1e6:.1f} MB, "
          f"held-out {len(heldout)} files {heldout_bytes/1e6:.2f} MB "
          f"({len(heldout_pkgs)} packages, {dropped_tests} test files dropped); skipped {skipped}")
    print("compressed: " + ", ".join(f"{n} {s/1e6:.1f} MB" for n, s in sizes.items()))


if __name__ == "__main__":
    main()
