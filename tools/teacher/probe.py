"""A probe on the teachers' window features, cross-validated like the
student, and the soft labels it gives every training window.

Features of a 3 s window: the MusiCNN embeddings (1506 each) and the
logits of the teachers' 50 tags (all four teachers by default), standardised
(projecting on the 256 leading principal components cost 8 points of GTZAN
clip accuracy: the minor directions matter). The probe is a
multinomial logistic regression with an L2 penalty, every window carrying
its clip's label, weighted as genre-train's sampler draws: labels equally,
then the sources that have a label equally, then clips by length (windows
of one label and source equally).

Folds: extra's are genre-train's (folds.py); GTZAN's clips have no groups
there, so for cross-fitting here they get pseudo-groups of ten ids per
genre (GTZAN ids are roughly grouped by artist), dealt into folds the same
way. See README.md for the protocol and the files written."""
import collections
import os
import re

import numpy as np
import torch

import corpus
import extract
import folds as folds_mod
import teachers

FOLDS = 4
TRAIN_STRIDE = 2  # fit on every 2nd window (1 s apart): 3 s windows overlap


def pseudo_group(clip):
    """GTZAN: '<genre>.<id // 10>' (e.g. blues.0002 for ids 20-29)."""
    m = re.search(r"\.(\d+)\.[^./]+$", clip.rel)
    if not m:
        raise ValueError("%s: no GTZAN id in the name" % clip.rel)
    return "%s.%04d" % (clip.label, int(m.group(1)) // 10)


def tag_logits(p):
    p = np.clip(p.astype(np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def clip_features(cached, names):
    """(windows, features) float32 of one clip's cache entry: the named
    teachers' embeddings (MusiCNNs), then their tag logits."""
    parts = [cached["emb_" + n].astype(np.float32) for n in names if "emb_" + n in cached]
    parts += [tag_logits(cached["tags_" + n]).astype(np.float32) for n in names]
    return np.concatenate(parts, axis=1)


class Corpus:
    """Clips with labels, sources, folds and their window features."""

    def __init__(self, data, cache, names=teachers.NAMES):
        self.clips = corpus.read_corpus(data)
        self.labels = sorted({c.label for c in self.clips})
        self.y = np.array([self.labels.index(c.label) for c in self.clips])
        self.source = np.array([c.source for c in self.clips])
        self.list_name = np.array([c.list_name for c in self.clips])
        self.x, self.seconds = [], []
        for c in self.clips:
            cached = extract.load(cache, c.path, names)
            if cached is None:
                raise RuntimeError("%s: teacher outputs not cached in %s" % (c.path, cache))
            self.x.append(clip_features(cached, names))
            self.seconds.append(float(cached["seconds"]))
        self._check_duplicates()
        extra = [i for i, c in enumerate(self.clips) if c.source == "extra"]
        self.extra_fold = np.full(len(self.clips), -1)
        self.extra_fold[extra] = folds_mod.fold_of_groups([self.clips[i] for i in extra], FOLDS)
        if any(self.clips[i].group is None for i in extra):
            raise RuntimeError("an extra clip has no group in labels.tsv")
        for c in self.clips:
            if c.source == "gtzan":
                c.group = pseudo_group(c)

    def _check_duplicates(self):
        """The same audio under two list lines would let a probe see its own
        clip: an error. One line in two lists with different audio (GTZAN
        has 11: a 15 s classical clip and a short excerpt of the same
        recording) cannot have one .soft file each: listed in
        self.same_rel for the caller to refuse or resolve."""
        by_rel, by_hash = collections.defaultdict(list), {}
        for i, c in enumerate(self.clips):
            digest = extract.content_hash(c.path)
            by_rel[c.rel].append(i)
            other = by_hash.setdefault(digest, c.rel)
            if other != c.rel:
                raise RuntimeError("%s and %s hold the same audio" % (other, c.rel))
        self.same_rel = {rel: idx for rel, idx in by_rel.items() if len(idx) > 1}

    def group_folds(self, idx, folds):
        """Cross-fitting folds (0..folds-1) of the clips idx: extra's from
        genre-train's folds renumbered in order, GTZAN's from pseudo-groups."""
        out = np.empty(len(idx), dtype=int)
        extra = [k for k, i in enumerate(idx) if self.source[i] == "extra"]
        present = sorted({self.extra_fold[idx[k]] for k in extra})
        if len(present) != folds and extra:
            raise RuntimeError("extra clips span %d folds, not %d" % (len(present), folds))
        for k in extra:
            out[k] = present.index(self.extra_fold[idx[k]])
        gtzan = [k for k, i in enumerate(idx) if self.source[i] == "gtzan"]
        gf = folds_mod.fold_of_groups([self.clips[idx[k]] for k in gtzan], folds)
        for k, f in zip(gtzan, gf):
            out[k] = f
        return out


def window_weights(y, source, n_labels):
    """Per-window weights summing to 1: labels equal, then sources within a
    label, then windows within (label, source)."""
    w = np.zeros(len(y))
    cells = collections.Counter(zip(y, source))
    labels = {k for k, _ in cells}
    for (k, s), n in cells.items():
        sources = sum(1 for (k2, _) in cells if k2 == k)
        w[(y == k) & (source == s)] = 1.0 / (len(labels) * sources * n)
    return w


class Probe:
    """Weighted multinomial logistic regression, L-BFGS on all windows."""

    def __init__(self, l2):
        self.l2 = l2

    def fit(self, x, y, w, n_labels):
        self.mean = x.mean(axis=0)
        self.std = x.std(axis=0) + 1e-3
        xt = torch.from_numpy((x - self.mean) / self.std)
        yt, wt = torch.from_numpy(y), torch.from_numpy(w).float()
        self.W = torch.zeros(x.shape[1], n_labels, requires_grad=True)
        self.b = torch.zeros(n_labels, requires_grad=True)
        opt = torch.optim.LBFGS([self.W, self.b], lr=1, max_iter=200, history_size=20,
                                tolerance_grad=1e-6, line_search_fn="strong_wolfe")

        def loss():
            opt.zero_grad()
            logp = torch.log_softmax(xt @ self.W + self.b, dim=1)
            value = -(wt * logp[torch.arange(len(yt)), yt]).sum() + \
                0.5 * self.l2 * (self.W ** 2).sum()
            value.backward()
            return value
        opt.step(loss)
        return self

    def predict(self, x):
        with torch.no_grad():
            z = torch.from_numpy((x - self.mean) / self.std) @ self.W + self.b
            return torch.softmax(z, dim=1).numpy()


def fit_on(corp, idx, l2):
    """A probe trained on the windows (every TRAIN_STRIDE-th) of clips idx."""
    xs = [corp.x[i][::TRAIN_STRIDE] for i in idx]
    y = np.concatenate([np.full(len(x), corp.y[i]) for x, i in zip(xs, idx)])
    src = np.concatenate([np.full(len(x), corp.source[i]) for x, i in zip(xs, idx)])
    w = window_weights(y, src, len(corp.labels))
    return Probe(l2).fit(np.concatenate(xs), y, w, len(corp.labels))


def student_split(corp, k):
    """genre-train --fold k/4 as tools/train-model runs it: validation is
    extra's fold k and GTZAN's valid lists; training everything else."""
    valid_lists = ("gtzan_valid", "gtzan_valid_short")
    val = [i for i in range(len(corp.clips))
           if corp.list_name[i] in valid_lists or corp.extra_fold[i] == k]
    held = set(val)
    return [i for i in range(len(corp.clips)) if i not in held], val


def crossfit(corp, idx, l2, folds, log):
    """{clip: window probabilities} for clips idx, each from a probe
    trained on the other folds of idx only."""
    g = corp.group_folds(idx, folds)
    out = {}
    for m in range(folds):
        train = [i for i, f in zip(idx, g) if f != m]
        test = [i for i, f in zip(idx, g) if f == m]
        probe = fit_on(corp, train, l2)
        out.update({i: probe.predict(corp.x[i]) for i in test})
        print("  cross-fit fold %d/%d: trained on %d clips, predicted %d" % (
            m + 1, folds, len(train), len(test)), file=log, flush=True)
    return out


def smooth(p, radius, mix):
    """Window probabilities averaged over +-radius windows, then mixed with
    the clip's mean: (1 - mix) p + mix mean(p)."""
    if radius:
        c = np.cumsum(np.vstack([np.zeros((1, p.shape[1])), p]), axis=0)
        n = len(p)
        lo = np.maximum(np.arange(n) - radius, 0)
        hi = np.minimum(np.arange(n) + radius + 1, n)
        p = (c[hi] - c[lo]) / (hi - lo)[:, None]
    return (1 - mix) * p + mix * p.mean(axis=0, keepdims=True)


def balanced(correct, y, n_labels):
    """Mean recall over the labels present, and {label: (hits, count)}."""
    per = {k: (int(correct[y == k].sum()), int((y == k).sum())) for k in range(n_labels)
           if (y == k).any()}
    return float(np.mean([h / n for h, n in per.values()])), per


def score(corp, fold_preds, radius=0, mix=0.0):
    """Per fold, per source: clip balanced accuracy (clip verdict: mean of
    its windows), its per-label hits, window balanced accuracy and the
    label-balanced mean negative log-likelihood of windows."""
    n_labels, rows = len(corp.labels), []
    for preds in fold_preds:
        res = {}
        for s in sorted({corp.source[i] for i in preds}):
            idx = [i for i in preds if corp.source[i] == s]
            p = [smooth(preds[i], radius, mix) for i in idx]
            y = corp.y[idx]
            clip_acc, per = balanced(np.array([q.mean(0).argmax() for q in p]) == y, y, n_labels)
            wy = np.concatenate([np.full(len(q), yi) for q, yi in zip(p, y)])
            wp = np.concatenate(p)
            window_acc, _ = balanced(wp.argmax(1) == wy, wy, n_labels)
            nll = np.mean([-np.log(np.maximum(wp[wy == k, k], 1e-9)).mean()
                           for k in np.unique(wy)])
            res[s] = {"clip": clip_acc, "per": per, "window": window_acc, "nll": float(nll)}
        rows.append(res)
    return rows


def mean_of(rows, source, key):
    return float(np.mean([r[source][key] for r in rows]))


def cv_predictions(corp, l2, log):
    """The probe's own CV in the student's protocol: per fold, {clip: window
    probabilities} of its validation clips."""
    out = []
    for k in range(FOLDS):
        train, val = student_split(corp, k)
        probe = fit_on(corp, train, l2)
        out.append({i: probe.predict(corp.x[i]) for i in val})
        print("  l2 %g fold %d: trained on %d clips, validated on %d" % (
            l2, k, len(train), len(val)), file=log, flush=True)
    return out


def format_rows(p):
    """Rows of 5-decimal probabilities that sum to exactly 1: the rounding
    remainder goes to each row's largest entry."""
    q = np.round(p * 100000).astype(np.int64)
    q[np.arange(len(q)), q.argmax(axis=1)] += 100000 - q.sum(axis=1)
    return ["\t".join("%d.%05d" % (v // 100000, v % 100000) for v in row) for row in q]


def write_soft(path, labels, p):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    lines = ["genred-soft 1", "labels\t" + "\t".join(labels),
             "hop\t%g" % extract.HOP, "window\t%.1f" % extract.WINDOW] + format_rows(p)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
