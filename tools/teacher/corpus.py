"""The labelled corpus as genre-train sees it: GTZAN's lists (train.txt and
valid.txt under audio/, the *_short.txt lists under short/) and extra's
train.txt with its groups (labels.tsv)."""
import os

# (set, source, audio root, list file) relative to the data folder. The
# source names are genre-train's: a --data without NAME= is named after the
# dataset folder, "gtzan=" names the short excerpts' source gtzan too.
LISTS = (
    ("gtzan_train", "gtzan", "gtzan/audio", "gtzan/train.txt"),
    ("gtzan_valid", "gtzan", "gtzan/audio", "gtzan/valid.txt"),
    ("gtzan_train_short", "gtzan", "gtzan/short", "gtzan/train_short.txt"),
    ("gtzan_valid_short", "gtzan", "gtzan/short", "gtzan/valid_short.txt"),
    ("extra", "extra", "extra/audio", "extra/train.txt"),
)


class Clip:
    def __init__(self, rel, path, label, source, list_name, group):
        self.rel, self.path, self.label, self.source = rel, path, label, source
        self.list_name, self.group = list_name, group

    def __repr__(self):
        return "Clip(%s, %s)" % (self.list_name, self.rel)


def read_groups(path):
    """{rel: group} from labels.tsv (file, group, label source; a header)."""
    groups = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            fields = line.rstrip("\n").split("\t")
            if n == 1 and fields[0] == "file":
                continue
            if len(fields) < 2 or not fields[0]:
                raise ValueError("%s:%d: expected FILE<TAB>GROUP" % (path, n))
            groups[fields[0]] = fields[1]
    return groups


def read_corpus(data):
    """Every listed clip of the data folder, in list order."""
    groups = read_groups(os.path.join(data, "extra", "labels.tsv"))
    clips = []
    for list_name, source, root, listed in LISTS:
        with open(os.path.join(data, listed)) as f:
            for n, line in enumerate(f, 1):
                rel = line.strip()
                if not rel or rel.startswith("#"):
                    continue
                if "/" not in rel:
                    raise ValueError("%s:%d: no label folder in %s" % (listed, n, rel))
                group = groups.get(rel) if source == "extra" else None
                clips.append(Clip(rel, os.path.join(data, root, rel), rel.split("/")[0],
                                  source, list_name, group))
    return clips
