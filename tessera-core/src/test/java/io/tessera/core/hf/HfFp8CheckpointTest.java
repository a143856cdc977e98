package io.tessera.core.hf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tessera.core.arch.Architectures;
import io.tessera.core.format.ModelFormatException;
import io.tessera.core.gguf.GgufWriter;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LoadOptions;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.model.RopeStyle;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.quant.Float8;
import io.tessera.core.quant.QuantCodec;
import io.tessera.core.safetensors.SafetensorsDtype;
import io.tessera.core.safetensors.SafetensorsFile;
import io.tessera.core.safetensors.SafetensorsTensorInfo;
import io.tessera.core.safetensors.SafetensorsWriter;
import io.tessera.core.synth.ModelShape;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.synth.SyntheticVocabulary;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * FP8 checkpoints as the three producers store them, built here from a synthetic F32 checkpoint
 * with scales per tensor, per output channel and per 128 × 128 block, load as {@link GgmlType#FP8}
 * matrices and give bit for bit the logits of the same checkpoint dequantized to F32 in this test
 * (each code's value times its scale, computed from the specification's formula), since both
 * kernels sum the same floats in the same order. Damaged or unsupported checkpoints are refused
 * naming the tensor or field.
 */
class HfFp8CheckpointTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int VOCAB = 320;

    @TempDir
    Path dir;

    /** A Qwen 3 shape whose projections have 128 and 192 columns and 192 and 256 rows: partial 128-blocks. */
    private static ModelShape shape() {
        ModelConfig c = Architectures.named("qwen3").configure(new ModelConfig("qwen3", 128, 192, 2, 4, 2, 32, VOCAB,
                128, 10000f, RopeStyle.NEOX, 1e-5f));
        return new ModelShape("qwen3-fp8", c, true);
    }

    /** How the test lays out a checkpoint's scales. */
    enum Layout {
        /** compressed-tensors, strategy tensor: weight_scale [1]. */
        TENSOR,
        /** compressed-tensors, strategy channel: weight_scale [rows, 1]. */
        CHANNEL,
        /** fbgemm_fp8: weight_scale [rows]. */
        CHANNEL_1D,
        /** fine-grained fp8: weight_scale_inv [⌈rows/128⌉, ⌈cols/128⌉]. */
        BLOCK,
        /** compressed-tensors, strategy block, block_structure [128, 128]: weight_scale. */
        BLOCK_COMPRESSED
    }

    private Path f32Checkpoint() throws IOException {
        Path f32 = dir.resolve("f32");
        SyntheticModel.writeCheckpoint(f32, shape(), SafetensorsDtype.F32, 11);
        return f32;
    }

    @ParameterizedTest
    @EnumSource(Layout.class)
    void fp8CheckpointGivesTheLogitsOfItsF32Dequantization(Layout layout) throws Exception {
        Path fp8 = dir.resolve("fp8");
        writeFp8(f32Checkpoint(), fp8, layout, c -> { });
        Path reference = dir.resolve("dequantized");
        dequantize(fp8, reference, layout);
        assertSameLogits(fp8, reference);
    }

    /** Tessera's own writer (convert --type FP8) for both layouts, read back by the loader. */
    @ParameterizedTest
    @EnumSource(Fp8Scales.class)
    void writtenFp8CheckpointGivesTheLogitsOfItsF32Dequantization(Fp8Scales scales) throws Exception {
        Path fp8 = dir.resolve("fp8");
        ModelShape s = shape();
        HfCheckpointWriter.writeFp8(fp8, s.config(), s.tiedEmbeddings(), scales, SyntheticModel.weights(11),
                s.huggingFaceArchitecture());
        copyTokenizer(f32Checkpoint(), fp8);
        Path reference = dir.resolve("dequantized");
        dequantize(fp8, reference, scales == Fp8Scales.CHANNEL ? Layout.CHANNEL : Layout.BLOCK);
        assertSameLogits(fp8, reference);
        try (SafetensorsFile f = SafetensorsFile.open(fp8.resolve(HfCheckpoint.SINGLE_FILE))) {
            assertEquals(SafetensorsDtype.BF16, f.tensor("model.embed_tokens.weight").dtype(), "embedding kept");
            String scale = "model.layers.0.mlp.down_proj.weight" + scales.suffix();
            assertArrayEquals(scales == Fp8Scales.CHANNEL ? new long[] {128, 1} : new long[] {1, 2},
                    f.tensor(scale).shape(), scale);
        }
    }

    /**
     * F8_E5M2 weights: the E4M3 checkpoint of each layout with every code rounded to E5M2 (the
     * config naming {@code fmt: e5m2} where it names one), codes under 2^-15 of their 64-block's
     * largest set to zero. Every code is then within E4M3's 16 binades of its block's largest, so
     * the loader's E4M3 rewriting is exact and the logits are the F32 dequantization's bit for bit.
     */
    @ParameterizedTest
    @EnumSource(value = Layout.class, names = {"CHANNEL", "BLOCK"})
    void e5m2CheckpointGivesTheLogitsOfItsF32Dequantization(Layout layout) throws Exception {
        Path fp8 = dir.resolve("e5m2");
        writeFp8(f32Checkpoint(), fp8, layout, c -> {
            if (layout == Layout.BLOCK) {
                ((ObjectNode) c.get("quantization_config")).put("fmt", "e5m2");
            }
        });
        rewrite(fp8, (name, t) -> t.dtype() != SafetensorsDtype.F8_E4M3 ? t
                : new Raw(SafetensorsDtype.F8_E5M2, t.shape(), e5m2Within16Binades(t.bytes())));
        Path reference = dir.resolve("dequantized");
        dequantize(fp8, reference, layout);
        assertSameLogits(fp8, reference);
    }

    /** E4M3 codes rounded to E5M2, each 64-block's codes under 2^-15 of its largest set to zero. */
    private static byte[] e5m2Within16Binades(byte[] e4m3) {
        byte[] out = new byte[e4m3.length];
        for (int b = 0; b < e4m3.length; b += 64) {
            int top = Integer.MIN_VALUE;
            for (int j = b; j < b + 64; j++) {
                out[j] = Float8.floatToE5m2(Float8.e4m3ToFloat(e4m3[j]));
                float v = Float8.e5m2ToFloat(out[j]);
                top = v == 0 ? top : Math.max(top, Math.getExponent(v));
            }
            for (int j = b; j < b + 64; j++) {
                float v = Float8.e5m2ToFloat(out[j]);
                if (v != 0 && Math.getExponent(v) < top - 15) {
                    out[j] = 0;
                }
            }
        }
        return out;
    }

    /**
     * An E5M2 code too small for E4M3 beside its block's largest (2^-16 beside 1.5 · 2^8) rounds
     * to E4M3's nearest, here zero, off by under 2^-18 of the largest; the block's other codes keep
     * their values exactly, and so do the other blocks'.
     */
    @Test
    void e5m2CodesFarBelowTheirBlocksLargestRoundAndNoOtherDoes() throws Exception {
        Path fp8 = dir.resolve("e5m2-wide");
        writeFp8(f32Checkpoint(), fp8, Layout.CHANNEL, c -> { });
        String name = "model.layers.0.self_attn.q_proj.weight";
        byte[][] written = new byte[1][];
        rewrite(fp8, (n, t) -> {
            if (t.dtype() != SafetensorsDtype.F8_E4M3) {
                return t;
            }
            byte[] codes = e5m2Within16Binades(t.bytes());
            if (n.equals(name)) {
                codes[0] = Float8.floatToE5m2(384f); // 1.5 · 2^8: the block's largest
                codes[1] = 0x01; // 2^-16
                written[0] = codes;
            }
            return new Raw(SafetensorsDtype.F8_E5M2, t.shape(), codes);
        });
        try (Model m = ModelLoader.load(fp8); SafetensorsFile f = SafetensorsFile.open(fp8.resolve(
                HfCheckpoint.SINGLE_FILE))) {
            float[] scale = flatten(floats(f, f.tensor(name + "_scale")));
            Tensor q = m.layers().get(0).attention().wq();
            assertEquals(GgmlType.FP8, q.type());
            int cols = (int) q.dims()[0];
            float[] row = new float[cols];
            for (int r = 0; r < 4; r++) {
                QuantCodec.of(GgmlType.FP8).dequantizeRow(q.data(), r * GgmlType.FP8.bytesFor(cols), row, 0, cols);
                for (int c = 0; c < cols; c++) {
                    float want = (float) (Float8.e5m2ToFloat(written[0][r * cols + c]) * (double) scale[r]);
                    if (r == 0 && c == 1) {
                        assertEquals(0f, row[c], "2^-16 beside 384 rounds to E4M3's zero");
                        assertTrue(Math.abs(want) < 384 * scale[0] * 0x1p-18);
                    } else {
                        assertEquals(want, row[c], "row " + r + ", column " + c + " exact");
                    }
                }
            }
        }
    }

    /**
     * {@code --quantize FP8} holds the same bytes as the per-channel checkpoint the writer makes of
     * the same weights (the embedding aside, which the checkpoint keeps in BF16).
     */
    @Test
    void quantizingAtLoadHoldsTheChannelCheckpointsBytes() throws Exception {
        Path f32 = f32Checkpoint();
        Path fp8 = dir.resolve("fp8");
        ModelShape s = shape();
        HfCheckpointWriter.writeFp8(fp8, s.config(), s.tiedEmbeddings(), Fp8Scales.CHANNEL, SyntheticModel.weights(11),
                s.huggingFaceArchitecture());
        copyTokenizer(f32, fp8);
        try (Model atLoad = ModelLoader.load(f32, LoadOptions.quantized(WeightTypes.parse("FP8"), null));
                Model stored = ModelLoader.load(fp8)) {
            int compared = 0;
            for (int i = 0; i < atLoad.matrices().size(); i++) {
                Tensor a = atLoad.matrices().get(i);
                Tensor b = stored.matrices().get(i);
                assertEquals(a.name(), b.name());
                assertEquals(GgmlType.FP8, a.type(), a.name());
                if (b.type() == GgmlType.FP8) {
                    assertEquals(-1, a.data().mismatch(b.data()), a.name() + ": same bytes");
                    compared++;
                }
            }
            assertTrue(compared >= 2 * 7, "every projection compared: " + compared);
        }
    }

    @Test
    void refusesWhatItCannotReadNamingIt() throws Exception {
        Path f32 = f32Checkpoint();
        assertRefused(f32, Layout.CHANNEL, c -> c.putObject("quantization_config").put("quant_method", "awq"),
                "'awq' is not supported");
        assertRefused(f32, Layout.CHANNEL, c -> ((ObjectNode) c.get("quantization_config").get("config_groups")
                .get("group_0").get("weights")).put("type", "int"), "is F8_E4M3 but quantization_config says int8 weights");
        assertRefused(f32, Layout.BLOCK, c -> ((ObjectNode) c.get("quantization_config"))
                .putArray("weight_block_size").add(128), "weight_block_size");
        assertRefused(f32, Layout.BLOCK, c -> ((ObjectNode) c.get("quantization_config"))
                .putArray("weight_block_size").add(128).add(160), "blocks of 160 columns");
        // no block size: a block-shaped scale fits no layout
        assertRefused(f32, Layout.BLOCK, c -> ((ObjectNode) c.get("quantization_config")).remove("weight_block_size"),
                "fits no scale layout");
        // damaged tensors, put in place by rewriting the weight file
        assertDamageRefused(f32, "model.layers.1.self_attn.o_proj.weight", (byte) 0x7F, 5, "NaN code at row 0, column 5");
        assertDamageRefused(f32, "model.layers.1.self_attn.o_proj.weight", (byte) 0xFF, 128 * 3 + 7,
                "NaN code at row 3, column 7");
        assertDamageRefused(f32, "model.layers.0.mlp.up_proj.weight_scale", Float.NaN, 0, "FP8 scales must be finite");
        assertDamageRefused(f32, "model.layers.0.mlp.up_proj.weight_scale", -1f, 3, "FP8 scales must be finite");
        assertDamageRefused(f32, "model.layers.0.mlp.up_proj.weight_scale", 300f, 3, "below 256.0");
        Path fp8 = dir.resolve("missing-scale");
        writeFp8(f32, fp8, Layout.CHANNEL, c -> { });
        rewrite(fp8, (name, t) -> name.equals("model.layers.0.mlp.gate_proj.weight_scale") ? null : t);
        assertMessage(fp8, "'model.layers.0.mlp.gate_proj.weight': is FP8 (F8_E4M3) but neither");
        fp8 = dir.resolve("e5m2");
        writeFp8(f32, fp8, Layout.CHANNEL, c -> { });
        rewrite(fp8, (name, t) -> {
            if (!name.equals("model.layers.0.mlp.gate_proj.weight")) {
                return t;
            }
            byte[] codes = e5m2Within16Binades(t.bytes());
            codes[128 * 2 + 9] = (byte) 0xFC; // E5M2's -infinity
            return new Raw(SafetensorsDtype.F8_E5M2, t.shape(), codes);
        });
        assertMessage(fp8, "'model.layers.0.mlp.gate_proj.weight': holds a NaN or infinite code at row 2, column 9");
        // an E5M2 block whose largest code is already in E4M3's top binade keeps its scale, which must be below 2^8
        fp8 = dir.resolve("e5m2-scale");
        writeFp8(f32, fp8, Layout.CHANNEL, c -> { });
        rewrite(fp8, (name, t) -> {
            if (name.equals("model.layers.0.mlp.gate_proj.weight")) {
                return new Raw(SafetensorsDtype.F8_E5M2, t.shape(), e5m2Within16Binades(t.bytes()));
            }
            if (name.equals("model.layers.0.mlp.gate_proj.weight_scale")) {
                byte[] scales = t.bytes().clone();
                java.nio.ByteBuffer.wrap(scales).order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(4 * 3, 300f);
                return new Raw(t.dtype(), t.shape(), scales);
            }
            return t;
        });
        assertMessage(fp8, "'model.layers.0.mlp.gate_proj.weight_scale': the scale of row 3");
        assertMessage(fp8, "(300.0) times the power of two that brings its E5M2 codes into E4M3's range is not below "
                + "256.0");
        fp8 = dir.resolve("bad-shape");
        writeFp8(f32, fp8, Layout.CHANNEL, c -> { });
        rewrite(fp8, (name, t) -> name.equals("model.layers.0.mlp.gate_proj.weight_scale")
                ? new Raw(SafetensorsDtype.F32, new long[] {3}, new byte[12]) : t);
        assertMessage(fp8, "shape [3] fits no scale layout");
    }

    /** The GGUF writer refuses FP8: GGUF has no such type, and llama.cpp would misread a file claiming one. */
    @Test
    void ggufRefusesFp8() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SyntheticModel.write(
                dir.resolve("x.gguf"), shape(), SyntheticVocabulary.generate(VOCAB, 1), WeightTypes.parse("FP8"), 1));
        assertTrue(e.getMessage().contains("GGUF has no FP8 tensor type"), e.getMessage());
        assertTrue(e.getMessage().contains("llama.cpp would misread"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new GgufWriter().addRawTensor("w", GgmlType.FP8,
                new long[] {64, 1}, MemorySegment.ofArray(new byte[68])));
        assertTrue(e.getMessage().contains("GGUF has no FP8 tensor type"), e.getMessage());
        assertEquals(null, GgmlType.byId(GgmlType.FP8.id()));
        assertTrue(!Files.exists(dir.resolve("x.gguf")) && !Files.exists(dir.resolve("x.gguf.partial")));
    }

    // ---- helpers

    private void assertRefused(Path f32, Layout layout, Consumer<ObjectNode> config, String message) throws Exception {
        Path fp8 = dir.resolve("refused-" + System.nanoTime());
        writeFp8(f32, fp8, layout, config);
        assertMessage(fp8, message);
    }

    private void assertDamageRefused(Path f32, String tensor, Object value, int index, String message) throws Exception {
        Path fp8 = dir.resolve("damaged-" + System.nanoTime());
        writeFp8(f32, fp8, Layout.CHANNEL, c -> { });
        rewrite(fp8, (name, t) -> {
            if (!name.equals(tensor)) {
                return t;
            }
            byte[] b = t.bytes().clone();
            MemorySegment s = MemorySegment.ofArray(b);
            if (value instanceof Byte code) {
                s.set(ValueLayout.JAVA_BYTE, index, code);
            } else {
                s.set(ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * index, (Float) value);
            }
            return new Raw(t.dtype(), t.shape(), b);
        });
        assertMessage(fp8, message);
    }

    private static void assertMessage(Path checkpoint, String message) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(checkpoint).close());
        assertTrue(e.getMessage().contains(message), "expected '" + message + "' in: " + e.getMessage());
    }

    private static void assertSameLogits(Path fp8, Path reference) throws Exception {
        int[] prompt = new Random(5).ints(20, 0, VOCAB).toArray();
        try (Model a = ModelLoader.load(fp8); Model b = ModelLoader.load(reference); Parallel p = new Parallel(2)) {
            int fp8Matrices = 0;
            for (Tensor t : a.matrices()) {
                fp8Matrices += t.type() == GgmlType.FP8 ? 1 : 0;
            }
            assertEquals(2 * 7, fp8Matrices, "every projection is held as FP8");
            float[] want = HfCheckpointLogitsTest.logits(b, prompt, p);
            float[] got = HfCheckpointLogitsTest.logits(a, prompt, p);
            assertArrayEquals(want, got, "FP8 logits must be the dequantized model's bit for bit");
        }
    }

    /** A tensor's raw bytes, to be written back as they are. */
    record Raw(SafetensorsDtype dtype, long[] shape, byte[] bytes) {
    }

    @FunctionalInterface
    interface Edit {
        /** The tensor to write instead, or null to drop it. */
        Raw apply(String name, Raw t);
    }

    private static Map<String, Raw> read(Path checkpoint) throws IOException {
        Map<String, Raw> out = new java.util.LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(checkpoint.resolve(HfCheckpoint.SINGLE_FILE))) {
            for (SafetensorsTensorInfo t : f.tensors().values()) {
                out.put(t.name(), new Raw(t.dtype(), t.shape(), f.tensorData(t.name()).toArray(ValueLayout.JAVA_BYTE)));
            }
        }
        return out;
    }

    /** Rewrites a checkpoint's weight file tensor by tensor, raw bytes kept. */
    private static void rewrite(Path checkpoint, Edit edit) throws IOException {
        Map<String, Raw> tensors = read(checkpoint);
        Map<String, Object> header = new java.util.LinkedHashMap<>();
        java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
        for (Map.Entry<String, Raw> e : tensors.entrySet()) {
            Raw t = edit.apply(e.getKey(), e.getValue());
            if (t == null) {
                continue;
            }
            header.put(e.getKey(), Map.of("dtype", t.dtype().name(), "shape", t.shape(),
                    "data_offsets", new long[] {data.size(), data.size() + t.bytes().length}));
            data.write(t.bytes());
        }
        byte[] json = JSON.writeValueAsBytes(header);
        java.nio.ByteBuffer head = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        head.putLong(json.length);
        try (var out = Files.newOutputStream(checkpoint.resolve(HfCheckpoint.SINGLE_FILE))) {
            out.write(head.array());
            out.write(json);
            data.writeTo(out);
        }
    }

    /**
     * The F32 checkpoint's projections as FP8 with scales of {@code layout}, written independently
     * of Tessera's writer: scale = max|w| / 448 over what it covers, code = e4m3(w / scale).
     */
    private static void writeFp8(Path f32, Path out, Layout layout, Consumer<ObjectNode> editConfig) throws IOException {
        Files.createDirectories(out);
        copyTokenizer(f32, out);
        ObjectNode config = (ObjectNode) JSON.readTree(f32.resolve(HfCheckpoint.CONFIG).toFile());
        ObjectNode q = config.putObject("quantization_config");
        switch (layout) {
            case BLOCK -> {
                q.put("quant_method", "fp8").put("fmt", "e4m3").put("activation_scheme", "dynamic");
                q.putArray("weight_block_size").add(128).add(128);
            }
            case CHANNEL_1D -> q.put("quant_method", "fbgemm_fp8");
            default -> {
                q.put("quant_method", "compressed-tensors").put("format", "float-quantized");
                ObjectNode w = q.putObject("config_groups").putObject("group_0").putObject("weights");
                w.put("num_bits", 8).put("type", "float").put("strategy", switch (layout) {
                    case TENSOR -> "tensor";
                    case CHANNEL -> "channel";
                    default -> "block";
                });
                if (layout == Layout.BLOCK_COMPRESSED) {
                    w.putArray("block_structure").add(128).add(128);
                }
            }
        }
        editConfig.accept(config);
        JSON.writeValue(out.resolve(HfCheckpoint.CONFIG).toFile(), config);
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(f32.resolve(HfCheckpoint.SINGLE_FILE))) {
            for (SafetensorsTensorInfo t : f.tensors().values()) {
                float[][] values = floats(f, t);
                if (!t.name().endsWith("_proj.weight")) {
                    w.add(t.name(), t.dtype(), t.shape(), (r, dst) -> System.arraycopy(values[(int) r], 0, dst, 0, dst.length));
                    continue;
                }
                int rows = values.length;
                int cols = values[0].length;
                int br = switch (layout) {
                    case TENSOR -> rows;
                    case CHANNEL, CHANNEL_1D -> 1;
                    default -> 128;
                };
                int bc = br == 128 ? 128 : cols;
                int sr = (rows + br - 1) / br;
                int sc = (cols + bc - 1) / bc;
                float[][] scale = new float[sr][sc];
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        scale[r / br][c / bc] = Math.max(scale[r / br][c / bc], Math.abs(values[r][c]));
                    }
                }
                for (float[] row : scale) {
                    for (int c = 0; c < sc; c++) {
                        row[c] /= 448f;
                    }
                }
                w.add(t.name(), SafetensorsDtype.F8_E4M3, t.shape(), (r, dst) -> {
                    for (int c = 0; c < cols; c++) {
                        dst[c] = values[(int) r][c] / scale[(int) r / br][c / bc];
                    }
                });
                String scaleName = t.name() + (layout == Layout.BLOCK ? "_scale_inv" : "_scale");
                long[] scaleShape = switch (layout) {
                    case TENSOR -> new long[] {1};
                    case CHANNEL_1D -> new long[] {rows};
                    default -> new long[] {sr, sc};
                };
                if (layout == Layout.CHANNEL_1D) {
                    w.add(scaleName, SafetensorsDtype.F32, scaleShape, (r, dst) -> {
                        for (int i = 0; i < rows; i++) {
                            dst[i] = scale[i][0];
                        }
                    });
                } else {
                    w.add(scaleName, SafetensorsDtype.F32, scaleShape,
                            (r, dst) -> System.arraycopy(scale[(int) r], 0, dst, 0, dst.length));
                }
            }
        }
        w.write(out.resolve(HfCheckpoint.SINGLE_FILE));
    }

    /**
     * The FP8 checkpoint with every E4M3 (or E5M2) matrix replaced by its F32 values, e4m3(q) · scale from
     * the specification's formula ({@link Float8}'s decoding is checked against it exhaustively),
     * and quantization_config removed.
     */
    private static void dequantize(Path fp8, Path out, Layout layout) throws IOException {
        Files.createDirectories(out);
        copyTokenizer(fp8, out);
        ObjectNode config = (ObjectNode) JSON.readTree(fp8.resolve(HfCheckpoint.CONFIG).toFile());
        config.remove("quantization_config");
        JSON.writeValue(out.resolve(HfCheckpoint.CONFIG).toFile(), config);
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(fp8.resolve(HfCheckpoint.SINGLE_FILE))) {
            for (SafetensorsTensorInfo t : f.tensors().values()) {
                if (t.name().endsWith("_scale") || t.name().endsWith("_scale_inv")) {
                    continue;
                }
                boolean e5m2 = t.dtype() == SafetensorsDtype.F8_E5M2;
                if (t.dtype() != SafetensorsDtype.F8_E4M3 && !e5m2) {
                    float[][] values = floats(f, t);
                    w.add(t.name(), t.dtype(), t.shape(), (r, dst) -> System.arraycopy(values[(int) r], 0, dst, 0, dst.length));
                    continue;
                }
                SafetensorsTensorInfo s = f.tensors().get(t.name() + "_scale_inv") != null
                        ? f.tensor(t.name() + "_scale_inv") : f.tensor(t.name() + "_scale");
                float[] scale = flatten(floats(f, s));
                int rows = (int) t.shape()[0];
                int cols = (int) t.shape()[1];
                byte[] codes = f.tensorData(t.name()).toArray(ValueLayout.JAVA_BYTE);
                w.add(t.name(), SafetensorsDtype.F32, t.shape(), (r, dst) -> {
                    for (int c = 0; c < cols; c++) {
                        int i = switch (layout) {
                            case TENSOR -> 0;
                            case CHANNEL, CHANNEL_1D -> (int) r;
                            default -> (int) r / 128 * ((cols + 127) / 128) + c / 128;
                        };
                        byte code = codes[(int) r * cols + c];
                        dst[c] = (float) ((e5m2 ? e5m2SpecValue(code) : specValue(code)) * scale[i]);
                    }
                });
                assertTrue(rows > 0);
            }
        }
        w.write(out.resolve(HfCheckpoint.SINGLE_FILE));
    }

    /** An E4M3 code's value from the specification's formula (bias 7, 3 mantissa bits; no NaN in weights). */
    private static double specValue(byte code) {
        int e = (code >> 3) & 15;
        int m = code & 7;
        double v = e == 0 ? m * Math.pow(2, -9) : (1 + m / 8.0) * Math.pow(2, e - 7);
        return code < 0 ? -v : v;
    }

    /** An E5M2 code's value from the specification's formula (bias 15, 2 mantissa bits; finite codes only). */
    private static double e5m2SpecValue(byte code) {
        int e = (code >> 2) & 31;
        int m = code & 3;
        double v = e == 0 ? m * Math.pow(2, -16) : (1 + m / 4.0) * Math.pow(2, e - 15);
        return code < 0 ? -v : v;
    }

    private static float[] flatten(float[][] v) {
        float[] out = new float[v.length * v[0].length];
        for (int i = 0; i < v.length; i++) {
            System.arraycopy(v[i], 0, out, i * v[0].length, v[0].length);
        }
        return out;
    }

    /** A tensor's values as rows of floats (a vector as one row). */
    private static float[][] floats(SafetensorsFile f, SafetensorsTensorInfo t) throws IOException {
        long[] shape = t.shape();
        int cols = (int) shape[shape.length - 1];
        int rows = (int) (t.elementCount() / cols);
        GgmlType type = GgmlType.valueOf(t.dtype().name());
        float[][] out = new float[rows][cols];
        MemorySegment data = f.tensorData(t.name());
        for (int r = 0; r < rows; r++) {
            QuantCodec.of(type).dequantizeRow(data, (long) r * cols * t.dtype().bytes(), out[r], 0, cols);
        }
        return out;
    }

    private static void copyTokenizer(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        for (String name : new String[] {"tokenizer.json", "tokenizer_config.json", "generation_config.json"}) {
            if (Files.exists(from.resolve(name))) {
                Files.copy(from.resolve(name), to.resolve(name), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }
}
