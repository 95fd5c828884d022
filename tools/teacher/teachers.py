"""The four teachers together, read from the teachers folder
(../shared/teachers relative to the repository, or $GENRED_TEACHERS)."""
import os

import nets

FILES = {
    "musicnn_msd": ("musicnn_msd.h5", nets.KerasMusicnn),
    "musicnn_mtt": ("musicnn_mtt.h5", nets.KerasMusicnn),
    "musicnn_jamendo": ("musicnn_jamendo.pth", nets.TorchMusicnn),
    "fcn_msd": ("fcn_msd.pth", nets.Fcn),
}
NAMES = tuple(FILES)


def default_folder():
    env = os.environ.get("GENRED_TEACHERS")
    if env:
        return env
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(os.path.dirname(repo), "shared", "teachers")


def read_tags(path):
    """{model: [50 tags]} from tags.txt (model|tag|tag|...)."""
    tags = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            fields = line.rstrip("\n").split("|")
            tags[fields[0]] = fields[1:]
    return tags


class Teachers:
    def __init__(self, folder):
        self.folder = folder
        self.tags = read_tags(os.path.join(folder, "tags.txt"))
        self.nets = {name: cls(os.path.join(folder, file)) for name, (file, cls) in FILES.items()}
        for name in FILES:
            if len(self.tags.get(name, ())) != 50:
                raise ValueError("%s/tags.txt: %s has no 50 tags" % (folder, name))
