"""Generate a tree of N files fast (returns files, directories, extra hard links): 10 x 10 top directories, leaf directories of 100 files,
one file in 20 holding 1-8 KiB, a few hard links. fd-relative creation, no path lookups."""
import os
import sys

FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


def generate(root, nfiles, per_dir=100):
    os.makedirs(root, exist_ok=True)
    payload = b"e" * 8192
    leaves = (nfiles + per_dir - 1) // per_dir
    top = max(1, int(round(leaves ** (1 / 3))))
    made = dirs = links = 0
    rfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        leaf = 0
        i = 0
        while made < nfiles:
            a, b = f"a{i // (top * top):03d}", f"b{(i // top) % top:03d}"
            i += 1
            for name in (a, os.path.join(a, b)):
                try:
                    os.mkdir(name, dir_fd=rfd)
                    dirs += 1
                except FileExistsError:
                    pass
            for _ in range(top):
                if made >= nfiles:
                    break
                c = os.path.join(a, b, f"c{leaf:06d}")
                leaf += 1
                os.mkdir(c, dir_fd=rfd)
                dirs += 1
                dfd = os.open(c, os.O_RDONLY | os.O_DIRECTORY, dir_fd=rfd)
                try:
                    n = min(per_dir, nfiles - made)
                    for k in range(n):
                        fd = os.open(f"f{k:03d}", FLAGS, 0o644, dir_fd=dfd)
                        if (made + k) % 20 == 0:
                            os.write(fd, payload[: 1024 * (1 + (made + k) // 20 % 8)])
                        os.close(fd)
                    if n > 1 and leaf % 50 == 0:
                        os.link("f000", "hardlink", src_dir_fd=dfd, dst_dir_fd=dfd)
                        links += 1
                    made += n
                finally:
                    os.close(dfd)
    finally:
        os.close(rfd)
    return made, dirs, links


if __name__ == "__main__":
    print(generate(sys.argv[1], int(sys.argv[2])))
