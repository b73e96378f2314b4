#!/usr/bin/env python3
"""What a SQLite commit writes, b-tree by b-tree: reads a copy of a database file and of its WAL taken while the
server ran, walks the WAL's frames of the current generation (a frame's header holds its page number; the last
frame of a commit holds the database's size), and names each page's b-tree with SQLite's dbstat table on a
checkpointed copy (so pages added since the last checkpoint are named too). A page written twice in one commit
counts once, as SQLite writes it once.

Usage: wal-frames.py DB_COPY WAL_COPY
Prints: [wal-frames] commits=… frames_per_commit=…, then one line per b-tree: frames a commit and the name.
"""
import collections
import os
import shutil
import sqlite3
import struct
import sys
import tempfile

HEADER = 32        # the WAL header: magic, version, page size, checkpoint sequence, two salts, two checksums
FRAME_HEADER = 24  # page number, database size after commit (0 if not a commit frame), two salts, two checksums
SHOWN_MAX = 20


def commits_of(wal_path):
    with open(wal_path, "rb") as f:
        _, _, page_size, _, salt1, salt2, _, _ = struct.unpack(">IIIIIIII", f.read(HEADER))
        commits, pages = [], []
        while True:
            header = f.read(FRAME_HEADER)
            if len(header) < FRAME_HEADER:
                break
            page, size_after, s1, s2, _, _ = struct.unpack(">IIIIII", header)
            f.seek(page_size, os.SEEK_CUR)
            # Frames of an earlier generation (the WAL restarted over them) carry other salts: the end of this one.
            if (s1, s2) != (salt1, salt2):
                break
            pages.append(page)
            if size_after:
                commits.append(set(pages))
                pages = []
    return commits


def btree_of_pages(db_path, wal_path):
    with tempfile.TemporaryDirectory() as scratch:
        db = os.path.join(scratch, "copy.db")
        shutil.copyfile(db_path, db)
        shutil.copyfile(wal_path, db + "-wal")
        connection = sqlite3.connect(db)
        try:
            return dict(connection.execute("SELECT pageno, name FROM dbstat"))
        finally:
            connection.close()


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: wal-frames.py DB_COPY WAL_COPY")
    db_path, wal_path = sys.argv[1], sys.argv[2]
    commits = commits_of(wal_path)
    if not commits:
        sys.exit("wal-frames.py: no committed frames in the WAL copy")
    names = btree_of_pages(db_path, wal_path)
    frames = collections.Counter()
    for commit in commits:
        for page in commit:
            frames[names.get(page, "(free or unknown)")] += 1
    n = len(commits)
    print(f"[wal-frames] commits={n} frames_per_commit={sum(len(c) for c in commits) / n:.2f}")
    for name, count in frames.most_common(SHOWN_MAX):
        print(f"[wal-frames] {count / n:7.2f}  {name}")


if __name__ == "__main__":
    main()
