/// The `Linear` PyTorch uses for `MultiheadAttention.out_proj`; identical to `Linear`, kept as
/// its own type so descriptions match PyTorch's `repr`.
public final class NonDynamicallyQuantizableLinear: Linear {}
