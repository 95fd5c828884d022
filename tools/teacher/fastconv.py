"""MusiCNN's front-end convolutions as large matrix products.

Its convolutions have one input channel, where the library's convolutions
run at a fraction of the machine's matrix-product speed; rewritten as
products with Toeplitz matrices (built once per network) they run 2-4x
faster. Both kinds are followed by batch norm, ReLU and a max over the
frequency axis; batch norm and ReLU are monotone per channel (increasing
where the norm's scale is positive, decreasing where it is negative), so
the max over frequency of the activations is the activation of the max
(or min) of the raw convolution: only the (time, channel) extrema are ever
activated, never the whole (time, channel, frequency) volume."""
import torch

TIME_BLOCK = 512  # frames per product: bounds memory on long files


class FreqConv:
    """A (kt frames x kf bands) convolution sliding over all bands of a
    (T, bands) map ('valid' in frequency), then activated and max-pooled
    over frequency. weight: (channels, kt, kf); bias: (channels,)."""

    def __init__(self, weight, bias, bands, activate, scale, chunk=20):
        out, kt, kf = weight.shape
        self.kt, self.bands, self.activate, self.scale = kt, bands, activate, scale
        positions = bands - kf + 1
        self.chunk = min(chunk, positions)
        # Chunks of output positions; the last one overlaps its neighbour
        # (harmless under a max).
        self.starts = list(range(0, positions - self.chunk, self.chunk)) + [positions - self.chunk]
        span = self.chunk + kf - 1
        m = torch.zeros(kt, span, out, self.chunk)
        for f in range(self.chunk):
            m[:, f:f + kf, :, f] = weight.permute(1, 2, 0)
        self.matrix = m.reshape(kt * span, out * self.chunk)
        self.span, self.out, self.bias = span, out, bias

    def __call__(self, x):
        """x: (T + kt - 1, bands), already padded in time -> (T, channels)."""
        frames = x.shape[0] - self.kt + 1
        result = torch.empty(frames, self.out)
        for a in range(0, frames, TIME_BLOCK):
            b = min(frames, a + TIME_BLOCK)
            taps = x[a:b + self.kt - 1].unfold(0, self.kt, 1)  # (n, bands, kt)
            taps = taps.permute(0, 2, 1).contiguous()  # (n, kt, bands)
            hi = lo = None
            for s in self.starts:
                y = taps[:, :, s:s + self.span].reshape(b - a, -1) @ self.matrix
                y = y.view(b - a, self.out, self.chunk)
                ymax, ymin = y.max(dim=2).values, y.min(dim=2).values
                hi = ymax if hi is None else torch.maximum(hi, ymax)
                lo = ymin if lo is None else torch.minimum(lo, ymin)
            hi, lo = self.activate(hi + self.bias), self.activate(lo + self.bias)
            result[a:b] = torch.where(self.scale >= 0, hi, lo)
        return result


class BandTimeConv:
    """A k-frame convolution along time applied to every band of a
    (T, bands) map separately, activated and max-pooled over bands.
    weight: (channels, k); bias: (channels,)."""

    def __init__(self, weight, bias, activate, scale):
        out, k = weight.shape
        self.k, self.out, self.bias, self.activate, self.scale = k, out, bias, activate, scale
        self.block = max(k, 128)  # outputs per row: short rows waste the product
        m = torch.zeros(self.block + k - 1, out, self.block)
        for i in range(self.block):
            m[i:i + k, :, i] = weight.t()
        self.matrix = m.reshape(self.block + k - 1, out * self.block)

    def __call__(self, x):
        """x: (T + k - 1, bands), padded in time -> (T, channels)."""
        frames, bands = x.shape[0] - self.k + 1, x.shape[1]
        blocks = -(-frames // self.block)
        need = blocks * self.block + self.k - 1
        x = torch.nn.functional.pad(x, (0, 0, 0, need - x.shape[0]))
        rows = x.t().unfold(1, self.block + self.k - 1, self.block)  # (bands, blocks, span)
        result = torch.empty(blocks * self.block, self.out)
        for a in range(0, blocks, TIME_BLOCK // self.block or 1):
            b = min(blocks, a + (TIME_BLOCK // self.block or 1))
            y = rows[:, a:b].reshape(-1, rows.shape[2]) @ self.matrix
            y = y.view(bands, b - a, self.out, self.block)
            hi = y.max(dim=0).values.permute(0, 2, 1).reshape(-1, self.out) + self.bias
            lo = y.min(dim=0).values.permute(0, 2, 1).reshape(-1, self.out) + self.bias
            hi, lo = self.activate(hi), self.activate(lo)
            result[a * self.block:b * self.block] = torch.where(self.scale >= 0, hi, lo)
        return result[:frames]
