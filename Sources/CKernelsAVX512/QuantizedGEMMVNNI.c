// AVX512_VNNI int8 GEMM micro-kernel for dynamically quantized linear layers. `vpdpbusd` multiplies
// 4 unsigned bytes by 4 signed bytes and adds the four products to an int32 lane in one instruction,
// without the intermediate int16 saturation of vpmaddubsw: 64 products per zmm instruction against
// 16 for the AVX2 kernel's vpmaddwd + vpaddd on ymm.
//
// Operands: the activations are the signed side (symmetric int8, as for AVX2), broadcast 4 bytes at
// a time from memory (the instruction's m32bcst operand); the weights are the unsigned side, stored
// +128 ([1, 255]). Then Σ (w + 128)·a = Σ w·a + 128·Σ a, so the epilogue subtracts 128·Σ_k a_ik,
// which the narrowing pass computes per row: the sums stay exact and equal the AVX2 kernel's.
//
// Shape letters: M rows of A and C, N output channels, K depth (quads = ⌈K/4⌉). Tiles are
// 6 rows × 64 channels (four panels of 16): 24 zmm accumulators, 4 weight vectors, the broadcasts
// folded into the instructions. Built with -ffp-contract=off so the epilogue rounds exactly like its
// naive twin (`Reference.quantizedLinear`): separate multiply and adds, in the same order.
#include "QuantizedGEMMVNNI.h"
#include <string.h>

long periscope_qgemm_vnni_packed_size(long outputs, long depth) {
    return (outputs + 15) / 16 * 64 * ((depth + 3) / 4);
}

void periscope_qgemm_vnni_pack(const int8_t *weights, long outputs, long depth, uint8_t *panels) {
    long quads = (depth + 3) / 4, panelStride = 64 * quads;
    memset(panels, 128, (size_t)periscope_qgemm_vnni_packed_size(outputs, depth));
    for (long j = 0; j < outputs; j++) {
        uint8_t *panel = panels + (j / 16) * panelStride + 4 * (j % 16);
        const int8_t *row = weights + j * depth;
        for (long k = 0; k < depth; k++) panel[64 * (k / 4) + k % 4] = (uint8_t)(row[k] + 128);
    }
}

void periscope_qgemm_vnni_narrow(long rows, long depth, const int16_t *source, long sourceStride,
                                 int8_t *target, long targetStride, int32_t *rowSums) {
    for (long i = 0; i < rows; i++) {
        const int16_t *from = source + i * sourceStride;
        int8_t *to = target + i * targetStride;
        int32_t sum = 0;
        for (long k = 0; k < depth; k++) {
            to[k] = (int8_t)from[k];
            sum += from[k];
        }
        for (long k = depth; k < targetStride; k++) to[k] = 0;
        rowSums[i] = sum;
    }
}

#if defined(__x86_64__) && defined(__AVX512VNNI__) && defined(__AVX512BW__)
#include <immintrin.h>

int periscope_qgemm_vnni_built(void) { return 1; }

/// Dequantizes one row × 16 channels of sums and stores the valid ones (masked past N).
static inline void storeSixteen(__m512i sums, int32_t rowSum, float rowScale, const float *columnScales, const float *bias,
                                long column, long outputs, float *c, int accumulate, int relu) {
    long valid = outputs - column;
    if (valid <= 0) return;
    __mmask16 mask = valid >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << valid) - 1);
    __m512i exact = _mm512_sub_epi32(sums, _mm512_set1_epi32(128 * rowSum));
    __m512 scale = _mm512_mul_ps(_mm512_set1_ps(rowScale), _mm512_maskz_loadu_ps(mask, columnScales + column));
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(exact), scale);
    if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, bias + column));
    if (accumulate) v = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, c + column), v);
    if (relu) v = _mm512_max_ps(v, _mm512_setzero_ps());
    _mm512_mask_storeu_ps(c + column, mask, v);
}

/// The 4 bytes A[i, 4q..4q+3] in all 16 lanes (folded into vpdpbusd's m32bcst operand).
static inline __m512i quad(const int8_t *row, long q) {
    int32_t four;
    memcpy(&four, row + 4 * q, sizeof four);
    return _mm512_set1_epi32(four);
}
#define QUAD(row, q) quad(row, q)
#define DOT(acc, w, x) acc = _mm512_dpbusd_epi32(acc, w, x)
#define ROW(r, x) DOT(c##r##0, w0, x); DOT(c##r##1, w1, x); DOT(c##r##2, w2, x); DOT(c##r##3, w3, x)

/// One tile: `tileRows` ≤ 6 rows (missing ones alias row 0 and are not stored) × up to four panels
/// (missing ones alias the first and are not stored).
static void tile(long tileRows, long quads, const int8_t *a, long aRowStride, const int32_t *rowSums, const float *rowScales,
                 const uint8_t *panel0, const uint8_t *panel1, const uint8_t *panel2, const uint8_t *panel3, long panels,
                 long column, const float *columnScales, const float *bias, long outputs, float *c, long cRowStride,
                 int accumulate, int relu) {
    const int8_t *a0 = a;
    const int8_t *a1 = tileRows > 1 ? a + aRowStride : a;
    const int8_t *a2 = tileRows > 2 ? a + 2 * aRowStride : a;
    const int8_t *a3 = tileRows > 3 ? a + 3 * aRowStride : a;
    const int8_t *a4 = tileRows > 4 ? a + 4 * aRowStride : a;
    const int8_t *a5 = tileRows > 5 ? a + 5 * aRowStride : a;
    __m512i c00 = _mm512_setzero_si512(), c01 = _mm512_setzero_si512(), c02 = _mm512_setzero_si512(), c03 = _mm512_setzero_si512();
    __m512i c10 = _mm512_setzero_si512(), c11 = _mm512_setzero_si512(), c12 = _mm512_setzero_si512(), c13 = _mm512_setzero_si512();
    __m512i c20 = _mm512_setzero_si512(), c21 = _mm512_setzero_si512(), c22 = _mm512_setzero_si512(), c23 = _mm512_setzero_si512();
    __m512i c30 = _mm512_setzero_si512(), c31 = _mm512_setzero_si512(), c32 = _mm512_setzero_si512(), c33 = _mm512_setzero_si512();
    __m512i c40 = _mm512_setzero_si512(), c41 = _mm512_setzero_si512(), c42 = _mm512_setzero_si512(), c43 = _mm512_setzero_si512();
    __m512i c50 = _mm512_setzero_si512(), c51 = _mm512_setzero_si512(), c52 = _mm512_setzero_si512(), c53 = _mm512_setzero_si512();
    for (long q = 0; q < quads; q++) {
        __m512i w0 = _mm512_load_si512((const void *)(panel0 + 64 * q));
        __m512i w1 = _mm512_load_si512((const void *)(panel1 + 64 * q));
        __m512i w2 = _mm512_load_si512((const void *)(panel2 + 64 * q));
        __m512i w3 = _mm512_load_si512((const void *)(panel3 + 64 * q));
        ROW(0, QUAD(a0, q)); ROW(1, QUAD(a1, q)); ROW(2, QUAD(a2, q));
        ROW(3, QUAD(a3, q)); ROW(4, QUAD(a4, q)); ROW(5, QUAD(a5, q));
    }
    __m512i sums[6][4] = {{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23},
                          {c30, c31, c32, c33}, {c40, c41, c42, c43}, {c50, c51, c52, c53}};
    for (long r = 0; r < tileRows; r++) {
        float *row = c + r * cRowStride;
        for (long p = 0; p < panels; p++) {
            storeSixteen(sums[r][p], rowSums[r], rowScales[r], columnScales, bias, column + 16 * p, outputs, row, accumulate, relu);
        }
    }
}

void periscope_qgemm_vnni(long rows, long quads, const int8_t *a, long aRowStride, const int32_t *rowSums,
                          const float *rowScales, const uint8_t *panels, long panelBegin, long panelEnd,
                          const float *columnScales, const float *bias, long outputs, float *c, long cRowStride,
                          int accumulate, int relu) {
    long panelStride = 64 * quads;
    // Blocks of up to 8 panels (128 channels; 128·K bytes) stay in L2 while every row tile sweeps them.
    for (long block = panelBegin; block < panelEnd; block += 8) {
        long blockEnd = block + 8 < panelEnd ? block + 8 : panelEnd;
        for (long i = 0; i < rows; i += PERISCOPE_QGEMM_VNNI_TILE_ROWS) {
            long tileRows = rows - i < PERISCOPE_QGEMM_VNNI_TILE_ROWS ? rows - i : PERISCOPE_QGEMM_VNNI_TILE_ROWS;
            for (long p = block; p < blockEnd; p += 4) {
                long count = blockEnd - p < 4 ? blockEnd - p : 4;
                const uint8_t *panel0 = panels + p * panelStride;
                const uint8_t *panel1 = count > 1 ? panel0 + panelStride : panel0;
                const uint8_t *panel2 = count > 2 ? panel0 + 2 * panelStride : panel0;
                const uint8_t *panel3 = count > 3 ? panel0 + 3 * panelStride : panel0;
                tile(tileRows, quads, a + i * aRowStride, aRowStride, rowSums + i, rowScales + i, panel0, panel1, panel2, panel3,
                     count, 16 * p, columnScales, bias, outputs, c + i * cRowStride, cRowStride, accumulate, relu);
            }
        }
    }
}

int periscope_dpbusd_throughput(long iterations, int seed) {
    // 16 independent vpdpbusd chains (each reads its own accumulator, so nothing is loop-invariant);
    // 16 cover the latency on every pipe that can take them.
    const __m512i w = _mm512_set1_epi32(seed | 0x01010101);
    __m512i a[16];
    for (int i = 0; i < 16; i++) a[i] = _mm512_set1_epi32(seed + i);
    for (long n = 0; n < iterations; n++) {
        a[0] = _mm512_dpbusd_epi32(a[0], w, a[0]); a[1] = _mm512_dpbusd_epi32(a[1], w, a[1]);
        a[2] = _mm512_dpbusd_epi32(a[2], w, a[2]); a[3] = _mm512_dpbusd_epi32(a[3], w, a[3]);
        a[4] = _mm512_dpbusd_epi32(a[4], w, a[4]); a[5] = _mm512_dpbusd_epi32(a[5], w, a[5]);
        a[6] = _mm512_dpbusd_epi32(a[6], w, a[6]); a[7] = _mm512_dpbusd_epi32(a[7], w, a[7]);
        a[8] = _mm512_dpbusd_epi32(a[8], w, a[8]); a[9] = _mm512_dpbusd_epi32(a[9], w, a[9]);
        a[10] = _mm512_dpbusd_epi32(a[10], w, a[10]); a[11] = _mm512_dpbusd_epi32(a[11], w, a[11]);
        a[12] = _mm512_dpbusd_epi32(a[12], w, a[12]); a[13] = _mm512_dpbusd_epi32(a[13], w, a[13]);
        a[14] = _mm512_dpbusd_epi32(a[14], w, a[14]); a[15] = _mm512_dpbusd_epi32(a[15], w, a[15]);
    }
    __m512i total = a[0];
    for (int i = 1; i < 16; i++) total = _mm512_add_epi32(total, a[i]);
    int lanes[16];
    _mm512_storeu_si512((void *)lanes, total);
    return lanes[0] ^ lanes[15];
}

#else

int periscope_qgemm_vnni_built(void) { return 0; }
int periscope_dpbusd_throughput(long iterations, int seed) {
    (void)iterations; (void)seed;
    __builtin_trap();
}
void periscope_qgemm_vnni(long rows, long quads, const int8_t *a, long aRowStride, const int32_t *rowSums,
                          const float *rowScales, const uint8_t *panels, long panelBegin, long panelEnd,
                          const float *columnScales, const float *bias, long outputs, float *c, long cRowStride,
                          int accumulate, int relu) {
    (void)rows; (void)quads; (void)a; (void)aRowStride; (void)rowSums; (void)rowScales; (void)panels; (void)panelBegin;
    (void)panelEnd; (void)columnScales; (void)bias; (void)outputs; (void)c; (void)cRowStride; (void)accumulate; (void)relu;
    __builtin_trap();
}

#endif
