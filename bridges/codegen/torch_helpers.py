"""Source of the small helper classes a generated PyTorch script may need.

torch layers are channel-first and have no layer for some DSL kinds, so a script carries the
few helpers its model uses (and only those): :data:`HELPERS` maps a helper's name to its
source, in an order where every helper comes after the ones it uses. ``keras_init`` is always
included: it gives every layer Keras' default initialisation (Glorot-uniform kernels,
orthogonal recurrent kernels, zero biases, a forget-gate bias of one, U(-0.05, 0.05)
embeddings), as the JAX backend does.
"""

from __future__ import annotations

__all__ = ["HELPERS", "helper_source"]

HELPERS: dict[str, str] = {}

HELPERS["ChannelLast"] = '''\
class ChannelLast(nn.Module):
    """Runs a channel-first torch layer on a channel-last tensor (the DSL's layout).

    ``pad`` (``F.pad`` amounts, last axis first) and ``crop`` (``(start, stop)`` per spatial
    axis) express TensorFlow's "same"/"causal" padding where torch's own padding cannot.
    """

    def __init__(self, layer: nn.Module, pad: tuple[int, ...] | None = None,
                 pad_value: float = 0.0, crop: tuple[tuple[int, int], ...] | None = None):
        super().__init__()
        self.layer = layer
        self.pad = pad
        self.pad_value = pad_value
        self.crop = crop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.movedim(-1, 1)
        if self.pad is not None:
            x = F.pad(x, self.pad, value=self.pad_value)
        x = self.layer(x)
        if self.crop is not None:
            x = x[(slice(None), slice(None)) + tuple(slice(a, b) for a, b in self.crop)]
        return x.movedim(1, -1)'''

HELPERS["AvgPoolSame"] = '''\
class AvgPoolSame(nn.Module):
    """Average pooling with TensorFlow's "same" padding: padded cells are not counted."""

    def __init__(self, pool: nn.Module, pad: tuple[int, ...]):
        super().__init__()
        self.pool = pool
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ones = torch.ones_like(x[:, :1])
        return self.pool(F.pad(x, self.pad)) / self.pool(F.pad(ones, self.pad))'''

HELPERS["GlobalPool"] = '''\
class GlobalPool(nn.Module):
    """Global average or max pooling over every spatial axis of a channel-last tensor."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(1, x.dim() - 1))
        return x.mean(dim=dims) if self.kind == "average" else x.amax(dim=dims)'''

HELPERS["Reshape"] = '''\
class Reshape(nn.Module):
    """Reshapes every example (the batch axis is kept)."""

    def __init__(self, shape: tuple[int, ...]):
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape((x.shape[0],) + self.shape)'''

HELPERS["GaussianNoise"] = '''\
class GaussianNoise(nn.Module):
    """Adds N(0, stddev^2) noise while training."""

    def __init__(self, stddev: float):
        super().__init__()
        self.stddev = stddev

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.stddev * torch.randn_like(x) if self.training else x'''

HELPERS["Recurrent"] = '''\
class Recurrent(nn.Module):
    """A torch RNN/LSTM/GRU used like a Keras recurrent layer.

    Returns the whole sequence or the last state; a bidirectional one merges its directions
    like Keras' Bidirectional (concat, sum, mul or ave). ``dropout`` drops input features
    with one mask per sequence, as Keras' ``dropout`` does.
    """

    def __init__(self, rnn: nn.Module, return_sequences: bool = False,
                 merge_mode: str = "concat", dropout: float = 0.0):
        super().__init__()
        self.rnn = rnn
        self.return_sequences = return_sequences
        self.merge_mode = merge_mode
        self.dropout = nn.Dropout1d(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dropout(x.transpose(1, 2)).transpose(1, 2)
        out, state = self.rnn(x)
        h = state[0] if isinstance(state, tuple) else state  # (directions, batch, units)
        if not self.rnn.bidirectional:
            return out if self.return_sequences else h[-1]
        if self.return_sequences:
            forward, backward = out.chunk(2, dim=-1)
        else:
            forward, backward = h[-2], h[-1]
        if self.merge_mode == "concat":
            return torch.cat([forward, backward], dim=-1)
        if self.merge_mode == "sum":
            return forward + backward
        if self.merge_mode == "mul":
            return forward * backward
        return (forward + backward) / 2'''

HELPERS["KerasRNN"] = '''\
class KerasRNN(nn.Module):
    """A Keras recurrent layer step by step, where torch's fused layers cannot express it.

    Gates in Keras' order and formulas (LSTM: i, f, c, o; GRU: z, r, h with reset_after),
    any ``activation``, ``dropout`` on the inputs and ``recurrent_dropout`` on the state,
    one mask per sequence; ``reverse`` runs backwards (the second half of Bidirectional).
    """

    GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}

    def __init__(self, kind: str, features: int, units: int, activation=torch.tanh,
                 return_sequences: bool = False, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, reverse: bool = False):
        super().__init__()
        gates = self.GATES[kind]
        self.kind, self.units, self.activation = kind, units, activation
        self.return_sequences, self.reverse = return_sequences, reverse
        self.dropout, self.recurrent_dropout = dropout, recurrent_dropout
        self.kernel = nn.Linear(features, gates * units)
        self.recurrent_kernel = nn.Linear(units, gates * units, bias=kind == "GRU")
        self.keras_reset()

    def keras_reset(self) -> None:
        """Keras' initialisation (``keras_init`` calls it after its children's)."""
        nn.init.xavier_uniform_(self.kernel.weight)
        nn.init.orthogonal_(self.recurrent_kernel.weight)
        nn.init.zeros_(self.kernel.bias)
        if self.kind == "LSTM":
            with torch.no_grad():
                self.kernel.bias[self.units:2 * self.units] = 1.0
        if self.kind == "GRU":
            nn.init.zeros_(self.recurrent_kernel.bias)

    def _mask(self, like: torch.Tensor, rate: float) -> torch.Tensor | None:
        if not self.training or rate == 0:
            return None
        return torch.bernoulli(torch.full_like(like, 1 - rate)) / (1 - rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, steps = x.shape[:2]
        in_mask = self._mask(x[:, :1], self.dropout)
        if in_mask is not None:
            x = x * in_mask
        h = x.new_zeros(batch, self.units)
        c = x.new_zeros(batch, self.units)
        rec_mask = self._mask(h, self.recurrent_dropout)
        mx_all = self.kernel(x)
        outputs = []
        order = range(steps - 1, -1, -1) if self.reverse else range(steps)
        for t in order:
            mx = mx_all[:, t]
            mh = self.recurrent_kernel(h if rec_mask is None else h * rec_mask)
            if self.kind == "SimpleRNN":
                h = self.activation(mx + mh)
            elif self.kind == "LSTM":
                i, f, g, o = (mx + mh).chunk(4, dim=-1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * self.activation(g)
                h = torch.sigmoid(o) * self.activation(c)
            else:
                xz, xr, xh = mx.chunk(3, dim=-1)
                hz, hr, hh = mh.chunk(3, dim=-1)
                z, r = torch.sigmoid(xz + hz), torch.sigmoid(xr + hr)
                h = z * h + (1 - z) * self.activation(xh + r * hh)
            outputs.append(h)
        if not self.return_sequences:
            return h
        if self.reverse:
            outputs.reverse()
        return torch.stack(outputs, dim=1)'''

HELPERS["Bidirectional"] = '''\
class Bidirectional(nn.Module):
    """Keras' Bidirectional around two KerasRNN layers (forward and backward)."""

    def __init__(self, forward_layer: nn.Module, backward_layer: nn.Module,
                 merge_mode: str = "concat"):
        super().__init__()
        self.forward_layer = forward_layer
        self.backward_layer = backward_layer
        self.merge_mode = merge_mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.forward_layer(x), self.backward_layer(x)
        if self.merge_mode == "concat":
            return torch.cat([a, b], dim=-1)
        if self.merge_mode == "sum":
            return a + b
        if self.merge_mode == "mul":
            return a * b
        return (a + b) / 2'''

HELPERS["TimeDistributed"] = '''\
class TimeDistributed(nn.Module):
    """Applies a layer to every time step (the time axis is folded into the batch)."""

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, steps = x.shape[:2]
        y = self.layer(x.reshape((batch * steps,) + x.shape[2:]))
        return y.reshape((batch, steps) + y.shape[1:])'''

HELPERS["Residual"] = '''\
class Residual(nn.Module):
    """``block(x) + shortcut(x)``: the shortcut is the identity or a 1x1 projection."""

    def __init__(self, block: nn.Module, projection: nn.Module | None = None):
        super().__init__()
        self.block = block
        self.projection = projection

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.projection is None else self.projection(x)
        return self.block(x) + shortcut'''

HELPERS["SelfAttention"] = '''\
class SelfAttention(nn.Module):
    """Keras' MultiHeadAttention applied to (x, x, x): ``num_heads`` heads of size
    ``key_dim``, projected back to x's width; ``dropout`` drops attention probabilities."""

    def __init__(self, features: int, num_heads: int, key_dim: int, dropout: float = 0.0):
        super().__init__()
        self.num_heads, self.key_dim = num_heads, key_dim
        self.query = nn.Linear(features, num_heads * key_dim)
        self.key = nn.Linear(features, num_heads * key_dim)
        self.value = nn.Linear(features, num_heads * key_dim)
        self.output = nn.Linear(num_heads * key_dim, features)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, steps, _ = x.shape

        def heads(layer: nn.Module) -> torch.Tensor:
            return layer(x).view(batch, steps, self.num_heads, self.key_dim).transpose(1, 2)

        q, k, v = heads(self.query), heads(self.key), heads(self.value)
        scores = q @ k.transpose(-2, -1) / self.key_dim ** 0.5
        context = self.dropout(scores.softmax(dim=-1)) @ v
        return self.output(context.transpose(1, 2).reshape(batch, steps, -1))'''

HELPERS["TransformerEncoder"] = '''\
class TransformerEncoder(nn.Module):
    """KerasHub's post-norm encoder block (layer-norm epsilon 1e-5)::

        y = LayerNorm(x + Dropout(SelfAttention(x)))
        out = LayerNorm(y + Dropout(FFN(y)))      FFN = Linear(activation(Linear(y)))

    ``ffn`` replaces the feed-forward part when the DSL gives the layer a block.
    """

    def __init__(self, features: int, num_heads: int, ff_dim: int, dropout: float = 0.1,
                 activation: nn.Module | None = None, ffn: nn.Module | None = None):
        super().__init__()
        self.attention = SelfAttention(features, num_heads, features // num_heads, dropout)
        self.attention_norm = nn.LayerNorm(features, eps=1e-5)
        self.ffn = ffn if ffn is not None else nn.Sequential(
            nn.Linear(features, ff_dim), activation or nn.ReLU(), nn.Linear(ff_dim, features))
        self.ffn_norm = nn.LayerNorm(features, eps=1e-5)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.attention_norm(x + self.dropout(self.attention(x)))
        return self.ffn_norm(x + self.dropout(self.ffn(x)))'''

HELPERS["PositionalEmbedding"] = '''\
class PositionalEmbedding(nn.Module):
    """Adds a learned vector to each position (the DSL's PositionalEmbedding)."""

    def __init__(self, max_len: int, features: int):
        super().__init__()
        self.embeddings = nn.Parameter(nn.init.xavier_uniform_(torch.empty(max_len, features)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.embeddings[: x.shape[1]]'''

HELPERS["keras_init"] = '''\
def keras_init(module: nn.Module) -> None:
    """Keras' default initialisation, so training starts as in Keras and JAX."""
    if hasattr(module, "keras_reset"):
        module.keras_reset()
    elif isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d)):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.uniform_(module.weight, -0.05, 0.05)
    elif isinstance(module, (nn.RNN, nn.LSTM, nn.GRU)):
        for name, w in module.named_parameters():
            if name.startswith("weight_ih"):
                nn.init.xavier_uniform_(w)
            elif name.startswith("weight_hh"):
                nn.init.orthogonal_(w)
            else:
                nn.init.zeros_(w)
                if isinstance(module, nn.LSTM) and name.startswith("bias_ih"):
                    with torch.no_grad():
                        w[module.hidden_size:2 * module.hidden_size] = 1.0  # forget gate'''

HELPERS["Lion"] = '''\
class Lion(torch.optim.Optimizer):
    """Lion (Chen et al. 2023): the sign of an interpolated momentum, as Keras and optax."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.99)):
        super().__init__(params, {"lr": lr, "betas": betas})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            beta_1, beta_2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                m = self.state[p].setdefault("m", torch.zeros_like(p))
                p.add_(torch.sign(beta_1 * m + (1 - beta_1) * p.grad), alpha=-group["lr"])
                m.mul_(beta_2).add_(p.grad, alpha=1 - beta_2)'''

#: helpers another helper needs
_NEEDS = {"TransformerEncoder": ("SelfAttention",), "Bidirectional": ("KerasRNN",)}


def helper_source(names: set[str]) -> list[str]:
    """The sources of ``names`` (and what they use), in dependency order."""
    wanted = set(names)
    for n in list(wanted):
        wanted.update(_NEEDS.get(n, ()))
    return [src for name, src in HELPERS.items() if name in wanted]
