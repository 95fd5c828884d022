"""The four teacher networks, built from their weight files (tensor names and
shapes in ../shared/teachers/weights.txt) as the teachers README describes.

Every MusiCNN is split where it stops being convolutional in time:
feature_map() takes a log-mel of any length to its 753 x T map (front end +
mid end), head() takes pooled features (the 1506-d embedding) to 50 tag
probabilities. So a whole file's map can be computed once and pooled per
window (extract.py); embed_patch() is the authors' exact per-patch path."""
import h5py
import numpy as np
import torch
import torch.nn.functional as F

import fastconv
import frontend


def _bn(x, p, eps, dim=1):
    """Inference batch norm over dimension dim; p = (gamma, beta, mean, var)."""
    gamma, beta, mean, var = p
    shape = [1] * x.dim()
    shape[dim] = -1
    scale = gamma / torch.sqrt(var + eps)
    return (x - mean.view(shape)) * scale.view(shape) + beta.view(shape)


def _same_pad(k):
    """TensorFlow's 'same' padding in time for an even or odd kernel."""
    return (k - 1) // 2, k - 1 - (k - 1) // 2


def _chunk(kf):
    """Output bands per Toeplitz product for a kf-band kernel over 96 bands:
    the fewest multiply-adds (7x38: 5 chunks of 12; 7x67: 2 of 15)."""
    return 12 if kf < 50 else 15


class _Musicnn:
    patch_frames = 187

    def embed_patch(self, mel):
        """Per-patch path: the map of one patch alone (zero padded at its
        edges, as the authors ran it), pooled over all its frames."""
        fmap = self.feature_map(mel)
        return self.pool(fmap.max(dim=1).values[None], fmap.mean(dim=1)[None])

    def tags(self, emb):
        return torch.sigmoid(self.head(emb))


class KerasMusicnn(_Musicnn):
    """MusiCNN of Pons & Serra from a Keras .h5 (MSD or MTT): ReLU before
    batch norm, eps 1e-3, pooled features interleaved (max, mean)."""
    eps = 1e-3

    def __init__(self, path):
        self.w, self.fast = {}, None
        with h5py.File(path, "r") as f:
            f["model_weights"].visititems(self._keep)

    def _keep(self, name, obj):
        if isinstance(obj, h5py.Dataset):
            layer, weight = name.split("/")[0], name.split("/")[-1]
            weight = weight.split(":")[0]
            weight = weight[:-2] if weight.endswith("_1") else weight
            self.w[layer + "/" + weight] = torch.from_numpy(np.array(obj, dtype=np.float32))

    def _bnp(self, layer):
        w = self.w
        return (w[layer + "/gamma"], w[layer + "/beta"], w[layer + "/moving_mean"],
                w[layer + "/moving_variance"])

    def _conv2d(self, x, conv, bn, pad_time):
        k = self.w[conv + "/kernel"].permute(3, 2, 0, 1)
        y = F.conv2d(F.pad(x, (0, 0) + pad_time), k, self.w[conv + "/bias"])
        return _bn(F.relu(y), self._bnp(bn), self.eps).max(dim=3).values[0]

    def _midend(self, x, conv, bn):
        k = self.w[conv + "/kernel"][:, :, 0, :].permute(2, 1, 0)
        y = F.conv1d(F.pad(x, (3, 3)), k, self.w[conv + "/bias"])
        return _bn(F.relu(y), self._bnp(bn), self.eps)[0]

    def _activation(self, bn):
        p = self._bnp(bn)
        return (lambda y: _bn(F.relu(y), p, self.eps, -1)), p[0]

    def _fast_front(self):
        """fastconv layers of the five front-end convolutions, in order."""
        convs = []
        for conv, bn in (("conv2d", "batch_normalization_1"),
                         ("conv2d_1", "batch_normalization_2")):
            act, gamma = self._activation(bn)
            w = self.w[conv + "/kernel"][:, :, 0, :].permute(2, 0, 1)  # (out, kt, kf)
            convs.append(((3, 3), fastconv.FreqConv(w, self.w[conv + "/bias"], 96, act, gamma,
                                                    _chunk(w.shape[2]))))
        for i, k in ((2, 128), (3, 64), (4, 32)):
            act, gamma = self._activation("batch_normalization_%d" % (i + 1))
            w = self.w["conv2d_%d/kernel" % i][:, 0, 0, :].t()  # (out, k)
            convs.append((_same_pad(k), fastconv.BandTimeConv(
                w, self.w["conv2d_%d/bias" % i], act, gamma)))
        return convs

    def front_end(self, mel, fast=True):
        """mel: (T, 96) keras_logmel -> (561, T)."""
        x = _bn(torch.from_numpy(mel), self._bnp("batch_normalization"), self.eps, -1)
        if not fast:
            x = x[None, None]
            front = [self._conv2d(x, "conv2d", "batch_normalization_1", (3, 3)),
                     self._conv2d(x, "conv2d_1", "batch_normalization_2", (3, 3))]
            for i, k in ((2, 128), (3, 64), (4, 32)):
                front.append(self._conv2d(x, "conv2d_%d" % i, "batch_normalization_%d" % (i + 1),
                                          _same_pad(k)))
            return torch.cat(front, 0)
        if self.fast is None:
            self.fast = self._fast_front()
        return torch.cat([conv(F.pad(x, (0, 0) + pad)) for pad, conv in self.fast], 1).t()

    def feature_map(self, mel, fast=True):
        """mel: (T, 96) keras_logmel -> (753, T)."""
        front = self.front_end(mel, fast).contiguous()
        m1 = self._midend(front[None], "midend_conv1", "bn_midend_conv1")
        m2 = self._midend(m1[None], "midend_conv2", "bn_midend_conv2") + m1
        m3 = self._midend(m2[None], "midend_conv3", "bn_midend_conv3") + m2
        return torch.cat([front, m1, m2, m3], 0)

    @staticmethod
    def pool(maxima, means):
        """(n, 753) maxima and means -> (n, 1506) as Keras' Flatten lays them."""
        return torch.stack([maxima, means], dim=2).reshape(maxima.shape[0], -1)

    def head(self, emb):
        w = self.w
        x = _bn(emb, self._bnp("bn_flatpool"), self.eps)
        x = F.relu(x @ w["dense/kernel"] + w["dense/bias"])
        x = _bn(x, self._bnp("bn_dense"), self.eps)
        return x @ w["dense_1/kernel"] + w["dense_1/bias"]


class _TorchNet:
    eps = 1e-5

    def __init__(self, path):
        self.w = {k: v.float() for k, v in torch.load(path, map_location="cpu").items()}
        self.fast = None

    def _bnp(self, prefix):
        w = self.w
        return (w[prefix + ".weight"], w[prefix + ".bias"], w[prefix + ".running_mean"],
                w[prefix + ".running_var"])

    def mel(self, audio):
        """(1, 1, 96, T) normalised dB mel of 16 kHz audio."""
        db = frontend.torch_db_mel(audio, self.w["spec.mel_scale.fb"],
                                   self.w["spec.spectrogram.window"])
        return _bn(db[None, None], self._bnp("spec_bn"), self.eps)


class TorchMusicnn(_TorchNet, _Musicnn):
    """Won et al.'s MusiCNN (the Jamendo .pth): batch norm before ReLU,
    temporal filters over the band mean, pooled features maxima first."""
    patch_frames = 188  # 48,000 samples, centred frames

    def _block(self, x, prefix, conv, pad):
        y = conv(x, self.w[prefix + ".conv.weight"], self.w[prefix + ".conv.bias"], padding=pad)
        return F.relu(_bn(y, self._bnp(prefix + ".bn"), self.eps))

    def _fast_timbral(self):
        convs = []
        for i in (0, 1):
            p = self._bnp("layers.%d.bn" % i)
            act = (lambda p: lambda y: F.relu(_bn(y, p, self.eps, -1)))(p)
            w = self.w["layers.%d.conv.weight" % i][:, 0].permute(0, 2, 1)  # (out, kt, kf)
            convs.append(fastconv.FreqConv(w, self.w["layers.%d.conv.bias" % i], 96, act, p[0],
                                           _chunk(w.shape[2])))
        return convs

    def feature_map(self, x, fast=True):
        """x: mel() output -> (753, T)."""
        front = []
        if fast:
            if self.fast is None:
                self.fast = self._fast_timbral()
            xt = F.pad(x[0, 0].t(), (0, 0, 3, 3))
            front = [conv(xt).t() for conv in self.fast]
        else:
            for i in (0, 1):
                k = self.w["layers.%d.conv.weight" % i].shape[3]
                y = self._block(x, "layers.%d" % i, F.conv2d, (0, k // 2))
                front.append(y.max(dim=2).values[0])
        band_mean = x.mean(dim=2)
        for i in (2, 3, 4):
            k = self.w["layers.%d.conv.weight" % i].shape[2]
            front.append(self._block(band_mean, "layers.%d" % i, F.conv1d, k // 2)[0])
        front = torch.cat(front, 0)
        r1 = self._block(front[None], "layer1", F.conv1d, 3)[0]
        r2 = self._block(r1[None], "layer2", F.conv1d, 3)[0] + r1
        r3 = self._block(r2[None], "layer3", F.conv1d, 3)[0] + r2
        return torch.cat([front, r1, r2, r3], 0)

    @staticmethod
    def pool(maxima, means):
        return torch.cat([maxima, means], dim=1)

    def head(self, emb):
        w = self.w
        x = emb @ w["dense1.weight"].t() + w["dense1.bias"]
        x = F.relu(_bn(x, self._bnp("bn"), self.eps))
        return x @ w["dense2.weight"].t() + w["dense2.bias"]


class Fcn(_TorchNet):
    """Choi et al.'s FCN as Won et al. trained it: 29.1 s in, 50 tags out."""
    samples = 464000
    pools = ((2, 4), (2, 4), (2, 4), (3, 5), (4, 4))

    def _folded(self):
        """Each block's convolution with its batch norm folded in: since
        max pooling and ReLU commute, a block is then conv, pool, ReLU,
        which spares three passes over the largest (64 x 96 x 1813) map."""
        layers = []
        for i in range(len(self.pools)):
            p = "layer%d" % (i + 1)
            gamma, beta, mean, var = self._bnp(p + ".bn")
            scale = gamma / torch.sqrt(var + self.eps)
            w = self.w[p + ".conv.weight"] * scale[:, None, None, None]
            layers.append((w, (self.w[p + ".conv.bias"] - mean) * scale + beta))
        return layers

    def tags(self, audio):
        """audio: exactly 464,000 samples -> (50,) probabilities."""
        if self.fast is None:
            self.fast = self._folded()
        x = self.mel(audio)
        for (w, b), pool in zip(self.fast, self.pools):
            if x.shape[1] == 1:  # one input channel: the oneDNN path is 2x faster
                y = torch.mkldnn_convolution(x.to_mkldnn(), w.to_mkldnn(), b.to_mkldnn(),
                                             (1, 1), (1, 1), (1, 1), 1).to_dense()
            else:
                y = F.conv2d(x, w, b, padding=1)
            x = F.relu(F.max_pool2d(y, pool))
        x = x.reshape(1, -1)
        return torch.sigmoid(x @ self.w["dense.weight"].t() + self.w["dense.bias"])[0]
