/*
 * The native kernels under AddressSanitizer and UBSan (tessera-core/src/test/c/sanitize.sh): each kernel
 * runs on buffers of exactly the size Java's checks allow, in their own allocations, so that a read or
 * write past any of them is reported; and every variant must give the generic variant's bits.
 * The variant is chosen when this file is compiled (the same flags as build.sh); the generic results
 * come from tessera_kernels.c compiled without them, linked in under the prefix ref_.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DECLARE(prefix) \
    void prefix##tsr_quantize(const float *, int64_t, int32_t, int8_t *, float *, float *); \
    void prefix##tsr_q8_0_lanes(const uint8_t *, int64_t, int32_t, int32_t, int32_t, int32_t, const int8_t *, const float *, int32_t, float *); \
    void prefix##tsr_q4_0_lanes(const uint8_t *, int64_t, int32_t, int32_t, int32_t, int32_t, const int8_t *, const float *, const float *, int32_t, float *); \
    void prefix##tsr_q4_k_lanes(const uint8_t *, int64_t, int32_t, int32_t, int32_t, int32_t, const int8_t *, const float *, const float *, int32_t, float *); \
    void prefix##tsr_q6_k_lanes(const uint8_t *, int64_t, int32_t, int32_t, int32_t, int32_t, const int8_t *, const float *, int32_t, float *); \
    void prefix##tsr_f32(const uint8_t *, int64_t, int32_t, int32_t, int32_t, int32_t, const float *, int32_t, float *); \
    void prefix##tsr_f16(const uint8_t *, int64_t, int32_t, int32_t, int32_t, int32_t, const float *, int32_t, float *); \
    void prefix##tsr_bf16(const uint8_t *, int64_t, int32_t, int32_t, int32_t, int32_t, const float *, int32_t, float *); \
    void prefix##tsr_fp8(const uint8_t *, int64_t, int32_t, int32_t, int32_t, int32_t, const float *, int32_t, float *); \
    void prefix##tsr_q4_1(const uint8_t *, int64_t, int32_t, int32_t, int32_t, int32_t, const float *, int32_t, float *); \
    void prefix##tsr_attn_scores(const uint8_t *, int64_t, int32_t, int64_t, const int32_t *, int32_t, int32_t, int32_t, \
            const float *, const int32_t *, const int32_t *, const int32_t *, int32_t, int32_t, float, float *); \
    void prefix##tsr_attn_values(const uint8_t *, int64_t, int32_t, int64_t, const int32_t *, int32_t, int32_t, int32_t, \
            const float *, const int32_t *, const int32_t *, const int32_t *, int32_t, int32_t, float *); \
    void prefix##tsr_w8a8(const int8_t *, int64_t, int32_t, int32_t, int32_t, int32_t, const int8_t *, const float *, const int32_t *, const float *, int32_t, float *);
DECLARE()
DECLARE(ref_)

static uint32_t seed = 12345;
static uint32_t next(void) { seed = seed * 1664525u + 1013904223u; return seed >> 8; }
static float gauss(void) { return ((float) (next() % 2001) - 1000) / 300.0f; }

static int failures;

static void same(const float *a, const float *b, int n, const char *what) {
    if (memcmp(a, b, sizeof(float) * n) != 0) {
        fprintf(stderr, "FAIL %s: differs from the generic variant\n", what);
        failures++;
    }
}

/* Finite halves only: random sign, exponent 1..29, mantissa. */
static uint16_t half(void) { return (uint16_t) ((next() & 0x8000) | ((1 + next() % 29) << 10) | (next() & 0x3FF)); }

typedef void (*q8_fn)(const uint8_t *, int64_t, int32_t, int32_t, int32_t, int32_t, const int8_t *, const float *, int32_t, float *);
typedef void (*q4_fn)(const uint8_t *, int64_t, int32_t, int32_t, int32_t, int32_t, const int8_t *, const float *, const float *, int32_t, float *);

/* kind: 0 Q8_0, 1 Q4_0, 2 Q4_K, 3 Q6_K (random bytes in the lane layouts, small finite half scales). */
static void lanes_case(int kind, int in, int rows, int tokens) {
    static const char *names[] = {"q8_0", "q4_0", "q4_k", "q6_k"};
    static const int chunk_sizes[] = {272, 144, 144, 210};
    static const int halves[] = {8, 8, 2, 1}; /* half-precision scales at the start of a chunk */
    static const int layouts[] = {0, 1, 1, 2};
    int64_t chunk_bytes = chunk_sizes[kind];
    int64_t row_bytes = in / 256 * chunk_bytes;
    uint8_t *w = malloc(row_bytes * rows);
    for (int64_t i = 0; i < row_bytes * rows; i++) w[i] = (uint8_t) next();
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < in / 256; c++)
            for (int k = 0; k < halves[kind]; k++) {
                uint16_t h = (uint16_t) (half() & 0x3FFF); /* small scales */
                memcpy(w + r * row_bytes + c * chunk_bytes + 2 * k, &h, 2);
            }
    int64_t n = (int64_t) tokens * in;
    int layout = layouts[kind];
    float *x = malloc(sizeof(float) * n);
    for (int64_t i = 0; i < n; i++) x[i] = gauss();
    int8_t *q = malloc(n), *rq = malloc(n);
    float *s = malloc(sizeof(float) * n / 32), *m = malloc(sizeof(float) * n / 32);
    float *rs = malloc(sizeof(float) * n / 32), *rm = malloc(sizeof(float) * n / 32);
    tsr_quantize(x, n, layout, q, s, m);
    ref_tsr_quantize(x, n, layout, rq, rs, rm);
    if (memcmp(q, rq, n) || memcmp(s, rs, sizeof(float) * n / 32) || memcmp(m, rm, sizeof(float) * n / 32)) {
        fprintf(stderr, "FAIL quantize layout %d\n", layout);
        failures++;
    }
    float *out = malloc(sizeof(float) * tokens * rows), *ref = malloc(sizeof(float) * tokens * rows);
    /* the last row band alone, then all rows: both must stay inside the buffers */
    if (kind == 1 || kind == 2) {
        q4_fn f = kind == 1 ? tsr_q4_0_lanes : tsr_q4_k_lanes, g = kind == 1 ? ref_tsr_q4_0_lanes : ref_tsr_q4_k_lanes;
        f(w, row_bytes, in, rows - 1, rows, rows, q, s, m, tokens, out);
        f(w, row_bytes, in, 0, rows, rows, q, s, m, tokens, out);
        g(w, row_bytes, in, 0, rows, rows, q, s, m, tokens, ref);
    } else {
        q8_fn f = kind == 0 ? tsr_q8_0_lanes : tsr_q6_k_lanes, g = kind == 0 ? ref_tsr_q8_0_lanes : ref_tsr_q6_k_lanes;
        f(w, row_bytes, in, rows - 1, rows, rows, q, s, tokens, out);
        f(w, row_bytes, in, 0, rows, rows, q, s, tokens, out);
        g(w, row_bytes, in, 0, rows, rows, q, s, tokens, ref);
    }
    char what[64];
    snprintf(what, sizeof what, "%s in=%d rows=%d tokens=%d", names[kind], in, rows, tokens);
    same(out, ref, tokens * rows, what);
    free(w); free(x); free(q); free(rq); free(s); free(m); free(rs); free(rm); free(out); free(ref);
}

static void float_case(int type, int in, int rows, int tokens) {
    int64_t row_bytes = (int64_t) in * (type == 0 ? 4 : 2);
    uint8_t *w = malloc(row_bytes * rows);
    for (int64_t i = 0; i < (int64_t) in * rows; i++) {
        if (type == 0) { float f = gauss(); memcpy(w + 4 * i, &f, 4); }
        else if (type == 1) { uint16_t h = half(); memcpy(w + 2 * i, &h, 2); }
        else { float f = gauss(); uint32_t u; memcpy(&u, &f, 4); uint16_t b = (uint16_t) (u >> 16); memcpy(w + 2 * i, &b, 2); }
    }
    float *x = malloc(sizeof(float) * tokens * in);
    for (int64_t i = 0; i < (int64_t) tokens * in; i++) x[i] = gauss();
    float *out = malloc(sizeof(float) * tokens * rows), *ref = malloc(sizeof(float) * tokens * rows);
    void (*f)(const uint8_t *, int64_t, int32_t, int32_t, int32_t, int32_t, const float *, int32_t, float *) =
            type == 0 ? tsr_f32 : type == 1 ? tsr_f16 : tsr_bf16;
    void (*g)(const uint8_t *, int64_t, int32_t, int32_t, int32_t, int32_t, const float *, int32_t, float *) =
            type == 0 ? ref_tsr_f32 : type == 1 ? ref_tsr_f16 : ref_tsr_bf16;
    f(w, row_bytes, in, 0, rows, rows, x, tokens, out);
    g(w, row_bytes, in, 0, rows, rows, x, tokens, ref);
    char what[64];
    snprintf(what, sizeof what, "%s in=%d rows=%d tokens=%d", type == 0 ? "f32" : type == 1 ? "f16" : "bf16", in, rows, tokens);
    same(out, ref, tokens * rows, what);
    free(w); free(x); free(out); free(ref);
}

/* FP8: blocks of 64 values, a float scale below 2^8 then 64 E4M3 codes (any but the NaN codes 0x7F, 0xFF). */
static void fp8_case(int in, int rows, int tokens) {
    int64_t row_bytes = (int64_t) in / 64 * 68;
    uint8_t *w = malloc(row_bytes * rows);
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < in / 64; b++) {
            uint8_t *p = w + r * row_bytes + b * 68;
            float scale = (float) (next() % 1000) / 4096.0f;
            memcpy(p, &scale, 4);
            for (int j = 0; j < 64; j++) {
                uint8_t c = (uint8_t) next();
                p[4 + j] = (c & 0x7F) == 0x7F ? (uint8_t) (c & 0x80) : c;
            }
        }
    float *x = malloc(sizeof(float) * tokens * in);
    for (int64_t i = 0; i < (int64_t) tokens * in; i++) x[i] = gauss();
    float *out = malloc(sizeof(float) * tokens * rows), *ref = malloc(sizeof(float) * tokens * rows);
    tsr_fp8(w, row_bytes, in, rows - 1, rows, rows, x, tokens, out);
    tsr_fp8(w, row_bytes, in, 0, rows, rows, x, tokens, out);
    ref_tsr_fp8(w, row_bytes, in, 0, rows, rows, x, tokens, ref);
    char what[64];
    snprintf(what, sizeof what, "fp8 in=%d rows=%d tokens=%d", in, rows, tokens);
    same(out, ref, tokens * rows, what);
    free(w); free(x); free(out); free(ref);
}

/* Q4_1: blocks of 32 values, half d and half m (finite, small) then 16 bytes of nibbles. */
static void q4_1_case(int in, int rows, int tokens) {
    int64_t row_bytes = (int64_t) in / 32 * 20;
    uint8_t *w = malloc(row_bytes * rows);
    for (int64_t i = 0; i < row_bytes * rows; i++) w[i] = (uint8_t) next();
    for (int r = 0; r < rows; r++)
        for (int b = 0; b < in / 32; b++)
            for (int k = 0; k < 2; k++) {
                uint16_t h = (uint16_t) (half() & 0xBFFF);
                memcpy(w + r * row_bytes + b * 20 + 2 * k, &h, 2);
            }
    float *x = malloc(sizeof(float) * tokens * in);
    for (int64_t i = 0; i < (int64_t) tokens * in; i++) x[i] = gauss();
    float *out = malloc(sizeof(float) * tokens * rows), *ref = malloc(sizeof(float) * tokens * rows);
    tsr_q4_1(w, row_bytes, in, rows - 1, rows, rows, x, tokens, out);
    tsr_q4_1(w, row_bytes, in, 0, rows, rows, x, tokens, out);
    ref_tsr_q4_1(w, row_bytes, in, 0, rows, rows, x, tokens, ref);
    char what[64];
    snprintf(what, sizeof what, "q4_1 in=%d rows=%d tokens=%d", in, rows, tokens);
    same(out, ref, tokens * rows, what);
    free(w); free(x); free(out); free(ref);
}

/*
 * Attention over a cache of `slots` rows of two heads (type 0 F32, 1 F16, 2 BF16), the second head
 * read, positions from..len at shuffled slots, three tokens with windows, two query heads each:
 * buffers of exactly the size NativeKernels' checks allow.
 */
static void attention_case(int type, int hd) {
    enum { SLOTS = 24, FROM = 3, LEN = 20, NT = 3, NH = 2 };
    int64_t eb = type == 0 ? 4 : 2, row_bytes = 2 * hd * eb;
    uint8_t *rows = malloc(row_bytes * SLOTS);
    for (int64_t i = 0; i < row_bytes * SLOTS / eb; i++) {
        float f = gauss();
        if (type == 0) memcpy(rows + 4 * i, &f, 4);
        else if (type == 1) { uint16_t h = (uint16_t) (half() & 0xBFFF); memcpy(rows + 2 * i, &h, 2); }
        else { uint32_t u; memcpy(&u, &f, 4); uint16_t b = (uint16_t) (u >> 16); memcpy(rows + 2 * i, &b, 2); }
    }
    int32_t *slots = malloc(sizeof(int32_t) * (LEN - FROM));
    for (int i = 0; i < LEN - FROM; i++) slots[i] = (i * 7 + 5) % SLOTS;
    int32_t qo[NT] = {0, NH * hd, 2 * NH * hd}, lo[NT] = {FROM, 8, 12}, hi[NT] = {17, 18, LEN - 1};
    float *q = malloc(sizeof(float) * NT * NH * hd);
    for (int i = 0; i < NT * NH * hd; i++) q[i] = gauss();
    float *sc = calloc(NT * NH * LEN, sizeof(float)), *rsc = calloc(NT * NH * LEN, sizeof(float));
    float *out = calloc(NT * NH * hd, sizeof(float)), *ref = calloc(NT * NH * hd, sizeof(float));
    tsr_attn_scores(rows, row_bytes, type, hd * eb, slots, FROM, LEN, hd, q, qo, lo, hi, NT, NH, 0.25f, sc);
    ref_tsr_attn_scores(rows, row_bytes, type, hd * eb, slots, FROM, LEN, hd, q, qo, lo, hi, NT, NH, 0.25f, rsc);
    tsr_attn_values(rows, row_bytes, type, hd * eb, slots, FROM, LEN, hd, sc, qo, lo, hi, NT, NH, out);
    ref_tsr_attn_values(rows, row_bytes, type, hd * eb, slots, FROM, LEN, hd, sc, qo, lo, hi, NT, NH, ref);
    char what[64];
    snprintf(what, sizeof what, "attention type %d head %d scores", type, hd);
    same(sc, rsc, NT * NH * LEN, what);
    snprintf(what, sizeof what, "attention type %d head %d values", type, hd);
    same(out, ref, NT * NH * hd, what);
    free(rows); free(slots); free(q); free(sc); free(rsc); free(out); free(ref);
}

/* W8A8: int8 rows (any byte, -128 included) with a scale each, int8 tokens in [-127, 127] with their code sums. */
static void w8a8_case(int in, int rows, int tokens) {
    int8_t *w = malloc((size_t) in * rows);
    for (int64_t i = 0; i < (int64_t) in * rows; i++) w[i] = (int8_t) next();
    float *ws = malloc(sizeof(float) * rows);
    for (int r = 0; r < rows; r++) ws[r] = (float) (next() % 1000) / 8192.0f;
    int8_t *x = malloc((size_t) tokens * in);
    float *xs = malloc(sizeof(float) * tokens);
    int32_t *sum = malloc(sizeof(int32_t) * tokens);
    for (int t = 0; t < tokens; t++) {
        sum[t] = 0;
        xs[t] = (float) (1 + next() % 1000) / 4096.0f;
        for (int i = 0; i < in; i++) {
            int v = (int) (next() % 255) - 127;
            x[(int64_t) t * in + i] = (int8_t) v;
            sum[t] += v;
        }
    }
    float *out = malloc(sizeof(float) * tokens * rows), *ref = malloc(sizeof(float) * tokens * rows);
    tsr_w8a8(w, in, in, rows - 1, rows, rows, x, xs, sum, ws, tokens, out);
    tsr_w8a8(w, in, in, 0, rows, rows, x, xs, sum, ws, tokens, out);
    ref_tsr_w8a8(w, in, in, 0, rows, rows, x, xs, sum, ws, tokens, ref);
    char what[64];
    snprintf(what, sizeof what, "w8a8 in=%d rows=%d tokens=%d", in, rows, tokens);
    same(out, ref, tokens * rows, what);
    free(w); free(ws); free(x); free(xs); free(sum); free(out); free(ref);
}

int main(void) {
    int lanes[][3] = {{256, 1, 1}, {512, 3, 5}, {2048, 5, 9}, {256, 6, 8}, {16640, 7, 4}};
    for (unsigned i = 0; i < sizeof lanes / sizeof lanes[0]; i++) {
        for (int kind = 0; kind < 4; kind++)
            lanes_case(kind, lanes[i][0], lanes[i][1], lanes[i][2]);
    }
    int floats[][3] = {{1, 1, 1}, {7, 2, 3}, {33, 3, 5}, {264, 4, 6}, {1031, 2, 2}};
    for (unsigned i = 0; i < sizeof floats / sizeof floats[0]; i++)
        for (int t = 0; t < 3; t++)
            float_case(t, floats[i][0], floats[i][1], floats[i][2]);
    int fp8[][3] = {{64, 1, 1}, {192, 3, 5}, {2048, 5, 9}};
    for (unsigned i = 0; i < sizeof fp8 / sizeof fp8[0]; i++)
        fp8_case(fp8[i][0], fp8[i][1], fp8[i][2]);
    int q41[][3] = {{32, 1, 1}, {96, 3, 5}, {2048, 5, 9}};
    for (unsigned i = 0; i < sizeof q41 / sizeof q41[0]; i++)
        q4_1_case(q41[i][0], q41[i][1], q41[i][2]);
    int heads[] = {5, 13, 64};
    for (int type = 0; type < 3; type++)
        for (unsigned i = 0; i < sizeof heads / sizeof heads[0]; i++)
            attention_case(type, heads[i]);
    int w8a8[][3] = {{1, 1, 1}, {31, 2, 3}, {64, 3, 4}, {65, 5, 5}, {172, 4, 9}, {2048, 3, 2}};
    for (unsigned i = 0; i < sizeof w8a8 / sizeof w8a8[0]; i++)
        w8a8_case(w8a8[i][0], w8a8[i][1], w8a8[i][2]);
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
