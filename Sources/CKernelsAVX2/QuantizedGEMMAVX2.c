// AVX2 int8 GEMM micro-kernel for dynamically quantized linear layers: int16 operands (int8 values
// sign-extended), vpmaddwd products summed in int32 — exact, unlike u8×s8 vpmaddubsw, which
// saturates to int16 — and the dequantization, bias, residual and ReLU applied while the sums are
// in registers.
//
// Why C and not Swift like the other kernels: Swift's SIMD types have no pmaddwd, and LLVM forms it
// from Swift SIMD code only in isolation. Tried on the release build (Swift 6.3.1, objdump, 2026-12-05):
// widen 16 lanes, multiply, `evenHalf &+ oddHalf` → vpmulld + shuffles; widen the even and the odd
// lanes, multiply, add → vpmaddwd in a lone function, but vpmulld + vpshufb in a register tile (a
// widened operand shared by four products, the sum reassociated with the accumulator) and in a
// dot-product tile of plain loads; in a register-only loop, vpmaddwd with constant weights turned
// into shifts, with run-time ones back into vpmulld. With the intrinsic the instruction is what is
// written. So this target holds only the tile loop and the throughput loop; packing and the row
// quantization are Swift (KernelsAVX2/QuantizedGEMMAVX2.swift).
//
// Shape letters: M rows of A and C, N output channels (columns of C), K depth (pairs = ⌈K/2⌉).
// Tiles are 6 rows × 16 channels (two panels): 12 ymm accumulators, 2 weight vectors, 1 broadcast.
// Built with -march=x86-64-v3 -ffp-contract=off so the epilogue rounds exactly like its naive twin
// (`Reference.quantizedLinear`): separate multiply and adds, in the same order.
#include "CKernelsAVX2.h"
#include <string.h>

#if defined(__x86_64__) && defined(__AVX2__)
#include <immintrin.h>

int periscope_qgemm_avx2_built(void) { return 1; }

/// The pair A[i, 2q], A[i, 2q+1] in all 8 lanes.
static inline __m256i broadcastPair(const int16_t *row, long q) {
    int32_t pair;
    memcpy(&pair, row + 2 * q, sizeof pair);
    return _mm256_set1_epi32(pair);
}

/// Dequantizes one row × 8 channels of sums and stores the valid ones.
static inline void storeEight(__m256i sums, float rowScale, const float *columnScales, const float *bias,
                              long column, long outputs, float *c, int accumulate, int relu) {
    long valid = outputs - column < 8 ? outputs - column : 8;
    if (valid == 8) {
        __m256 scale = _mm256_mul_ps(_mm256_set1_ps(rowScale), _mm256_loadu_ps(columnScales + column));
        __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(sums), scale);
        if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + column));
        if (accumulate) v = _mm256_add_ps(_mm256_loadu_ps(c + column), v);
        if (relu) v = _mm256_max_ps(v, _mm256_setzero_ps());
        _mm256_storeu_ps(c + column, v);
        return;
    }
    // The last panel: scalar, in the same order, so nothing past N (or past the scales) is read.
    int32_t lanes[8];
    _mm256_storeu_si256((__m256i *)lanes, sums);
    for (long j = 0; j < valid; j++) {
        float v = (float)lanes[j] * (rowScale * columnScales[column + j]);
        if (bias) v = v + bias[column + j];
        if (accumulate) v = c[column + j] + v;
        if (relu) v = v > 0 ? v : 0; // what vmaxps(v, 0) gives, NaN and −0 included
        c[column + j] = v;
    }
}

#define MADD(acc, x, w) acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x, w))

/// One tile: `tileRows` ≤ 6 rows (missing ones alias row 0 and are not stored) × one or two panels.
static void tile(long tileRows, long pairs, const int16_t *a, long aRowStride, const float *rowScales,
                 const int16_t *panel0, const int16_t *panel1, long column, const float *columnScales,
                 const float *bias, long outputs, float *c, long cRowStride, int accumulate, int relu) {
    const int16_t *a0 = a;
    const int16_t *a1 = tileRows > 1 ? a + aRowStride : a;
    const int16_t *a2 = tileRows > 2 ? a + 2 * aRowStride : a;
    const int16_t *a3 = tileRows > 3 ? a + 3 * aRowStride : a;
    const int16_t *a4 = tileRows > 4 ? a + 4 * aRowStride : a;
    const int16_t *a5 = tileRows > 5 ? a + 5 * aRowStride : a;
    __m256i c00 = _mm256_setzero_si256(), c01 = _mm256_setzero_si256();
    __m256i c10 = _mm256_setzero_si256(), c11 = _mm256_setzero_si256();
    __m256i c20 = _mm256_setzero_si256(), c21 = _mm256_setzero_si256();
    __m256i c30 = _mm256_setzero_si256(), c31 = _mm256_setzero_si256();
    __m256i c40 = _mm256_setzero_si256(), c41 = _mm256_setzero_si256();
    __m256i c50 = _mm256_setzero_si256(), c51 = _mm256_setzero_si256();
    for (long q = 0; q < pairs; q++) {
        __m256i w0 = _mm256_load_si256((const __m256i *)(panel0 + 16 * q));
        __m256i w1 = _mm256_load_si256((const __m256i *)(panel1 + 16 * q));
        __m256i x;
        x = broadcastPair(a0, q); MADD(c00, x, w0); MADD(c01, x, w1);
        x = broadcastPair(a1, q); MADD(c10, x, w0); MADD(c11, x, w1);
        x = broadcastPair(a2, q); MADD(c20, x, w0); MADD(c21, x, w1);
        x = broadcastPair(a3, q); MADD(c30, x, w0); MADD(c31, x, w1);
        x = broadcastPair(a4, q); MADD(c40, x, w0); MADD(c41, x, w1);
        x = broadcastPair(a5, q); MADD(c50, x, w0); MADD(c51, x, w1);
    }
    int second = panel1 != panel0;
    __m256i sums[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    for (long r = 0; r < tileRows; r++) {
        float *row = c + r * cRowStride;
        storeEight(sums[r][0], rowScales[r], columnScales, bias, column, outputs, row, accumulate, relu);
        if (second) storeEight(sums[r][1], rowScales[r], columnScales, bias, column + 8, outputs, row, accumulate, relu);
    }
}

void periscope_qgemm_avx2(long rows, long pairs, const int16_t *a, long aRowStride, const float *rowScales,
                          const int16_t *panels, long panelBegin, long panelEnd, const float *columnScales,
                          const float *bias, long outputs, float *c, long cRowStride, int accumulate, int relu) {
    long panelStride = 16 * pairs;
    // Blocks of up to 8 panels (64 channels) stay in L2 while every row tile sweeps them.
    for (long block = panelBegin; block < panelEnd; block += 8) {
        long blockEnd = block + 8 < panelEnd ? block + 8 : panelEnd;
        for (long i = 0; i < rows; i += PERISCOPE_QGEMM_TILE_ROWS) {
            long tileRows = rows - i < PERISCOPE_QGEMM_TILE_ROWS ? rows - i : PERISCOPE_QGEMM_TILE_ROWS;
            for (long p = block; p < blockEnd; p += 2) {
                const int16_t *panel0 = panels + p * panelStride;
                const int16_t *panel1 = p + 1 < blockEnd ? panel0 + panelStride : panel0;
                tile(tileRows, pairs, a + i * aRowStride, aRowStride, rowScales + i, panel0, panel1, 8 * p,
                     columnScales, bias, outputs, c + i * cRowStride, cRowStride, accumulate, relu);
            }
        }
    }
}

int periscope_madd_throughput_avx2(long iterations, int seed) {
    // 12 independent vpmaddwd + vpaddd chains; each multiply reads its own accumulator, so nothing
    // is loop-invariant, and 12 chains cover the latency on every pipe that can take them.
    const __m256i w = _mm256_set1_epi32(seed | 0x00010001);
    __m256i a[12];
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_epi32(seed + i);
    for (long n = 0; n < iterations; n++) {
        a[0] = _mm256_add_epi32(a[0], _mm256_madd_epi16(a[0], w)); a[1] = _mm256_add_epi32(a[1], _mm256_madd_epi16(a[1], w));
        a[2] = _mm256_add_epi32(a[2], _mm256_madd_epi16(a[2], w)); a[3] = _mm256_add_epi32(a[3], _mm256_madd_epi16(a[3], w));
        a[4] = _mm256_add_epi32(a[4], _mm256_madd_epi16(a[4], w)); a[5] = _mm256_add_epi32(a[5], _mm256_madd_epi16(a[5], w));
        a[6] = _mm256_add_epi32(a[6], _mm256_madd_epi16(a[6], w)); a[7] = _mm256_add_epi32(a[7], _mm256_madd_epi16(a[7], w));
        a[8] = _mm256_add_epi32(a[8], _mm256_madd_epi16(a[8], w)); a[9] = _mm256_add_epi32(a[9], _mm256_madd_epi16(a[9], w));
        a[10] = _mm256_add_epi32(a[10], _mm256_madd_epi16(a[10], w)); a[11] = _mm256_add_epi32(a[11], _mm256_madd_epi16(a[11], w));
    }
    __m256i total = a[0];
    for (int i = 1; i < 12; i++) total = _mm256_add_epi32(total, a[i]);
    int lanes[8];
    _mm256_storeu_si256((__m256i *)lanes, total);
    return lanes[0] ^ lanes[7];
}

#else

int periscope_qgemm_avx2_built(void) { return 0; }
int periscope_madd_throughput_avx2(long iterations, int seed) {
    (void)iterations; (void)seed;
    __builtin_trap();
}
void periscope_qgemm_avx2(long rows, long pairs, const int16_t *a, long aRowStride, const float *rowScales,
                          const int16_t *panels, long panelBegin, long panelEnd, const float *columnScales,
                          const float *bias, long outputs, float *c, long cRowStride, int accumulate, int relu) {
    (void)rows; (void)pairs; (void)a; (void)aRowStride; (void)rowScales; (void)panels; (void)panelBegin; (void)panelEnd;
    (void)columnScales; (void)bias; (void)outputs; (void)c; (void)cRowStride; (void)accumulate; (void)relu;
    __builtin_trap();
}

#endif
