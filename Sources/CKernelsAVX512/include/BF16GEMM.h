// The bfloat16 GEMM for linear layers computing in bfloat16, in C because Swift's SIMD types have no
// bf16 dot product (vdpbf16ps): conversion of float32 to bf16 (round to nearest even), the weight
// packing, the micro-kernel with its float32 epilogue, and the register-only throughput loop.
// Built with -march=x86-64-v4 -mavx512bf16; called from Tensors only when the CPU has AVX512_BF16
// (see ComputePrecision.unavailableReason). Elsewhere every function but `..._built` traps.
#ifndef PERISCOPE_BF16GEMM_H
#define PERISCOPE_BF16GEMM_H

#include <stdint.h>

/// Output channels per packed bf16 weight panel (one zmm of bf16 pairs).
#define PERISCOPE_BF16_PANEL_WIDTH 16
/// Rows of A per register tile.
#define PERISCOPE_BF16_TILE_ROWS 6
/// Panels per register tile: 6 rows × 4 panels = 24 zmm float32 accumulators.
#define PERISCOPE_BF16_TILE_PANELS 4

/// Returns 1 when this build contains the AVX-512 bf16 kernels (x86-64), 0 elsewhere.
int periscope_bf16_avx512_built(void);

/// Converts `count` floats to bf16 bit patterns as vcvtne2ps2bf16 does: round to nearest even, a NaN
/// stays a NaN (quieted, sign kept), a denormal becomes a zero of its sign (DAZ), ±inf stays.
void periscope_bf16_convert(const float *source, long count, uint16_t *target);

/// bf16 values a packed copy of an N×K weight takes: ⌈N/16⌉ panels × 32·pairs, pairs = ⌈K/2⌉.
long periscope_bf16_packed_count(long outputs, long depth);

/// Converts W[N×K] (float32, row-major, one row per output channel) to bf16 and packs it into panels
/// of 16 channels interleaved by pairs of k: panel p, pair q holds W[16p + j, 2q + t] at
/// panels[p·panelStride + 32q + 2j + t] (zero past N and K), panelStride = 32·pairs. `panels` is
/// 64-byte aligned and holds `periscope_bf16_packed_count` values.
void periscope_bf16_pack(const float *weights, long outputs, long depth, uint16_t *panels);

/// Converts rows of X[M×K] (rows `xRowStride` floats apart) to bf16 rows `aRowStride` values apart
/// (aRowStride ≥ 2·pairs), zero from K to 2·pairs.
void periscope_bf16_convert_rows(const float *x, long rows, long depth, long xRowStride, uint16_t *a, long aRowStride);

/// C[i, j] for rows 0..<M and the output channels of panels [panelBegin, panelEnd) (j < N):
///   s = 0; for q in pairs: s = s + a[i,2q+1]·w[j,2q+1]; s = s + a[i,2q]·w[j,2q]   (vdpbf16ps, float32)
///   v = s; v = v + bias[j]; v = C[i,j] + v (accumulate); relu (v > 0 ? v : 0)
/// A is bf16 rows `aRowStride` apart with zeros past K up to 2·pairs. The panels of the range are
/// swept in groups of 4 by every 6-row tile, `panelBlock` panels at a time (so a block stays in L2).
void periscope_bf16_gemm(long rows, long pairs, const uint16_t *a, long aRowStride, const uint16_t *panels,
                         long panelBegin, long panelEnd, long panelBlock, const float *bias, long outputs,
                         float *c, long cRowStride, int accumulate, int relu);

/// Floating-point operations one iteration of `periscope_bf16_dot_throughput` performs:
/// 24 vdpbf16ps × 16 lanes × 2 products × 2 (a multiply and an add each).
#define PERISCOPE_BF16_OPERATIONS_PER_ITERATION 1536

/// Runs `iterations` rounds of 24 independent vdpbf16ps chains (register-only: the tile's inner step
/// without its loads) and returns a value derived from them.
float periscope_bf16_dot_throughput(long iterations, float seed);

#endif
