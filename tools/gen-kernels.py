# Writes the per-type weight kernels (tessera-core/.../kernel/{F32,F16,Bf16,Q8_0,Q4_0,Q4_1,Q4K,Q6K}Kernel.java)
# from one template, so that dot and dot4 of every type keep the same summation order and the hot
# loops stay written out in full (see WeightKernel). Edit here, run `python3 tools/gen-kernels.py`,
# then ./run-tests -pl tessera-core (WeightKernelTest checks every kernel against the reference).
import sys, textwrap
import os
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tessera-core/src/main/java/io/tessera/core/kernel/')

def ind(s, n):
    return textwrap.indent(textwrap.dedent(s).strip('\n'), ' ' * n) + '\n'

def tokens_block(decode, xoffs, scaled, T, depth):
    s = ind(decode, depth)
    for t in range(T):
        xv = f'x{t}' if T > 1 else 'xOff'
        s += ind(f"FloatVector s{t} = w0.mul(FloatVector.fromArray(F, x, {xv} + xi + {xoffs[0]}));", depth)
        s += ind(f"FloatVector u{t} = w2.mul(FloatVector.fromArray(F, x, {xv} + xi + {xoffs[2]}));", depth)
        s += ind(f"s{t} = w1.fma(FloatVector.fromArray(F, x, {xv} + xi + {xoffs[1]}), s{t});", depth)
        s += ind(f"u{t} = w3.fma(FloatVector.fromArray(F, x, {xv} + xi + {xoffs[3]}), u{t});", depth)
        s += ind(f"s{t} = s{t}.add(u{t});", depth)
        if scaled:
            s += ind(f"a{t} = s{t}.fma(d, a{t});", depth)
        else:
            s += ind(f"a{t} = a{t}.add(s{t});", depth)
    return s

def method(T, spec):
    loop_open, loop_close, decode, xoffs, scaled, depth = spec['loop_open'], spec['loop_close'], spec['decode'], spec['xoffs'], spec['scaled'], spec['depth']
    body = ''
    if 'check' in spec:
        body += ind(spec['check'], 8)
    if T == 1:
        body += ind("FloatVector a0 = FloatVector.zero(F);", 8)
    else:
        body += ind("""
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            int x0 = xOff;
            int x1 = xOff + xStride;
            int x2 = xOff + 2 * xStride;
            int x3 = xOff + 3 * xStride;""", 8)
    body += ind(loop_open, 8)
    body += tokens_block(decode, xoffs, scaled, T, depth)
    body += ind(loop_close, 8)
    if 'tail' in spec:
        body += spec['tail'](T)
    elif T == 1:
        body += ind("""
            float[] l = new float[8];
            a0.intoArray(l, 0);
            return lanes(l, 0);""", 8)
    if T > 1 and 'tail' not in spec:
        body += ind("""
            float[] l = new float[32];
            a0.intoArray(l, 0);
            a1.intoArray(l, 8);
            a2.intoArray(l, 16);
            a3.intoArray(l, 24);
            out[outOff] = lanes(l, 0);
            out[outOff + outStride] = lanes(l, 8);
            out[outOff + 2 * outStride] = lanes(l, 16);
            out[outOff + 3 * outStride] = lanes(l, 24);""", 8)
    if T == 1:
        head = "    @Override\n    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {\n"
    else:
        head = ("    @Override\n    public void dot4(MemorySegment w, long off, float[] x, int xOff, int xStride, int n, float[] out, int outOff,\n"
                "            int outStride) {\n")
    return head + body + "    }\n"

def write(cls, spec):
    src = f"""package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
{spec['doc']}
 *
 * <p>The hot loops are written out in full, without helper methods taking or returning vectors:
 * such a helper, once compiled on its own into a large method, is no longer inlined and its
 * vectors get boxed, which costs an order of magnitude.
 */
final class {cls} extends WeightKernel {{

    static final {cls} INSTANCE = new {cls}();

    private {cls}() {{
        super(GgmlType.{spec['type']});
    }}
{spec.get('extra', '')}
{method(1, spec)}
{method(4, spec)}
{spec['decodeRow']}}}
"""
    # drop unused imports
    lines = src.split('\n')
    body = '\n'.join(l for l in lines if not l.startswith('import '))
    keep = []
    for l in lines:
        if l.startswith('import ') and not l.startswith('import io.') and not l.startswith('import java.lang.foreign.MemorySegment'):
            name = l.rstrip(';').split('.')[-1]
            if name not in body:
                continue
        keep.append(l)
    open(OUT + cls + '.java', 'w').write('\n'.join(keep))

def float_tail(bytes_per, load8, scalar):
    def tail(T):
        if T == 1:
            return ind(f"""
                for (; i + 8 <= n; i += 8) {{
                    long p = off + (long) i * {bytes_per};
                    FloatVector w0 = {load8};
                    a0 = w0.fma(FloatVector.fromArray(F, x, xOff + i), a0);
                }}
                float[] l = new float[8];
                a0.intoArray(l, 0);
                float sum = lanes(l, 0);
                for (; i < n; i++) {{
                    sum += {scalar.replace('@P', f'off + (long) i * {bytes_per}')} * x[xOff + i];
                }}
                return sum;""", 8)
        return ind(f"""
            for (; i + 8 <= n; i += 8) {{
                long p = off + (long) i * {bytes_per};
                FloatVector w0 = {load8};
                a0 = w0.fma(FloatVector.fromArray(F, x, x0 + i), a0);
                a1 = w0.fma(FloatVector.fromArray(F, x, x1 + i), a1);
                a2 = w0.fma(FloatVector.fromArray(F, x, x2 + i), a2);
                a3 = w0.fma(FloatVector.fromArray(F, x, x3 + i), a3);
            }}
            float[] l = new float[32];
            a0.intoArray(l, 0);
            a1.intoArray(l, 8);
            a2.intoArray(l, 16);
            a3.intoArray(l, 24);
            float s0 = lanes(l, 0);
            float s1 = lanes(l, 8);
            float s2 = lanes(l, 16);
            float s3 = lanes(l, 24);
            for (; i < n; i++) {{
                float wi = {scalar.replace('@P', f'off + (long) i * {bytes_per}')};
                s0 += wi * x[x0 + i];
                s1 += wi * x[x1 + i];
                s2 += wi * x[x2 + i];
                s3 += wi * x[x3 + i];
            }}
            out[outOff] = s0;
            out[outOff + outStride] = s1;
            out[outOff + 2 * outStride] = s2;
            out[outOff + 3 * outStride] = s3;""", 8)
    return tail

def float_kernel(cls, typ, bpv, load, scalar, doc):
    def ld(pexpr):
        return load.replace('@P', pexpr)
    decode = '\n'.join(f"FloatVector w{k} = {ld('p' if k == 0 else f'p + {8*k*bpv}')};" for k in range(4))
    spec = dict(type=typ, doc=doc, scaled=False, xoffs=[0, 8, 16, 24], depth=12,
                loop_open=f"int i = 0;\nfor (; i + 32 <= n; i += 32) {{\n    long p = off + (long) i * {bpv};\n    int xi = i;",
                loop_close="}", decode=decode, tail=float_tail(bpv, ld('p'), scalar),
                decodeRow=f"""    @Override
    public void decodeRow(MemorySegment w, long off, float[] dst, int dstOff, int n) {{
        for (int i = 0; i < n; i++) {{
            dst[dstOff + i] = {scalar.replace('@P', f'off + (long) i * {bpv}')};
        }}
    }}
""")
    write(cls, spec)

float_kernel('F32Kernel', 'F32', 4, 'FloatVector.fromMemorySegment(F, w, @P, LE)', 'w.get(F32, @P)',
    ' * F32: IEEE single-precision weights, summed in the common block order of {@link WeightKernel}.')
# F16: halves to floats with integer operations
float_kernel('F16Kernel', 'F16', 2,
    '((IntVector) ShortVector.fromMemorySegment(ShortVector.SPECIES_128, w, @P, LE).convertShape(VectorOperators.S2I, IntVector.SPECIES_256, 0)).lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).reinterpretAsFloats().mul(0x1p112f)',
    'Float.float16ToFloat(w.get(I16, @P))',
    ''' * F16: IEEE half-precision weights. The Vector API has no half-to-float conversion, so eight halves
 * are widened with integer operations: the sign-extended 16 bits shifted left by 13 put exponent
 * and mantissa in place, masking with 0x8FFFFFFF keeps the sign in bit 31, and multiplying by
 * 2^112 rebiases the exponent (which also turns half subnormals into the right floats). Infinities
 * and NaNs, which weights do not hold, come out as large finite values.''')
float_kernel('Bf16Kernel', 'BF16', 2,
    '((IntVector) ShortVector.fromMemorySegment(ShortVector.SPECIES_128, w, @P, LE).convertShape(VectorOperators.S2I, IntVector.SPECIES_256, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()',
    'Float.intBitsToFloat(w.get(I16, @P) << 16)',
    ' * BF16: bfloat16 weights, the upper half of a float, widened in registers by a shift.')

def load64(p):
    return f"ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, {p}, LE)"
def widen(b):
    return f"((FloatVector) {b}.convertShape(VectorOperators.B2F, F, 0))"
def lo(b):
    return f"{b}.and((byte) 0x0F)"
def hi(b):
    return f"{b}.reinterpretAsInts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F)"

write('Q8_0Kernel', dict(type='Q8_0', scaled=True, xoffs=[0, 8, 16, 24], depth=12,
    doc=''' * Q8_0: blocks of 32 values, a half-precision scale d then 32 signed bytes; value = d·q. Per block
 * the bytes are widened to floats, multiplied with the activations in a fixed chain, and the block
 * sum is scaled once: {@code acc += d · Σ q·x}.''',
    check="checkBlocks(n, 32);",
    loop_open="long p = off;\nfor (int i = 0; i < n; i += 32, p += 34) {\n    int xi = i;",
    loop_close="}",
    decode="FloatVector d = FloatVector.broadcast(F, f16(w, p));\n" + '\n'.join(
        f"FloatVector w{k} = {widen(load64(f'p + {2 + 8*k}'))};" for k in range(4)),
    decodeRow='''    @Override
    public void decodeRow(MemorySegment w, long off, float[] dst, int dstOff, int n) {
        checkBlocks(n, 32);
        for (int b = 0; b < n / 32; b++) {
            long p = off + (long) b * 34;
            float d = f16(w, p);
            for (int j = 0; j < 32; j++) {
                dst[dstOff + b * 32 + j] = d * w.get(ValueLayout.JAVA_BYTE, p + 2 + j);
            }
        }
    }
'''))

write('Q4_0Kernel', dict(type='Q4_0', scaled=True, xoffs=[0, 8, 16, 24], depth=12,
    doc=''' * Q4_0: blocks of 32 values, a half-precision scale d then 16 bytes of nibbles (value j in the low
 * nibble of byte j, value j+16 in its high nibble); value = d·(q − 8). Nibbles are split and
 * widened in registers; {@code acc += d · Σ (q−8)·x} per block, as for Q8_0.''',
    check="checkBlocks(n, 32);",
    loop_open="long p = off;\nfor (int i = 0; i < n; i += 32, p += 18) {\n    int xi = i;",
    loop_close="}",
    decode=f"""FloatVector d = FloatVector.broadcast(F, f16(w, p));
ByteVector b0 = {load64('p + 2')};
ByteVector b1 = {load64('p + 10')};
FloatVector w0 = {widen(lo('b0') + '.sub((byte) 8)')};
FloatVector w1 = {widen(lo('b1') + '.sub((byte) 8)')};
FloatVector w2 = {widen(hi('b0') + '.sub((byte) 8)')};
FloatVector w3 = {widen(hi('b1') + '.sub((byte) 8)')};""",
    decodeRow='''    @Override
    public void decodeRow(MemorySegment w, long off, float[] dst, int dstOff, int n) {
        checkBlocks(n, 32);
        for (int b = 0; b < n / 32; b++) {
            long p = off + (long) b * 18;
            float d = f16(w, p);
            int o = dstOff + b * 32;
            for (int j = 0; j < 16; j++) {
                int q = w.get(ValueLayout.JAVA_BYTE, p + 2 + j) & 0xFF;
                dst[o + j] = d * ((q & 0x0F) - 8);
                dst[o + j + 16] = d * ((q >>> 4) - 8);
            }
        }
    }
'''))

write('Q4_1Kernel', dict(type='Q4_1', scaled=False, xoffs=[0, 8, 16, 24], depth=12,
    doc=''' * Q4_1: blocks of 32 values, half-precision d and m then 16 bytes of nibbles; value = d·q + m. The
 * weights are rebuilt in registers ({@code fma(q, d, m)}) and summed per block.''',
    check="checkBlocks(n, 32);",
    loop_open="long p = off;\nfor (int i = 0; i < n; i += 32, p += 20) {\n    int xi = i;",
    loop_close="}",
    decode=f"""FloatVector d = FloatVector.broadcast(F, f16(w, p));
FloatVector m = FloatVector.broadcast(F, f16(w, p + 2));
ByteVector b0 = {load64('p + 4')};
ByteVector b1 = {load64('p + 12')};
FloatVector w0 = {widen(lo('b0'))}.fma(d, m);
FloatVector w1 = {widen(lo('b1'))}.fma(d, m);
FloatVector w2 = {widen(hi('b0'))}.fma(d, m);
FloatVector w3 = {widen(hi('b1'))}.fma(d, m);""",
    decodeRow='''    @Override
    public void decodeRow(MemorySegment w, long off, float[] dst, int dstOff, int n) {
        checkBlocks(n, 32);
        for (int b = 0; b < n / 32; b++) {
            long p = off + (long) b * 20;
            float d = f16(w, p);
            float m = f16(w, p + 2);
            int o = dstOff + b * 32;
            for (int j = 0; j < 16; j++) {
                int q = w.get(ValueLayout.JAVA_BYTE, p + 4 + j) & 0xFF;
                dst[o + j] = Math.fma(q & 0x0F, d, m);
                dst[o + j + 16] = Math.fma(q >>> 4, d, m);
            }
        }
    }
'''))

def nib(b):
    return f"{b}.reinterpretAsInts().lanewise(VectorOperators.LSHR, shift).reinterpretAsBytes().and((byte) 0x0F)"
write('Q4KKernel', dict(type='Q4_K', scaled=False, xoffs=[0, 8, 16, 24], depth=16,
    doc=''' * Q4_K: super-blocks of 256 values: half-precision d and dmin, 12 bytes packing eight 6-bit scales
 * and eight 6-bit mins, then 128 bytes of nibbles. Each 64 values share 32 bytes: the low nibbles
 * are one 32-value sub-block, the high nibbles the next; value = d·sc·q − dmin·m. Weights are
 * rebuilt in registers ({@code fma(q, d·sc, −dmin·m)}) and summed per 32-value sub-block.''',
    check="checkBlocks(n, 256);",
    loop_open="""long p = off;
for (int i = 0; i < n; i += 256, p += 144) {
    float d = f16(w, p);
    float dmin = f16(w, p + 2);
    for (int sb = 0; sb < 8; sb++) {
        int xi = i + 32 * sb;
        long q = p + 16 + 32L * (sb >> 1);
        int shift = (sb & 1) << 2;""",
    loop_close="    }\n}",
    decode=f"""FloatVector sc = FloatVector.broadcast(F, d * scale(w, p + 4, sb));
FloatVector mn = FloatVector.broadcast(F, -dmin * min(w, p + 4, sb));
""" + '\n'.join(f"FloatVector w{k} = {widen(nib(load64(f'q + {8*k}')))}.fma(sc, mn);" for k in range(4)),
    extra='''
    /** The 6-bit scale of sub-block j (0..7) from the 12 packed bytes at s. */
    static int scale(MemorySegment w, long s, int j) {
        if (j < 4) {
            return w.get(ValueLayout.JAVA_BYTE, s + j) & 63;
        }
        return (w.get(ValueLayout.JAVA_BYTE, s + j + 4) & 0x0F) | ((w.get(ValueLayout.JAVA_BYTE, s + j - 4) & 0xFF) >>> 6) << 4;
    }

    /** The 6-bit min of sub-block j (0..7). */
    static int min(MemorySegment w, long s, int j) {
        if (j < 4) {
            return w.get(ValueLayout.JAVA_BYTE, s + j + 4) & 63;
        }
        return ((w.get(ValueLayout.JAVA_BYTE, s + j + 4) & 0xFF) >>> 4) | ((w.get(ValueLayout.JAVA_BYTE, s + j) & 0xFF) >>> 6) << 4;
    }
''',
    decodeRow='''    @Override
    public void decodeRow(MemorySegment w, long off, float[] dst, int dstOff, int n) {
        checkBlocks(n, 256);
        for (int b = 0; b < n / 256; b++) {
            long p = off + (long) b * 144;
            float d = f16(w, p);
            float dmin = f16(w, p + 2);
            for (int sb = 0; sb < 8; sb++) {
                float sc = d * scale(w, p + 4, sb);
                float mn = -dmin * min(w, p + 4, sb);
                long q = p + 16 + 32L * (sb >> 1);
                int o = dstOff + b * 256 + 32 * sb;
                for (int l = 0; l < 32; l++) {
                    int v = w.get(ValueLayout.JAVA_BYTE, q + l) & 0xFF;
                    dst[o + l] = Math.fma((sb & 1) == 0 ? v & 0x0F : v >>> 4, sc, mn);
                }
            }
        }
    }
'''))

def bits(h, op):
    return f"{h}.reinterpretAsInts().lanewise(VectorOperators.{op}).reinterpretAsBytes().and((byte) 0x30)"
write('Q6KKernel', dict(type='Q6_K', scaled=False, xoffs=[0, 32, 64, 96], depth=16,
    doc=''' * Q6_K: super-blocks of 256 values: 128 bytes of low nibbles (ql), 64 bytes of high 2-bit pairs
 * (qh), 16 signed 8-bit scales, a half-precision d; value = d·sc·(q − 32) with q of 6 bits and one
 * scale per 16 values. Each half of 128 values takes 64 ql bytes and 32 qh bytes; for l < 32 the
 * values l, l+32, l+64, l+96 come from ql[l] low, ql[l+32] low, ql[l] high, ql[l+32] high, with
 * qh[l] bits 0-1, 2-3, 4-5, 6-7 on top. The kernel's "block" is 8 consecutive l of the four
 * quarters.''',
    check="checkBlocks(n, 256);",
    loop_open="""long p = off;
for (int i = 0; i < n; i += 256, p += 210) {
    float d = f16(w, p + 208);
    for (int c = 0; c < 8; c++) {
        int h = c >> 2;
        int l = (c & 3) << 3;
        int xi = i + 128 * h + l;
        int s = 8 * h + (l >> 4);
        long ql = p + 64 * h + l;""",
    loop_close="    }\n}",
    decode=f"""ByteVector qa = {load64('ql')};
ByteVector qb = {load64('ql + 32')};
ByteVector qh = {load64('p + 128 + 32 * h + l')};
FloatVector w0 = {widen(lo('qa') + '.or(' + bits('qh', 'LSHL, 4') + ').sub((byte) 32)')}.mul(d * sc(w, p, s));
FloatVector w1 = {widen(lo('qb') + '.or(' + bits('qh', 'LSHL, 2') + ').sub((byte) 32)')}.mul(d * sc(w, p, s + 2));
FloatVector w2 = {widen(hi('qa') + '.or(qh.and((byte) 0x30)).sub((byte) 32)')}.mul(d * sc(w, p, s + 4));
FloatVector w3 = {widen(hi('qb') + '.or(' + bits('qh', 'LSHR, 2') + ').sub((byte) 32)')}.mul(d * sc(w, p, s + 6));""",
    extra='''
    private static int sc(MemorySegment w, long p, int k) {
        return w.get(ValueLayout.JAVA_BYTE, p + 192 + k);
    }
''',
    decodeRow='''    @Override
    public void decodeRow(MemorySegment w, long off, float[] dst, int dstOff, int n) {
        checkBlocks(n, 256);
        for (int b = 0; b < n / 256; b++) {
            long p = off + (long) b * 210;
            float d = f16(w, p + 208);
            for (int h = 0; h < 2; h++) {
                for (int l = 0; l < 32; l++) {
                    int a = w.get(ValueLayout.JAVA_BYTE, p + 64 * h + l) & 0xFF;
                    int c = w.get(ValueLayout.JAVA_BYTE, p + 64 * h + l + 32) & 0xFF;
                    int hb = w.get(ValueLayout.JAVA_BYTE, p + 128 + 32 * h + l) & 0xFF;
                    int s = 8 * h + (l >> 4);
                    int o = dstOff + b * 256 + 128 * h + l;
                    dst[o] = d * sc(w, p, s) * (((a & 0x0F) | (hb & 3) << 4) - 32);
                    dst[o + 32] = d * sc(w, p, s + 2) * (((c & 0x0F) | ((hb >> 2) & 3) << 4) - 32);
                    dst[o + 64] = d * sc(w, p, s + 4) * (((a >>> 4) | ((hb >> 4) & 3) << 4) - 32);
                    dst[o + 96] = d * sc(w, p, s + 6) * (((c >>> 4) | ((hb >> 6) & 3) << 4) - 32);
                }
            }
        }
    }
'''))
