// Integer kernels for AVX2 that Swift's SIMD types cannot express (no pmaddwd): a small C target
// built with its own -mavx2 flag, called from Tensors only when the CPU has AVX2 (see
// QuantizedKernel). Everything here is plain C with intrinsics; the shape comments follow GEMM.swift.
#ifndef PERISCOPE_CKERNELSAVX2_H
#define PERISCOPE_CKERNELSAVX2_H

#include <stdint.h>

/// Output channels per packed int8 weight panel.
#define PERISCOPE_QGEMM_PANEL_WIDTH 8
/// Rows of A per register tile.
#define PERISCOPE_QGEMM_TILE_ROWS 6

/// Returns 1 when this build contains the AVX2 kernels (x86-64), 0 elsewhere.
int periscope_qgemm_avx2_built(void);

/// Packs a quantized weight W[N×K] (int8, row-major, one row per output channel) into panels of 8
/// output channels, sign-extended to int16 and interleaved by pairs of k:
/// panel p, pair q holds W[8p + j, 2q + t] at panels[p·panelStride + 16q + 2j + t] (zero past N and K),
/// with panelStride = 16·⌈K/2⌉. `panels` must hold ⌈N/8⌉·panelStride int16 values.
void periscope_qgemm_pack_avx2(const int8_t *weights, long outputs, long depth, int16_t *panels);

/// Quantizes each row of X[M×K] (float, rows `xRowStride` apart) symmetrically to int16 values in
/// [-127, 127]: scale = max|x| / 127, q = round-half-even(x · (127 / max|x|)) (0 for an all-zero row),
/// stored in rows `outputRowStride` apart and zero-filled up to the even length 2·⌈K/2⌉.
void periscope_quantize_rows_avx2(long rows, long depth, const float *x, long xRowStride,
                                  int16_t *output, long outputRowStride, float *scales);

/// C[i, j] for rows 0..<M and the output channels of panels [panelBegin, panelEnd) (j < N):
///   v = float(Σ_k A[i,k]·W[j,k]) · (rowScales[i] · columnScales[j]);  v = v + bias[j];  v = C[i,j] + v (accumulate);  relu
/// A is int16 (values in [-127, 127]) with rows `aRowStride` apart and zeros past K up to 2·pairs;
/// the sums are exact in int32 for K < 2^17 (each pmaddwd pair is at most 2·127²).
void periscope_qgemm_avx2(long rows, long pairs, const int16_t *a, long aRowStride, const float *rowScales,
                          const int16_t *panels, long panelBegin, long panelEnd, const float *columnScales,
                          const float *bias, long outputs, float *c, long cRowStride, int accumulate, int relu);

#endif
