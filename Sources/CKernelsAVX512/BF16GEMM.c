// AVX-512 bfloat16 GEMM for linear layers computing in bfloat16: bf16 operands (weights converted and
// packed once at load, activations converted once per call), products summed in float32 by
// vdpbf16ps, and the bias, residual and ReLU applied while the sums are in registers.
//
// Why C: Swift's SIMD types have neither a bf16 element type nor a bf16 dot product, so the
// instruction is reachable only through the intrinsic (_mm512_dpbf16_ps).
//
// Shape letters: M rows of A and C, N output channels (columns of C), K depth (pairs = ⌈K/2⌉).
// Tiles are 6 rows × 64 channels (four 16-channel panels): 24 zmm float32 accumulators, 4 weight
// vectors, 1 broadcast of a row's bf16 pair as 32 bits. Per pair of k a tile issues 4 aligned
// 64-byte loads, 6 vpbroadcastd and 24 vdpbf16ps.
// Built with -march=x86-64-v4 -mavx512bf16 -ffp-contract=off so the epilogue rounds exactly like its
// naive twin (`Reference.bfloat16Linear`): separate adds, in the same order.
#include "BF16GEMM.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__AVX512BF16__) && defined(__AVX512BW__)
#include <immintrin.h>

int periscope_bf16_avx512_built(void) { return 1; }

void periscope_bf16_convert(const float *source, long count, uint16_t *target) {
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        __m256bh converted = _mm512_cvtneps_pbh(_mm512_loadu_ps(source + i));
        _mm256_storeu_si256((__m256i *)(target + i), (__m256i)converted);
    }
    if (i < count) {
        // Masked lanes are neither read nor written (no fault past the end).
        __mmask16 mask = (__mmask16)((1u << (count - i)) - 1);
        __m256bh converted = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, source + i));
        _mm256_mask_storeu_epi16(target + i, mask, (__m256i)converted);
    }
}

long periscope_bf16_packed_count(long outputs, long depth) {
    return (outputs + 15) / 16 * 32 * ((depth + 1) / 2);
}

void periscope_bf16_pack(const float *weights, long outputs, long depth, uint16_t *panels) {
    long pairs = (depth + 1) / 2, panelStride = 32 * pairs;
    memset(panels, 0, (size_t)periscope_bf16_packed_count(outputs, depth) * sizeof(uint16_t));
    uint16_t *row = (uint16_t *)malloc((size_t)(depth > 0 ? depth : 1) * sizeof(uint16_t));
    for (long j = 0; j < outputs; j++) {
        periscope_bf16_convert(weights + j * depth, depth, row);
        uint16_t *panel = panels + (j / 16) * panelStride + 2 * (j % 16);
        for (long k = 0; k < depth; k++) panel[32 * (k / 2) + k % 2] = row[k];
    }
    free(row);
}

void periscope_bf16_convert_rows(const float *x, long rows, long depth, long xRowStride, uint16_t *a, long aRowStride) {
    long padded = 2 * ((depth + 1) / 2);
    for (long i = 0; i < rows; i++) {
        periscope_bf16_convert(x + i * xRowStride, depth, a + i * aRowStride);
        for (long k = depth; k < padded; k++) a[i * aRowStride + k] = 0;
    }
}

/// The pair A[i, 2q], A[i, 2q+1] in all 16 lanes.
static inline __m512bh broadcastPair(const uint16_t *row, long q) {
    int32_t pair;
    memcpy(&pair, row + 2 * q, sizeof pair);
    return (__m512bh)_mm512_set1_epi32(pair);
}

/// Applies the epilogue to one row × 16 channels of sums and stores the valid ones (masked: nothing
/// past N is read or written).
static inline void storeSixteen(__m512 v, const float *bias, long column, long outputs, float *c, int accumulate, int relu) {
    long valid = outputs - column < 16 ? outputs - column : 16;
    __mmask16 mask = (__mmask16)(valid == 16 ? 0xFFFF : (1u << valid) - 1);
    if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, bias + column));
    if (accumulate) v = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, c + column), v);
    // vmaxps(v, 0) returns 0 for NaN and for −0: what `v > 0 ? v : 0` gives.
    if (relu) v = _mm512_max_ps(v, _mm512_setzero_ps());
    _mm512_mask_storeu_ps(c + column, mask, v);
}

#define DP(acc, x, w) acc = _mm512_dpbf16_ps(acc, x, w)

/// One tile: `tileRows` ≤ 6 rows (missing ones alias row 0 and are not stored) × `tilePanels` ≤ 4
/// panels starting at `panel` (missing ones alias the first and are not stored).
static void tile(long tileRows, long tilePanels, long pairs, const uint16_t *a, long aRowStride,
                 const uint16_t *panel, long panelStride, long column, const float *bias, long outputs,
                 float *c, long cRowStride, int accumulate, int relu) {
    const uint16_t *a0 = a;
    const uint16_t *a1 = tileRows > 1 ? a + aRowStride : a;
    const uint16_t *a2 = tileRows > 2 ? a + 2 * aRowStride : a;
    const uint16_t *a3 = tileRows > 3 ? a + 3 * aRowStride : a;
    const uint16_t *a4 = tileRows > 4 ? a + 4 * aRowStride : a;
    const uint16_t *a5 = tileRows > 5 ? a + 5 * aRowStride : a;
    const uint16_t *p0 = panel;
    const uint16_t *p1 = tilePanels > 1 ? panel + panelStride : panel;
    const uint16_t *p2 = tilePanels > 2 ? panel + 2 * panelStride : panel;
    const uint16_t *p3 = tilePanels > 3 ? panel + 3 * panelStride : panel;
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps(), c02 = _mm512_setzero_ps(), c03 = _mm512_setzero_ps();
    __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps(), c12 = _mm512_setzero_ps(), c13 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps(), c22 = _mm512_setzero_ps(), c23 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps(), c32 = _mm512_setzero_ps(), c33 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps(), c42 = _mm512_setzero_ps(), c43 = _mm512_setzero_ps();
    __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps(), c52 = _mm512_setzero_ps(), c53 = _mm512_setzero_ps();
    for (long q = 0; q < pairs; q++) {
        __m512bh w0 = (__m512bh)_mm512_load_si512((const void *)(p0 + 32 * q));
        __m512bh w1 = (__m512bh)_mm512_load_si512((const void *)(p1 + 32 * q));
        __m512bh w2 = (__m512bh)_mm512_load_si512((const void *)(p2 + 32 * q));
        __m512bh w3 = (__m512bh)_mm512_load_si512((const void *)(p3 + 32 * q));
        __m512bh x;
        x = broadcastPair(a0, q); DP(c00, x, w0); DP(c01, x, w1); DP(c02, x, w2); DP(c03, x, w3);
        x = broadcastPair(a1, q); DP(c10, x, w0); DP(c11, x, w1); DP(c12, x, w2); DP(c13, x, w3);
        x = broadcastPair(a2, q); DP(c20, x, w0); DP(c21, x, w1); DP(c22, x, w2); DP(c23, x, w3);
        x = broadcastPair(a3, q); DP(c30, x, w0); DP(c31, x, w1); DP(c32, x, w2); DP(c33, x, w3);
        x = broadcastPair(a4, q); DP(c40, x, w0); DP(c41, x, w1); DP(c42, x, w2); DP(c43, x, w3);
        x = broadcastPair(a5, q); DP(c50, x, w0); DP(c51, x, w1); DP(c52, x, w2); DP(c53, x, w3);
    }
    __m512 sums[6][4] = {{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23},
                         {c30, c31, c32, c33}, {c40, c41, c42, c43}, {c50, c51, c52, c53}};
    for (long r = 0; r < tileRows; r++) {
        float *row = c + r * cRowStride;
        for (long g = 0; g < tilePanels; g++) storeSixteen(sums[r][g], bias, column + 16 * g, outputs, row, accumulate, relu);
    }
}

void periscope_bf16_gemm(long rows, long pairs, const uint16_t *a, long aRowStride, const uint16_t *panels,
                         long panelBegin, long panelEnd, long panelBlock, const float *bias, long outputs,
                         float *c, long cRowStride, int accumulate, int relu) {
    long panelStride = 32 * pairs;
    if (panelBlock < PERISCOPE_BF16_TILE_PANELS) panelBlock = PERISCOPE_BF16_TILE_PANELS;
    // A block of panels stays in L2 while every row tile sweeps it; within it, a group of 4 panels
    // is swept by all the row tiles before the next group (its weights stay in L1/L2, A streams from L2).
    for (long block = panelBegin; block < panelEnd; block += panelBlock) {
        long blockEnd = block + panelBlock < panelEnd ? block + panelBlock : panelEnd;
        for (long p = block; p < blockEnd; p += PERISCOPE_BF16_TILE_PANELS) {
            long tilePanels = blockEnd - p < PERISCOPE_BF16_TILE_PANELS ? blockEnd - p : PERISCOPE_BF16_TILE_PANELS;
            for (long i = 0; i < rows; i += PERISCOPE_BF16_TILE_ROWS) {
                long tileRows = rows - i < PERISCOPE_BF16_TILE_ROWS ? rows - i : PERISCOPE_BF16_TILE_ROWS;
                tile(tileRows, tilePanels, pairs, a + i * aRowStride, aRowStride, panels + p * panelStride, panelStride,
                     16 * p, bias, outputs, c + i * cRowStride, cRowStride, accumulate, relu);
            }
        }
    }
}

float periscope_bf16_dot_throughput(long iterations, float seed) {
    // 24 independent vdpbf16ps chains (what a tile keeps in flight); each reads its own accumulator,
    // so nothing is loop-invariant. Operands are small so the sums stay finite and normal.
    __m512bh x = _mm512_cvtne2ps_pbh(_mm512_set1_ps(seed * 1e-6f), _mm512_set1_ps(1e-6f));
    __m512bh w = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(seed * 1e-3f));
    __m512 acc[24];
    for (int i = 0; i < 24; i++) acc[i] = _mm512_set1_ps((float)i);
    for (long n = 0; n < iterations; n++) {
        DP(acc[0], x, w); DP(acc[1], x, w); DP(acc[2], x, w); DP(acc[3], x, w); DP(acc[4], x, w); DP(acc[5], x, w);
        DP(acc[6], x, w); DP(acc[7], x, w); DP(acc[8], x, w); DP(acc[9], x, w); DP(acc[10], x, w); DP(acc[11], x, w);
        DP(acc[12], x, w); DP(acc[13], x, w); DP(acc[14], x, w); DP(acc[15], x, w); DP(acc[16], x, w); DP(acc[17], x, w);
        DP(acc[18], x, w); DP(acc[19], x, w); DP(acc[20], x, w); DP(acc[21], x, w); DP(acc[22], x, w); DP(acc[23], x, w);
    }
    __m512 total = acc[0];
    for (int i = 1; i < 24; i++) total = _mm512_add_ps(total, acc[i]);
    return _mm512_reduce_add_ps(total);
}

#else

int periscope_bf16_avx512_built(void) { return 0; }
void periscope_bf16_convert(const float *source, long count, uint16_t *target) {
    (void)source; (void)count; (void)target;
    __builtin_trap();
}
long periscope_bf16_packed_count(long outputs, long depth) {
    (void)outputs; (void)depth;
    __builtin_trap();
}
void periscope_bf16_pack(const float *weights, long outputs, long depth, uint16_t *panels) {
    (void)weights; (void)outputs; (void)depth; (void)panels;
    __builtin_trap();
}
void periscope_bf16_convert_rows(const float *x, long rows, long depth, long xRowStride, uint16_t *a, long aRowStride) {
    (void)x; (void)rows; (void)depth; (void)xRowStride; (void)a; (void)aRowStride;
    __builtin_trap();
}
void periscope_bf16_gemm(long rows, long pairs, const uint16_t *a, long aRowStride, const uint16_t *panels,
                         long panelBegin, long panelEnd, long panelBlock, const float *bias, long outputs,
                         float *c, long cRowStride, int accumulate, int relu) {
    (void)rows; (void)pairs; (void)a; (void)aRowStride; (void)panels; (void)panelBegin; (void)panelEnd; (void)panelBlock;
    (void)bias; (void)outputs; (void)c; (void)cRowStride; (void)accumulate; (void)relu;
    __builtin_trap();
}
float periscope_bf16_dot_throughput(long iterations, float seed) {
    (void)iterations; (void)seed;
    __builtin_trap();
}

#endif
