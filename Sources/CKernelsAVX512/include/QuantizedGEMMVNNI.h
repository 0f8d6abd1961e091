// The int8 GEMM micro-kernel for AVX512_VNNI (`vpdpbusd`), in C for the reason the AVX2 one is (see
// CKernelsAVX2): a small target built with -march=x86-64-v4 -mavx512vnni, called from Tensors only
// when the CPU has AVX512_VNNI (see QuantizedKernel). Row quantization stays in Swift; this target
// packs the weight panels, narrows the quantized rows to int8 and runs the tiles.
#ifndef PERISCOPE_QGEMM_VNNI_H
#define PERISCOPE_QGEMM_VNNI_H

#include <stdint.h>

/// Output channels per packed weight panel (one zmm of int32 sums).
#define PERISCOPE_QGEMM_VNNI_PANEL_WIDTH 16
/// Rows of A per register tile.
#define PERISCOPE_QGEMM_VNNI_TILE_ROWS 6

/// Returns 1 when this build contains the VNNI kernel (x86-64), 0 elsewhere.
int periscope_qgemm_vnni_built(void);

/// Bytes a packed copy of an N×K int8 weight takes: ⌈N/16⌉ panels of 64·⌈K/4⌉ bytes.
long periscope_qgemm_vnni_packed_size(long outputs, long depth);

/// Packs W[N×K] (int8 in [-127, 127], row-major) into panels of 16 channels × quads of k, each value
/// offset by +128 into an unsigned byte (vpdpbusd multiplies unsigned by signed bytes):
///   panel p, quad q holds W[16p + j, 4q + t] + 128 at panels[p·64·quads + 64q + 4j + t],
/// and 128 (a zero weight) past N and K. `panels` holds `periscope_qgemm_vnni_packed_size` bytes.
void periscope_qgemm_vnni_pack(const int8_t *weights, long outputs, long depth, uint8_t *panels);

/// Narrows quantized rows (int16 values in [-127, 127], rows `sourceStride` apart) to int8 rows of
/// `targetStride` bytes (zero from `depth` on; a multiple of 4) and writes each row's Σ_k q_k, which
/// the epilogue needs to take the weights' +128 back out.
void periscope_qgemm_vnni_narrow(long rows, long depth, const int16_t *source, long sourceStride,
                                 int8_t *target, long targetStride, int32_t *rowSums);

/// C[i, j] for rows 0..<M and the output channels of panels [panelBegin, panelEnd) (j < N):
///   s = Σ_k (W[j,k] + 128)·A[i,k] − 128·rowSums[i]   (= Σ_k A[i,k]·W[j,k], exact in int32)
///   v = float(s) · (rowScales[i] · columnScales[j]);  v = v + bias[j];  v = C[i,j] + v (accumulate);  relu
/// the same operations in the same order as the AVX2 kernel and `Reference.quantizedLinear`.
/// A is int8 with rows `aRowStride` (a multiple of 4) apart, zero past K.
void periscope_qgemm_vnni(long rows, long quads, const int8_t *a, long aRowStride, const int32_t *rowSums,
                          const float *rowScales, const uint8_t *panels, long panelBegin, long panelEnd,
                          const float *columnScales, const float *bias, long outputs, float *c, long cRowStride,
                          int accumulate, int relu);

/// Integer operations (a multiply and an add per product) one iteration of
/// `periscope_dpbusd_throughput` performs: 16 vpdpbusd × 64 products × 2.
#define PERISCOPE_DPBUSD_OPERATIONS_PER_ITERATION 2048

/// Runs `iterations` rounds of 16 independent vpdpbusd chains (register-only: the tile's inner step
/// without its loads) and returns a value derived from them.
int periscope_dpbusd_throughput(long iterations, int seed);

#endif
