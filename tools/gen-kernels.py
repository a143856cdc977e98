# Writes the per-type weight kernels (tessera-core/.../kernel/{F32,F16,Bf16,Q8_0,Q4_0,Q4_1,Q4K,Q6K}Kernel.java)
# from one template, so that decodeRow, dot and dotRows4 of every type rebuild the weights with the
# same vector operations and sum in the same order, and the hot loops stay written out in full (see
# WeightKernel). Edit here, run `python3 tools/gen-kernels.py`, then ./run-tests -pl tessera-core
# (WeightKernelTest checks every kernel against the scalar reference codecs).
#
# A type is described by its block loop: per-block setup code, an optional inner loop over
# sub-blocks, and the list of 8-lane weight vectors the block holds, in ascending value order, each
# with its offset from `xi` (the index of the sub-block's first value). Code fragments use {r} where
# a per-row name goes (p{r} is the row's block address); it becomes 0..3 in dotRows4 and '' elsewhere.
import os
import textwrap

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tessera-core/src/main/java/io/tessera/core/kernel/')


def ind(s, n):
    return textwrap.indent(textwrap.dedent(s).strip('\n'), ' ' * n) + '\n'


def rowcode(code, rows):
    """A fragment repeated for each row name."""
    return ''.join(code.replace('{r}', r) + '\n' for r in rows) if code else ''


def body(spec, rows, use):
    """The block loop; `use(expr, xoff, rows)` emits what is done with each weight vector."""
    s = spec['open'] + '\n'
    s += rowcode(spec.get('setup', ''), rows)
    close = '}\n'
    if 'inner' in spec:
        s += spec['inner'] + '\n'
        s += spec.get('inner_shared', '') + '\n'
        s += rowcode(spec.get('inner_setup', ''), rows)
        close = '}\n}\n'
    for expr, xoff in spec['vecs']:
        s += use(expr, xoff, rows)
    return s + close


def rows_names(k):
    return [str(i) for i in range(k)] if k > 1 else ['']


def p_decl(spec, rows, base):
    if spec['block'] == 8:  # float types: i counts values
        return ''.join(f"long p{r} = {base(r)} + (long) i * {spec['bpv']};\n" for r in rows)
    return ''


def gen_dot(spec):
    rows = ['']

    def use(expr, xoff, rows):
        return f"a = {expr.replace('{r}', '')}.fma(FloatVector.fromArray(F, x, xOff + xi + {xoff}), a);\n"
    s = spec.get('check', '') + '\n' + "FloatVector a = FloatVector.zero(F);\n"
    s += loops(spec, rows, lambda r: 'off', use)
    s += "float[] l = new float[8];\na.intoArray(l, 0);\nfloat sum = lanes(l, 0);\n"
    if 'scalar' in spec:
        s += f"for (; i < n; i++) {{\n    sum += {spec['scalar'].replace('@P', 'off + (long) i * ' + str(spec['bpv']))} * x[xOff + i];\n}}\n"
    s += "return sum;\n"
    return ("    @Override\n    public float dot(MemorySegment w, long off, float[] x, int xOff, int n) {\n"
            + ind(s, 8) + "    }\n")


def gen_rows4(spec):
    rows = ['0', '1', '2', '3']

    def use(expr, xoff, rows):
        s = f"xv = FloatVector.fromArray(F, x, xOff + xi + {xoff});\n"
        for r in rows:
            s += f"a{r} = {expr.replace('{r}', r)}.fma(xv, a{r});\n"
        return s
    s = spec.get('check', '') + '\n'
    s += "FloatVector a0 = FloatVector.zero(F);\nFloatVector a1 = a0;\nFloatVector a2 = a0;\nFloatVector a3 = a0;\nFloatVector xv;\n"
    s += "long off0 = off;\nlong off1 = off + rowBytes;\nlong off2 = off + 2 * rowBytes;\nlong off3 = off + 3 * rowBytes;\n"
    s += loops(spec, rows, lambda r: 'off' + r, use)
    s += "float[] l = new float[32];\n" + ''.join(f"a{r}.intoArray(l, {8 * int(r)});\n" for r in rows)
    for r in rows:
        s += f"float s{r} = lanes(l, {8 * int(r)});\n"
    if 'scalar' in spec:
        s += "for (; i < n; i++) {\n    float xi = x[xOff + i];\n"
        for r in rows:
            s += f"    s{r} += {spec['scalar'].replace('@P', f'off{r} + (long) i * ' + str(spec['bpv']))} * xi;\n"
        s += "}\n"
    for r in rows:
        s += f"out[outOff + {r}] = s{r};\n"
    return ("    @Override\n    public void dotRows4(MemorySegment w, long off, long rowBytes, float[] x, int xOff, int n, float[] out,\n"
            "            int outOff) {\n" + ind(s, 8) + "    }\n")


def gen_decode(spec):
    rows = ['']

    def use(expr, xoff, rows):
        return f"{expr.replace('{r}', '')}.intoArray(dst, dstOff + xi + {xoff});\n"
    s = spec.get('check', '') + '\n'
    s += loops(spec, rows, lambda r: 'off', use)
    if 'scalar' in spec:
        s += f"for (; i < n; i++) {{\n    dst[dstOff + i] = {spec['scalar'].replace('@P', 'off + (long) i * ' + str(spec['bpv']))};\n}}\n"
    return ("    @Override\n    public void decodeRow(MemorySegment w, long off, float[] dst, int dstOff, int n) {\n"
            + ind(s, 8) + "    }\n")


def loops(spec, rows, base, use):
    if spec['block'] == 8:
        # float types: four vectors at a time, then one, then single values (the caller's tail)
        s = "int i = 0;\n"
        for step, vecs in ((32, [(spec['load'], 0), (spec['load'], 8), (spec['load'], 16), (spec['load'], 24)]), (8, [(spec['load'], 0)])):
            s += f"for (; i + {step} <= n; i += {step}) {{\n"
            s += ''.join(f"long p{r} = {base(r)} + (long) i * {spec['bpv']};\n" for r in rows)
            s += "int xi = i;\n"
            for expr, xoff in vecs:
                s += use(expr.replace('@O', str(xoff * spec['bpv'])), xoff, rows)
            s += "}\n"
        return s
    s = f"for (int i = 0, blk = 0; i < n; i += {spec['block']}, blk++) {{\n"
    s += ''.join(f"long p{r} = {base(r)} + (long) blk * {spec['bytes']};\n" for r in rows)
    if 'inner' not in spec:
        s += "int xi = i;\n"
    s += rowcode(spec.get('setup', ''), rows)
    close = "}\n"
    if 'inner' in spec:
        s += spec['inner'] + '\n'
        s += rowcode(spec.get('inner_setup', ''), rows)
        close = "}\n}\n"
    for expr, xoff in spec['vecs']:
        s += use(expr, xoff, rows)
    return s + close


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
 * <p>Generated by tools/gen-kernels.py. The hot loops are written out in full, without helper
 * methods taking or returning vectors: such a helper, once compiled on its own into a large method,
 * is no longer inlined and its vectors get boxed, which costs an order of magnitude.
 */
final class {cls} extends WeightKernel {{

    static final {cls} INSTANCE = new {cls}();

    private {cls}() {{
        super(GgmlType.{spec['type']});
    }}
{spec.get('extra', '')}
{gen_dot(spec)}
{gen_rows4(spec)}
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
        if line.startswith('    public ') or line.startswith('    @Override') or line.startswith('            int'):
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
    write(cls, dict(type=typ, doc=doc, block=8, bpv=bpv, load=load.replace('@P', 'p{r} + @O'), scalar=scalar))


float_kernel('F32Kernel', 'F32', 4, 'FloatVector.fromMemorySegment(F, w, @P, LE)', 'w.get(F32, @P)',
    ' * F32: IEEE single-precision weights.')
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


def shr(b, k):
    """Bytes shifted right by k bits (k < 8) then masked by the caller; shifting 32-bit lanes is
    cheaper than byte lanes and the bits it drags across byte boundaries are masked off."""
    return f"{b}.reinterpretAsInts().lanewise(VectorOperators.LSHR, {k}).reinterpretAsBytes()"


def hi(b):
    return f"{shr(b, 4)}.and((byte) 0x0F)"


write('Q8_0Kernel', dict(type='Q8_0', block=32, bytes=34,
    doc=''' * Q8_0: blocks of 32 values, a half-precision scale d then 32 signed bytes; value = d·q. The bytes
 * are widened to floats and scaled in registers; the product of an 8-bit q and an 11-bit d is
 * exact in a float, so the rebuilt weights are exactly the stored values.''',
    check="checkBlocks(n, 32);",
    setup="FloatVector d{r} = FloatVector.broadcast(F, f16(w, p{r}));",
    vecs=[(f"{widen(load64(f'p{{r}} + {2 + 8 * k}'))}.mul(d{{r}})", 8 * k) for k in range(4)]))

write('Q4_0Kernel', dict(type='Q4_0', block=32, bytes=18,
    doc=''' * Q4_0: blocks of 32 values, a half-precision scale d then 16 bytes of nibbles (value j in the low
 * nibble of byte j, value j+16 in its high nibble); value = d·(q − 8), exact in a float. Nibbles
 * are split, widened and scaled in registers.''',
    check="checkBlocks(n, 32);",
    setup=f"FloatVector d{{r}} = FloatVector.broadcast(F, f16(w, p{{r}}));\nByteVector b{{r}} = {load64('p{r} + 2')};\nByteVector c{{r}} = {load64('p{r} + 10')};",
    vecs=[(f"{widen(lo('b{r}') + '.sub((byte) 8)')}.mul(d{{r}})", 0),
          (f"{widen(lo('c{r}') + '.sub((byte) 8)')}.mul(d{{r}})", 8),
          (f"{widen(hi('b{r}') + '.sub((byte) 8)')}.mul(d{{r}})", 16),
          (f"{widen(hi('c{r}') + '.sub((byte) 8)')}.mul(d{{r}})", 24)]))

write('Q4_1Kernel', dict(type='Q4_1', block=32, bytes=20,
    doc=''' * Q4_1: blocks of 32 values, half-precision d and m then 16 bytes of nibbles; value = d·q + m, rebuilt
 * in registers as {@code fma(q, d, m)}.''',
    check="checkBlocks(n, 32);",
    setup=f"FloatVector d{{r}} = FloatVector.broadcast(F, f16(w, p{{r}}));\nFloatVector m{{r}} = FloatVector.broadcast(F, f16(w, p{{r}} + 2));\nByteVector b{{r}} = {load64('p{r} + 4')};\nByteVector c{{r}} = {load64('p{r} + 12')};",
    vecs=[(f"{widen(lo('b{r}'))}.fma(d{{r}}, m{{r}})", 0),
          (f"{widen(lo('c{r}'))}.fma(d{{r}}, m{{r}})", 8),
          (f"{widen(hi('b{r}'))}.fma(d{{r}}, m{{r}})", 16),
          (f"{widen(hi('c{r}'))}.fma(d{{r}}, m{{r}})", 24)]))

write('Q4KKernel', dict(type='Q4_K', block=256, bytes=144,
    doc=''' * Q4_K: super-blocks of 256 values: half-precision d and dmin, 12 bytes packing eight 6-bit scales
 * and eight 6-bit mins, then 128 bytes of nibbles. Each 64 values share 32 bytes: the low nibbles
 * are one 32-value sub-block, the high nibbles the next; value = d·sc·q − dmin·m, rebuilt in
 * registers as {@code fma(q, d·sc, −dmin·m)}.''',
    check="checkBlocks(n, 256);",
    setup="float d{r} = f16(w, p{r});\nfloat dmin{r} = f16(w, p{r} + 2);",
    inner="for (int sb = 0; sb < 8; sb++) {\nint xi = i + 32 * sb;\nint shift = (sb & 1) << 2;",
    inner_setup="long q{r} = p{r} + 16 + 32L * (sb >> 1);\nFloatVector sc{r} = FloatVector.broadcast(F, d{r} * scale(w, p{r} + 4, sb));\nFloatVector mn{r} = FloatVector.broadcast(F, -dmin{r} * min(w, p{r} + 4, sb));",
    vecs=[(f"{widen(shr(load64(f'q{{r}} + {8 * k}'), 'shift') + '.and((byte) 0x0F)')}.fma(sc{{r}}, mn{{r}})", 8 * k) for k in range(4)],
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
'''))


def q6(j, k):
    """Vector k (values 8k..8k+7) of quarter j of a Q6_K half: 4 low bits from ql (bytes l or l+32,
    low or high nibble), 2 high bits from qh (bits 2j, 2j+1) moved to bits 4-5, minus 32, scaled."""
    ql = load64(f"ql{{r}} + {32 * (j & 1) + 8 * k}")
    low = lo(ql) if j < 2 else hi(ql)
    qh = load64(f"qh{{r}} + {8 * k}")
    hb = (f"{qh}.reinterpretAsInts().lanewise(VectorOperators.LSHL, {4 - 2 * j}).reinterpretAsBytes()" if j < 2
          else (f"{qh}" if j == 2 else shr(qh, 2)))
    return f"{widen(low + '.or(' + hb + '.and((byte) 0x30)).sub((byte) 32)')}.mul(s{{r}}{2 * j + (k >> 1)})"


write('Q6KKernel', dict(type='Q6_K', block=256, bytes=210,
    doc=''' * Q6_K: super-blocks of 256 values: 128 bytes of low nibbles (ql), 64 bytes of high 2-bit pairs
 * (qh), 16 signed 8-bit scales, a half-precision d; value = d·sc·(q − 32) with q of 6 bits and one
 * scale per 16 values. Each half of 128 values takes 64 ql bytes and 32 qh bytes; for l < 32 the
 * values l, l+32, l+64, l+96 come from ql[l] low, ql[l+32] low, ql[l] high, ql[l+32] high, with
 * qh[l] bits 0-1, 2-3, 4-5, 6-7 on top. Values are rebuilt in ascending order, quarter by quarter.''',
    check="checkBlocks(n, 256);",
    setup="float d{r} = f16(w, p{r} + 208);",
    inner="for (int h = 0; h < 2; h++) {\nint xi = i + 128 * h;",
    inner_setup="long ql{r} = p{r} + 64 * h;\nlong qh{r} = p{r} + 128 + 32 * h;\n" + '\n'.join(
        f"FloatVector s{{r}}{s} = FloatVector.broadcast(F, d{{r}} * sc(w, p{{r}}, 8 * h + {s}));" for s in range(8)),
    vecs=[(q6(j, k), 32 * j + 8 * k) for j in range(4) for k in range(4)],
    extra='''
    private static int sc(MemorySegment w, long p, int k) {
        return w.get(ValueLayout.JAVA_BYTE, p + 192 + k);
    }
'''))
