#!/usr/bin/env python3
"""Every document the repository's files cite is in the repository.

- A path to a Markdown file named in a source, config, script or document (`docs/algorithm.md`,
  `services/replay/README.md`, a relative link) exists, relative to the repository root or to
  the citing file's folder.
- No file names a development machine's path (/work/..., /home/...) or the design notes the
  project was started from (upper-case ALGORITHM.md, DESIGN.md, ENVIRONMENT.md), which a user
  who clones the repository does not have: the repository's own are docs/*.md.
Run: python3 tests/layout/document_references_test.py [repo root]
"""
import pathlib
import re
import sys
import unittest

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else __file__).resolve()
if ROOT.is_file():
    ROOT = ROOT.parents[2]
TEXT_SUFFIXES = {".h", ".cc", ".c", ".py", ".sh", ".md", ".proto", ".textproto", ".txt",
                 ".cmake", ".yaml", ".yml", ".json", ".in", ""}
# A path-like token ending in .md: letters, digits, dots, dashes, underscores and slashes.
MARKDOWN_PATH = re.compile(r"(?<![\w./-])((?:\.\.?/|[\w.-]+/)*[\w.-]+\.md)\b")
FOREIGN = re.compile(r"(/work/|/home/\w|\b(?:ALGORITHM|DESIGN|ENVIRONMENT)\.md\b)")
# Markdown files of other projects that the sources may name as such.
EXTERNAL = {"CHANGELOG.md", "CONTRIBUTING.md"}


def repository_files():
    """Every file under the root but version control, build trees and run directories (the
    test runs where git may be missing: a fresh machine, a container)."""
    def skipped(folder):
        return (folder.name in (".git", "runs", "__pycache__", "node_modules")
                or (folder / "CMakeCache.txt").is_file())
    pending = [ROOT]
    while pending:
        folder = pending.pop()
        for entry in sorted(folder.iterdir()):
            if entry.is_dir() and not entry.is_symlink():
                if not skipped(entry):
                    pending.append(entry)
            elif entry.is_file():
                yield entry


def text_files():
    """The repository's text files but this one, which names the patterns it looks for."""
    this = pathlib.Path(__file__).resolve()
    for path in repository_files():
        if path.resolve() == this:
            continue
        if path.suffix in TEXT_SUFFIXES and path.is_file() and path.name != "CMakeCache.txt":
            if path.suffix == "" and path.name not in ("Dockerfile", "run"):
                continue
            yield path


class DocumentReferences(unittest.TestCase):
    def test_every_cited_markdown_file_exists(self):
        missing = []
        for path in text_files():
            text = path.read_text(errors="replace")
            for match in MARKDOWN_PATH.finditer(text):
                cited = match.group(1)
                if cited in EXTERNAL or "*" in cited:
                    continue
                if (ROOT / cited).is_file() or (path.parent / cited).is_file():
                    continue
                line = text.count("\n", 0, match.start()) + 1
                missing.append(f"{path.relative_to(ROOT)}:{line}: {cited}")
        self.assertEqual(missing, [], "documents cited but not in the repository")

    def test_no_file_cites_outside_documents(self):
        foreign = []
        for path in text_files():
            text = path.read_text(errors="replace")
            for match in FOREIGN.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                foreign.append(f"{path.relative_to(ROOT)}:{line}: {match.group(1)}")
        self.assertEqual(foreign, [], "citations of documents outside the repository")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
