"""genre-train's group-disjoint folds (fold_of_groups in
tools/train/dataset.c), reimplemented exactly: the distinct (label, group)
pairs of the grouped clips sorted by label, then the zlib CRC-32 of the
group name, then the name (byte order, as strcmp); a group's rank among its
label's groups, modulo the fold count, is its fold; a group whose clips carry
several labels takes the fold of its first clip in list order. Clips
without a group have no fold (None): genre-train never moves them."""
import zlib


def fold_of_groups(clips, folds):
    """[fold or None] for clips (objects with .label and .group), in the
    order genre-train holds them (list order)."""
    keys = sorted({(c.label.encode(), zlib.crc32(c.group.encode()), c.group.encode())
                   for c in clips if c.group})
    rank, seen = {}, {}
    for label, _, group in keys:
        rank[(label, group)] = seen.get(label, 0)
        seen[label] = seen.get(label, 0) + 1
    out, first = [], {}
    for c in clips:
        if not c.group:
            out.append(None)
            continue
        fold = rank[(c.label.encode(), c.group.encode())] % folds
        out.append(first.setdefault(c.group, fold))
    return out
