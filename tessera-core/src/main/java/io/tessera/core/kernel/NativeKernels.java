package io.tessera.core.kernel;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * One variant of the native kernel library (src/main/c), loaded through the FFM API and called with
 * {@link Linker.Option#critical critical} downcalls, so that the Java arrays of activations and
 * outputs are passed in place and the weights' memory segments as they are: no copies, no JNI.
 *
 * <p>The C code trusts its arguments. Every public entry point here checks first, in Java, that
 * each index and length lies inside the array or segment it names, so that no input reaches native
 * code unchecked; the C code needs no alignment (it loads unaligned).
 *
 * <p>The native kernels compute the same bits as the Java kernels (see tessera_kernels.c): a model
 * gives the same tokens and logits on either path, on any variant.
 */
public final class NativeKernels {

    /** The library ABI this class calls; a library of another is refused. */
    static final int ABI = 6;

    /** Activation layouts of tsr_quantize (one per integer weight layout; Q4_K shares Q4_0's). */
    static final int LAYOUT_Q8_0 = 0;
    static final int LAYOUT_Q4_0 = 1;
    static final int LAYOUT_Q6_K = 2;
    /** How many activation layouts there are. */
    static final int LAYOUTS = 3;

    /** KV cache row types the native attention reads (tsr_attn_*): stored values widened exactly. */
    public static final int KV_F32 = 0;
    public static final int KV_F16 = 1;
    public static final int KV_BF16 = 2;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final Linker.Option CRITICAL = Linker.Option.critical(true);
    private static final FunctionDescriptor QUANTIZE =
            FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
    private static final FunctionDescriptor FLOAT_ROWS = FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG, JAVA_INT,
            JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS);
    private static final FunctionDescriptor Q8_ROWS = FLOAT_ROWS.insertArgumentLayouts(7, ADDRESS);
    private static final FunctionDescriptor Q4_ROWS = Q8_ROWS.insertArgumentLayouts(8, ADDRESS);
    private static final FunctionDescriptor ATTN_VALUES = FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG, JAVA_INT,
            JAVA_LONG, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT,
            ADDRESS);
    /** tsr_w8a8: weights, row bytes, in, from, to, stride, codes, scales, code sums, row scales, tokens, out. */
    private static final FunctionDescriptor W8A8_ROWS = FunctionDescriptor.ofVoid(ADDRESS, JAVA_LONG, JAVA_INT,
            JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS);
    private static final FunctionDescriptor ATTN_SCORES = ATTN_VALUES.insertArgumentLayouts(14, JAVA_FLOAT);

    private final NativeVariant variant;
    private final Path file;
    private final MethodHandle quantize;
    private final MethodHandle q8_0;
    private final MethodHandle q4_0;
    private final MethodHandle q4_k;
    private final MethodHandle q6_k;
    private final MethodHandle f32;
    private final MethodHandle f16;
    private final MethodHandle bf16;
    private final MethodHandle fp8;
    private final MethodHandle q4_1;
    private final MethodHandle attnScores;
    private final MethodHandle attnValues;
    private final MethodHandle w8a8;
    private final long features;

    private NativeKernels(NativeVariant variant, Path file) {
        this.variant = variant;
        this.file = file;
        SymbolLookup lib = SymbolLookup.libraryLookup(file, Arena.global());
        int abi;
        try {
            abi = (int) LINKER.downcallHandle(find(lib, "tsr_abi"), FunctionDescriptor.of(JAVA_INT)).invokeExact();
            features = (long) LINKER.downcallHandle(find(lib, "tsr_cpu_features"), FunctionDescriptor.of(JAVA_LONG))
                    .invokeExact();
        } catch (Throwable e) {
            throw new IllegalStateException("calling " + file + " failed", e);
        }
        if (abi != ABI) {
            throw new IllegalStateException(file + " has ABI " + abi + ", this Tessera calls ABI " + ABI);
        }
        quantize = LINKER.downcallHandle(find(lib, "tsr_quantize"), QUANTIZE, CRITICAL);
        q8_0 = LINKER.downcallHandle(find(lib, "tsr_q8_0_lanes"), Q8_ROWS, CRITICAL);
        q4_0 = LINKER.downcallHandle(find(lib, "tsr_q4_0_lanes"), Q4_ROWS, CRITICAL);
        q4_k = LINKER.downcallHandle(find(lib, "tsr_q4_k_lanes"), Q4_ROWS, CRITICAL);
        q6_k = LINKER.downcallHandle(find(lib, "tsr_q6_k_lanes"), Q8_ROWS, CRITICAL);
        f32 = LINKER.downcallHandle(find(lib, "tsr_f32"), FLOAT_ROWS, CRITICAL);
        f16 = LINKER.downcallHandle(find(lib, "tsr_f16"), FLOAT_ROWS, CRITICAL);
        bf16 = LINKER.downcallHandle(find(lib, "tsr_bf16"), FLOAT_ROWS, CRITICAL);
        fp8 = LINKER.downcallHandle(find(lib, "tsr_fp8"), FLOAT_ROWS, CRITICAL);
        q4_1 = LINKER.downcallHandle(find(lib, "tsr_q4_1"), FLOAT_ROWS, CRITICAL);
        attnScores = LINKER.downcallHandle(find(lib, "tsr_attn_scores"), ATTN_SCORES, CRITICAL);
        attnValues = LINKER.downcallHandle(find(lib, "tsr_attn_values"), ATTN_VALUES, CRITICAL);
        w8a8 = LINKER.downcallHandle(find(lib, "tsr_w8a8"), W8A8_ROWS, CRITICAL);
    }

    private static MemorySegment find(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new IllegalStateException("native library lacks " + name));
    }

    /**
     * Loads a variant from the classpath (target/classes or the jar, whose copy is extracted to a
     * temporary file); throws with the reason when it cannot be loaded. It does not check that the
     * CPU runs it: see {@link NativeVariant#runsOn}.
     */
    public static NativeKernels load(NativeVariant variant) {
        String dir = "/native/" + platform() + "/";
        URL url = NativeKernels.class.getResource(dir + "libtessera-" + variant.id() + ".so");
        if (url == null) {
            throw new IllegalStateException(unavailableReason(dir, variant));
        }
        return new NativeKernels(variant, localFile(url, variant));
    }

    /** Why the library is missing: the build's note, or that nothing was built for this platform. */
    private static String unavailableReason(String dir, NativeVariant variant) {
        try (InputStream in = NativeKernels.class.getResourceAsStream(dir + "UNAVAILABLE")) {
            if (in != null) {
                return "native library not built: " + new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
            }
        } catch (IOException e) {
            // fall through to the generic reason
        }
        return "no " + variant.id() + " native library for " + platform() + " in this build";
    }

    private static Path localFile(URL url, NativeVariant variant) {
        try {
            if (url.getProtocol().equals("file")) {
                return Path.of(url.toURI());
            }
            Path tmp = Files.createTempFile("libtessera-" + variant.id() + "-", ".so");
            tmp.toFile().deleteOnExit();
            try (InputStream in = url.openStream()) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            return tmp;
        } catch (IOException | URISyntaxException e) {
            throw new IllegalStateException("cannot extract " + url + ": " + e.getMessage(), e);
        }
    }

    static String platform() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT).replace(" ", "");
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        arch = switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "arm64", "aarch64" -> "aarch64";
            default -> arch;
        };
        return os + "-" + arch;
    }

    public NativeVariant variant() {
        return variant;
    }

    /** The CPU's features, as the library reads them. */
    public CpuFeatures cpu() {
        return new CpuFeatures(features);
    }

    Path file() {
        return file;
    }

    /** Whether a native kernel multiplies this tensor; the others stay on the Java kernels. */
    public static boolean handles(Tensor w) {
        return switch (w.layout()) {
            case LANES -> switch (w.type()) {
                case Q8_0, Q4_0, Q4_K, Q6_K -> true;
                default -> false;
            };
            case GGML -> switch (w.type()) {
                case F32, F16, BF16, FP8, Q4_1 -> true;
                default -> false;
            };
        };
    }

    /** The activation layout a tensor's kernel takes, or -1 for float activations. */
    static int layoutOf(Tensor w) {
        if (w.layout() != Tensor.Layout.LANES) {
            return -1;
        }
        return switch (w.type()) {
            case Q8_0 -> LAYOUT_Q8_0;
            case Q6_K -> LAYOUT_Q6_K;
            default -> LAYOUT_Q4_0;
        };
    }

    /**
     * Rounds the first n values of x (n a multiple of 256) to 8 bits per value in blocks of 32, as
     * {@link Q8Activations#quantize} does, into q in the byte order of {@code layout}, with each
     * block's scale and d·Σq.
     */
    void quantize(float[] x, int n, int layout, byte[] q, float[] scale, float[] sums) {
        if (n < 0 || n % LanesKernel.CHUNK != 0 || n > x.length || n > q.length || n / 32 > scale.length
                || n / 32 > sums.length) {
            throw new IllegalArgumentException("quantize: " + n + " values do not fit the buffers (x " + x.length
                    + ", q " + q.length + ", scales " + scale.length + ", sums " + sums.length + ") or are not whole chunks");
        }
        if (layout < 0 || layout >= LAYOUTS) {
            throw new IllegalArgumentException("quantize: unknown layout " + layout);
        }
        try {
            quantize.invokeExact(MemorySegment.ofArray(x), (long) n, layout, MemorySegment.ofArray(q),
                    MemorySegment.ofArray(scale), MemorySegment.ofArray(sums));
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /**
     * Rows [from, to) of w against {@code tokens} activation rows into {@code out[t·outStride + r]}:
     * float activations {@code a.x} for the float types, {@code a}'s rounded ones for the integer
     * lane layouts ({@link #handles}).
     */
    void rows(Tensor w, int from, int to, int outStride, NativeActivations a, int tokens, float[] out) {
        int in = w.rowLength();
        long rowCount = w.rowCount();
        long rowBytes = w.rowBytes();
        MemorySegment seg = w.data();
        if (from < 0 || from > to || to > rowCount || to > outStride) {
            throw new IllegalArgumentException("native " + w + ": rows [" + from + ", " + to + ") outside the matrix or the output stride " + outStride);
        }
        if (in % w.type().blockSize() != 0) {
            throw new IllegalArgumentException("native " + w + ": rows of " + in + " values are not whole blocks of "
                    + w.type().blockSize());
        }
        if (seg.byteSize() < rowCount * rowBytes || rowBytes != w.type().bytesFor(in)) {
            throw new IllegalArgumentException("native " + w + ": data holds " + seg.byteSize() + " bytes, rows need " + rowCount * rowBytes);
        }
        if (tokens < 1 || tokens > a.tokens() || in != a.in()) {
            throw new IllegalArgumentException("native " + w + ": " + tokens + " tokens of " + in
                    + " values, activations hold " + a.tokens() + " of " + a.in());
        }
        if (from == to) {
            return;
        }
        if ((long) (tokens - 1) * outStride + to > out.length) {
            throw new IllegalArgumentException("native " + w + ": output of " + out.length + " floats too small for "
                    + tokens + " tokens of stride " + outStride);
        }
        MemorySegment o = MemorySegment.ofArray(out);
        try {
            int layout = layoutOf(w);
            if (layout < 0) {
                MethodHandle h = switch (w.type()) {
                    case F32 -> f32;
                    case F16 -> f16;
                    case BF16 -> bf16;
                    case FP8 -> fp8;
                    case Q4_1 -> q4_1;
                    default -> throw new IllegalArgumentException("no native kernel for " + w);
                };
                if ((long) tokens * in > a.x().length) {
                    throw new IllegalArgumentException("native " + w + ": activations hold " + a.x().length + " floats");
                }
                h.invokeExact(seg, rowBytes, in, from, to, outStride, MemorySegment.ofArray(a.x()), tokens, o);
            } else {
                if (in % LanesKernel.CHUNK != 0) {
                    throw new IllegalArgumentException("native " + w + ": rows of " + in + " values are not whole chunks");
                }
                byte[] rounded = a.rounded(layout);
                long n = (long) tokens * in;
                if (rounded.length < n || a.scale().length < n / 32 || a.sums().length < n / 32) {
                    throw new IllegalArgumentException("native " + w + ": rounded activations hold fewer than " + n + " values");
                }
                MemorySegment q = MemorySegment.ofArray(rounded);
                MemorySegment scale = MemorySegment.ofArray(a.scale());
                switch (w.type()) {
                    case Q8_0 -> q8_0.invokeExact(seg, rowBytes, in, from, to, outStride, q, scale, tokens, o);
                    case Q6_K -> q6_k.invokeExact(seg, rowBytes, in, from, to, outStride, q, scale, tokens, o);
                    default -> (w.type() == GgmlType.Q4_K ? q4_k : q4_0).invokeExact(seg, rowBytes, in, from, to, outStride,
                            q, scale, MemorySegment.ofArray(a.sums()), tokens, o);
                }
            }
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /**
     * The rows of one KV head that an attention unit reads: position j in [from, len) at slot
     * {@code slots[j − from]}, its values at byte {@code slot · rowBytes + offset} of {@code rows},
     * {@code headDim} values of {@code type} ({@link #KV_F32}, {@link #KV_F16}, {@link #KV_BF16}).
     */
    public record KvRows(MemorySegment rows, long rowBytes, int type, long offset, int[] slots, int from, int len,
            int headDim) {

        /** Checks that every row read lies inside the segment. */
        void check() {
            if (type < KV_F32 || type > KV_BF16) {
                throw new IllegalArgumentException("attention: unknown KV row type " + type);
            }
            long need = (long) headDim * (type == KV_F32 ? 4 : 2);
            if (headDim < 1 || rowBytes < 1 || offset < 0 || offset + need > rowBytes) {
                throw new IllegalArgumentException("attention: a head of " + headDim + " values at byte " + offset
                        + " does not fit a row of " + rowBytes + " bytes");
            }
            if (from < 0 || len < from || slots.length < len - from) {
                throw new IllegalArgumentException("attention: positions [" + from + ", " + len + ") with "
                        + slots.length + " slots");
            }
            long capacity = rows.byteSize() / rowBytes;
            for (int i = 0; i < len - from; i++) {
                if (slots[i] < 0 || slots[i] >= capacity) {
                    throw new IllegalArgumentException("attention: slot " + slots[i] + " of position " + (from + i)
                            + " outside the cache's " + capacity + " slots");
                }
            }
        }
    }

    /**
     * Scores of one attention unit: for token u < tokens (query heads at {@code q[qOffsets[u] +
     * h·headDim]}, h < heads) and each position j of {@code kv} in [seenFrom[u], seenTo[u]],
     * {@code scores[(u·heads + h)·len + j] = dot(key j, query) · scale}, in VectorMath.dot's order.
     */
    public void attentionScores(KvRows kv, float[] q, int[] qOffsets, int[] seenFrom, int[] seenTo, int tokens,
            int heads, float scale, float[] scores) {
        checkUnit(kv, q, qOffsets, seenFrom, seenTo, tokens, heads, scores, "query");
        try {
            attnScores.invokeExact(kv.rows(), kv.rowBytes(), kv.type(), kv.offset(), MemorySegment.ofArray(kv.slots()),
                    kv.from(), kv.len(), kv.headDim(), MemorySegment.ofArray(q), MemorySegment.ofArray(qOffsets),
                    MemorySegment.ofArray(seenFrom), MemorySegment.ofArray(seenTo), tokens, heads, scale,
                    MemorySegment.ofArray(scores));
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    /**
     * Values of one attention unit: {@code out[qOffsets[u] + h·headDim + i] += p · value j[i]} with
     * p = {@code weights[(u·heads + h)·len + j]}, positions ascending, in VectorMath.axpy's order.
     */
    public void attentionValues(KvRows kv, float[] weights, int[] qOffsets, int[] seenFrom, int[] seenTo, int tokens,
            int heads, float[] out) {
        checkUnit(kv, out, qOffsets, seenFrom, seenTo, tokens, heads, weights, "output");
        try {
            attnValues.invokeExact(kv.rows(), kv.rowBytes(), kv.type(), kv.offset(), MemorySegment.ofArray(kv.slots()),
                    kv.from(), kv.len(), kv.headDim(), MemorySegment.ofArray(weights), MemorySegment.ofArray(qOffsets),
                    MemorySegment.ofArray(seenFrom), MemorySegment.ofArray(seenTo), tokens, heads,
                    MemorySegment.ofArray(out));
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    private static void checkUnit(KvRows kv, float[] heads, int[] offsets, int[] seenFrom, int[] seenTo, int tokens,
            int headCount, float[] scores, String what) {
        kv.check();
        if (tokens < 1 || headCount < 1 || offsets.length < tokens || seenFrom.length < tokens || seenTo.length < tokens) {
            throw new IllegalArgumentException("attention: " + tokens + " tokens × " + headCount + " heads, offsets for "
                    + Math.min(offsets.length, Math.min(seenFrom.length, seenTo.length)));
        }
        if ((long) tokens * headCount * kv.len() > scores.length) {
            throw new IllegalArgumentException("attention: scores of " + scores.length + " floats, need "
                    + (long) tokens * headCount * kv.len());
        }
        long span = (long) headCount * kv.headDim();
        for (int u = 0; u < tokens; u++) {
            if (offsets[u] < 0 || offsets[u] + span > heads.length) {
                throw new IllegalArgumentException("attention: token " + u + "'s " + what + " heads at " + offsets[u]
                        + " outside " + heads.length + " floats");
            }
            // an empty range (from > to) reads nothing
            if (seenFrom[u] <= seenTo[u] && (seenFrom[u] < kv.from() || seenTo[u] >= kv.len())) {
                throw new IllegalArgumentException("attention: token " + u + " sees [" + seenFrom[u] + ", " + seenTo[u]
                        + "], cached positions are [" + kv.from() + ", " + kv.len() + ")");
            }
        }
    }

    /**
     * Rows [from, to) of a W8A8 matrix against the int8 activations of a, into
     * {@code out[t·outStride + r]} (the integer part only: outlier columns are the caller's, see
     * {@link W8A8MatMul}).
     */
    void w8a8Rows(Tensor w, int from, int to, int outStride, Int8Activations a, float[] out) {
        int in = w.rowLength();
        long rowCount = w.rowCount();
        int tokens = a.tokens;
        if (w.type() != GgmlType.W8A8 || w.rowScales().scales().length != rowCount) {
            throw new IllegalArgumentException("native W8A8: " + w + " is not a W8A8 matrix with its row scales");
        }
        if (from < 0 || from > to || to > rowCount || to > outStride) {
            throw new IllegalArgumentException("native " + w + ": rows [" + from + ", " + to + ") outside the matrix or the output stride " + outStride);
        }
        if (w.data().byteSize() < rowCount * in || in > W8A8MatMul.MAX_ROW) {
            throw new IllegalArgumentException("native " + w + ": data holds " + w.data().byteSize() + " bytes, rows need " + rowCount * in);
        }
        if (tokens < 1 || in != a.in || (long) tokens * in > a.codes.length || tokens > a.scale.length
                || tokens > a.codeSum.length) {
            throw new IllegalArgumentException("native " + w + ": activations hold " + a.tokens + " tokens of " + a.in
                    + " values, not " + tokens + " of " + in);
        }
        if (from == to) {
            return;
        }
        if ((long) (tokens - 1) * outStride + to > out.length) {
            throw new IllegalArgumentException("native " + w + ": output of " + out.length + " floats too small for "
                    + tokens + " tokens of stride " + outStride);
        }
        try {
            w8a8.invokeExact(w.data(), (long) in, in, from, to, outStride, MemorySegment.ofArray(a.codes),
                    MemorySegment.ofArray(a.scale), MemorySegment.ofArray(a.codeSum),
                    MemorySegment.ofArray(w.rowScales().scales()), tokens, MemorySegment.ofArray(out));
        } catch (Throwable e) {
            throw rethrow(e);
        }
    }

    private static RuntimeException rethrow(Throwable e) {
        if (e instanceof RuntimeException r) {
            throw r;
        }
        if (e instanceof Error err) {
            throw err;
        }
        return new IllegalStateException(e);
    }

    @Override
    public String toString() {
        return "native " + variant.id();
    }
}
