# Writes the per-type weight kernels (tessera-core/.../kernel/{F32,F16,Bf16,Fp8,Q8_0,Q4_0,Q4_1,Q4K,Q6K}Kernel.java)
# from one template, so that decodeRow and dot of every type rebuild the weights with the same vector
# operations, dot sums in the order WeightKernel documents, and the hot loops stay written out in
# full. Edit here, run `python3 tools/gen-kernels.py`, then ./run-tests -pl tessera-core
# (WeightKernelTest checks every kernel against the scalar reference codecs).
#
# A type is described by its block loop: per-block setup code (p is the block's address), an optional
# inner loop over sub-blocks, and the list of 8-lane weight vectors the block holds, in ascending
# value order (each four of them one 32-value group), each with its offset from `xi` (the index of
# the sub-block's first value).
import os
import textwrap

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tessera-core/src/main/java/io/tessera/core/kernel/')


def ind(s, n):
    return textwrap.indent(textwrap.dedent(s).strip('\n'), ' ' * n) + '\n'


def gen_dot(spec, name='dot', doc=''):
    def emit(vecs):
        if len(vecs) == 1:  # a lone 8-value vector (float types, after the groups)
            expr, xoff = vecs[0]
            return f"a = {expr}.fma(FloatVector.fromArray(F, x, xOff + xi + {xoff}), a);\n"
        s = ''
        for g in range(0, len(vecs), 4):
            (e0, o0), (e1, o1), (e2, o2), (e3, o3) = vecs[g:g + 4]
            s += f"FloatVector w0 = {e0};\nFloatVector w1 = {e1};\nFloatVector w2 = {e2};\nFloatVector w3 = {e3};\n" if g == 0 else \
                 f"w0 = {e0};\nw1 = {e1};\nw2 = {e2};\nw3 = {e3};\n"
            s += (f"FloatVector s = w0.mul(FloatVector.fromArray(F, x, xOff + xi + {o0}));\n" if g == 0 else
                  f"s = w0.mul(FloatVector.fromArray(F, x, xOff + xi + {o0}));\n")
            s += (f"FloatVector u = w2.mul(FloatVector.fromArray(F, x, xOff + xi + {o2}));\n" if g == 0 else
                  f"u = w2.mul(FloatVector.fromArray(F, x, xOff + xi + {o2}));\n")
            s += f"s = w1.fma(FloatVector.fromArray(F, x, xOff + xi + {o1}), s);\n"
            s += f"u = w3.fma(FloatVector.fromArray(F, x, xOff + xi + {o3}), u);\n"
            s += "a = a.add(s.add(u));\n"
        return s
    s = spec.get('check', '') + '\n' + "FloatVector a = FloatVector.zero(F);\n"
    s += loops(spec, emit)
    s += "float sum = lanes(a);\n"
    if 'scalar' in spec:
        s += f"for (; i < n; i++) {{\n    sum += {spec['scalar'].replace('@P', 'off + (long) i * ' + str(spec['bpv']))} * x[xOff + i];\n}}\n"
    s += "return sum;\n"
    return (doc + ("    @Override\n" if name == 'dot' else '')
            + f"    float {name}(MemorySegment w, long off, float[] x, int xOff, int n) {{\n"
            + ind(s, 8) + "    }\n")


def gen_decode(spec):
    def emit(vecs):
        return ''.join(f"{expr}.intoArray(dst, dstOff + xi + {xoff});\n" for expr, xoff in vecs)
    s = spec.get('check', '') + '\n'
    s += loops(spec, emit)
    if 'scalar' in spec:
        s += f"for (; i < n; i++) {{\n    dst[dstOff + i] = {spec['scalar'].replace('@P', 'off + (long) i * ' + str(spec['bpv']))};\n}}\n"
    return ("    @Override\n    public void decodeRow(MemorySegment w, long off, float[] dst, int dstOff, int n) {\n"
            + ind(s, 8) + "    }\n")


def pair_sum(pr, wide=False):
    """Neighbouring 16-bit lanes of pr (an IntVector view) added into 32-bit lanes, as floats.
    Adding pr shifted left by 16 puts lo + hi (mod 2^16) in each upper half with no carry from the
    lower one (the shifted term's lower half is zero); the arithmetic shift back then gives the
    exact sum wherever it fits in 16 bits. It does for the 4-bit and 6-bit kernels: at most four
    products of a 4-bit (Q4_0, Q4_K) or 6-bit (Q6_K) weight and a 7-bit activation,
    |sum| <= 4·32·127; three operations. Four products of 8-bit values (Q8_0) can reach
    4·128·127, more than 16 bits hold: wide sums each half sign-extended on its own (four operations)."""
    if wide:
        return (f"((FloatVector) {pr}.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16)"
                f".add({pr}.lanewise(VectorOperators.ASHR, 16)).convert(VectorOperators.I2F, 0))")
    return (f"((FloatVector) {pr}.add({pr}.lanewise(VectorOperators.LSHL, 16)).lanewise(VectorOperators.ASHR, 16)"
            f".convert(VectorOperators.I2F, 0))")


DECODE_SHORTS = "    @Override\n    void decodeShorts(MemorySegment w, long off, short[] dst, int dstOff, float[] scales, int sOff, int n) {\n"


def gen_int8(spec):
    """The integer dot product and decodeShorts of a Q8DotKernel (see its javadoc for the lane order)."""
    q = spec['int8']
    block = f"long p = off + (long) blk * {spec['bytes']};\n" + q.get('setup', '')
    dot = ("checkBlocks(n, 32);\nshort[] q = x.q;\nfloat[] xd = x.scale;\nint sb = xOff >> 5;\n"
           "FloatVector a = FloatVector.zero(F);\n"
           "for (int i = 0, blk = 0; i < n; i += 32, blk++) {\n" + block +
           f"ShortVector w0 = {q['w0']};\nShortVector w1 = {q['w1']};\n"
           "IntVector pr = w0.mul(ShortVector.fromArray(S16, q, xOff + i))"
           ".add(w1.mul(ShortVector.fromArray(S16, q, xOff + i + 16))).reinterpretAsInts();\n"
           f"FloatVector s = {pair_sum('pr', q.get('wide', False))};\n"
           f"a = s.fma(FloatVector.broadcast(F, {q['scale']} * xd[sb + blk]), a);\n"
           "}\nreturn lanes(a);\n")
    dec = ("checkBlocks(n, 32);\nfor (int i = 0, blk = 0; i < n; i += 32, blk++) {\n" + block +
           f"scales[sOff + blk] = {q['scale']};\n"
           f"({q['w0']}).intoArray(dst, dstOff + i);\n({q['w1']}).intoArray(dst, dstOff + i + 16);\n}}\n")
    return ("    @Override\n    float dot(MemorySegment w, long off, Q8Activations x, int xOff, int n) {\n"
            + ind(dot, 8) + "    }\n\n"
            + DECODE_SHORTS + ind(dec, 8) + "    }\n")


def loops(spec, emit):
    """The loop over a row's blocks; emit(vecs) writes what is done with one body's weight vectors."""
    if spec['block'] == 8:
        # float types: groups of four vectors, then single vectors, then single values (the caller's tail)
        load = spec['load']
        s = "int i = 0;\n"
        for step, offs in ((32, [0, 8, 16, 24]), (8, [0])):
            s += f"for (; i + {step} <= n; i += {step}) {{\n"
            s += f"long p = off + (long) i * {spec['bpv']};\nint xi = i;\n"
            s += emit([(load.replace('@O', str(o * spec['bpv'])), o) for o in offs])
            s += "}\n"
        return s
    s = f"for (int i = 0, blk = 0; i < n; i += {spec['block']}, blk++) {{\n"
    s += f"long p = off + (long) blk * {spec['bytes']};\n"
    if 'inner' not in spec:
        s += "int xi = i;\n"
    s += spec.get('setup', '') + '\n'
    close = "}\n"
    if 'inner' in spec:
        s += spec['inner'] + '\n' + spec.get('inner_setup', '') + '\n'
        close = "}\n}\n"
    s += emit(spec['vecs'])
    return s + close


def write(cls, spec):
    src = f"""package io.tessera.core.kernel;

import io.tessera.core.tensor.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
{spec['doc']}
 *
 * <p>Generated by tools/gen-kernels.py. The hot loops are written out in full, without helper
 * methods taking or returning vectors: such a helper, once compiled on its own into a large method,
 * is no longer inlined and its vectors get boxed, which costs an order of magnitude.
 */
final class {cls} extends {'Q8DotKernel' if 'int8' in spec or 'int8_methods' in spec else 'FloatDotKernel'} {{

    static final {cls} INSTANCE = new {cls}();

    private {cls}() {{
        super(GgmlType.{spec['type']});
    }}
{spec.get('extra', '')}
{gen_int8(spec) if 'int8' in spec else spec['int8_methods'] if 'int8_methods' in spec else gen_dot(spec)}
{gen_decode(spec)}}}
"""
    lines = src.split('\n')
    text = '\n'.join(l for l in lines if not l.startswith('import '))
    keep = []
    for l in lines:
        if l.startswith('import ') and not l.startswith('import io.') and not l.startswith('import java.lang.foreign.MemorySegment'):
            if l.rstrip(';').split('.')[-1] not in text:
                continue
        keep.append(l)
    # re-indent the generated statement blocks: ind() keeps relative indentation only for one level
    open(OUT + cls + '.java', 'w').write(fix_indent('\n'.join(keep)))


def fix_indent(src):
    """Indents the bodies of generated methods by brace depth (fragments are written flat)."""
    out = []
    depth = 0
    in_method = False
    for line in src.split('\n'):
        stripped = line.strip()
        if line.startswith(('    public ', '    float ', '    void ', '    @Override')):
            out.append(line)
            if line.rstrip().endswith('{'):
                in_method = True
                depth = 2
            continue
        if in_method:
            if stripped == '}' and depth == 2:
                out.append('    }')
                in_method = False
                continue
            if stripped.startswith('}'):
                depth -= stripped.count('}') - stripped.count('{') if stripped.count('}') > stripped.count('{') else 0
            out.append(('    ' * depth + stripped) if stripped else '')
            if not stripped.startswith('}'):
                depth += stripped.count('{') - stripped.count('}')
            continue
        out.append(line)
    return '\n'.join(out)


def float_kernel(cls, typ, bpv, load, scalar, doc):
    write(cls, dict(type=typ, doc=doc, block=8, bpv=bpv, load=load.replace('@P', 'p + @O'), scalar=scalar))


float_kernel('F32Kernel', 'F32', 4, 'FloatVector.fromMemorySegment(F, w, @P, LE)', 'w.get(F32, @P)',
    ' * F32: IEEE single-precision weights.')
# F16: halves to floats with integer operations
F16_BITS = '((IntVector) ShortVector.fromMemorySegment(ShortVector.SPECIES_128, w, @P, LE).convertShape(VectorOperators.S2I, IntVector.SPECIES_256, 0)).lanewise(VectorOperators.LSHL, 13).and(0x8FFFFFFF).reinterpretAsFloats()'
F16_SCALED = dict(block=8, bpv=2, load=F16_BITS.replace('@P', 'p + @O'),
                  scalar='Float.intBitsToFloat((w.get(I16, @P) << 13) & 0x8FFFFFFF)')
F16_EXTRA = '''
    /** The largest activation magnitude {@link #scaleActivations} accepts: beyond it x·2^112 overflows. */
    static final float SCALABLE = 0x1p16f;

    /**
     * {@code dst = x · 2^112} for the first n values; false, with dst unspecified, when a value is
     * not below {@link #SCALABLE} in magnitude (or is NaN), so that the scaled form would not be exact.
     */
    static boolean scaleActivations(float[] x, int n, float[] dst) {
        FloatVector max = FloatVector.zero(F);
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            FloatVector v = FloatVector.fromArray(F, x, i);
            max = max.max(v.abs());
            v.mul(0x1p112f).intoArray(dst, i);
        }
        float m = max.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            m = Math.max(m, Math.abs(x[i]));
            dst[i] = x[i] * 0x1p112f;
        }
        return m < SCALABLE;
    }'''
F16_SCALED_DOC = '''
    /**
     * {@link #dot} with the activations given as x·2^112 ({@link #scaleActivations}) and the weights
     * left as their shifted half bits, w·2^-112: each product is the same real number, so the result
     * is the same bits, with one vector multiplication fewer per 8 weights. Measured on Zen 3 against
     * {@link #dot}, one thread, 2048 columns: 1.2-1.4× in cache, 1.05-1.15× from memory; decode of
     * the 1B F16 model, two threads, seven alternations: 0.99-1.23× tokens/s (median 1.04×).
     */
'''
write('F16Kernel', dict(type='F16', block=8, bpv=2, load=(F16_BITS + '.mul(0x1p112f)').replace('@P', 'p + @O'),
                        scalar='Float.float16ToFloat(w.get(I16, @P))',
                        extra=F16_EXTRA + '\n' + gen_dot(F16_SCALED, 'dotScaled', F16_SCALED_DOC),
                        doc=''' * F16: IEEE half-precision weights. The Vector API has no half-to-float conversion, so eight halves
 * are widened with integer operations: the sign-extended 16 bits shifted left by 13 put exponent
 * and mantissa in place, masking with 0x8FFFFFFF keeps the sign in bit 31, and multiplying by
 * 2^112 rebiases the exponent (which also turns half subnormals into the right floats). Infinities
 * and NaNs, which weights do not hold, come out as large finite values. Decode skips the
 * multiplication by moving the 2^112 onto the activations ({@link #dotScaled}).'''))
float_kernel('Bf16Kernel', 'BF16', 2,
    '((IntVector) ShortVector.fromMemorySegment(ShortVector.SPECIES_128, w, @P, LE).convertShape(VectorOperators.S2I, IntVector.SPECIES_256, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()',
    'Float.intBitsToFloat(w.get(I16, @P) << 16)',
    ' * BF16: bfloat16 weights, the upper half of a float, widened in registers by a shift.')



def e4m3(p):
    """Eight E4M3 codes to floats times 2^-120, with integer operations: the sign-extended byte shifted
    left by 20 puts exponent and mantissa in a float's bits 20..26 and copies of the sign in bits
    27..31; masking with 0x87F00000 keeps the sign in bit 31. The result is the code's value · 2^-120
    (subnormal codes included: they land among the float subnormals), which the block's scale
    multiplied by 2^120 turns into the exact value's rounding in one multiplication."""
    return (f"((IntVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, {p}, LE)"
            f".convertShape(VectorOperators.B2I, IntVector.SPECIES_256, 0)).lanewise(VectorOperators.LSHL, 20)"
            f".and(0x87F00000).reinterpretAsFloats()")


write('Fp8Kernel', dict(type='FP8', block=64, bytes=68,
    doc=''' * FP8: blocks of 64 values, a float32 scale then 64 E4M3 codes (see {@code Fp8Codec}); value =
 * scale · e4m3(q), rebuilt in registers by integer operations and one multiplication by
 * scale · 2^120 (exact: the codes are never NaN and scales stay below 2^8, as loaders check).
 * Rebuilding from bits beats looking the codes up in a 256-entry table: the Vector API has no
 * byte-indexed table lookup, so a table means a gather of eight floats per vector.''',
    check="checkBlocks(n, 64);",
    setup="FloatVector d = FloatVector.broadcast(F, w.get(F32, p) * 0x1p120f);",
    vecs=[(f"{e4m3(f'p + {4 + 8 * k}')}.mul(d)", 8 * k) for k in range(8)]))


def load64(p):
    return f"ByteVector.fromMemorySegment(ByteVector.SPECIES_64, w, {p}, LE)"


def load128(p):
    return f"ByteVector.fromMemorySegment(ByteVector.SPECIES_128, w, {p}, LE)"


def widen16(b):
    """16 signed bytes to 16 shorts."""
    return f"((ShortVector) {b}.convertShape(VectorOperators.B2S, S16, 0))"


def widen(b):
    return f"((FloatVector) {b}.convertShape(VectorOperators.B2F, F, 0))"


def lo(b):
    return f"{b}.and((byte) 0x0F)"


def shr(b, k):
    """Bytes shifted right by k bits (k < 8) then masked by the caller; shifting 32-bit lanes is
    cheaper than byte lanes and the bits it drags across byte boundaries are masked off."""
    return f"{b}.reinterpretAsInts().lanewise(VectorOperators.LSHR, {k}).reinterpretAsBytes()"


def hi(b):
    return f"{shr(b, 4)}.and((byte) 0x0F)"


write('Q8_0Kernel', dict(type='Q8_0', block=32, bytes=34,
    doc=''' * Q8_0: blocks of 32 values, a half-precision scale d then 32 signed bytes; value = d·q. Rows whose
 * length is not a multiple of 256 (rows that are, are repacked at load: {@link Q8_0LanesKernel}).
 * The dot product multiplies the bytes, widened to 16 bits, with the activations rounded to 8
 * bits, as the lane-order kernel does, so that a matrix computes the same whichever layout it is in
 * (a tensor-parallel slice may not fill whole chunks); its pair sums take the wide form, since
 * four products of 8-bit values overflow 16 bits. decodeRow widens the bytes to floats and scales
 * them; the product of an 8-bit q and an 11-bit d is exact in a float.''',
    check="checkBlocks(n, 32);",
    setup="FloatVector d = FloatVector.broadcast(F, f16(w, p));",
    vecs=[(f"{widen(load64(f'p + {2 + 8 * k}'))}.mul(d)", 8 * k) for k in range(4)],
    int8=dict(scale="f16(w, p)", w0=widen16(load128('p + 2')), w1=widen16(load128('p + 18')), wide=True)))

write('Q4_0Kernel', dict(type='Q4_0', block=32, bytes=18,
    doc=''' * Q4_0: blocks of 32 values, a half-precision scale d then 16 bytes of nibbles (value j in the low
 * nibble of byte j, value j+16 in its high nibble); value = d·(q − 8). Nibbles are split and
 * widened in registers and rebuilt as {@code fma(q, d, −8d)}: q·d and 8d are exact in a float and so
 * is their difference, so this is exactly d·(q − 8), one operation fewer per eight values.''',
    check="checkBlocks(n, 32);",
    setup=f"float ds = f16(w, p);\nFloatVector d = FloatVector.broadcast(F, ds);\nFloatVector m = FloatVector.broadcast(F, -8 * ds);\nByteVector b = {load64('p + 2')};\nByteVector c = {load64('p + 10')};",
    vecs=[(f"{widen(lo('b'))}.fma(d, m)", 0),
          (f"{widen(lo('c'))}.fma(d, m)", 8),
          (f"{widen(hi('b'))}.fma(d, m)", 16),
          (f"{widen(hi('c'))}.fma(d, m)", 24)],
    int8=dict(scale="f16(w, p)", setup=f"ByteVector b = {load128('p + 2')};\n",
              w0=widen16(lo('b') + '.sub((byte) 8)'), w1=widen16(hi('b') + '.sub((byte) 8)'))))

write('Q4_1Kernel', dict(type='Q4_1', block=32, bytes=20,
    doc=''' * Q4_1: blocks of 32 values, half-precision d and m then 16 bytes of nibbles; value = d·q + m, rebuilt
 * in registers as {@code fma(q, d, m)}.''',
    check="checkBlocks(n, 32);",
    setup=f"FloatVector d = FloatVector.broadcast(F, f16(w, p));\nFloatVector m = FloatVector.broadcast(F, f16(w, p + 2));\nByteVector b = {load64('p + 4')};\nByteVector c = {load64('p + 12')};",
    vecs=[(f"{widen(lo('b'))}.fma(d, m)", 0),
          (f"{widen(lo('c'))}.fma(d, m)", 8),
          (f"{widen(hi('b'))}.fma(d, m)", 16),
          (f"{widen(hi('c'))}.fma(d, m)", 24)]))

def q4k_int8():
    """Q4_K on 8-bit activations: per super-block, the eight scales and mins are unpacked into the
    bytes of two longs and widened as vectors (unpacking them one at a time in scalar code took more
    instructions than the dot product itself); each 32 bytes of nibbles give two 32-value blocks."""
    nib = {'b0': widen16(lo('b')), 'c0': widen16(lo('c')), 'b1': widen16(hi('b')), 'c1': widen16(hi('c'))}
    dot = ("checkBlocks(n, 256);\nshort[] q = x.q;\nfloat[] xd = x.scale;\nfloat[] xs = x.sums;\n"
           "float[] ds = new float[8];\nbyte[] packed = new byte[16];\n"
           "FloatVector a = FloatVector.zero(F);\nFloatVector g = FloatVector.zero(F);\n"
           "for (int i = 0, blk = 0, sb = xOff >> 5; i < n; i += 256, blk++, sb += 8) {\n"
           "long p = off + (long) blk * 144;\nint b0 = w.get(I32, p + 4);\nint b1 = w.get(I32, p + 8);\nint b2 = w.get(I32, p + 12);\n"
           "PACKED.set(packed, 0, scales(b0, b2));\nPACKED.set(packed, 8, mins(b1, b2));\n"
           "// d·sc·d_x of the eight blocks (exact: 11 + 6 + 7 significant bits)\n"
           "FloatVector sc = (FloatVector) ByteVector.fromArray(ByteVector.SPECIES_64, packed, 0).convertShape(VectorOperators.B2F, F, 0);\n"
           "sc.mul(f16(w, p)).mul(FloatVector.fromArray(F, xd, sb)).intoArray(ds, 0);\n"
           "FloatVector mn = (FloatVector) ByteVector.fromArray(ByteVector.SPECIES_64, packed, 8).convertShape(VectorOperators.B2F, F, 0);\n"
           "g = mn.mul(f16(w, p + 2)).fma(FloatVector.fromArray(F, xs, sb), g);\n"
           "for (int j = 0; j < 8; j += 2) {\nlong qp = p + 16 + 16L * j;\nint xi = xOff + i + 32 * j;\n"
           f"ByteVector b = {load128('qp')};\nByteVector c = {load128('qp + 16')};\n")
    for half, xo in ((0, 0), (1, 32)):
        dot += (("IntVector " if half == 0 else "") +
                f"pr = {nib['b%d' % half]}.mul(ShortVector.fromArray(S16, q, xi + {xo}))"
                f".add({nib['c%d' % half]}.mul(ShortVector.fromArray(S16, q, xi + {xo + 16}))).reinterpretAsInts();\n"
                f"a = {pair_sum('pr')}.fma(FloatVector.broadcast(F, ds[j + {half}]), a);\n")
    dot += "}\n}\nreturn lanes(a) - lanes(g);\n"
    dec = ("checkBlocks(n, 256);\nfor (int blk = 0; blk < n / 256; blk++) {\nlong p = off + (long) blk * 144;\nfloat d = f16(w, p);\n"
           "long sc = scales(w.get(I32, p + 4), w.get(I32, p + 12));\n"
           "for (int j = 0; j < 8; j += 2) {\nlong qp = p + 16 + 16L * j;\n"
           "int o = dstOff + 256 * blk + 32 * j;\nint so = sOff + 8 * blk + j;\n"
           "scales[so] = d * (int) (sc >>> 8 * j & 63);\nscales[so + 1] = d * (int) (sc >>> 8 * j + 8 & 63);\n"
           f"ByteVector b = {load128('qp')};\nByteVector c = {load128('qp + 16')};\n")
    for k, src in enumerate(('b0', 'c0', 'b1', 'c1')):
        dec += f"{nib[src]}.intoArray(dst, o + {16 * k});\n"
    dec += "}\n}\n"
    mins = ("checkBlocks(n, 256);\nfor (int blk = 0; blk < n / 256; blk++) {\nlong p = off + (long) blk * 144;\n"
            "float dmin = f16(w, p + 2);\nlong m = mins(w.get(I32, p + 8), w.get(I32, p + 12));\n"
            "for (int j = 0; j < 8; j++) {\ndst[dstOff + blk * 8 + j] = dmin * (int) (m >>> 8 * j & 63);\n}\n}\n")
    return ("    @Override\n    float dot(MemorySegment w, long off, Q8Activations x, int xOff, int n) {\n" + ind(dot, 8) + "    }\n\n"
            + DECODE_SHORTS + ind(dec, 8) + "    }\n\n"
            "    @Override\n    boolean hasMins() {\n        return true;\n    }\n\n"
            "    @Override\n    void decodeMins(MemorySegment w, long off, float[] dst, int dstOff, int n) {\n" + ind(mins, 8) + "    }\n")


write('Q4KKernel', dict(type='Q4_K', block=256, bytes=144,
    doc=""" * Q4_K: super-blocks of 256 values: half-precision d and dmin, 12 bytes packing eight 6-bit scales
 * and eight 6-bit mins, then 128 bytes of nibbles. Each 64 values share 32 bytes: the low nibbles
 * are one 32-value block, the high nibbles the next; value = d·sc·q − dmin·m.
 *
 * <p>Products take the integer path of {@link Q8DotKernel} with minimums: within a block,
 * Σ q·q_x in 16-bit lanes, scaled by d·sc·d_x; the minimums are subtracted per block as
 * dmin·m·(d_x·Σq_x). Measured against the float kernel this replaced (same-process A/B, one Zen 3
 * core, 8192 × 2048 rows from memory, one token): 1.67× with one thread, 1.82× with two; matrix
 * products of 64 tokens 0.70× (the integer tile, see {@link MatMul}). {@link #decodeRow} rebuilds
 * the floats {@code fma(q, d·sc, −dmin·m)} for row look-ups.""",
    check="checkBlocks(n, 256);",
    setup="float d = f16(w, p);\nfloat dmin = f16(w, p + 2);\nlong sc = scales(w.get(I32, p + 4), w.get(I32, p + 12));\nlong mn = mins(w.get(I32, p + 8), w.get(I32, p + 12));",
    inner="for (int sb = 0; sb < 8; sb++) {\nint xi = i + 32 * sb;\nint shift = (sb & 1) << 2;",
    inner_setup="long q = p + 16 + 32L * (sb >> 1);\n"
        "FloatVector s = FloatVector.broadcast(F, d * (int) (sc >>> 8 * sb & 63));\n"
        "FloatVector m = FloatVector.broadcast(F, -dmin * (int) (mn >>> 8 * sb & 63));",
    vecs=[(f"{widen(shr(load64(f'q + {8 * k}'), 'shift') + '.and((byte) 0x0F)')}.fma(s, m)", 8 * k) for k in range(4)],
    int8_methods=q4k_int8(),
    extra="""
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    /** Writes a long into a byte array, little-endian: unpacked scales on their way into a vector. */
    private static final VarHandle PACKED = MethodHandles.byteArrayViewVarHandle(long[].class, LE);

    /**
     * The eight 6-bit scales as the bytes of a long, from the packed bytes 0-3 (b0) and 8-11 (b2):
     * block j < 4 has the low 6 bits of byte j; block j ≥ 4 the low nibble of byte j + 4 below the
     * top two bits of byte j − 4. Read as words once per super-block: a bounds-checked byte read
     * per use cost about a fifth of the decode speed.
     */
    static long scales(int b0, int b2) {
        int lo = b0 & 0x3F3F3F3F;
        int hi = b2 & 0x0F0F0F0F | b0 >>> 2 & 0x30303030;
        return lo & 0xFFFFFFFFL | (long) hi << 32;
    }

    /** The eight 6-bit mins likewise, from bytes 4-7 (b1) and the high nibbles of bytes 8-11 (b2). */
    static long mins(int b1, int b2) {
        int lo = b1 & 0x3F3F3F3F;
        int hi = b2 >>> 4 & 0x0F0F0F0F | b1 >>> 2 & 0x30303030;
        return lo & 0xFFFFFFFFL | (long) hi << 32;
    }
"""))


def q6(k):
    """Vector k (values 8k..8k+7) of a Q6_K quarter: 4 low bits from ql (low or high nibbles, by
    nsh), 2 high bits from qh (bits qsh, qsh+1) moved to bits 4-5, minus 32, scaled."""
    low = shr(load64(f"ql + {8 * k}"), 'nsh') + ".and((byte) 0x0F)"
    high = shr(load64(f"qh + {8 * k}"), 'qsh') + ".and((byte) 0x03).lanewise(VectorOperators.LSHL, 4)"
    return f"{widen(low + '.or(' + high + ').sub((byte) 32)')}.mul({'sa' if k < 2 else 'sb'})"


def q6k_int8():
    """Q6_K on 8-bit activations. Its scales change every 16 values, so each 32-value block is summed
    as two halves: the 16-bit products of a half are added pairwise into eight int lanes (values 2l
    and 2l+1), converted and added with fma(·, (d·sc)·d_x, a), half by half (the scale product is
    rounded once; matrix tiles form it the same way). The scales of a super-block are widened as
    vectors once."""
    def weights(k):
        low = f"{load128(f'ql + {16 * k}')}.reinterpretAsInts().lanewise(VectorOperators.LSHR, nsh).and(0x0F0F0F0F)"
        high = (f"{load128(f'qh + {16 * k}')}.reinterpretAsInts().lanewise(VectorOperators.LSHR, qsh).and(0x03030303)"
                ".lanewise(VectorOperators.LSHL, 4)")
        return widen16(f"{low}.or({high}).reinterpretAsBytes().sub((byte) 32)")
    quarter = ("int h = c >> 2;\nint j = c & 3;\nlong ql = p + 64 * h + 32 * (j & 1);\nlong qh = p + 128 + 32 * h;\n"
               "int nsh = 4 * (j >> 1);\nint qsh = 2 * j;\n")
    dot = ("checkBlocks(n, 256);\nshort[] q = x.q;\nfloat[] xd = x.scale;\nfloat[] ds = new float[16];\n"
           "FloatVector a = FloatVector.zero(F);\n"
           "for (int i = 0, blk = 0, sb = xOff >> 5; i < n; i += 256, blk++, sb += 8) {\n"
           "long p = off + (long) blk * 210;\nfloat d = f16(w, p + 208);\n"
           f"((FloatVector) {load64('p + 192')}.convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(ds, 0);\n"
           f"((FloatVector) {load64('p + 200')}.convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(ds, 8);\n"
           "for (int c = 0; c < 8; c++) {\n" + quarter +
           "int xi = xOff + i + 32 * c;\nfloat dx = xd[sb + c];\n"
           f"IntVector pr = {weights(0)}.mul(ShortVector.fromArray(S16, q, xi)).reinterpretAsInts();\n"
           f"a = {pair_sum('pr')}.fma(FloatVector.broadcast(F, ds[2 * c] * dx), a);\n"
           f"pr = {weights(1)}.mul(ShortVector.fromArray(S16, q, xi + 16)).reinterpretAsInts();\n"
           f"a = {pair_sum('pr')}.fma(FloatVector.broadcast(F, ds[2 * c + 1] * dx), a);\n"
           "}\n}\nreturn lanes(a);\n")
    dec = ("checkBlocks(n, 256);\nfor (int blk = 0; blk < n / 256; blk++) {\nlong p = off + (long) blk * 210;\n"
           "float d = f16(w, p + 208);\nfor (int c = 0; c < 8; c++) {\n" + quarter +
           "int o = dstOff + 256 * blk + 32 * c;\nint so = sOff + 2 * (8 * blk + c);\n"
           "scales[so] = d * w.get(ValueLayout.JAVA_BYTE, p + 192 + 2 * c);\n"
           "scales[so + 1] = d * w.get(ValueLayout.JAVA_BYTE, p + 193 + 2 * c);\n")
    for k in range(2):
        dec += f"{weights(k)}.intoArray(dst, o + {16 * k});\n"
    dec += "}\n}\n"
    return ("    @Override\n    float dot(MemorySegment w, long off, Q8Activations x, int xOff, int n) {\n" + ind(dot, 8) + "    }\n\n"
            + DECODE_SHORTS + ind(dec, 8) + "    }\n\n"
            "    @Override\n    int scalesPerBlock() {\n        return 2;\n    }\n")


write('Q6KKernel', dict(type='Q6_K', block=256, bytes=210,
    doc=''' * Q6_K: super-blocks of 256 values: 128 bytes of low nibbles (ql), 64 bytes of high 2-bit pairs
 * (qh), 16 signed 8-bit scales, a half-precision d; value = d·sc·(q − 32) with q of 6 bits and one
 * scale per 16 values. Each half of 128 values takes 64 ql bytes and 32 qh bytes; for l < 32 the
 * values l, l+32, l+64, l+96 come from ql[l] low, ql[l+32] low, ql[l] high, ql[l+32] high, with
 * qh[l] bits 0-1, 2-3, 4-5, 6-7 on top. Values are rebuilt in ascending order, a quarter (32
 * values) per loop turn: written out for all eight quarters the method grew past what C2 compiles
 * well and ran boxed, a hundred times slower.
 *
 * <p>Products take the integer path of {@link Q8DotKernel}, two scales per 32-value block (see
 * {@link #scalesPerBlock}). {@link #decodeRow} rebuilds the floats d·sc·(q − 32) for row look-ups.''',
    check="checkBlocks(n, 256);",
    setup="float d = f16(w, p + 208);\nlong s0 = w.get(I64, p + 192);\nlong s1 = w.get(I64, p + 200);",
    inner="for (int c = 0; c < 8; c++) {\nint h = c >> 2;\nint j = c & 3;\nint xi = i + 32 * c;",
    inner_setup="long ql = p + 64 * h + 32 * (j & 1);\nlong qh = p + 128 + 32 * h;\nint nsh = 4 * (j >> 1);\nint qsh = 2 * j;\n"
        "long scales = h == 0 ? s0 : s1;\n"
        "FloatVector sa = FloatVector.broadcast(F, d * (byte) (scales >>> (16 * j)));\n"
        "FloatVector sb = FloatVector.broadcast(F, d * (byte) (scales >>> (16 * j + 8)));",
    vecs=[(q6(k), 8 * k) for k in range(4)],
    int8_methods=q6k_int8(),
    extra='''
    /** The 16 signed scales are read as two words per super-block, not a byte per use. */
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);
'''))
