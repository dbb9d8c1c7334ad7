"""Convolution, pooling and the convolutional networks against numpy/scipy references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import signal

from jaxphys.nn import (CNN, Conv2D, ConvTranspose2D, InceptionBlock, LeNet5, UNet, avg_pool,
                        flatten, max_pool)


def _reference_conv(x, kernel, bias, stride, pad):
    """x (N, H, W, Ci), kernel (kh, kw, Ci, Co): zero-pad, full cross-correlation per
    channel pair with scipy, keep the strided 'valid' part."""
    (pt, pb), (pl, pr) = pad
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    n, _, _, ci = x.shape
    co = kernel.shape[-1]
    outs = []
    for b in range(n):
        chans = []
        for o in range(co):
            acc = sum(signal.correlate2d(xp[b, :, :, c], kernel[:, :, c, o], mode="valid")
                      for c in range(ci))
            chans.append(acc[::stride[0], ::stride[1]] + bias[o])
        outs.append(np.stack(chans, -1))
    return np.stack(outs)


@pytest.mark.parametrize("stride,padding,pads", [
    (1, "VALID", ((0, 0), (0, 0))),
    (2, 1, ((1, 1), (1, 1))),
    ((2, 1), ((2, 0), (1, 3)), ((2, 0), (1, 3))),
])
def test_conv_equals_scipy_correlate2d(stride, padding, pads, x64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 7, 6, 3))
    conv = Conv2D(features=4, kernel_size=(3, 2), strides=stride, padding=padding)
    variables = conv.init(jax.random.key(0), jnp.asarray(x))
    kernel = rng.normal(size=(3, 2, 3, 4))
    bias = rng.normal(size=4)
    got = conv.apply({"params": {"kernel": kernel, "bias": bias}}, jnp.asarray(x))
    s = (stride, stride) if isinstance(stride, int) else stride
    np.testing.assert_allclose(got, _reference_conv(x, kernel, bias, s, pads), rtol=1e-10,
                               atol=1e-10)
    assert variables["params"]["kernel"].shape == (3, 2, 3, 4)
    # a single image (H, W, C) gives the unbatched result
    np.testing.assert_allclose(conv.apply({"params": {"kernel": kernel, "bias": bias}},
                                          jnp.asarray(x[0])), got[0], rtol=1e-12)


def test_same_padding_keeps_size_and_stride_halves():
    conv = Conv2D(features=2, kernel_size=5, strides=2, padding="SAME")
    v = conv.init(jax.random.key(1), jnp.ones((1, 9, 8, 1)))
    assert conv.apply(v, jnp.ones((1, 9, 8, 1))).shape == (1, 5, 4, 2)


@pytest.mark.parametrize("kernel,stride,padding", [
    (4, 2, "SAME"), (3, 2, "SAME"), (3, 1, "SAME"), (2, 3, "SAME"), (1, 2, "SAME"),
    (3, 2, "VALID"), ((2, 3), (3, 2), "VALID"), (3, 2, ((1, 0), (2, 1))),
])
@pytest.mark.parametrize("lowering", ["matmul", "xla"])
def test_conv_transpose_equals_flax_with_the_same_parameters(kernel, stride, padding, lowering,
                                                             x64):
    """Values and both gradients equal ``flax.linen.ConvTranspose`` (XLA's input-dilated
    convolution) given the same ``kernel`` and ``bias``."""
    import flax.linen as fnn
    x = jax.random.normal(jax.random.key(0), (2, 5, 4, 3), jnp.float64)
    ours = ConvTranspose2D(features=2, kernel_size=kernel, strides=stride, padding=padding,
                           lowering=lowering)
    ks = (kernel, kernel) if isinstance(kernel, int) else kernel
    ss = (stride, stride) if isinstance(stride, int) else stride
    theirs = fnn.ConvTranspose(2, ks, strides=ss, padding=padding, param_dtype=jnp.float64)
    v = theirs.init(jax.random.key(1), x)
    v = jax.tree.map(lambda a: a + jax.random.normal(jax.random.key(2), a.shape, a.dtype), v)
    assert jax.tree.map(jnp.shape, ours.init(jax.random.key(1), x)) == jax.tree.map(jnp.shape, v)
    want, got = theirs.apply(v, x), ours.apply(v, x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    loss = lambda m: (lambda v, x: jnp.sum(jnp.sin(m.apply(v, x))))   # noqa: E731
    g_want, g_got = jax.grad(loss(theirs), (0, 1))(v, x), jax.grad(loss(ours), (0, 1))(v, x)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-11),
                 g_got, g_want)
    np.testing.assert_allclose(ours.apply(v, x[0]), want[0], rtol=1e-12, atol=1e-12)


def test_conv_transpose_same_multiplies_the_size_and_checks_channels():
    up = ConvTranspose2D(features=2, kernel_size=4, strides=2)
    v = up.init(jax.random.key(0), jnp.ones((1, 3, 5, 4)))
    assert up.apply(v, jnp.ones((1, 3, 5, 4))).shape == (1, 6, 10, 2)
    with pytest.raises(ValueError, match=r"x: this layer was built for 4 input channel.*got 1"):
        up.apply(v, jnp.ones((1, 3, 5, 1)))
    with pytest.raises(ValueError, match=r"x: ConvTranspose2D .*rank 2"):
        up.apply(v, jnp.ones((3, 5)))
    with pytest.raises(ValueError, match="strides: expected positive sizes"):
        ConvTranspose2D(features=2, strides=0).init(jax.random.key(0), jnp.ones((1, 3, 3, 1)))
    with pytest.raises(ValueError, match="lowering"):
        ConvTranspose2D(features=2, lowering="fft").init(jax.random.key(0),
                                                          jnp.ones((1, 3, 3, 1)))


def _np_pool(x, k, s, op):
    n, h, w, c = x.shape
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    out = np.empty((n, ho, wo, c))
    for i in range(ho):
        for j in range(wo):
            out[:, i, j, :] = op(x[:, i * s:i * s + k, j * s:j * s + k, :], axis=(1, 2))
    return out


@pytest.mark.parametrize("k,s", [(2, 2), (3, 1), (3, 2)])
def test_pooling_matches_numpy(k, s):
    x = np.random.default_rng(1).normal(size=(2, 7, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(max_pool(jnp.asarray(x), k, s), _np_pool(x, k, s, np.max),
                               rtol=1e-6)
    np.testing.assert_allclose(avg_pool(jnp.asarray(x), k, s), _np_pool(x, k, s, np.mean),
                               rtol=1e-5, atol=1e-6)


def test_avg_pool_same_padding_averages_real_pixels_only():
    x = jnp.arange(9.0).reshape(1, 3, 3, 1)
    got = avg_pool(x, 2, 2, "SAME")[0, :, :, 0]
    # windows: [[0,1,3,4]], [[2,5]], [[6,7]], [[8]]
    np.testing.assert_allclose(got, [[2.0, 3.5], [6.5, 8.0]])


def test_flatten():
    x = jnp.arange(2 * 3 * 4 * 5.0).reshape(2, 3, 4, 5)
    np.testing.assert_array_equal(flatten(x), np.arange(120.0).reshape(2, 60))


@pytest.fixture(scope="module")
def lenet():
    net = LeNet5()
    return net, jax.eval_shape(net.init, jax.random.key(2), jnp.ones((1, 28, 28, 1)))


def test_lenet5_cnn_inception_shapes(lenet):
    net, v = lenet
    shapes = {k: v["params"][k]["kernel"].shape for k in v["params"]}
    assert shapes == {"conv_0": (5, 5, 1, 6), "conv_1": (5, 5, 6, 16), "dense_0": (400, 120),
                      "dense_1": (120, 84), "dense_2": (84, 10)}
    assert jax.eval_shape(net.apply, v, jnp.ones((3, 28, 28, 1))).shape == (3, 10)
    cnn = CNN(features=(4, 8), dense=(16,), n_classes=5)
    v = jax.eval_shape(cnn.init, jax.random.key(3), jnp.ones((1, 8, 8, 1)))
    assert jax.eval_shape(cnn.apply, v, jnp.ones((2, 8, 8, 1))).shape == (2, 5)
    assert v["params"]["dense_0"]["kernel"].shape == (2 * 2 * 8, 16)
    blk = InceptionBlock(3, 2, 4, 1, 2, 5)
    v = jax.eval_shape(blk.init, jax.random.key(4), jnp.ones((1, 6, 6, 2)))
    assert jax.eval_shape(blk.apply, v, jnp.ones((2, 6, 6, 2))).shape == (2, 6, 6, 3 + 4 + 2 + 5)


@pytest.mark.parametrize("depth,shape", [(1, (2, 8, 6, 3)), (2, (1, 16, 8, 1))])
def test_unet_output_has_input_spatial_shape(depth, shape):
    net = UNet(out_channels=2, features=4, depth=depth)
    v = jax.eval_shape(net.init, jax.random.key(5), jnp.ones(shape))
    y = jax.eval_shape(net.apply, v, jnp.ones(shape))
    assert y.shape == shape[:3] + (2,)
    # encoder channels double per level; the skip concatenation doubles decoder inputs
    p = v["params"]
    assert p["down0_conv0"]["kernel"].shape == (3, 3, shape[-1], 4)
    assert p["bottleneck_conv0"]["kernel"].shape[-1] == 4 * 2 ** depth
    assert p["up0_conv0"]["kernel"].shape[2] == 8


def test_unet_skip_connections_carry_information():
    # perturbing one input pixel changes the output near that pixel
    net = UNet(out_channels=1, features=2, depth=1)
    x = jnp.zeros((1, 8, 8, 1))
    v = jax.jit(net.init)(jax.random.key(6), x)
    apply = jax.jit(net.apply)
    d = apply(v, x.at[0, 3, 3, 0].set(1.0)) - apply(v, x)
    assert float(jnp.abs(d[0, 3, 3, 0])) > 0


def test_wrong_rank_and_channel_count_raise(lenet):
    conv = Conv2D(features=2)
    v1 = conv.init(jax.random.key(7), jnp.ones((1, 5, 5, 1)))
    with pytest.raises(ValueError, match=r"x: this layer was built for 1 input channel.*got 3"):
        conv.apply(v1, jnp.ones((1, 5, 5, 3)))
    with pytest.raises(ValueError, match=r"x: .*\(N, H, W, C\).*rank 2"):
        conv.apply(v1, jnp.ones((5, 5)))
    with pytest.raises(ValueError, match="x: .*rank 5"):
        max_pool(jnp.ones((1, 1, 4, 4, 1)))
    net, v = lenet
    with pytest.raises(ValueError, match="x: .*1 input channel.*got 3"):
        jax.eval_shape(net.apply, v, jnp.ones((2, 28, 28, 3)))
    with pytest.raises(ValueError, match="x: LeNet5 .*rank 2"):
        jax.eval_shape(net.apply, v, jnp.ones((28, 28)))
    with pytest.raises(ValueError, match="x: LeNet5 needs images of at least"):
        jax.eval_shape(net.apply, v, jnp.ones((2, 8, 8, 1)))
    with pytest.raises(ValueError, match="x: UNet of depth 2 needs H and W divisible by 4"):
        UNet(depth=2).init(jax.random.key(9), jnp.ones((1, 10, 8, 1)))
    with pytest.raises(ValueError, match="padding"):
        Conv2D(features=2, padding="FULL").init(jax.random.key(10), jnp.ones((1, 5, 5, 1)))
