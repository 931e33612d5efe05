"""Source of the definitions a generated JAX/Flax script may need besides ``flax.linen``.

:data:`HELPERS` maps a name to its source; a script carries only those its model uses.
``glorot`` and the ``Dense``/``Conv``/``ConvTranspose`` partials give Keras' default
kernel initialiser (Glorot-uniform), as the JAX backend does.
"""

from __future__ import annotations

__all__ = ["HELPERS", "helper_source"]

HELPERS: dict[str, str] = {}

HELPERS["glorot"] = '''\
glorot = nn.initializers.glorot_uniform()  # Keras' default kernel initialiser'''

HELPERS["Dense"] = "Dense = functools.partial(nn.Dense, kernel_init=glorot)"
HELPERS["Conv"] = "Conv = functools.partial(nn.Conv, kernel_init=glorot)"
HELPERS["ConvTranspose"] = '''\
# transpose_kernel=True: the gradient of a convolution, as Keras' Conv2DTranspose.
ConvTranspose = functools.partial(nn.ConvTranspose, kernel_init=glorot, transpose_kernel=True)'''

HELPERS["embedding_init"] = '''\
def embedding_init(key: jax.Array, shape: tuple[int, ...], dtype=jnp.float32) -> jax.Array:
    """Keras' Embedding initialiser, U(-0.05, 0.05)."""
    return jax.random.uniform(key, shape, dtype, -0.05, 0.05)'''

HELPERS["TransformerEncoder"] = '''\
class TransformerEncoder(nn.Module):
    """KerasHub's post-norm encoder block (layer-norm epsilon 1e-5)::

        y = LayerNorm(x + Dropout(SelfAttention(x)))
        out = LayerNorm(y + Dropout(Dense(features)(activation(Dense(ff_dim)(y)))))
    """

    num_heads: int
    ff_dim: int
    dropout: float = 0.1
    activation: Callable = nn.relu

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        features = x.shape[-1]
        head_size = features // self.num_heads
        attention = nn.MultiHeadDotProductAttention(
            num_heads=self.num_heads, qkv_features=head_size * self.num_heads,
            out_features=features, dropout_rate=self.dropout, broadcast_dropout=False,
            kernel_init=glorot, deterministic=not train, name="attention")(x)
        attention = nn.Dropout(self.dropout, deterministic=not train)(attention)
        x = nn.LayerNorm(epsilon=1e-5, name="attention_norm")(x + attention)
        ffn = self.activation(Dense(self.ff_dim, name="ffn_1")(x))
        ffn = nn.Dropout(self.dropout, deterministic=not train)(Dense(features, name="ffn_2")(ffn))
        return nn.LayerNorm(epsilon=1e-5, name="ffn_norm")(x + ffn)'''

HELPERS["KerasRNN"] = '''\
class KerasRNN(nn.Module):
    """A Keras recurrent layer with ``recurrent_dropout``, which flax's cells lack.

    Keras' gates and formulas (LSTM: i, f, c, o with a forget bias of one; GRU: z, r, h
    with reset_after), ``dropout`` on the inputs and ``recurrent_dropout`` on the state,
    one mask per sequence; ``reverse`` runs backwards (the second half of Bidirectional).
    """

    kind: str
    units: int
    activation: Callable = jnp.tanh
    return_sequences: bool = False
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    reverse: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        gates, units = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}[self.kind], self.units
        x = nn.Dropout(self.dropout, broadcast_dims=(1,), deterministic=not train)(x)
        mask = nn.Dropout(self.recurrent_dropout, deterministic=not train)(
            jnp.ones((x.shape[0], units), x.dtype))

        def bias_init(key, shape, dtype=jnp.float32):
            bias = jnp.zeros(shape, dtype)
            return bias.at[units:2 * units].set(1.0) if self.kind == "LSTM" else bias

        w = self.param("kernel", glorot, (x.shape[-1], gates * units))
        u = self.param("recurrent_kernel", nn.initializers.orthogonal(), (units, gates * units))
        b = self.param("bias", bias_init, (gates * units,))
        b_rec = (self.param("recurrent_bias", nn.initializers.zeros, (gates * units,))
                 if self.kind == "GRU" else jnp.zeros_like(b))
        xs = jnp.swapaxes(x @ w + b, 0, 1)  # (time, batch, gates * units)
        if self.reverse:
            xs = xs[::-1]

        def step(carry, mx):
            h, c = carry
            mh = (h * mask) @ u + b_rec
            if self.kind == "SimpleRNN":
                h = self.activation(mx + mh)
            elif self.kind == "LSTM":
                i, f, g, o = jnp.split(mx + mh, 4, axis=-1)
                c = nn.sigmoid(f) * c + nn.sigmoid(i) * self.activation(g)
                h = nn.sigmoid(o) * self.activation(c)
            else:
                xz, xr, xh = jnp.split(mx, 3, axis=-1)
                hz, hr, hh = jnp.split(mh, 3, axis=-1)
                z, r = nn.sigmoid(xz + hz), nn.sigmoid(xr + hr)
                h = z * h + (1.0 - z) * self.activation(xh + r * hh)
            return (h, c), h

        zeros = jnp.zeros((x.shape[0], units), x.dtype)
        (h, _), hs = jax.lax.scan(step, (zeros, zeros), xs)
        if not self.return_sequences:
            return h
        return jnp.swapaxes(hs[::-1] if self.reverse else hs, 0, 1)'''

#: helpers another helper needs
_NEEDS = {"Dense": ("glorot",), "Conv": ("glorot",), "ConvTranspose": ("glorot",),
          "TransformerEncoder": ("glorot", "Dense"), "KerasRNN": ("glorot",)}


def helper_source(names: set[str]) -> list[str]:
    """The sources of ``names`` (and what they use), in dependency order.

    The one-line definitions (``glorot`` and the partials) come as one section.
    """
    wanted = set(names)
    for n in list(wanted):
        wanted.update(_NEEDS.get(n, ()))
    short = [HELPERS[n] for n in ("glorot", "Dense", "Conv", "ConvTranspose") if n in wanted]
    out = ["\n".join(short)] if short else []
    return out + [src for name, src in HELPERS.items()
                  if name in wanted and name not in ("glorot", "Dense", "Conv", "ConvTranspose")]
