#!/usr/bin/env python3
"""Paragraph corpus from the Linux kernel documentation: JSON lines {"title": ..., "body": ...}.

Usage:
    python3 Benchmarks/corpus/gen_kernel_docs.py --out FILE [--doc-dir DIR] [--min-chars 20]
        [--max-chars 2000]

Source: the HTML that Debian's `linux-doc-6.1` package installs under
/usr/share/doc/linux-doc-6.1/html (Sphinx, ~3,200 pages). When that directory is missing and no
--doc-dir is given, the package is installed first, as root or through sudo: `apt-get download`
+ `dpkg -i` of that one package (it depends on nothing), so no other installed package is touched
(`apt-get install` would also upgrade linux-libc-dev and linux-perf, built from the same source);
`apt-get update` runs once if the download fails.

Documents: the paragraphs of each page's article body (<div itemprop="articleBody">), inline
markup removed, runs of whitespace collapsed to one space:
  * a p, pre, div-level block outside lists and tables is one document;
  * a whole list, table or definition list (ul, ol, table, dl: e.g. a kernel-doc function with
    its parameters) is one document, its items joined by spaces; a long one is cut between items
    into pieces of at most --max-chars characters (an item longer than that stays whole).
Skipped: everything outside the article body (navigation sidebar, breadcrumbs, footer,
prev/next buttons), headings (h1-h6: the page title is in "title"), tables of contents inside
the body (toctree wrappers, local "contents" boxes), the pilcrow permalinks, scripts and styles,
the genindex/search/py-modindex pages and the _sources/_static/_images/_downloads directories,
and documents shorter than --min-chars characters (default 20). "title" is the page's <title>
without the " — The Linux Kernel documentation" suffix (or the page's path when it has none).
Order: pages by sorted relative path, paragraphs in document order, so the output is the same
for the same package version. Only the Python standard library is used (html.parser).
Debian 12's linux-doc-6.1 6.1.192-3 gives 139,500 documents from 2,997 pages, 38.0 MB.
A one-line summary (pages, paragraphs, bytes, seconds) goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser

PACKAGE = "linux-doc-6.1"
DEFAULT_DOC_DIR = f"/usr/share/doc/{PACKAGE}/html"
SKIP_PAGES = {"genindex.html", "search.html", "py-modindex.html"}
BLOCK_TAGS = {
    "p", "pre", "li", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "td", "th", "tr", "table",
    "thead", "tbody", "blockquote", "div", "section", "ul", "ol", "dl", "caption", "figcaption",
    "figure", "aside", "header", "footer", "nav", "form", "hr", "details", "summary",
}
GROUP_TAGS = {"ul", "ol", "dl", "table"}
HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
VOID_TAGS = {"br", "img", "hr", "meta", "link", "input", "wbr", "col", "area", "base", "source"}
WS_RE = re.compile(r"\s+")
TITLE_SUFFIX_RE = re.compile(r"\s*[\u2014-]+\s*The Linux Kernel\s+documentation\s*$")


class PageParser(HTMLParser):
    def __init__(self, min_chars: int, max_chars: int):
        super().__init__(convert_charrefs=True)
        self.min_chars = min_chars
        self.max_chars = max_chars
        self.title_parts: list[str] = []
        self.in_title = False
        self.div_depth = 0
        self.body_depth = None  # div depth of the articleBody div while inside it
        self.skip_tag = None  # tag name of the skipped region we are in
        self.skip_nest = 0
        self.buf: list[str] = []
        self.paragraphs: list[str] = []
        self.group_depth = 0  # nesting of list/table/definition-list elements
        self.items: list[str] = []  # texts of the blocks inside the outermost group

    def flush(self) -> None:
        if self.buf:
            text = WS_RE.sub(" ", "".join(self.buf)).strip()
            self.buf = []
            if not text:
                return
            if self.group_depth > 0:
                self.items.append(text)
            elif len(text) >= self.min_chars:
                self.paragraphs.append(text)

    def end_group(self) -> None:
        """A whole list / table / definition list is one paragraph; a long one is cut between its
        items into pieces of at most max_chars (an item longer than that is a piece of its own)."""
        piece: list[str] = []
        size = 0
        for item in self.items + [None]:
            if item is None or (piece and size + 1 + len(item) > self.max_chars):
                text = " ".join(piece)
                if len(text) >= self.min_chars:
                    self.paragraphs.append(text)
                piece, size = [], 0
            if item is not None:
                piece.append(item)
                size += len(item) + (1 if size else 0)
        self.items = []

    @staticmethod
    def is_skipped_region(tag: str, attrs: dict) -> bool:
        cls = (attrs.get("class") or "").split()
        if tag in ("script", "style", "noscript", "template") or tag in HEADING_TAGS:
            return True
        if tag == "a" and "headerlink" in cls:
            return True
        if "toctree-wrapper" in cls or "contents" in cls or "sphinxsidebar" in cls or "rst-footer-buttons" in cls:
            return True
        return False

    def handle_starttag(self, tag, attrs_list):
        attrs = dict(attrs_list)
        if tag == "title":
            self.in_title = True
        if tag == "div":
            self.div_depth += 1
            if self.body_depth is None and attrs.get("itemprop") == "articleBody":
                self.body_depth = self.div_depth
                return
        if self.body_depth is None:
            return
        if self.skip_tag is not None:
            if tag == self.skip_tag and tag not in VOID_TAGS:
                self.skip_nest += 1
            return
        if self.is_skipped_region(tag, attrs):
            self.flush()
            if tag not in VOID_TAGS:
                self.skip_tag, self.skip_nest = tag, 1
            return
        if tag in BLOCK_TAGS:
            self.flush()
            if tag in GROUP_TAGS:
                self.group_depth += 1
        elif tag == "br":
            self.buf.append(" ")

    def handle_startendtag(self, tag, attrs_list):
        if self.body_depth is not None and self.skip_tag is None:
            if tag in BLOCK_TAGS:
                self.flush()
            elif tag == "br":
                self.buf.append(" ")

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
        if self.body_depth is not None and self.skip_tag is not None:
            if tag == self.skip_tag:
                self.skip_nest -= 1
                if self.skip_nest == 0:
                    self.skip_tag = None
            if tag == "div":
                self.div_depth -= 1
            return
        if tag == "div":
            if self.body_depth is not None and self.div_depth == self.body_depth:
                self.flush()
                if self.group_depth > 0:  # unbalanced markup: close what is open
                    self.group_depth = 0
                    self.end_group()
                self.body_depth = None
            self.div_depth -= 1
            return
        if self.body_depth is not None and tag in BLOCK_TAGS:
            self.flush()
            if tag in GROUP_TAGS and self.group_depth > 0:
                self.group_depth -= 1
                if self.group_depth == 0:
                    self.end_group()

    def handle_data(self, data):
        if self.in_title:
            self.title_parts.append(data)
        if self.body_depth is not None and self.skip_tag is None:
            self.buf.append(data)

    def title(self) -> str:
        t = WS_RE.sub(" ", "".join(self.title_parts)).strip()
        return TITLE_SUFFIX_RE.sub("", t).strip()


def ensure_package(doc_dir: str) -> None:
    """Installs linux-doc-6.1 when its HTML directory is missing: `apt-get download` of the one
    .deb and `dpkg -i` of it (the package depends on nothing), so that no other installed package
    is upgraded on the way (`apt-get install` also upgrades the installed binaries built from the
    same kernel source, such as linux-libc-dev). `apt-get update` runs once if the download fails."""
    if os.path.isdir(doc_dir):
        return
    if doc_dir != DEFAULT_DOC_DIR:
        sys.exit(f"gen_kernel_docs: {doc_dir} does not exist")
    prefix: list[str] = []
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            sys.exit(f"gen_kernel_docs: {doc_dir} is missing; install the Debian package {PACKAGE} "
                     f"(apt-get download {PACKAGE} && dpkg -i {PACKAGE}_*.deb) as root, or pass --doc-dir")
        prefix = ["sudo", "-n"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    with tempfile.TemporaryDirectory(prefix="linux-doc-") as tmp:
        os.chmod(tmp, 0o777)  # apt's download sandbox user must be able to write there
        download = prefix + ["apt-get", "download", "-qq", PACKAGE]
        print(f"gen_kernel_docs: {doc_dir} missing; installing {PACKAGE} (apt-get download + dpkg -i)", file=sys.stderr)
        if subprocess.run(download, cwd=tmp, env=env).returncode != 0:
            print("gen_kernel_docs: download failed; running apt-get update and trying again", file=sys.stderr)
            subprocess.run(prefix + ["apt-get", "update", "-qq"], env=env)
            if subprocess.run(download, cwd=tmp, env=env).returncode != 0:
                sys.exit(f"gen_kernel_docs: could not download {PACKAGE}")
        debs = sorted(f for f in os.listdir(tmp) if f.endswith(".deb"))
        if not debs or subprocess.run(prefix + ["dpkg", "-i"] + [os.path.join(tmp, d) for d in debs], env=env).returncode != 0:
            sys.exit(f"gen_kernel_docs: could not install {PACKAGE}")
    if not os.path.isdir(doc_dir):
        # find where the package put its HTML
        out = subprocess.run(["dpkg", "-L", PACKAGE], capture_output=True, text=True).stdout.split("\n")
        html = sorted(p for p in out if p.endswith("/index.html"))
        sys.exit(f"gen_kernel_docs: {PACKAGE} is installed but {doc_dir} is missing"
                 + (f" (its HTML: {os.path.dirname(html[0])}; pass --doc-dir)" if html else ""))


def pages(doc_dir: str) -> list[str]:
    out = []
    for root, dirs, files in os.walk(doc_dir):
        rel_root = os.path.relpath(root, doc_dir)
        dirs[:] = [d for d in dirs if not d.startswith("_")]
        for f in files:
            if not f.endswith(".html"):
                continue
            rel = f if rel_root == "." else os.path.join(rel_root, f)
            if rel in SKIP_PAGES:
                continue
            out.append(rel)
    return sorted(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="-", help="output JSON lines file (default: stdout)")
    ap.add_argument("--doc-dir", default=DEFAULT_DOC_DIR, help=f"Sphinx HTML directory (default {DEFAULT_DOC_DIR})")
    ap.add_argument("--min-chars", type=int, default=20, help="skip shorter paragraphs (default 20)")
    ap.add_argument("--max-chars", type=int, default=2000,
                    help="cut a list/table/definition list into pieces of at most this many characters (default 2000)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    ensure_package(args.doc_dir)
    rels = pages(args.doc_dir)
    if not rels:
        sys.exit(f"gen_kernel_docs: no .html pages under {args.doc_dir}")
    sink = sys.stdout.buffer if args.out == "-" else open(args.out, "wb")
    n_par = n_bytes = n_pages = 0
    try:
        for rel in rels:
            with open(os.path.join(args.doc_dir, rel), encoding="utf-8", errors="replace") as f:
                html = f.read()
            p = PageParser(args.min_chars, args.max_chars)
            p.feed(html)
            p.close()
            p.flush()
            if not p.paragraphs:
                continue
            n_pages += 1
            title = p.title() or rel
            out = []
            for par in p.paragraphs:
                out.append(json.dumps({"title": title, "body": par}, ensure_ascii=False) + "\n")
            data = "".join(out).encode("utf-8")
            sink.write(data)
            n_par += len(p.paragraphs)
            n_bytes += len(data)
    finally:
        if sink is not sys.stdout.buffer:
            sink.close()
        else:
            sink.flush()
    secs = time.perf_counter() - t0
    print(f"gen_kernel_docs: {n_par} paragraphs from {n_pages} of {len(rels)} pages, {n_bytes} bytes "
          f"({n_bytes / 1e6:.1f} MB), {secs:.1f} s, source {args.doc_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
