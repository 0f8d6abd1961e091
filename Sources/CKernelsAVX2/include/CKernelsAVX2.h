// The int8 GEMM micro-kernel for AVX2, in C because Swift does not get LLVM to emit vpmaddwd in a
// register tile (see QuantizedGEMMAVX2.c): a small target built with its own -march=x86-64-v3,
// called from Tensors only when the CPU has AVX2 (see QuantizedKernel). The weight panels are packed
// and the rows quantized by Swift (KernelsAVX2/QuantizedGEMMAVX2.swift) in the layouts below.
#ifndef PERISCOPE_CKERNELSAVX2_H
#define PERISCOPE_CKERNELSAVX2_H

#include <stdint.h>

/// Output channels per packed int8 weight panel.
#define PERISCOPE_QGEMM_PANEL_WIDTH 8
/// Rows of A per register tile.
#define PERISCOPE_QGEMM_TILE_ROWS 6

/// Returns 1 when this build contains the AVX2 kernels (x86-64), 0 elsewhere.
int periscope_qgemm_avx2_built(void);

/// Weight panels (packed by `quantizedPackAVX2`): 8 output channels interleaved by pairs of k,
/// panel p, pair q holds W[8p + j, 2q + t] at panels[p·panelStride + 16q + 2j + t] (zero past N and K),
/// panelStride = 16·pairs, 64-byte aligned.

/// C[i, j] for rows 0..<M and the output channels of panels [panelBegin, panelEnd) (j < N):
///   v = float(Σ_k A[i,k]·W[j,k]) · (rowScales[i] · columnScales[j]);  v = v + bias[j];  v = C[i,j] + v (accumulate);  relu
/// A is int16 (values in [-127, 127]) with rows `aRowStride` apart and zeros past K up to 2·pairs;
/// the sums are exact in int32 for K < 2^17 (each pmaddwd pair is at most 2·127²).
void periscope_qgemm_avx2(long rows, long pairs, const int16_t *a, long aRowStride, const float *rowScales,
                          const int16_t *panels, long panelBegin, long panelEnd, const float *columnScales,
                          const float *bias, long outputs, float *c, long cRowStride, int accumulate, int relu);

/// Integer operations (a multiply and an add per product) one iteration of
/// `periscope_madd_throughput_avx2` performs: 12 vpmaddwd × 16 products × 2.
#define PERISCOPE_MADD_OPERATIONS_PER_ITERATION 384

/// Runs `iterations` rounds of 12 independent vpmaddwd + vpaddd chains (register-only: the tile's
/// inner step without its loads) and returns a value derived from them.
int periscope_madd_throughput_avx2(long iterations, int seed);

#endif
