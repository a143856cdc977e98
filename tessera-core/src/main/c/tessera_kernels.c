/*
 * Tessera's native weight kernels, called from Java through the FFM API (io.tessera.core.kernel.NativeKernels).
 *
 * One source, compiled by build.sh into several variants that differ only in the instructions the
 * compiler may use: generic (plain C), avx2 (AVX2, FMA, F16C) and avx512 (AVX-512 F/BW/VL and VNNI).
 * Java picks the widest variant the CPU runs (tsr_cpu_features) and validates every size and
 * offset before a call; these functions trust their arguments.
 *
 * Every function computes exactly what the Vector API kernels compute, bit for bit: integer block
 * sums are exact whatever the instructions, and the float steps after them follow the Java
 * kernels' fixed order (eight lanes, one lane per 32-value block or per eighth of a 32-value group,
 * fma where Java fuses, separate multiply and add where Java rounds twice, lanes added as
 * ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7))). So a token's result depends neither on its batch, nor on
 * the band of rows a thread is given, nor on the variant. The build passes -ffp-contract=off so
 * that the compiler fuses nothing Java does not.
 *
 * Weights are read with unaligned loads (memcpy in plain C): no alignment is required anywhere.
 */
#include <stdint.h>
#include <string.h>
#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__)
#define TSR_AVX512 1
#define TSR_VARIANT "avx512"
#elif defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define TSR_AVX2 1
#define TSR_VARIANT "avx2"
#else
#define TSR_VARIANT "generic"
#endif

#if defined(TSR_AVX512) || defined(TSR_AVX2)
#define TSR_SIMD 1
#endif

#define TSR_EXPORT __attribute__((visibility("default")))

/* Changes whenever a signature or a layout below changes; Java refuses a library of another ABI. */
#define TSR_ABI 6

enum { CHUNK = 256, BLOCK = 32, Q8_CHUNK_BYTES = 272, Q4_CHUNK_BYTES = 144, HEADER_BYTES = 16 };
/* Q6_K lane order (Q6KLanesKernel): d, 16 scales (even sub-blocks first), 128 bytes of low nibbles, 64 of high pairs. */
enum { Q6_CHUNK_BYTES = 210, Q6_HEADER_BYTES = 18, Q6_HIGH = Q6_HEADER_BYTES + 128 };

/* Activation layouts of tsr_quantize: each matches one weight layout byte for byte (Q4_K shares Q4_0's). */
enum { LAYOUT_Q8_0_LANES = 0, LAYOUT_Q4_0_LANES = 1, LAYOUT_Q6_K_LANES = 2 };

/* The lane-order weight types of lanes_rows. */
enum { K_Q8_0 = 0, K_Q4_0 = 1, K_Q4_K = 2, K_Q6_K = 3 };

/* CPU feature bits of tsr_cpu_features (Java's CpuFeatures names them in the same order). */
enum {
    F_AVX2 = 1 << 0, F_FMA = 1 << 1, F_F16C = 1 << 2, F_AVX512F = 1 << 3, F_AVX512BW = 1 << 4,
    F_AVX512VL = 1 << 5, F_AVX512VNNI = 1 << 6, F_AVX512BF16 = 1 << 7, F_AVXVNNI = 1 << 8,
    F_AMX_TILE = 1 << 9, F_AMX_INT8 = 1 << 10, F_AMX_BF16 = 1 << 11
};

TSR_EXPORT int32_t tsr_abi(void) { return TSR_ABI; }

TSR_EXPORT const char *tsr_variant(void) { return TSR_VARIANT; }

#if defined(__x86_64__)
#include <cpuid.h>
static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t) hi << 32) | lo;
}
#endif

/*
 * The features of this CPU that the operating system has enabled: AVX state needs XCR0 bits 1-2,
 * AVX-512 bits 5-7, AMX bits 17-18 (Linux also asks each process to request AMX state, which
 * only an AMX kernel would do; the bits are reported for information).
 */
TSR_EXPORT uint64_t tsr_cpu_features(void) {
    uint64_t f = 0;
#if defined(__x86_64__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) {
        return 0;
    }
    int osxsave = (c >> 27) & 1;
    uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    int avx_os = (xcr0 & 6) == 6;
    int avx512_os = avx_os && (xcr0 & 0xE0) == 0xE0;
    int amx_os = (xcr0 & 0x60000) == 0x60000;
    if (avx_os && ((c >> 12) & 1)) f |= F_FMA;
    if (avx_os && ((c >> 29) & 1)) f |= F_F16C;
    if (__get_cpuid_max(0, 0) >= 7) {
        unsigned a7, b7, c7, d7;
        __cpuid_count(7, 0, a7, b7, c7, d7);
        if (avx_os && ((b7 >> 5) & 1)) f |= F_AVX2;
        if (avx512_os && ((b7 >> 16) & 1)) f |= F_AVX512F;
        if (avx512_os && ((b7 >> 30) & 1)) f |= F_AVX512BW;
        if (avx512_os && ((b7 >> 31) & 1)) f |= F_AVX512VL;
        if (avx512_os && ((c7 >> 11) & 1)) f |= F_AVX512VNNI;
        if (amx_os && ((d7 >> 24) & 1)) f |= F_AMX_TILE;
        if (amx_os && ((d7 >> 25) & 1)) f |= F_AMX_INT8;
        if (amx_os && ((d7 >> 22) & 1)) f |= F_AMX_BF16;
        if (a7 >= 1) {
            unsigned a71, b71, c71, d71;
            __cpuid_count(7, 1, a71, b71, c71, d71);
            if (avx_os && ((a71 >> 4) & 1)) f |= F_AVXVNNI;
            if (avx512_os && ((a71 >> 5) & 1)) f |= F_AVX512BF16;
        }
    }
#endif
    return f;
}

/* ---------------------------------------------------------------- scalar helpers */

static inline uint16_t ld16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline float ldf(const uint8_t *p) { float v; memcpy(&v, p, 4); return v; }
static inline float bits_to_float(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t float_to_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* IEEE half to float, exact for every half (as vcvtph2ps and Java's Float.float16ToFloat). */
static inline float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t) (h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F;
    uint32_t man = h & 0x3FF;
    if (exp == 0x1F) {
        return bits_to_float(sign | 0x7F800000u | (man << 13));
    }
    if (exp == 0) {
        /* zero or subnormal: man · 2^-24, exact in a float */
        float v = (float) man * 0x1p-24f;
        return sign ? -v : v;
    }
    return bits_to_float(sign | ((exp + 112) << 23) | (man << 13));
}

static inline float lanes8(const float *a) {
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/* ---------------------------------------------------------------- activations */

/* The smallest float of 7 significant bits that is at least v (Q8Activations.roundUp). */
static inline float round_up_7(float v) {
    uint32_t drop = (1u << (24 - 7)) - 1;
    uint32_t bits = float_to_bits(v);
    return bits_to_float((bits & drop) == 0 ? bits : (bits | drop) + 1);
}

/* Java's float-to-int conversion: truncation, saturating, NaN to 0 (a C cast of those is undefined). */
static inline int32_t java_f2i(float v) {
    if (v != v) return 0;
    if (v >= 2147483648.0f) return INT32_MAX;
    if (v <= -2147483648.0f) return INT32_MIN;
    return (int32_t) v;
}

/* Where value v (0..255) of a 256-value chunk goes in an activation layout. */
static inline int layout_pos(int layout, int v) {
    int lane = v >> 4, s = v & 15;
    if (layout == LAYOUT_Q6_K_LANES) {
        /* step s of lane L, as Q8Activations.lanes: one 16-byte row per step */
        return 16 * s + lane;
    }
    if (layout == LAYOUT_Q8_0_LANES) {
        /* vector s/2, byte 2·lane + s%2: the byte the Q8_0 lane layout gives that value */
        return 32 * (s >> 1) + 2 * lane + (s & 1);
    }
    /* nibble vector i = s/4, nibble n = s%4: low nibbles (n even) and high nibbles (n odd) apart;
     * vectors 2k and 2k+1 side by side so that one 512-bit load takes both */
    int i = s >> 2, n = s & 3;
    return 128 * (i >> 1) + 64 * (n & 1) + 32 * (i & 1) + 2 * lane + (n >> 1);
}

/*
 * Rounds n floats (n a multiple of 256: whole rows of whole chunks) to 8-bit integers in blocks of
 * 32, exactly as Q8Activations.quantize does: d = max|x| / 127 rounded up to 7 significant bits,
 * q = x·(1/d) rounded half away from zero; scale[b] = d, sums[b] = d·Σq. The integers are written
 * in the byte order of `layout`.
 */
TSR_EXPORT void tsr_quantize(const float *x, int64_t n, int32_t layout, int8_t *q, float *scale, float *sums) {
    int8_t block[CHUNK];
    for (int64_t c = 0; c < n; c += CHUNK) {
        for (int b = 0; b < CHUNK / BLOCK; b++) {
            const float *xb = x + c + b * BLOCK;
            float m = 0;
            for (int k = 0; k < BLOCK; k++) {
                float a = fabsf(xb[k]);
                m = (a > m || a != a) ? a : m;
            }
            float d = round_up_7(m / 127);
            float id = d == 0 ? 0 : 1 / d;
            uint32_t sum = 0; /* Java's int sum: wrapping, which signed C arithmetic may not do */
            for (int k = 0; k < BLOCK; k++) {
                float v = xb[k] * id;
                int32_t r = java_f2i(v + copysignf(0.5f, v));
                r = r > 127 ? 127 : r;
                /* Java keeps the low 16 bits: r is in [-127, 127] except for -infinity, from a
                 * subnormal block maximum, whose INT32_MIN becomes 0 (and still counts in the sum) */
                block[b * BLOCK + k] = (int8_t) (r < -128 ? 0 : r);
                sum += (uint32_t) r;
            }
            int64_t bi = (c >> 5) + b;
            scale[bi] = d;
            sums[bi] = d * (float) (int32_t) sum;
        }
        for (int v = 0; v < CHUNK; v++) {
            q[c + layout_pos(layout, v)] = block[v];
        }
    }
}

/* ---------------------------------------------------------------- integer block sums of one chunk */

/*
 * S[k] = Σ w·q over block k of a chunk, for a Q8_0 lane-order chunk's 256 weight bytes at w and the
 * matching activation bytes at x (LAYOUT_Q8_0_LANES): byte p of any 32-byte vector is block p/4.
 */
#if defined(TSR_AVX512)
static inline __m256i q8_sums(const uint8_t *w, const int8_t *x) {
    __m512i acc = _mm512_setzero_si512();
    for (int k = 0; k < 4; k++) {
        __m512i wv = _mm512_loadu_si512(w + 64 * k);
        __m512i xv = _mm512_loadu_si512(x + 64 * k);
        __mmask64 neg = _mm512_movepi8_mask(wv);
        /* |w|·(x with w's sign): u8 × s8, as vpdpbusd wants; |w| ≤ 128 and |x| ≤ 128, exact */
        acc = _mm512_dpbusd_epi32(acc, _mm512_abs_epi8(wv), _mm512_mask_sub_epi8(xv, neg, _mm512_setzero_si512(), xv));
    }
    return _mm256_add_epi32(_mm512_castsi512_si256(acc), _mm512_extracti64x4_epi64(acc, 1));
}
#elif defined(TSR_AVX2)
static inline __m256i q8_sums(const uint8_t *w, const int8_t *x) {
    __m256i acc = _mm256_setzero_si256();
    const __m256i ones = _mm256_set1_epi16(1);
    for (int k = 0; k < 8; k++) {
        __m256i wv = _mm256_loadu_si256((const __m256i *) (w + 32 * k));
        __m256i xv = _mm256_loadu_si256((const __m256i *) (x + 32 * k));
        /* pairs of |w|·±x in 16 bits: at most 2·128·127 = 32512, no saturation */
        __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(wv), _mm256_sign_epi8(xv, wv));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, ones));
    }
    return acc;
}
#else
static inline void q8_sums(const uint8_t *w, const int8_t *x, int32_t *s) {
    for (int k = 0; k < 8; k++) s[k] = 0;
    for (int j = 0; j < 8; j++) {
        for (int p = 0; p < 32; p++) {
            s[p >> 2] += (int32_t) (int8_t) w[32 * j + p] * x[32 * j + p];
        }
    }
}
#endif

/*
 * S[k] = Σ nibble·q over block k, for a Q4_0 lane-order chunk's 128 nibble bytes at w and the
 * activation bytes at x (LAYOUT_Q4_0_LANES).
 */
#if defined(TSR_AVX512)
static inline __m256i q4_sums(const uint8_t *w, const int8_t *x) {
    const __m512i low = _mm512_set1_epi8(0x0F);
    __m512i acc = _mm512_setzero_si512();
    for (int k = 0; k < 2; k++) {
        __m512i nv = _mm512_loadu_si512(w + 64 * k);
        acc = _mm512_dpbusd_epi32(acc, _mm512_and_si512(nv, low), _mm512_loadu_si512(x + 128 * k));
        acc = _mm512_dpbusd_epi32(acc, _mm512_and_si512(_mm512_srli_epi16(nv, 4), low), _mm512_loadu_si512(x + 128 * k + 64));
    }
    return _mm256_add_epi32(_mm512_castsi512_si256(acc), _mm512_extracti64x4_epi64(acc, 1));
}
#elif defined(TSR_AVX2)
static inline __m256i q4_sums(const uint8_t *w, const int8_t *x) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    __m256i p = _mm256_setzero_si256();
    for (int i = 0; i < 4; i++) {
        __m256i nv = _mm256_loadu_si256((const __m256i *) (w + 32 * i));
        const int8_t *xi = x + 128 * (i >> 1) + 32 * (i & 1);
        /* eight pair sums of nibble·x per 16-bit lane: at most 8·2·15·127 = 30480, exact */
        p = _mm256_add_epi16(p, _mm256_maddubs_epi16(_mm256_and_si256(nv, low), _mm256_loadu_si256((const __m256i *) xi)));
        p = _mm256_add_epi16(p, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(nv, 4), low),
                _mm256_loadu_si256((const __m256i *) (xi + 64))));
    }
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}
#else
static inline void q4_sums(const uint8_t *w, const int8_t *x, int32_t *s) {
    for (int k = 0; k < 8; k++) s[k] = 0;
    for (int i = 0; i < 4; i++) {
        const int8_t *xi = x + 128 * (i >> 1) + 32 * (i & 1);
        for (int p = 0; p < 32; p++) {
            int b = w[32 * i + p];
            s[p >> 2] += (b & 15) * xi[p] + (b >> 4) * xi[64 + p];
        }
    }
}
#endif

/* ---------------------------------------------------------------- Q4_K's scales and Q6_K's sub-block sums */

/*
 * The eight 6-bit scales and the eight 6-bit mins of a Q4_K header at p (bytes 4-15), one per byte
 * of a 64-bit word each, as Q4KLanesKernel.dot unpacks them.
 */
static inline void q4k_scales(const uint8_t *p, uint64_t *sc, uint64_t *mn) {
    uint32_t b0, b1, b2;
    memcpy(&b0, p + 4, 4);
    memcpy(&b1, p + 8, 4);
    memcpy(&b2, p + 12, 4);
    *sc = (uint64_t) (b0 & 0x3F3F3F3Fu) | (uint64_t) ((b2 & 0x0F0F0F0Fu) | (b0 >> 2 & 0x30303030u)) << 32;
    *mn = (uint64_t) (b1 & 0x3F3F3F3Fu) | (uint64_t) ((b2 >> 4 & 0x0F0F0F0Fu) | (b1 >> 2 & 0x30303030u)) << 32;
}

/* The 6-bit value of step s of lane L in a Q6_K lane-order chunk, minus 32. */
static inline int q6_value(const uint8_t *chunk, int lane, int s) {
    int low = ld16(chunk + Q6_HEADER_BYTES + 32 * (s >> 2) + 2 * lane) >> 4 * (s & 3) & 15;
    int high = ld16(chunk + Q6_HIGH + 32 * (s >> 3) + 2 * lane) >> 2 * (s & 7) & 3;
    return (low | high << 4) - 32;
}

#if defined(TSR_SIMD)
/*
 * The chunk's 16 steps as 16-bit q − 32 (step s of lane L in lane L of wq[s]), rebuilt from the low
 * nibbles and high bit pairs with the shifts of Q6KLanesKernel.decodeLanes: once per chunk, for
 * every token of a tile.
 */
static inline void q6_decode(const uint8_t *chunk, __m256i wq[16]) {
    const __m256i m4 = _mm256_set1_epi16(0x000F);
    const __m256i m2 = _mm256_set1_epi16(0x0030);
    const __m256i bias = _mm256_set1_epi16(32);
    /* unrolled, so that every shift count is a constant and wq stays in registers */
#pragma GCC unroll 16
    for (int s = 0; s < 16; s++) {
        __m256i v = _mm256_loadu_si256((const __m256i *) (chunk + Q6_HEADER_BYTES + 32 * (s >> 2)));
        __m256i h = _mm256_loadu_si256((const __m256i *) (chunk + Q6_HIGH + 32 * (s >> 3)));
        int k = s & 7; /* the pair's place in the high word: bits 2k, 2k + 1, moved to bits 4, 5 */
        __m256i hp = k <= 2 ? _mm256_slli_epi16(h, 4 - 2 * k) : _mm256_srli_epi16(h, 2 * k - 4);
        __m256i lo = _mm256_and_si256(_mm256_srli_epi16(v, 4 * (s & 3)), m4);
        wq[s] = _mm256_sub_epi16(_mm256_or_si256(lo, _mm256_and_si256(hp, m2)), bias);
    }
}

/*
 * Σ (q − 32)·x per sub-block, even sub-blocks (2k in lane k) and odd ones apart, x in
 * LAYOUT_Q6_K_LANES: steps 0-7 and 8-15 summed in two 16-bit accumulators as Java does
 * (8 products of |q − 32| ≤ 32 and |x| ≤ 127: at most 32512, exact), then widened.
 */
static inline void q6_sums(const __m256i wq[16], const int8_t *x, __m256i *even, __m256i *odd) {
    __m256i half[2];
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        __m256i a = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int s = 8 * h; s < 8 * h + 8; s++) {
            __m256i xv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *) (x + 16 * s)));
            a = _mm256_add_epi16(a, _mm256_mullo_epi16(wq[s], xv));
        }
        half[h] = a;
    }
    *even = _mm256_add_epi32(_mm256_srai_epi32(_mm256_slli_epi32(half[0], 16), 16),
            _mm256_srai_epi32(_mm256_slli_epi32(half[1], 16), 16));
    *odd = _mm256_add_epi32(_mm256_srai_epi32(half[0], 16), _mm256_srai_epi32(half[1], 16));
}
#endif

/* ---------------------------------------------------------------- Q8_0, Q4_0, Q4_K and Q6_K in lane order */

/*
 * Rows [from, to) of a lane-order matrix (row r at w + r·row_bytes, in values a multiple of 256)
 * against `tokens` rows of activations (q: in bytes per token in the type's layout; xs: in/32
 * block scales per token; xm: the blocks' d·Σq, Q4_0 and Q4_K only) into out[t·out_stride + r].
 *
 * Per (row, token) eight float lanes, lane k for block k of every chunk, in ascending chunk order:
 *   Q8_0: a = fma(S·dx, d, a)
 *   Q4_0: a = fma(S·dx, d, a); a = fma(d·(−8), X, a)
 *   Q4_K: a = fma(S·dx, sc·d, a); a = fma(mn·(−dmin), X, a)
 *   Q6_K: a = fma(E·dx, sc_2k·d, a); a = fma(O·dx, sc_2k+1·d, a)
 * S the block's integer sum, d its weight scale, dx its activation scale, X the activation
 * block's d·Σq, E and O the integer sums of its even and odd 16-value sub-blocks: the operations
 * of the LanesKernel dot products.
 */
#define TOKEN_TILE 4

#if defined(TSR_SIMD)
static inline __m256 chunk_scales(const uint8_t *chunk) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) chunk));
}

static inline float hsum8(__m256 v) {
    float a[8];
    _mm256_storeu_ps(a, v);
    return lanes8(a);
}

/* Eight bytes (unsigned when `sign` is 0) as floats. */
static inline __m256 bytes_to_floats(uint64_t bytes, int sign) {
    __m128i b = _mm_cvtsi64_si128((long long) bytes);
    return _mm256_cvtepi32_ps(sign ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b));
}

/*
 * One row × nt tokens from token t0: the chunk's weights and scales loaded once for all nt tokens.
 * Called with constant kind and nt (TOKEN_TILE, then 1 for the rest), so that the compiler keeps
 * the nt accumulators in registers.
 */
static inline __attribute__((always_inline)) void lanes_tile(int kind, int nt, const uint8_t *row, int64_t chunks,
        int64_t chunk_bytes, int32_t in, int32_t r, int32_t out_stride, const int8_t *q, const float *xs,
        const float *xm, int64_t t0, float *out) {
    __m256 acc[TOKEN_TILE];
    for (int u = 0; u < nt; u++) acc[u] = _mm256_setzero_ps();
    for (int64_t c = 0; c < chunks; c++) {
        const uint8_t *chunk = row + c * chunk_bytes;
        __m256 d, m = _mm256_setzero_ps();
        __m256i wq[16];
        if (kind == K_Q6_K) {
            float d6 = half_to_float(ld16(chunk));
            uint64_t se, so;
            memcpy(&se, chunk + 2, 8);
            memcpy(&so, chunk + 10, 8);
            d = _mm256_mul_ps(bytes_to_floats(se, 1), _mm256_set1_ps(d6));
            m = _mm256_mul_ps(bytes_to_floats(so, 1), _mm256_set1_ps(d6));
            q6_decode(chunk, wq);
        } else if (kind == K_Q4_K) {
            uint64_t sc, mn;
            q4k_scales(chunk, &sc, &mn);
            d = _mm256_mul_ps(bytes_to_floats(sc, 0), _mm256_set1_ps(half_to_float(ld16(chunk))));
            m = _mm256_mul_ps(bytes_to_floats(mn, 0), _mm256_set1_ps(-half_to_float(ld16(chunk + 2))));
        } else {
            d = chunk_scales(chunk);
            m = _mm256_mul_ps(d, _mm256_set1_ps(-8.0f));
        }
        for (int u = 0; u < nt; u++) {
            int64_t t = t0 + u;
            const int8_t *x = q + t * in + c * CHUNK;
            int64_t b = (t * in + c * CHUNK) >> 5;
            __m256 dx = _mm256_loadu_ps(xs + b);
            if (kind == K_Q6_K) {
                __m256i even, odd;
                q6_sums(wq, x, &even, &odd);
                acc[u] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(even), dx), d, acc[u]);
                acc[u] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(odd), dx), m, acc[u]);
                continue;
            }
            __m256i s = kind == K_Q8_0 ? q8_sums(chunk + HEADER_BYTES, x) : q4_sums(chunk + HEADER_BYTES, x);
            acc[u] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(s), dx), d, acc[u]);
            if (kind != K_Q8_0) {
                acc[u] = _mm256_fmadd_ps(m, _mm256_loadu_ps(xm + b), acc[u]);
            }
        }
    }
    for (int u = 0; u < nt; u++) {
        out[(t0 + u) * out_stride + r] = hsum8(acc[u]);
    }
}

static inline __attribute__((always_inline)) void lanes_rows(int kind, const uint8_t *w, int64_t row_bytes,
        int32_t in, int32_t from, int32_t to, int32_t out_stride, const int8_t *q, const float *xs, const float *xm,
        int32_t tokens, float *out) {
    int64_t chunks = in / CHUNK;
    int64_t chunk_bytes = kind == K_Q8_0 ? Q8_CHUNK_BYTES : kind == K_Q6_K ? Q6_CHUNK_BYTES : Q4_CHUNK_BYTES;
    for (int32_t r = from; r < to; r++) {
        const uint8_t *row = w + r * row_bytes;
        int64_t t = 0;
        for (; t + TOKEN_TILE <= tokens; t += TOKEN_TILE) {
            lanes_tile(kind, TOKEN_TILE, row, chunks, chunk_bytes, in, r, out_stride, q, xs, xm, t, out);
        }
        for (; t < tokens; t++) {
            lanes_tile(kind, 1, row, chunks, chunk_bytes, in, r, out_stride, q, xs, xm, t, out);
        }
    }
}
#else
/* Q6_K: the integer sums of the chunk's 16 sub-blocks, x in LAYOUT_Q6_K_LANES. */
static inline void q6_sums(const uint8_t *chunk, const int8_t *x, int32_t *s) {
    for (int lane = 0; lane < 16; lane++) {
        s[lane] = 0;
        for (int step = 0; step < 16; step++) {
            s[lane] += q6_value(chunk, lane, step) * x[16 * step + lane];
        }
    }
}

static void lanes_rows(int kind, const uint8_t *w, int64_t row_bytes, int32_t in, int32_t from, int32_t to,
        int32_t out_stride, const int8_t *q, const float *xs, const float *xm, int32_t tokens, float *out) {
    int64_t chunks = in / CHUNK;
    int64_t chunk_bytes = kind == K_Q8_0 ? Q8_CHUNK_BYTES : kind == K_Q6_K ? Q6_CHUNK_BYTES : Q4_CHUNK_BYTES;
    for (int32_t r = from; r < to; r++) {
        const uint8_t *row = w + r * row_bytes;
        for (int64_t t = 0; t < tokens; t++) {
            float acc[8] = {0};
            for (int64_t c = 0; c < chunks; c++) {
                const uint8_t *chunk = row + c * chunk_bytes;
                const int8_t *x = q + t * in + c * CHUNK;
                int64_t b = (t * in + c * CHUNK) >> 5;
                if (kind == K_Q6_K) {
                    int32_t s[16];
                    q6_sums(chunk, x, s);
                    float d = half_to_float(ld16(chunk));
                    for (int k = 0; k < 8; k++) {
                        acc[k] = fmaf((float) s[2 * k] * xs[b + k], (float) (int8_t) chunk[2 + k] * d, acc[k]);
                        acc[k] = fmaf((float) s[2 * k + 1] * xs[b + k], (float) (int8_t) chunk[10 + k] * d, acc[k]);
                    }
                    continue;
                }
                int32_t s[8];
                if (kind == K_Q8_0) {
                    q8_sums(chunk + HEADER_BYTES, x, s);
                } else {
                    q4_sums(chunk + HEADER_BYTES, x, s);
                }
                uint64_t sc = 0, mn = 0;
                if (kind == K_Q4_K) {
                    q4k_scales(chunk, &sc, &mn);
                }
                for (int k = 0; k < 8; k++) {
                    float d, m;
                    if (kind == K_Q4_K) {
                        d = (float) (sc >> 8 * k & 63) * half_to_float(ld16(chunk));
                        m = (float) (mn >> 8 * k & 63) * -half_to_float(ld16(chunk + 2));
                    } else {
                        d = half_to_float(ld16(chunk + 2 * k));
                        m = d * -8.0f;
                    }
                    acc[k] = fmaf((float) s[k] * xs[b + k], d, acc[k]);
                    if (kind != K_Q8_0) {
                        acc[k] = fmaf(m, xm[b + k], acc[k]);
                    }
                }
            }
            out[t * out_stride + r] = lanes8(acc);
        }
    }
}
#endif

/* ---------------------------------------------------------------- Q4_0 and Q4_K tiles on AVX-512 VNNI */

#if defined(TSR_AVX512)
/* Two 8-float vectors side by side (AVX-512F only: the variant does not require AVX-512DQ). */
static inline __m512 join8(__m256 lo, __m256 hi) {
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(lo)), _mm256_castps_pd(hi), 1));
}

static inline __m512 twice8(const float *p) {
    return _mm512_castpd_ps(_mm512_broadcast_f64x4(_mm256_castps_pd(_mm256_loadu_ps(p))));
}

/*
 * A tile: 2 row pairs × 3 tokens hold 12 integer and 6 float accumulators and 8 unpacked weight
 * vectors in the 32 registers. One-token decode keeps lanes_tile (one row streamed at a time).
 * The scales of up to 64 chunks (rows of 16384 values) are made once per group of rows (16 KB).
 */
enum { NIBBLE_PAIRS = 2, NIBBLE_TOKENS = 3, NIBBLE_MIN_TOKENS = 2, NIBBLE_SCALE_CHUNKS = 64 };

/*
 * The weight scales d and the minimum factors m of chunk c of rows r and r + 1, side by side
 * (lanes_tile's d and m of each row, computed with the same operations).
 */
static inline __attribute__((always_inline)) void nibble_scales(int kind, const uint8_t *c0, const uint8_t *c1,
        __m512 *d, __m512 *m) {
    if (kind == K_Q4_K) {
        uint64_t sc0, mn0, sc1, mn1;
        q4k_scales(c0, &sc0, &mn0);
        q4k_scales(c1, &sc1, &mn1);
        __m512 sc = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_set_epi64x((long long) sc1, (long long) sc0)));
        __m512 mn = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_set_epi64x((long long) mn1, (long long) mn0)));
        __m512 dall = join8(_mm256_set1_ps(half_to_float(ld16(c0))), _mm256_set1_ps(half_to_float(ld16(c1))));
        __m512 dmin = join8(_mm256_set1_ps(-half_to_float(ld16(c0 + 2))), _mm256_set1_ps(-half_to_float(ld16(c1 + 2))));
        *d = _mm512_mul_ps(sc, dall);
        *m = _mm512_mul_ps(mn, dmin);
    } else {
        __m256i h = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *) c0)),
                _mm_loadu_si128((const __m128i *) c1), 1);
        *d = _mm512_cvtph_ps(h);
        *m = _mm512_mul_ps(*d, _mm512_set1_ps(-8.0f));
    }
}

/*
 * Rows r0..r0+2·np (np row pairs) × tokens t0..t0+nt of a Q4_0 or Q4_K lane-order matrix: each
 * chunk's nibbles are unpacked to bytes once per row and serve all nt tokens, each token's
 * activation vectors are loaded once for all the rows, and every (row, token) keeps its own 32-bit
 * integer sums (vpdpbusd: nibble as the unsigned operand, activation as the signed one; exact).
 * The float steps are lanes_tile's, two rows side by side in one 512-bit vector (lanes 0-7 the
 * first row's eight blocks, 8-15 the second's): the same operations per lane in the same order, so
 * the results are lanes_tile's bits. np and nt are constants at every call, so that the compiler
 * keeps the tile in registers.
 *
 * dm: the row pairs' scales per chunk (dm[2·(c·np + p)] = d, + 1 = m), made once per group of rows
 * for all its token tiles; or null, and the tile makes them itself (rows too long for the buffer).
 */
static inline __attribute__((always_inline)) void nibble_tile(int kind, int np, int nt, const uint8_t *w,
        int64_t row_bytes, int64_t chunks, int32_t in, int32_t r0, int32_t out_stride, const int8_t *q,
        const float *xs, const float *xm, const __m512 *dm, int64_t t0, float *out) {
    const __m512i low = _mm512_set1_epi8(0x0F);
    __m512 acc[NIBBLE_PAIRS][NIBBLE_TOKENS];
    for (int p = 0; p < np; p++)
        for (int u = 0; u < nt; u++) acc[p][u] = _mm512_setzero_ps();
    for (int64_t c = 0; c < chunks; c++) {
        __m512 d[NIBBLE_PAIRS], m[NIBBLE_PAIRS];
        for (int p = 0; p < np; p++) {
            if (dm) {
                d[p] = dm[2 * (c * np + p)];
                m[p] = dm[2 * (c * np + p) + 1];
            } else {
                const uint8_t *c0 = w + (r0 + 2 * p) * row_bytes + c * Q4_CHUNK_BYTES;
                nibble_scales(kind, c0, c0 + row_bytes, &d[p], &m[p]);
            }
        }
        __m512i s[2 * NIBBLE_PAIRS][NIBBLE_TOKENS];
        for (int k = 0; k < 2 * np; k++)
            for (int u = 0; u < nt; u++) s[k][u] = _mm512_setzero_si512();
        for (int h = 0; h < 2; h++) {
            __m512i lo[2 * NIBBLE_PAIRS], hi[2 * NIBBLE_PAIRS];
            for (int k = 0; k < 2 * np; k++) {
                __m512i nv = _mm512_loadu_si512(w + (r0 + k) * row_bytes + c * Q4_CHUNK_BYTES + HEADER_BYTES + 64 * h);
                lo[k] = _mm512_and_si512(nv, low);
                hi[k] = _mm512_and_si512(_mm512_srli_epi16(nv, 4), low);
            }
            for (int u = 0; u < nt; u++) {
                const int8_t *x = q + (t0 + u) * in + c * CHUNK + 128 * h;
                __m512i x0 = _mm512_loadu_si512(x);
                __m512i x1 = _mm512_loadu_si512(x + 64);
                for (int k = 0; k < 2 * np; k++) {
                    s[k][u] = _mm512_dpbusd_epi32(s[k][u], lo[k], x0);
                    s[k][u] = _mm512_dpbusd_epi32(s[k][u], hi[k], x1);
                }
            }
        }
        for (int u = 0; u < nt; u++) {
            int64_t b = ((t0 + u) * in + c * CHUNK) >> 5;
            __m512 dx = twice8(xs + b);
            __m512 xsum = twice8(xm + b);
            for (int p = 0; p < np; p++) {
                /* lanes 0-7: the first row's block sums (its two 256-bit halves added), 8-15 the second's */
                __m512i a = s[2 * p][u], e = s[2 * p + 1][u];
                __m512i sum = _mm512_add_epi32(_mm512_shuffle_i64x2(a, e, 0x44), _mm512_shuffle_i64x2(a, e, 0xEE));
                acc[p][u] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(sum), dx), d[p], acc[p][u]);
                acc[p][u] = _mm512_fmadd_ps(m[p], xsum, acc[p][u]);
            }
        }
    }
    for (int p = 0; p < np; p++) {
        for (int u = 0; u < nt; u++) {
            float a[16];
            _mm512_storeu_ps(a, acc[p][u]);
            out[(t0 + u) * out_stride + r0 + 2 * p] = lanes8(a);
            out[(t0 + u) * out_stride + r0 + 2 * p + 1] = lanes8(a + 8);
        }
    }
}

/*
 * One group of 2·np rows over all tokens: tiles of NIBBLE_TOKENS, then the rest as one tile of a
 * constant width. The group's scales are made once into dm when the rows fit it.
 */
static inline __attribute__((always_inline)) void nibble_group(int kind, int np, const uint8_t *w, int64_t row_bytes,
        int64_t chunks, int32_t in, int32_t r0, int32_t out_stride, const int8_t *q, const float *xs, const float *xm,
        int32_t tokens, __m512 *dm, float *out) {
    if (chunks <= NIBBLE_SCALE_CHUNKS) {
        for (int64_t c = 0; c < chunks; c++) {
            for (int p = 0; p < np; p++) {
                const uint8_t *c0 = w + (r0 + 2 * p) * row_bytes + c * Q4_CHUNK_BYTES;
                nibble_scales(kind, c0, c0 + row_bytes, &dm[2 * (c * np + p)], &dm[2 * (c * np + p) + 1]);
            }
        }
    } else {
        dm = 0;
    }
    int64_t tiled = tokens - tokens % NIBBLE_TOKENS;
    for (int64_t t = 0; t < tiled; t += NIBBLE_TOKENS) {
        nibble_tile(kind, np, NIBBLE_TOKENS, w, row_bytes, chunks, in, r0, out_stride, q, xs, xm, dm, t, out);
    }
    switch (tokens - tiled) {
        case 1: nibble_tile(kind, np, 1, w, row_bytes, chunks, in, r0, out_stride, q, xs, xm, dm, tiled, out); break;
        case 2: nibble_tile(kind, np, 2, w, row_bytes, chunks, in, r0, out_stride, q, xs, xm, dm, tiled, out); break;
        case 3: nibble_tile(kind, np, 3, w, row_bytes, chunks, in, r0, out_stride, q, xs, xm, dm, tiled, out); break;
        default: break;
    }
}

/*
 * Rows [from, to) in groups of 2·NIBBLE_PAIRS rows (then one pair, then a last single row through
 * lanes_tile), each group over all tokens: a group's weights (at most 4 × 144 bytes per chunk)
 * stay in L1 while the tokens' activations stream past them.
 */
static inline __attribute__((always_inline)) void nibble_rows(int kind, const uint8_t *w, int64_t row_bytes,
        int32_t in, int32_t from, int32_t to, int32_t out_stride, const int8_t *q, const float *xs, const float *xm,
        int32_t tokens, float *out) {
    __m512 dm[2 * NIBBLE_SCALE_CHUNKS * NIBBLE_PAIRS];
    int64_t chunks = in / CHUNK;
    int32_t r = from;
    for (; r + 2 * NIBBLE_PAIRS <= to; r += 2 * NIBBLE_PAIRS) {
        nibble_group(kind, NIBBLE_PAIRS, w, row_bytes, chunks, in, r, out_stride, q, xs, xm, tokens, dm, out);
    }
    for (; r + 2 <= to; r += 2) {
        nibble_group(kind, 1, w, row_bytes, chunks, in, r, out_stride, q, xs, xm, tokens, dm, out);
    }
    for (; r < to; r++) {
        for (int64_t t = 0; t < tokens; t++) {
            lanes_tile(kind, 1, w + r * row_bytes, chunks, Q4_CHUNK_BYTES, in, r, out_stride, q, xs, xm, t, out);
        }
    }
}
#endif

TSR_EXPORT void tsr_q8_0_lanes(const uint8_t *w, int64_t row_bytes, int32_t in, int32_t from, int32_t to,
        int32_t out_stride, const int8_t *q, const float *xs, int32_t tokens, float *out) {
    lanes_rows(K_Q8_0, w, row_bytes, in, from, to, out_stride, q, xs, 0, tokens, out);
}

TSR_EXPORT void tsr_q4_0_lanes(const uint8_t *w, int64_t row_bytes, int32_t in, int32_t from, int32_t to,
        int32_t out_stride, const int8_t *q, const float *xs, const float *xm, int32_t tokens, float *out) {
#if defined(TSR_AVX512)
    if (tokens >= NIBBLE_MIN_TOKENS) {
        nibble_rows(K_Q4_0, w, row_bytes, in, from, to, out_stride, q, xs, xm, tokens, out);
        return;
    }
#endif
    lanes_rows(K_Q4_0, w, row_bytes, in, from, to, out_stride, q, xs, xm, tokens, out);
}

/* Q4_K in lane order: the nibbles as Q4_0's (activations in LAYOUT_Q4_0_LANES), scales and mins per block. */
TSR_EXPORT void tsr_q4_k_lanes(const uint8_t *w, int64_t row_bytes, int32_t in, int32_t from, int32_t to,
        int32_t out_stride, const int8_t *q, const float *xs, const float *xm, int32_t tokens, float *out) {
#if defined(TSR_AVX512)
    if (tokens >= NIBBLE_MIN_TOKENS) {
        nibble_rows(K_Q4_K, w, row_bytes, in, from, to, out_stride, q, xs, xm, tokens, out);
        return;
    }
#endif
    lanes_rows(K_Q4_K, w, row_bytes, in, from, to, out_stride, q, xs, xm, tokens, out);
}

/* Q6_K in lane order, activations in LAYOUT_Q6_K_LANES. */
TSR_EXPORT void tsr_q6_k_lanes(const uint8_t *w, int64_t row_bytes, int32_t in, int32_t from, int32_t to,
        int32_t out_stride, const int8_t *q, const float *xs, int32_t tokens, float *out) {
    lanes_rows(K_Q6_K, w, row_bytes, in, from, to, out_stride, q, xs, 0, tokens, out);
}

/* ---------------------------------------------------------------- float weights: F32, F16, BF16, FP8 */

/*
 * Rows [from, to) of a float-type matrix (row r at w + r·row_bytes, `in` values) against `tokens`
 * float activation rows x (in floats each) into out[t·out_stride + r], in FloatDotKernel's order:
 * per group of 32 values, four 8-lane vectors, g = fma(w1, x1, w0·x0) + fma(w3, x3, w2·x2) and
 * a = a + g; then single 8-value vectors a = fma(w, x, a); lanes added in the fixed order; then
 * the tail, sum = sum + w·x one value at a time.
 */
enum { T_F32 = 0, T_F16 = 1, T_BF16 = 2, T_FP8 = 3, T_Q4_1 = 4 };

/*
 * FP8 (Tessera's GgmlType.FP8): blocks of 64 values, a float scale then 64 E4M3 codes. As Fp8Kernel:
 * the sign-extended code shifted left by 20 and masked with 0x87F00000 is the code's value · 2^-120
 * as float bits, multiplied by scale · 2^120 (exact: codes are never NaN, scales below 2^8).
 */
#define FP8_BLOCK 64
#define FP8_BLOCK_BYTES 68

/* i is never negative: unsigned division is a shift */
static inline float fp8_scale(const uint8_t *row, int64_t i) {
    return ldf(row + ((uint64_t) i / FP8_BLOCK) * FP8_BLOCK_BYTES) * 0x1p120f;
}

static inline const uint8_t *fp8_codes(const uint8_t *row, int64_t i) {
    return row + ((uint64_t) i / FP8_BLOCK) * FP8_BLOCK_BYTES + 4 + (uint64_t) i % FP8_BLOCK;
}

/*
 * Q4_1 in the file's layout: blocks of 32 values, half d, half m, then 16 bytes of nibbles (value j
 * the low nibble of byte j, value 16 + j its high nibble). As Q4_1Kernel, a weight is fma(q, d, m):
 * the float kernels' order over these rebuilt floats (rows are whole blocks: no tail).
 */
#define Q4_1_BLOCK_BYTES 20

static inline const uint8_t *q4_1_block(const uint8_t *row, int64_t i) {
    return row + ((uint64_t) i / 32) * Q4_1_BLOCK_BYTES;
}

static inline float q4_1_weight(const uint8_t *row, int64_t i) {
    const uint8_t *b = q4_1_block(row, i);
    uint64_t j = (uint64_t) i % 32;
    int q = j < 16 ? b[4 + j] & 15 : b[4 + j - 16] >> 4;
    return fmaf((float) q, half_to_float(ld16(b)), half_to_float(ld16(b + 2)));
}

static inline float scalar_weight(int type, const uint8_t *row, int64_t i) {
    switch (type) {
        case T_F32: return ldf(row + 4 * i);
        case T_F16: return half_to_float(ld16(row + 2 * i));
        case T_Q4_1: return q4_1_weight(row, i);
        case T_FP8: {
            uint32_t code = (uint32_t) (int32_t) (int8_t) *fp8_codes(row, i);
            return bits_to_float((code << 20) & 0x87F00000u) * fp8_scale(row, i);
        }
        default: return bits_to_float((uint32_t) ld16(row + 2 * i) << 16);
    }
}

#if defined(TSR_SIMD)
static inline __m256 load8(int type, const uint8_t *row, int64_t i) {
    switch (type) {
        case T_F32: return _mm256_loadu_ps((const float *) (row + 4 * i));
        case T_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (row + 2 * i)));
        case T_Q4_1: {
            /* i is a multiple of 8: the low (values 0-15) or high (16-31) nibbles of 8 bytes */
            const uint8_t *b = q4_1_block(row, i);
            uint64_t j = (uint64_t) i % 32;
            __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) (b + 4 + j % 16)));
            v = _mm256_and_si256(j < 16 ? v : _mm256_srli_epi32(v, 4), _mm256_set1_epi32(15));
            return _mm256_fmadd_ps(_mm256_cvtepi32_ps(v), _mm256_set1_ps(half_to_float(ld16(b))),
                    _mm256_set1_ps(half_to_float(ld16(b + 2))));
        }
        case T_FP8: {
            __m256i code = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *) fp8_codes(row, i)));
            __m256 v = _mm256_castsi256_ps(_mm256_and_si256(_mm256_slli_epi32(code, 20),
                    _mm256_set1_epi32((int32_t) 0x87F00000u)));
            return _mm256_mul_ps(v, _mm256_set1_ps(fp8_scale(row, i)));
        }
        default: return _mm256_castsi256_ps(_mm256_slli_epi32(
                _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *) (row + 2 * i))), 16));
    }
}

/*
 * Rows r0..r0+nr × tokens t0..t0+nt (constants, so that the compiler keeps the nr·nt accumulators in
 * registers): each weight vector converted once for all nt tokens, each activation vector loaded
 * once for all nr rows. Every (row, token) keeps its own accumulator and its own order.
 */
#if defined(TSR_AVX512)
#define ROW_TILE 2 /* 2 × 4 accumulators, 8 weight vectors: AVX-512VL has 32 vector registers */
#else
#define ROW_TILE 1
#endif

static inline __attribute__((always_inline)) void float_tile(int type, int nr, int nt, const uint8_t *w,
        int64_t row_bytes, int32_t in, int32_t r0, int32_t out_stride, const float *x, int64_t t0, float *out) {
    int64_t groups = in & ~31;
    int64_t vecs = in & ~7;
    __m256 acc[ROW_TILE][TOKEN_TILE];
    for (int k = 0; k < nr; k++)
        for (int u = 0; u < nt; u++) acc[k][u] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i < groups; i += 32) {
        __m256 w0[ROW_TILE], w1[ROW_TILE], w2[ROW_TILE], w3[ROW_TILE];
        for (int k = 0; k < nr; k++) {
            const uint8_t *row = w + (r0 + k) * row_bytes;
            w0[k] = load8(type, row, i);
            w1[k] = load8(type, row, i + 8);
            w2[k] = load8(type, row, i + 16);
            w3[k] = load8(type, row, i + 24);
        }
        for (int u = 0; u < nt; u++) {
            const float *xi = x + (t0 + u) * in + i;
            __m256 x0 = _mm256_loadu_ps(xi), x1 = _mm256_loadu_ps(xi + 8);
            __m256 x2 = _mm256_loadu_ps(xi + 16), x3 = _mm256_loadu_ps(xi + 24);
            for (int k = 0; k < nr; k++) {
                __m256 s = _mm256_mul_ps(w0[k], x0);
                __m256 v = _mm256_mul_ps(w2[k], x2);
                s = _mm256_fmadd_ps(w1[k], x1, s);
                v = _mm256_fmadd_ps(w3[k], x3, v);
                acc[k][u] = _mm256_add_ps(acc[k][u], _mm256_add_ps(s, v));
            }
        }
    }
    for (; i < vecs; i += 8) {
        for (int k = 0; k < nr; k++) {
            __m256 w0 = load8(type, w + (r0 + k) * row_bytes, i);
            for (int u = 0; u < nt; u++) {
                acc[k][u] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + (t0 + u) * in + i), acc[k][u]);
            }
        }
    }
    for (int k = 0; k < nr; k++) {
        const uint8_t *row = w + (r0 + k) * row_bytes;
        for (int u = 0; u < nt; u++) {
            const float *xt = x + (t0 + u) * in;
            float sum = hsum8(acc[k][u]);
            for (int64_t j = vecs; j < in; j++) {
                sum += scalar_weight(type, row, j) * xt[j];
            }
            out[(t0 + u) * out_stride + r0 + k] = sum;
        }
    }
}

/*
 * Whole token tiles run ROW_TILE rows at a time; the tokens after the last whole tile (all of them
 * in a one-token decode) run one row at a time, as one tile of 1 to 3 tokens. A row pair with one token streams two rows side by
 * side (rows of a power-of-two size apart, so their loads contend for the same cache sets) with too
 * little arithmetic to hide it: one row at a time streams faster. The order of the steps of each
 * (row, token) is the same either way.
 */
static inline __attribute__((always_inline)) void float_rows(int type, const uint8_t *w, int64_t row_bytes,
        int32_t in, int32_t from, int32_t to, int32_t out_stride, const float *x, int32_t tokens, float *out) {
    int64_t tiled = tokens - tokens % TOKEN_TILE;
    if (tiled > 0) {
        int32_t r = from;
        for (; r + ROW_TILE <= to; r += ROW_TILE) {
            for (int64_t t = 0; t < tiled; t += TOKEN_TILE) {
                float_tile(type, ROW_TILE, TOKEN_TILE, w, row_bytes, in, r, out_stride, x, t, out);
            }
        }
        for (; r < to; r++) {
            for (int64_t t = 0; t < tiled; t += TOKEN_TILE) {
                float_tile(type, 1, TOKEN_TILE, w, row_bytes, in, r, out_stride, x, t, out);
            }
        }
    }
    /* the rest (1 to TOKEN_TILE - 1 tokens) as one tile of a constant width per row */
    for (int32_t r = from; r < to; r++) {
        switch (tokens - tiled) {
            case 1: float_tile(type, 1, 1, w, row_bytes, in, r, out_stride, x, tiled, out); break;
            case 2: float_tile(type, 1, 2, w, row_bytes, in, r, out_stride, x, tiled, out); break;
            case 3: float_tile(type, 1, 3, w, row_bytes, in, r, out_stride, x, tiled, out); break;
            default: break;
        }
    }
}
#else
static inline void float_rows(int type, const uint8_t *w, int64_t row_bytes, int32_t in, int32_t from, int32_t to,
        int32_t out_stride, const float *x, int32_t tokens, float *out) {
    int64_t groups = in & ~31;
    int64_t vecs = in & ~7;
    for (int32_t r = from; r < to; r++) {
        const uint8_t *row = w + r * row_bytes;
        for (int64_t t = 0; t < tokens; t++) {
            const float *xt = x + t * in;
            float a[8] = {0};
            int64_t i = 0;
            for (; i < groups; i += 32) {
                for (int l = 0; l < 8; l++) {
                    float s = scalar_weight(type, row, i + l) * xt[i + l];
                    float v = scalar_weight(type, row, i + 16 + l) * xt[i + 16 + l];
                    s = fmaf(scalar_weight(type, row, i + 8 + l), xt[i + 8 + l], s);
                    v = fmaf(scalar_weight(type, row, i + 24 + l), xt[i + 24 + l], v);
                    a[l] = a[l] + (s + v);
                }
            }
            for (; i < vecs; i += 8) {
                for (int l = 0; l < 8; l++) {
                    a[l] = fmaf(scalar_weight(type, row, i + l), xt[i + l], a[l]);
                }
            }
            float sum = lanes8(a);
            for (; i < in; i++) {
                sum += scalar_weight(type, row, i) * xt[i];
            }
            out[t * out_stride + r] = sum;
        }
    }
}
#endif

TSR_EXPORT void tsr_f32(const uint8_t *w, int64_t row_bytes, int32_t in, int32_t from, int32_t to,
        int32_t out_stride, const float *x, int32_t tokens, float *out) {
    float_rows(T_F32, w, row_bytes, in, from, to, out_stride, x, tokens, out);
}

TSR_EXPORT void tsr_f16(const uint8_t *w, int64_t row_bytes, int32_t in, int32_t from, int32_t to,
        int32_t out_stride, const float *x, int32_t tokens, float *out) {
    float_rows(T_F16, w, row_bytes, in, from, to, out_stride, x, tokens, out);
}

TSR_EXPORT void tsr_bf16(const uint8_t *w, int64_t row_bytes, int32_t in, int32_t from, int32_t to,
        int32_t out_stride, const float *x, int32_t tokens, float *out) {
    float_rows(T_BF16, w, row_bytes, in, from, to, out_stride, x, tokens, out);
}

/* Q4_1 in the file's layout (in a multiple of 32), float activations. */
TSR_EXPORT void tsr_q4_1(const uint8_t *w, int64_t row_bytes, int32_t in, int32_t from, int32_t to,
        int32_t out_stride, const float *x, int32_t tokens, float *out) {
    float_rows(T_Q4_1, w, row_bytes, in, from, to, out_stride, x, tokens, out);
}

TSR_EXPORT void tsr_fp8(const uint8_t *w, int64_t row_bytes, int32_t in, int32_t from, int32_t to,
        int32_t out_stride, const float *x, int32_t tokens, float *out) {
    float_rows(T_FP8, w, row_bytes, in, from, to, out_stride, x, tokens, out);
}

/* ---------------------------------------------------------------- attention over the paged KV cache */

/*
 * One attention unit (a KV head × a run of tokens of one sequence), as AttentionBlock's Java loops
 * compute it: the cache rows are F32, F16 or BF16 (T_F32, T_F16, T_BF16: widened exactly), position
 * j in [from, len) at slot slots[j − from], its head's values at rows + slot·row_bytes + off.
 * Token u < nt sees positions lo[u]..hi[u]; its nh query heads start at q + qo[u] (head h at
 * h·hd) and its outputs at out + qo[u] likewise; its scores are scores[(u·nh + h)·len + j].
 *
 * Scores: VectorMath.dot's order (an 8-lane fma chain over whole vectors, the lanes added one
 * after another from 0f, then the tail product by product), times scale. Values: VectorMath.axpy's
 * (out = fma(v, p, out) per value, the tail out += p·v), positions in ascending order for each
 * (token, head). Each (token, head) thus takes the Java operations in the Java order, whatever its
 * unit or batch. The softmax between the two runs in Java.
 */
static inline int attn_sees(const int32_t *lo, const int32_t *hi, int u, int64_t j) {
    return j >= lo[u] && j <= hi[u];
}

static inline float attn_dot(int type, const uint8_t *row, const float *q, int32_t hd) {
    int32_t vecs = hd & ~7;
    float sum = 0.0f;
    if (hd >= 8) {
#if defined(TSR_SIMD)
        __m256 acc = _mm256_setzero_ps();
        for (int32_t i = 0; i < vecs; i += 8) {
            acc = _mm256_fmadd_ps(load8(type, row, i), _mm256_loadu_ps(q + i), acc);
        }
        float a[8];
        _mm256_storeu_ps(a, acc);
#else
        float a[8] = {0};
        for (int32_t i = 0; i < vecs; i += 8) {
            for (int l = 0; l < 8; l++) a[l] = fmaf(scalar_weight(type, row, i + l), q[i + l], a[l]);
        }
#endif
        sum = 0.0f + a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
    }
    for (int32_t i = vecs; i < hd; i++) {
        sum += scalar_weight(type, row, i) * q[i];
    }
    return sum;
}

static inline void attn_axpy(int type, const uint8_t *row, float p, float *o, int32_t hd) {
    int32_t vecs = hd & ~7;
#if defined(TSR_SIMD)
    __m256 pv = _mm256_set1_ps(p);
    for (int32_t i = 0; i < vecs; i += 8) {
        _mm256_storeu_ps(o + i, _mm256_fmadd_ps(load8(type, row, i), pv, _mm256_loadu_ps(o + i)));
    }
#else
    for (int32_t i = 0; i < vecs; i++) {
        o[i] = fmaf(scalar_weight(type, row, i), p, o[i]);
    }
#endif
    for (int32_t i = vecs; i < hd; i++) {
        o[i] += p * scalar_weight(type, row, i);
    }
}

static inline __attribute__((always_inline)) void attn_scores(int type, const uint8_t *rows, int64_t row_bytes,
        int64_t off, const int32_t *slots, int32_t from, int32_t len, int32_t hd, const float *q, const int32_t *qo,
        const int32_t *lo, const int32_t *hi, int32_t nt, int32_t nh, float scale, float *scores) {
    for (int64_t j = from; j < len; j++) {
        const uint8_t *row = rows + (int64_t) slots[j - from] * row_bytes + off;
        for (int u = 0; u < nt; u++) {
            if (!attn_sees(lo, hi, u, j)) continue;
            for (int h = 0; h < nh; h++) {
                scores[((int64_t) u * nh + h) * len + j] = attn_dot(type, row, q + qo[u] + (int64_t) h * hd, hd) * scale;
            }
        }
    }
}

static inline __attribute__((always_inline)) void attn_values(int type, const uint8_t *rows, int64_t row_bytes,
        int64_t off, const int32_t *slots, int32_t from, int32_t len, int32_t hd, const float *p, const int32_t *qo,
        const int32_t *lo, const int32_t *hi, int32_t nt, int32_t nh, float *out) {
    for (int64_t j = from; j < len; j++) {
        const uint8_t *row = rows + (int64_t) slots[j - from] * row_bytes + off;
        for (int u = 0; u < nt; u++) {
            if (!attn_sees(lo, hi, u, j)) continue;
            for (int h = 0; h < nh; h++) {
                attn_axpy(type, row, p[((int64_t) u * nh + h) * len + j], out + qo[u] + (int64_t) h * hd, hd);
            }
        }
    }
}

/* type: 0 F32, 1 F16, 2 BF16 (the cache's row type; T_F32, T_F16, T_BF16). */
TSR_EXPORT void tsr_attn_scores(const uint8_t *rows, int64_t row_bytes, int32_t type, int64_t off, const int32_t *slots,
        int32_t from, int32_t len, int32_t hd, const float *q, const int32_t *qo, const int32_t *lo, const int32_t *hi,
        int32_t nt, int32_t nh, float scale, float *scores) {
    switch (type) {
        case T_F32: attn_scores(T_F32, rows, row_bytes, off, slots, from, len, hd, q, qo, lo, hi, nt, nh, scale, scores); break;
        case T_F16: attn_scores(T_F16, rows, row_bytes, off, slots, from, len, hd, q, qo, lo, hi, nt, nh, scale, scores); break;
        default: attn_scores(T_BF16, rows, row_bytes, off, slots, from, len, hd, q, qo, lo, hi, nt, nh, scale, scores); break;
    }
}

TSR_EXPORT void tsr_attn_values(const uint8_t *rows, int64_t row_bytes, int32_t type, int64_t off, const int32_t *slots,
        int32_t from, int32_t len, int32_t hd, const float *p, const int32_t *qo, const int32_t *lo, const int32_t *hi,
        int32_t nt, int32_t nh, float *out) {
    switch (type) {
        case T_F32: attn_values(T_F32, rows, row_bytes, off, slots, from, len, hd, p, qo, lo, hi, nt, nh, out); break;
        case T_F16: attn_values(T_F16, rows, row_bytes, off, slots, from, len, hd, p, qo, lo, hi, nt, nh, out); break;
        default: attn_values(T_BF16, rows, row_bytes, off, slots, from, len, hd, p, qo, lo, hi, nt, nh, out); break;
    }
}

/* ---------------------------------------------------------------- W8A8: int8 rows × int8 tokens */

/*
 * Σ w·x over n int8 weights and n int8 activation codes, exact (Java: W8A8MatMul.dot). Codes are in
 * [-127, 127] on the activation side and [-128, 127] on the weight side, and n is at most 131072, so
 * no int32 sum can overflow and any order gives the same integer.
 *
 * avx512 (VNNI): vpdpbusd multiplies unsigned by signed bytes, so each weight is read as w + 128
 * (its sign bit flipped) and 128·Σx is taken off afterwards; xsum is that Σx over the whole row,
 * the tail read from zero-padded copies so that the padding adds nothing on either side.
 * avx2: vpmaddubsw saturates, so it takes |w| (unsigned) and x with w's sign: a pair's sum is at
 * most 2·128·127, no saturation; vpmaddwd with ones widens the pairs to int32.
 */
#if defined(TSR_AVX512)
static inline __m512i w8a8_vec(const int8_t *w) {
    return _mm512_xor_si512(_mm512_loadu_si512((const void *) w), _mm512_set1_epi8((char) 0x80));
}

/* One row against nt ≤ 4 tokens: sums[j] = Σ w·x_j. */
static inline void w8a8_row(const int8_t *w, const int8_t *x, int64_t x_stride, int nt, int32_t in,
        const int32_t *xsum, int32_t *sums) {
    __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
    int32_t vec = in & ~63;
    for (int32_t i = 0; i < vec; i += 64) {
        __m512i wv = w8a8_vec(w + i);
        for (int j = 0; j < nt; j++) {
            acc[j] = _mm512_dpbusd_epi32(acc[j], wv, _mm512_loadu_si512((const void *) (x + j * x_stride + i)));
        }
    }
    if (vec < in) {
        int8_t wt[64] = {0};
        memcpy(wt, w + vec, (size_t) (in - vec));
        __m512i wv = w8a8_vec(wt);
        for (int j = 0; j < nt; j++) {
            int8_t xt[64] = {0};
            memcpy(xt, x + j * x_stride + vec, (size_t) (in - vec));
            acc[j] = _mm512_dpbusd_epi32(acc[j], wv, _mm512_loadu_si512((const void *) xt));
        }
    }
    for (int j = 0; j < nt; j++) {
        /* the lanes may wrap past 2^31 (w + 128 is up to 255); the true sum fits, so wrapping arithmetic gives it */
        sums[j] = (int32_t) ((uint32_t) _mm512_reduce_add_epi32(acc[j]) - 128u * (uint32_t) xsum[j]);
    }
}
#elif defined(TSR_AVX2)
static inline __m256i w8a8_pairs(__m256i w, __m256i x) {
    __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

static inline void w8a8_row(const int8_t *w, const int8_t *x, int64_t x_stride, int nt, int32_t in,
        const int32_t *xsum, int32_t *sums) {
    (void) xsum;
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    int32_t vec = in & ~31;
    for (int32_t i = 0; i < vec; i += 32) {
        __m256i wv = _mm256_loadu_si256((const __m256i *) (w + i));
        for (int j = 0; j < nt; j++) {
            acc[j] = _mm256_add_epi32(acc[j], w8a8_pairs(wv, _mm256_loadu_si256((const __m256i *) (x + j * x_stride + i))));
        }
    }
    for (int j = 0; j < nt; j++) {
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc[j]), _mm256_extracti128_si256(acc[j], 1));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
        int32_t sum = _mm_cvtsi128_si32(s);
        for (int32_t i = vec; i < in; i++) {
            sum += (int32_t) w[i] * x[j * x_stride + i];
        }
        sums[j] = sum;
    }
}
#else
static inline void w8a8_row(const int8_t *w, const int8_t *x, int64_t x_stride, int nt, int32_t in,
        const int32_t *xsum, int32_t *sums) {
    (void) xsum;
    for (int j = 0; j < nt; j++) {
        int32_t sum = 0;
        for (int32_t i = 0; i < in; i++) {
            sum += (int32_t) w[i] * x[j * x_stride + i];
        }
        sums[j] = sum;
    }
}
#endif

/*
 * Rows [from, to) of an int8 matrix (rows of row_bytes = in bytes, one scale per row in wscale)
 * against `tokens` rows of int8 codes x (in each, scale xscale[t], code sum xsum[t]):
 * out[t·out_stride + r] = (float) Σ w·x · (wscale[r] · xscale[t]), the float steps of
 * W8A8MatMul.javaRows. Four tokens share each weight load.
 */
TSR_EXPORT void tsr_w8a8(const int8_t *w, int64_t row_bytes, int32_t in, int32_t from, int32_t to,
        int32_t out_stride, const int8_t *x, const float *xscale, const int32_t *xsum, const float *wscale,
        int32_t tokens, float *out) {
    int32_t sums[4];
    for (int32_t r = from; r < to; r++) {
        const int8_t *row = w + (int64_t) r * row_bytes;
        for (int32_t t = 0; t < tokens; t += 4) {
            int nt = tokens - t < 4 ? tokens - t : 4;
            w8a8_row(row, x + (int64_t) t * in, in, nt, in, xsum + t, sums);
            for (int j = 0; j < nt; j++) {
                float d = wscale[r] * xscale[t + j];
                out[(int64_t) (t + j) * out_stride + r] = (float) sums[j] * d;
            }
        }
    }
}
