// Winograd F(4x4, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2015):
// each 4x4 output tile is A^T [(G g G^T) . (B^T d B)] A for its 6x6 input tile d, so a 3x3 layer
// takes 36 multiplications per tile and channel pair instead of 144.
//
// The work is done a group of `GROUP` tiles at a time, so that a group's transformed inputs and
// products stay in the core's cache: transform the group's inputs (V, per point: tiles x input
// channels), multiply them by the transformed weights (U, per point: input x output channels), then
// transform the products (M) back into output pixels with the bias and activation (and, for a
// residual block's last layer, its scaled residual) applied.
//
// The maps themselves are mostly larger than the caches (a 192-channel dense block of a 400/40 tile
// is 44 MB): each worker prefetches the next group's input rows while it multiplies the current
// one, and writes its outputs with streaming stores, which skip reading each line before writing
// it (the README has the figures).

#include "CWinograd.h"

#include <immintrin.h>
#include <stdlib.h>

#define AVX512 __attribute__((target("avx512f,avx512dq,fma")))

/// Tiles per group: the rows of the multiplication's register block (GROUP x 32 outputs in 24 of
/// AVX-512's 32 registers).
enum { GROUP = 12, LANES = 16, POINTS = 36 };

// G (6x3), the weights' transform.
static const float G6x3[6][3] = {
    {1.0f / 4, 0, 0},
    {-1.0f / 6, -1.0f / 6, -1.0f / 6},
    {-1.0f / 6, 1.0f / 6, -1.0f / 6},
    {1.0f / 24, 1.0f / 12, 1.0f / 6},
    {1.0f / 24, -1.0f / 12, 1.0f / 6},
    {0, 0, 1},
};

/// U[p][o] for input channel k: G g G^T of every output channel's 3x3 kernel, vectorised over the
/// output channels. `taps` holds 9 x O floats, `half` 18 x O, `column` 36 x O.
static void transform_weight_column(const float *weights, int K, int O, int k, float *taps, float *half, float *column) {
    for (int o = 0; o < O; o++)
        for (int t = 0; t < 9; t++) taps[t * O + o] = weights[((size_t)o * K + k) * 9 + t];
    // half = G g: 6x3.
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 3; j++)
            for (int o = 0; o < O; o++)
                half[(i * 3 + j) * O + o] = G6x3[i][0] * taps[j * O + o] + G6x3[i][1] * taps[(3 + j) * O + o] + G6x3[i][2] * taps[(6 + j) * O + o];
    // U = half G^T: 6x6.
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
            for (int o = 0; o < O; o++)
                column[(i * 6 + j) * O + o] = half[(i * 3) * O + o] * G6x3[j][0] + half[(i * 3 + 1) * O + o] * G6x3[j][1] + half[(i * 3 + 2) * O + o] * G6x3[j][2];
}

int fr_winograd4x3_transform_weights(const float *weights, int in_channels, int out_channels,
                                     int first_in_channel, int end_in_channel, float *transformed) {
    const int K = in_channels, O = out_channels;
    float *scratch = malloc(sizeof(float) * 63 * (size_t)O);
    if (!scratch) return -1;
    for (int k = first_in_channel; k < end_in_channel; k++) {
        float *column = scratch + 27 * O;
        transform_weight_column(weights, K, O, k, scratch, scratch + 9 * O, column);
        for (int p = 0; p < POINTS; p++)
            for (int o = 0; o < O; o++) transformed[((size_t)p * K + k) * O + o] = column[p * O + o];
    }
    free(scratch);
    return 0;
}

/// Output tiles of 4x4 pixels over a `height x width` plane, in row-major order.
static long fr_winograd4x3_tile_count(int height, int width) {
    return (long)((height + 3) / 4) * ((width + 3) / 4);
}

// B^T applied to six vectors (one column or row of a 6x6 tile).
AVX512 static inline void input_transform6(const __m512 d[6], __m512 r[6]) {
    const __m512 four = _mm512_set1_ps(4), minus4 = _mm512_set1_ps(-4), minus5 = _mm512_set1_ps(-5), two = _mm512_set1_ps(2);
    r[0] = _mm512_fmadd_ps(four, d[0], _mm512_fmadd_ps(minus5, d[2], d[4]));
    __m512 a = _mm512_fmadd_ps(minus4, d[1], d[3]), b = _mm512_fmadd_ps(minus4, d[2], d[4]);
    r[1] = _mm512_add_ps(a, b);
    r[2] = _mm512_sub_ps(b, a);
    __m512 c = _mm512_mul_ps(two, _mm512_sub_ps(d[3], d[1])), e = _mm512_sub_ps(d[4], d[2]);
    r[3] = _mm512_add_ps(e, c);
    r[4] = _mm512_sub_ps(e, c);
    r[5] = _mm512_fmadd_ps(four, d[1], _mm512_fmadd_ps(minus5, d[3], d[5]));
}

// A^T applied to six vectors, giving four.
AVX512 static inline void output_transform6(const __m512 m[6], __m512 r[4]) {
    __m512 a = _mm512_add_ps(m[1], m[2]), b = _mm512_sub_ps(m[1], m[2]);
    __m512 c = _mm512_add_ps(m[3], m[4]), d = _mm512_sub_ps(m[3], m[4]);
    r[0] = _mm512_add_ps(_mm512_add_ps(m[0], a), c);
    r[1] = _mm512_fmadd_ps(_mm512_set1_ps(2), d, b);
    r[2] = _mm512_fmadd_ps(_mm512_set1_ps(4), c, a);
    r[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8), d, b), m[5]);
}

/// B^T d B for the 6x6 tile of 16 channels whose top left is row `y0`, column `x0` of a `W`-wide
/// plane (only the rows and columns `valid_rows` / `valid_columns` mark are read, the others are
/// the zero padding), stored at `V + at` (point p at `at + p * stride`). Each column is transformed
/// as it is loaded.
AVX512 static inline void transform_tile(const float *block, int W, int y0, int x0, unsigned valid_rows, unsigned valid_columns,
                                         float *V, size_t at, size_t stride) {
    __m512 columns[6][6];  // columns[j][i]: (B^T d)[i][j]
    for (int j = 0; j < 6; j++) {
        __m512 d[6];
        for (int i = 0; i < 6; i++)
            d[i] = (valid_rows >> i & valid_columns >> j & 1)
                ? _mm512_load_ps(block + ((size_t)(y0 + i) * W + (size_t)(x0 + j)) * LANES) : _mm512_setzero_ps();
        input_transform6(d, columns[j]);
    }
    for (int i = 0; i < 6; i++) {
        __m512 row[6], result[6];
        for (int j = 0; j < 6; j++) row[j] = columns[j][i];
        input_transform6(row, result);
        for (int j = 0; j < 6; j++) _mm512_store_ps(V + at + (size_t)(i * 6 + j) * stride, result[j]);
    }
}

/// Bits 0-5 set for the positions `start + 0 ... start + 5` inside `0 ..< limit`.
static inline unsigned valid_positions(int start, int limit) {
    unsigned bits = 0;
    for (int i = 0; i < 6; i++) bits |= (unsigned)(start + i >= 0 && start + i < limit) << i;
    return bits;
}

/// V[p][r][k] for a group's tiles (rows past `count` are zero), one channel block at a time, so
/// that neighbouring tiles, which share two columns of input, read it while it is in the cache.
AVX512 static void transform_inputs(const float *source, int H, int W, int K, long first, int count, int tiles_x, float *V) {
    const size_t plane = (size_t)H * W * LANES, stride = (size_t)GROUP * K;
    for (int r = count; r < GROUP; r++)
        for (int p = 0; p < POINTS; p++)
            for (int k = 0; k < K; k += LANES) _mm512_store_ps(V + (size_t)r * K + p * stride + k, _mm512_setzero_ps());
    for (int cb = 0; cb < K / LANES; cb++) {
        const float *block = source + cb * plane;
        for (int r = 0; r < count; r++) {
            const long t = first + r;
            const int y0 = (int)(t / tiles_x) * 4 - 1, x0 = (int)(t % tiles_x) * 4 - 1;
            transform_tile(block, W, y0, x0, valid_positions(y0, H), valid_positions(x0, W), V, (size_t)r * K + cb * LANES, stride);
        }
    }
}

/// M[p][r][o..<o+32] = sum over k of V[p][r][k] U[p][k][o..<o+32]: each broadcast input value
/// feeds two multiply-adds, the GROUP x 32 sums stay in 24 registers.
AVX512 static void multiply32(const float *Vp, const float *Up, int K, int O, int o, float *Mp) {
    __m512 acc[GROUP][2];
#pragma clang loop unroll(full)
    for (int r = 0; r < GROUP; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        const __m512 u0 = _mm512_loadu_ps(Up + (size_t)k * O + o), u1 = _mm512_loadu_ps(Up + (size_t)k * O + o + LANES);
#pragma clang loop unroll(full)
        for (int r = 0; r < GROUP; r++) {
            const __m512 v = _mm512_set1_ps(Vp[(size_t)r * K + k]);
            acc[r][0] = _mm512_fmadd_ps(v, u0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(v, u1, acc[r][1]);
        }
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < GROUP; r++) {
        _mm512_store_ps(Mp + (size_t)r * O + o, acc[r][0]);
        _mm512_store_ps(Mp + (size_t)r * O + o + LANES, acc[r][1]);
    }
}

/// The same for 16 outputs (a layer whose output count is an odd number of blocks).
AVX512 static void multiply16(const float *Vp, const float *Up, int K, int O, int o, float *Mp) {
    __m512 acc[GROUP];
    for (int r = 0; r < GROUP; r++) acc[r] = _mm512_setzero_ps();
    for (int k = 0; k < K; k++) {
        const __m512 u = _mm512_loadu_ps(Up + (size_t)k * O + o);
        for (int r = 0; r < GROUP; r++) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(Vp[(size_t)r * K + k]), u, acc[r]);
    }
    for (int r = 0; r < GROUP; r++) _mm512_store_ps(Mp + (size_t)r * O + o, acc[r]);
}

/// The epilogue applied to each output pixel: bias, leaky ReLU, then optionally a scaled residual.
typedef struct {
    const float *bias;
    float slope;
    /// Null, or a map like the output: `y * scale + residual[...]`, multiplied and added as two
    /// roundings (as PyTorch's `x5 * 0.2 + x`), not fused.
    const float *residual;
    float scale;
} epilogue;

/// Output pixels of the group's tiles from M, with the epilogue applied.
AVX512 static void transform_outputs(const float *M, int H, int W, int O, long first, int count, int tiles_x,
                                     const epilogue *e, float *destination) {
    const size_t plane = (size_t)H * W * LANES;
    const float *bias = e->bias, *residual = e->residual;
    const __m512 s = _mm512_set1_ps(e->slope), scale = _mm512_set1_ps(e->scale);
    for (int r = 0; r < count; r++) {
        const long t = first + r;
        const int y0 = (int)(t / tiles_x) * 4, x0 = (int)(t % tiles_x) * 4;
        for (int ob = 0; ob < O / LANES; ob++) {
            __m512 m[6][6], columns[6][4];
            for (int p = 0; p < POINTS; p++) m[p % 6][p / 6] = _mm512_load_ps(M + ((size_t)p * GROUP + r) * O + ob * LANES);
            for (int j = 0; j < 6; j++) output_transform6(m[j], columns[j]);  // columns[j][i]: A^T M, column j
            const __m512 b = bias ? _mm512_loadu_ps(bias + ob * LANES) : _mm512_setzero_ps();
            for (int i = 0; i < 4 && y0 + i < H; i++) {
                __m512 row[6], out[4];
                for (int j = 0; j < 6; j++) row[j] = columns[j][i];
                output_transform6(row, out);
                for (int j = 0; j < 4 && x0 + j < W; j++) {
                    __m512 v = _mm512_add_ps(out[j], b);
                    v = _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ), v, s);
                    const size_t at = ob * plane + ((size_t)(y0 + i) * W + x0 + j) * LANES;
                    if (residual) v = _mm512_add_ps(_mm512_mul_ps(v, scale), _mm512_load_ps(residual + at));
                    _mm512_stream_ps(destination + at, v);
                }
            }
        }
    }
}

/// Each thread's V and M, kept for its next call: they are written for every group anyway, and a
/// fresh allocation per call would fault its pages in again. At most the widest layer's
/// `POINTS * GROUP * (in + out)` floats per thread (442 KB for 192 -> 64 channels).
static _Thread_local float *scratch;
static _Thread_local size_t scratch_floats;

static float *thread_scratch(size_t floats) {
    if (floats > scratch_floats) {
        free(scratch);
        scratch = aligned_alloc(64, sizeof(float) * floats);
        scratch_floats = scratch ? floats : 0;
    }
    return scratch;
}

/// The next group's first tile and tile count, claimed from `*next_group`; 0 tiles when none remain.
static int claim_group(long *next_group, long tiles, long *first) {
    *first = __atomic_fetch_add(next_group, 1, __ATOMIC_RELAXED) * GROUP;
    if (*first >= tiles) return 0;
    return tiles - *first < GROUP ? (int)(tiles - *first) : GROUP;
}

/// The input pixels a group reads, as (channel block, tile) windows of 6x6 pixels, to prefetch
/// while the group before it is multiplied: the maps are mostly larger than the caches, and the
/// loads of each window's rows, 12 tiles at a time, are too short for the hardware prefetcher.
typedef struct {
    const float *source;
    int H, W, tiles_x, count;
    long first;
    int windows;  // count x channel blocks; 0: nothing to prefetch
} prefetch_plan;

/// Prefetches windows `start ..< end` of `plan` into L2.
static inline void prefetch_windows(const prefetch_plan *plan, int start, int end) {
    const size_t plane = (size_t)plan->H * plan->W * LANES;
    for (int w = start; w < end; w++) {
        const int cb = w / plan->count, r = w % plan->count;
        const long t = plan->first + r;
        const int y0 = (int)(t / plan->tiles_x) * 4 - 1, x0 = (int)(t % plan->tiles_x) * 4 - 1;
        const float *block = plan->source + cb * plane;
        for (int i = 0; i < 6; i++) {
            const int y = y0 + i;
            if (y < 0 || y >= plan->H) continue;
            for (int j = 0; j < 6; j++) {
                const int x = x0 + j;
                if (x >= 0 && x < plan->W) _mm_prefetch((const char *)(block + ((size_t)y * plan->W + x) * LANES), _MM_HINT_T1);
            }
        }
    }
}

int fr_winograd4x3_run(const float *source, int height, int width, int in_channels,
                       const float *transformed, const float *bias, int out_channels,
                       float *destination, float negative_slope, const float *residual, float output_scale,
                       long *next_group) {
    const epilogue e = {bias, negative_slope, residual, output_scale};
    const int K = in_channels, O = out_channels, tiles_x = (width + 3) / 4;
    float *V = thread_scratch((size_t)POINTS * GROUP * (K + O));
    if (!V) return -1;
    float *M = V + (size_t)POINTS * GROUP * K;
    const long tiles = fr_winograd4x3_tile_count(height, width);
    // Each worker claims its next group before multiplying the current one, to prefetch its inputs.
    long first, next;
    int count = claim_group(next_group, tiles, &first);
    while (count > 0) {
        const int next_count = claim_group(next_group, tiles, &next);
        const prefetch_plan plan = {source, height, width, tiles_x, next_count, next, next_count * (K / LANES)};
        transform_inputs(source, height, width, K, first, count, tiles_x, V);
        for (int p = 0; p < POINTS; p++) {
            prefetch_windows(&plan, plan.windows * p / POINTS, plan.windows * (p + 1) / POINTS);
            const float *Vp = V + (size_t)p * GROUP * K, *Up = transformed + (size_t)p * K * O;
            float *Mp = M + (size_t)p * GROUP * O;
            int o = 0;
            for (; o + 2 * LANES <= O; o += 2 * LANES) multiply32(Vp, Up, K, O, o, Mp);
            if (o < O) multiply16(Vp, Up, K, O, o, Mp);
        }
        transform_outputs(M, height, width, O, first, count, tiles_x, &e, destination);
        first = next;
        count = next_count;
    }
    _mm_sfence();
    return 0;
}
