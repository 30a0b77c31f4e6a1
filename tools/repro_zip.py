#!/usr/bin/env python3
"""Write a zip archive that depends only on the files' names, contents and executable bits.

    repro_zip.py SRC_DIR OUT.zip [PREFIX]

Every regular file under SRC_DIR (symlinks are followed; a zip has none), in sorted order, stored
as PREFIX/<relative path> (no PREFIX: at the root), with the timestamp SOURCE_DATE_EPOCH (1980-01-01
when unset or earlier: the zip format's floor), mode 0755 for executables and 0644 otherwise, no
directory entries, no extra fields. Two runs over the same files give the same bytes.
"""

import os
import sys
import time
import zipfile


def main() -> int:
    if len(sys.argv) not in (3, 4):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    src, out = sys.argv[1], sys.argv[2]
    prefix = sys.argv[3].strip("/") + "/" if len(sys.argv) == 4 and sys.argv[3] else ""
    epoch = max(int(os.environ.get("SOURCE_DATE_EPOCH", "0") or 0), 315532800)
    stamp = time.gmtime(epoch)[:6]
    files = []
    for root, dirs, names in os.walk(src, followlinks=True):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(root, name)
            files.append((os.path.relpath(path, src).replace(os.sep, "/"), path))
    files.sort()
    tmp = out + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for rel, path in files:
            info = zipfile.ZipInfo(prefix + rel, date_time=stamp)
            mode = 0o755 if os.stat(path).st_mode & 0o111 else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.create_system = 3  # Unix: the mode above is read by unzip
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as f:
                z.writestr(info, f.read(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
