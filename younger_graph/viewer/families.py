"""Operator families: the colour groups of the view page (and its legend)."""

from __future__ import annotations

FAMILIES: dict[str, tuple[str, ...]] = {
    "conv": ("Conv", "ConvTranspose", "ConvInteger", "QLinearConv", "DeformConv", "NhwcConv", "FusedConv"),
    "linear": ("MatMul", "Gemm", "MatMulInteger", "QLinearMatMul", "FusedMatMul", "Einsum", "Attention", "QAttention",
               "MultiHeadAttention", "MatMulNBits", "DynamicQuantizeMatMul", "FusedGemm", "Linear"),
    "norm": ("BatchNormalization", "LayerNormalization", "InstanceNormalization", "GroupNormalization",
             "LpNormalization", "SkipLayerNormalization", "SimplifiedLayerNormalization", "RMSNormalization", "LRN",
             "MeanVarianceNormalization", "EmbedLayerNormalization"),
    "activation": ("Relu", "Sigmoid", "Tanh", "Gelu", "FastGelu", "BiasGelu", "QuickGelu", "Softmax", "LogSoftmax",
                   "Hardmax", "HardSigmoid", "HardSwish", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Softplus",
                   "Softsign", "Mish", "ThresholdedRelu", "Swish", "Shrink", "QLinearSigmoid", "QLinearLeakyRelu"),
    "pool": ("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool", "GlobalLpPool", "MaxRoiPool",
             "RoiAlign", "MaxUnpool", "QLinearAveragePool", "QLinearGlobalAveragePool"),
    "math": ("Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Exp", "Log", "Abs", "Neg", "Reciprocal", "Floor", "Ceil",
             "Round", "Min", "Max", "Sum", "Mean", "Clip", "Erf", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh",
             "Cosh", "Sign", "Mod", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
             "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "CumSum", "QLinearAdd", "QLinearMul",
             "BitShift", "Det"),
    "shape": ("Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Concat", "Split", "SplitToSequence", "Slice",
              "Gather", "GatherElements", "GatherND", "Scatter", "ScatterElements", "ScatterND", "Expand", "Tile",
              "Pad", "Shape", "Size", "Cast", "CastLike", "Identity", "Constant", "ConstantOfShape", "Range", "Where",
              "Resize", "Upsample", "DepthToSpace", "SpaceToDepth", "NonZero", "TopK", "OneHot", "Trilu", "ArgMax",
              "ArgMin", "Compress", "ReverseSequence", "Dropout", "EyeLike", "QLinearConcat", "GridSample",
              "SequenceAt", "SequenceConstruct", "SequenceEmpty", "SequenceInsert", "SequenceLength",
              "ConcatFromSequence", "Unique", "NonMaxSuppression"),
    "logic": ("Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Not", "Xor", "IsNaN", "IsInf",
              "BitwiseAnd", "BitwiseOr", "BitwiseNot", "BitwiseXor"),
    "control": ("If", "Loop", "Scan"),
    "quant": ("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "QGemm"),
    "recurrent": ("LSTM", "GRU", "RNN"),
}
NAMES = (*FAMILIES, "io", "other")
_BY_OP = {op: name for name, ops in FAMILIES.items() for op in ops}


def family(op_type: str, kind: str = "operator") -> str:
    """The family of an operator (`io` for graph inputs and outputs, `other` when unknown)."""
    if kind != "operator":
        return "io"
    return _BY_OP.get(op_type, "other")
