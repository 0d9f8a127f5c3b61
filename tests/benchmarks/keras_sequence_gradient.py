"""Does bench's torch approach pay on TensorFlow and JAX? (issue 13, item 4): one custom
gradient for the whole sequence (``tf.custom_gradient``: a ``tf.while_loop`` forward that
keeps what the backward needs, and a hand-written backward loop; the recurrent weight's
gradient as one product afterwards) against Keras's own layers, for the LSTM and the lnrnn
cell; on JAX (``jax:lstm``), a ``jax.custom_vjp`` against JAX differentiating the
``lax.scan`` LSTM, as Keras's JAX backend runs it.

    python -m tests.benchmarks.keras_sequence_gradient [--rounds 15] [--threads 1]

Times the recurrence's forward and backward (loss sum(outputs * cotangent), gradients of
the input projection and the recurrent weights), each compiled with ``tf.function``, at the
standard size (T=100, batch 128, 128 units), alternately in one process, after warm-up;
checks first that both give the same gradients. Prints median ms and the ratio.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from tests.benchmarks.conftest import interleaved_medians, loadavg  # noqa: E402

EPSILON = 1e-3  # the lnrnn cell's layer-norm epsilon (harness.reference)


@tf.custom_gradient
def lstm_sequence(xw, recurrent):
    """h_t, c_t of the LSTM (gates i, f, g, o as Keras orders them) for time-major ``xw``
    [T, batch, 4H] (x W + b) and ``recurrent`` U [H, 4H]; returns the outputs [T, batch, H]."""
    steps, batch, hidden = tf.shape(xw)[0], tf.shape(xw)[1], tf.shape(recurrent)[0]
    zeros = tf.zeros([batch, hidden])

    def step(t, h, c, hs, cs, acts):
        z = xw[t] + tf.matmul(h, recurrent)
        i, f, g, o = tf.split(z, 4, axis=-1)
        i, f, g, o = tf.sigmoid(i), tf.sigmoid(f), tf.tanh(g), tf.sigmoid(o)
        c = f * c + i * g
        h = o * tf.tanh(c)
        return (t + 1, h, c, hs.write(t, h), cs.write(t, c),
                acts.write(t, tf.concat([i, f, g, o], -1)))

    arrays = [tf.TensorArray(tf.float32, size=steps) for _ in range(3)]
    _, _, _, hs, cs, acts = tf.while_loop(lambda t, *_: t < steps, step,
                                          (0, zeros, zeros, *arrays))
    hs, cs, acts = hs.stack(), cs.stack(), acts.stack()

    def grad(d_hs):
        previous_h = tf.concat([zeros[None], hs[:-1]], 0)
        previous_c = tf.concat([zeros[None], cs[:-1]], 0)
        tanh_c = tf.tanh(cs)
        u_t = tf.transpose(recurrent)

        def back(t, dh_next, dc, d_pre):
            i, f, g, o = tf.split(acts[t], 4, axis=-1)
            dh = d_hs[t] + dh_next
            dc = dc + dh * o * (1 - tanh_c[t] ** 2)
            d = tf.concat([dc * g * i * (1 - i), dc * previous_c[t] * f * (1 - f),
                           dc * i * (1 - g * g), dh * tanh_c[t] * o * (1 - o)], -1)
            return t - 1, tf.matmul(d, u_t), dc * f, d_pre.write(t, d)

        _, _, _, d_pre = tf.while_loop(
            lambda t, *_: t >= 0, back,
            (steps - 1, zeros, zeros, tf.TensorArray(tf.float32, size=steps)))
        d_pre = d_pre.stack()
        d_recurrent = tf.einsum("tbh,tbg->hg", previous_h, d_pre)
        return d_pre, d_recurrent

    return hs, grad


@tf.custom_gradient
def lnrnn_sequence(xw, recurrent, gamma, beta):
    """h_t = tanh(LayerNorm(xw_t + h_{t-1} U)) for time-major ``xw`` [T, batch, H]."""
    steps, batch, hidden = tf.shape(xw)[0], tf.shape(xw)[1], tf.shape(recurrent)[0]
    zeros = tf.zeros([batch, hidden])

    def step(t, h, hs, normed_all, rstds):
        pre = xw[t] + tf.matmul(h, recurrent)
        mean, variance = tf.nn.moments(pre, axes=[-1], keepdims=True)
        rstd = tf.math.rsqrt(variance + EPSILON)
        normed = (pre - mean) * rstd
        h = tf.tanh(normed * gamma + beta)
        return t + 1, h, hs.write(t, h), normed_all.write(t, normed), rstds.write(t, rstd)

    arrays = [tf.TensorArray(tf.float32, size=steps) for _ in range(3)]
    _, _, hs, normed_all, rstds = tf.while_loop(lambda t, *_: t < steps, step,
                                                (0, zeros, *arrays))
    hs, normed_all, rstds = hs.stack(), normed_all.stack(), rstds.stack()

    def grad(d_hs):
        u_t = tf.transpose(recurrent)

        def back(t, dh_next, d_pre, dys):
            dy = (d_hs[t] + dh_next) * (1 - hs[t] ** 2)
            g = dy * gamma
            normed = normed_all[t]
            d = rstds[t] * (g - tf.reduce_mean(g, -1, keepdims=True)
                            - normed * tf.reduce_mean(g * normed, -1, keepdims=True))
            return t - 1, tf.matmul(d, u_t), d_pre.write(t, d), dys.write(t, dy)

        _, _, d_pre, dys = tf.while_loop(
            lambda t, *_: t >= 0, back,
            (steps - 1, zeros, tf.TensorArray(tf.float32, size=steps),
             tf.TensorArray(tf.float32, size=steps)))
        d_pre, dys = d_pre.stack(), dys.stack()
        previous_h = tf.concat([zeros[None], hs[:-1]], 0)
        return (d_pre, tf.einsum("tbh,tbg->hg", previous_h, d_pre),
                tf.reduce_sum(dys * normed_all, [0, 1]), tf.reduce_sum(dys, [0, 1]))

    return hs, grad


def keras_lnrnn_layer(hidden: int):
    """The Keras backend's own lnrnn (bench_keras's cell in keras.layers.RNN)."""
    import keras

    from bench_keras.cells import LNSimpleRNNCell
    return keras.layers.RNN(LNSimpleRNNCell(hidden), return_sequences=True)


def measure(cell: str, rounds: int) -> dict[str, float]:
    import keras
    steps, batch, hidden = 100, 128, 128
    x = tf.random.normal([batch, steps, hidden])
    cotangent = tf.random.normal([batch, steps, hidden])
    if cell == "lstm":
        layer = keras.layers.LSTM(hidden, return_sequences=True)
        layer.build(x.shape)
        kernel, recurrent, bias = layer.cell.kernel, layer.cell.recurrent_kernel, layer.cell.bias
        weights = [kernel, recurrent, bias]

        def bench_outputs():
            xw = tf.einsum("bti,ig->tbg", x, kernel) + bias
            return tf.transpose(lstm_sequence(xw, recurrent), [1, 0, 2])
    else:
        layer = keras_lnrnn_layer(hidden)
        layer.build(x.shape)
        weights = list(layer.trainable_weights)
        by_name = {w.path.split("/")[-1]: w for w in weights}

        def bench_outputs():
            xw = tf.einsum("bti,ih->tbh", x, by_name["kernel"]) + by_name["bias"]
            outputs = lnrnn_sequence(xw, by_name["recurrent_kernel"], by_name["gamma"],
                                     by_name["beta"])
            return tf.transpose(outputs, [1, 0, 2])

    def gradients(outputs_of):
        @tf.function
        def run():
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(outputs_of() * cotangent)
            return tape.gradient(loss, weights)
        return run

    runs = {"keras": gradients(lambda: layer(x)), "bench": gradients(bench_outputs)}
    expected, found = runs["keras"](), runs["bench"]()
    for want, got, weight in zip(expected, found, weights, strict=True):
        scale = float(tf.reduce_max(tf.abs(want))) or 1.0
        error = float(tf.reduce_max(tf.abs(want - got))) / scale
        assert error < 1e-4, f"{cell} {weight.path}: gradients differ by {error:.2e}"
    return alternated_medians(runs, rounds, lambda grads: [g.numpy() for g in grads])


def alternated_medians(runs: dict, rounds: int, finish) -> dict[str, float]:
    """Median ms of each run, alternated after 3 warm-up rounds; ``finish`` waits for a
    run's results."""
    steps = {name: (lambda run=run: finish(run())) for name, run in runs.items()}
    return {name: median * 1e3
            for name, median in interleaved_medians(steps, rounds, warmup=3).items()}


def measure_jax_lstm(rounds: int) -> dict[str, float]:
    """The same for JAX: the LSTM as ``lax.scan`` differentiated by JAX (as Keras's JAX
    backend runs it) against a ``jax.custom_vjp`` with a hand-written backward scan."""
    from functools import partial

    import jax
    import jax.numpy as jnp

    def step(recurrent, carry, xw_t):
        h, c = carry
        i, f, g, o = jnp.split(xw_t + h @ recurrent, 4, -1)
        i, f, g, o = jax.nn.sigmoid(i), jax.nn.sigmoid(f), jnp.tanh(g), jax.nn.sigmoid(o)
        c = f * c + i * g
        h = o * jnp.tanh(c)
        return (h, c), (h, c, jnp.concatenate([i, f, g, o], -1))

    def scan(xw, recurrent):
        zeros = jnp.zeros((xw.shape[1], recurrent.shape[0]))
        return jax.lax.scan(partial(step, recurrent), (zeros, zeros), xw)[1]

    @jax.custom_vjp
    def custom(xw, recurrent):
        return scan(xw, recurrent)[0]

    def forward(xw, recurrent):
        hs, cs, acts = scan(xw, recurrent)
        return hs, (hs, cs, acts, recurrent)

    def backward(saved, d_hs):
        hs, cs, acts, recurrent = saved
        zeros = jnp.zeros_like(hs[0])
        previous_h = jnp.concatenate([zeros[None], hs[:-1]])
        previous_c = jnp.concatenate([zeros[None], cs[:-1]])

        def back(carry, inputs):
            dh_next, dc = carry
            d_h, a, tc, c_prev = inputs
            i, f, g, o = jnp.split(a, 4, -1)
            dh = d_h + dh_next
            dc = dc + dh * o * (1 - tc**2)
            d = jnp.concatenate([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                                 dc * i * (1 - g * g), dh * tc * o * (1 - o)], -1)
            return (d @ recurrent.T, dc * f), d

        _, d_pre = jax.lax.scan(back, (zeros, zeros), (d_hs, acts, jnp.tanh(cs), previous_c),
                                reverse=True)
        return d_pre, jnp.einsum("tbh,tbg->hg", previous_h, d_pre)

    custom.defvjp(forward, backward)
    steps, batch, hidden = 100, 128, 128
    keys = jax.random.split(jax.random.PRNGKey(0), 4)
    x = jax.random.normal(keys[0], (batch, steps, hidden))
    cotangent = jax.random.normal(keys[1], (steps, batch, hidden))
    weights = (jax.random.normal(keys[2], (hidden, 4 * hidden)) * 0.1,
               jax.random.normal(keys[3], (hidden, 4 * hidden)) * 0.1, jnp.zeros(4 * hidden))

    def loss(outputs_of, kernel, recurrent, bias):
        xw = jnp.einsum("bti,ig->tbg", x, kernel) + bias
        return jnp.sum(outputs_of(xw, recurrent) * cotangent)

    runs = {name: partial(jax.jit(jax.grad(partial(loss, fn), argnums=(0, 1, 2))), *weights)
            for name, fn in (("keras", lambda xw, u: scan(xw, u)[0]), ("bench", custom))}
    for want, got in zip(runs["keras"](), runs["bench"](), strict=True):
        error = float(jnp.max(jnp.abs(want - got)) / jnp.max(jnp.abs(want)))
        assert error < 1e-4, f"jax lstm: gradients differ by {error:.2e}"
    return alternated_medians(runs, rounds, jax.block_until_ready)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=0, help="0: TensorFlow's default")
    parser.add_argument("--cells", default="lstm,lnrnn,jax:lstm")
    args = parser.parse_args()
    if args.threads == 1:
        os.environ["XLA_FLAGS"] = ("--xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1")
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    print(f"TensorFlow {tf.__version__}; forward and backward of the recurrence, T=100, "
          "batch 128, 128 units")
    print("| cell | keras ms | custom gradient ms | keras ÷ custom | loadavg |\n"
          "|---|---|---|---|---|")
    for cell in args.cells.split(","):
        times = measure_jax_lstm(args.rounds) if cell == "jax:lstm" else measure(cell,
                                                                                  args.rounds)
        print(f"| {cell} | {times['keras']:.1f} | {times['bench']:.1f} | "
              f"{times['keras'] / times['bench']:.2f} | {loadavg()} |", flush=True)


if __name__ == "__main__":
    main()
