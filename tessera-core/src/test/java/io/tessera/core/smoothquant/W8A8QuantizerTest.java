package io.tessera.core.smoothquant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tessera.core.arch.Architectures;
import io.tessera.core.format.ModelFormatException;
import io.tessera.core.forward.DecoderForward;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.forward.PagedKvCache;
import io.tessera.core.hf.HfCheckpoint;
import io.tessera.core.hf.HfCheckpointWriter;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.GgufModelWriter;
import io.tessera.core.model.LoadOptions;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.model.QuantizingTensorSource;
import io.tessera.core.model.RopeStyle;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.safetensors.SafetensorsDtype;
import io.tessera.core.safetensors.SafetensorsFile;
import io.tessera.core.safetensors.SafetensorsWriter;
import io.tessera.core.synth.OutlierChannels;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tensor.Tensor;
import io.tessera.core.tokenizer.SyntheticByteLevelTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tessera quantize}: W8A8 checkpoint directories in compressed-tensors' int8 layout, written
 * and read back; SmoothQuant's factors leave the model's function unchanged and lower the int8
 * error where activations have outlier channels; the LLM.int8() decomposition does too; hub-style
 * checkpoints (per-tensor scales) load and damaged ones are refused naming the field or tensor.
 */
class W8A8QuantizerTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int VOCAB = 300;
    /** A Llama shape with grouped-query attention and a feed-forward width that is no multiple of 32. */
    private static final ModelConfig CONFIG = Architectures.named("llama").configure(new ModelConfig("llama", 96, 172,
            2, 6, 2, 64, VOCAB, 128, 10000f, RopeStyle.NEOX, 1e-5f));

    @TempDir
    Path dir;

    private Path checkpoint(String name, OutlierChannels outliers) throws Exception {
        Path d = dir.resolve(name);
        HfCheckpointWriter.write(d, CONFIG, false, SafetensorsDtype.F32,
                outliers.apply(SyntheticModel.weights(3), CONFIG), "LlamaForCausalLM");
        SyntheticByteLevelTokenizer.write(d, VOCAB);
        HfCheckpointWriter.writeGenerationConfig(d, 0, List.of(1));
        return d;
    }

    private static int[] text(int n, long seed) {
        int[] t = new Random(seed).ints(n, 2, VOCAB).toArray();
        t[0] = 0;
        return t;
    }

    private Path quantize(Path in, String out, W8A8Quantizer.Method method, float threshold) throws Exception {
        Path o = dir.resolve(out);
        try (LoadedModel m = LoadedModel.open(in, null); Parallel p = new Parallel(2)) {
            W8A8Quantizer.quantize(m, in, o, method, 0.5f, method == W8A8Quantizer.Method.RTN ? null : text(200, 9),
                    64, threshold, p);
        }
        return o;
    }

    @Test
    void writtenCheckpointIsCompressedTensorsInt8AndRunsAsQuantizingAtLoad() throws Exception {
        Path f32 = checkpoint("f32", new OutlierChannels(0, 1));
        Path w8 = quantize(f32, "w8a8", W8A8Quantizer.Method.RTN, 0f);
        JsonNode q = JSON.readTree(w8.resolve(HfCheckpoint.CONFIG).toFile()).path("quantization_config");
        assertEquals("compressed-tensors", q.path("quant_method").asText());
        assertEquals("int-quantized", q.path("format").asText());
        assertEquals("int", q.at("/config_groups/group_0/weights/type").asText());
        assertEquals("channel", q.at("/config_groups/group_0/weights/strategy").asText());
        assertEquals("token", q.at("/config_groups/group_0/input_activations/strategy").asText());
        assertTrue(q.at("/config_groups/group_0/input_activations/dynamic").asBoolean());
        try (SafetensorsFile f = SafetensorsFile.open(w8.resolve(HfCheckpoint.SINGLE_FILE))) {
            assertEquals(SafetensorsDtype.I8, f.tensor("model.layers.1.mlp.down_proj.weight").dtype());
            assertArrayEquals(new long[] {96, 1}, f.tensor("model.layers.1.mlp.down_proj.weight_scale").shape());
            assertEquals(SafetensorsDtype.F32, f.tensor("lm_head.weight").dtype(), "the head stays as stored");
        }
        LoadOptions atLoad = LoadOptions.quantized(WeightTypes.parse("W8A8"), QuantizingTensorSource.Progress.NONE);
        try (Model a = ModelLoader.load(w8); Model b = ModelLoader.load(f32, atLoad); Parallel p = new Parallel(2)) {
            int w8a8 = 0;
            for (Tensor t : a.matrices()) {
                w8a8 += t.type() == GgmlType.W8A8 ? 1 : 0;
            }
            assertEquals(2 * 7, w8a8, "every projection is W8A8");
            int[] prompt = text(24, 4);
            assertArrayEquals(logits(b, prompt, p), logits(a, prompt, p), "the directory holds the at-load bytes");
        }
    }

    @Test
    void smoothingLeavesTheModelsFunction() throws Exception {
        Path f32 = checkpoint("f32", new OutlierChannels(3, 30));
        Path smoothed = dir.resolve("smoothed");
        try (Model m = ModelLoader.load(f32); Parallel p = new Parallel(2)) {
            SmoothQuant plan = SmoothQuant.plan(m, ActivationMaxima.collect(m, text(150, 5), 0, 64, p), 0.5f);
            float[] s = plan.columnFactors("blk.0.attn_q.weight");
            assertTrue(max(s) / min(s) > 5, "the outlier channels get large factors");
            assertNull(plan.columnFactors("blk.0.attn_output.weight"), "o_proj is left unsmoothed");
            // the loaded model's configuration: its Q/K rows are in the order its rotary pairing reads
            HfCheckpointWriter.write(smoothed, m.config(), false, SafetensorsDtype.F32,
                    plan.apply(GgufModelWriter.of(m)), "LlamaForCausalLM");
            try (Model sm = ModelLoader.load(smoothed)) {
                int[] prompt = text(24, 6);
                float[] want = logits(m, prompt, p);
                float[] got = logits(sm, prompt, p);
                for (int i = 0; i < want.length; i++) {
                    assertEquals(want[i], got[i], 2e-4 * (1 + Math.abs(want[i])), "logit " + i);
                }
            }
        }
    }

    @Test
    void smoothQuantAndDecompositionLowerTheErrorOfOutlierChannels() throws Exception {
        Path f32 = checkpoint("f32", new OutlierChannels(3, 50));
        double rtn = error(f32, quantize(f32, "rtn", W8A8Quantizer.Method.RTN, 0f));
        double smooth = error(f32, quantize(f32, "sq", W8A8Quantizer.Method.SMOOTHQUANT, 0f));
        double mixed = error(f32, quantize(f32, "mixed", W8A8Quantizer.Method.RTN, 6f));
        assertTrue(smooth < rtn / 2, "SmoothQuant " + smooth + " vs plain W8A8 " + rtn);
        assertTrue(mixed < rtn / 2, "decomposition " + mixed + " vs plain W8A8 " + rtn);
        assertEquals(6.0, JSON.readTree(dir.resolve("mixed").resolve(HfCheckpoint.CONFIG).toFile())
                .at("/quantization_config/tessera_outlier_threshold").asDouble());
    }

    @Test
    void injectedOutlierChannelsLeaveTheModelsFunction() throws Exception {
        Path plain = checkpoint("plain", new OutlierChannels(0, 1));
        Path outliers = checkpoint("outliers", new OutlierChannels(4, 50));
        try (Model a = ModelLoader.load(plain); Model b = ModelLoader.load(outliers); Parallel p = new Parallel(2)) {
            int[] prompt = text(24, 7);
            float[] want = logits(a, prompt, p);
            float[] got = logits(b, prompt, p);
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], got[i], 1e-3 * (1 + Math.abs(want[i])), "logit " + i);
            }
        }
    }

    /** An int8 checkpoint as another producer may write it: one scale per tensor. */
    @Test
    void perTensorScalesLoad() throws Exception {
        Path f32 = checkpoint("f32", new OutlierChannels(0, 1));
        Path w8 = quantize(f32, "w8a8", W8A8Quantizer.Method.RTN, 0f);
        Path hub = dir.resolve("hub");
        rewriteScales(w8, hub, (name, rows) -> new float[] {0.01f}, c -> { });
        try (Model m = ModelLoader.load(hub)) {
            Tensor t = m.layers().get(0).attention().wq();
            assertEquals(GgmlType.W8A8, t.type());
            assertEquals(0.01f, t.rowScales().scales()[t.rowScales().scales().length - 1]);
        }
    }

    @Test
    void damagedOrUnsupportedCheckpointsAreRefusedByName() throws Exception {
        Path f32 = checkpoint("f32", new OutlierChannels(0, 1));
        Path w8 = quantize(f32, "w8a8", W8A8Quantizer.Method.RTN, 0f);
        refused(w8, "nan", (n, rows) -> nanAt(rows), c -> { }, "model.layers.0.self_attn.q_proj.weight_scale");
        refused(w8, "shape", (n, rows) -> new float[] {1, 2, 3}, c -> { }, "fits no scale layout");
        refused(w8, "asym", (n, rows) -> null, c -> ((ObjectNode) c.at("/quantization_config/config_groups/group_0/weights"))
                .put("symmetric", false), "asymmetric");
        refused(w8, "int4", (n, rows) -> null, c -> ((ObjectNode) c.at("/quantization_config/config_groups/group_0/weights"))
                .put("num_bits", 4), "4-bit int weights are not supported");
        refused(w8, "group", (n, rows) -> null, c -> ((ObjectNode) c.at("/quantization_config/config_groups/group_0/weights"))
                .put("strategy", "group"), "'group' is not supported");
        refused(w8, "threshold", (n, rows) -> null, c -> ((ObjectNode) c.path("quantization_config"))
                .put("tessera_outlier_threshold", -1), "tessera_outlier_threshold");
    }

    @Test
    void quantizeRefusesWhatItCannotDo() throws Exception {
        Path f32 = checkpoint("f32", new OutlierChannels(0, 1));
        try (LoadedModel m = LoadedModel.open(f32, null); Parallel p = new Parallel(1)) {
            Path out = dir.resolve("o");
            assertThrows(IllegalArgumentException.class, () -> W8A8Quantizer.quantize(m, f32, out,
                    W8A8Quantizer.Method.SMOOTHQUANT, 0.5f, null, 64, 0, p), "no calibration");
            IllegalArgumentException alpha = assertThrows(IllegalArgumentException.class, () -> W8A8Quantizer.quantize(
                    m, f32, out, W8A8Quantizer.Method.SMOOTHQUANT, 1.5f, text(50, 1), 64, 0, p));
            assertTrue(alpha.getMessage().contains("--alpha"), alpha.getMessage());
            assertThrows(IllegalArgumentException.class, () -> W8A8Quantizer.quantize(m, f32, out,
                    W8A8Quantizer.Method.RTN, 0.5f, null, 64, Float.NaN, p), "threshold");
            assertThrows(IllegalArgumentException.class, () -> W8A8Quantizer.quantize(m, f32, f32,
                    W8A8Quantizer.Method.RTN, 0.5f, null, 64, 0, p), "output is the input");
        }
        LoadOptions q8 = LoadOptions.quantized(WeightTypes.parse("Q8_0"), QuantizingTensorSource.Progress.NONE);
        try (LoadedModel m = LoadedModel.open(f32, null, q8); Parallel p = new Parallel(1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> W8A8Quantizer.quantize(m,
                    f32, dir.resolve("o2"), W8A8Quantizer.Method.RTN, 0.5f, null, 64, 0, p));
            assertTrue(e.getMessage().contains("Q8_0"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> W8A8Quantizer.Method.parse("gptq"));
    }

    @FunctionalInterface
    interface Scales {
        /** The scale values to write for a weight of this many rows, or null to keep the checkpoint's. */
        float[] of(String weight, int rows);
    }

    private static float[] nanAt(int rows) {
        float[] s = new float[rows];
        java.util.Arrays.fill(s, 0.01f);
        s[rows / 2] = Float.NaN;
        return s;
    }

    private void refused(Path w8, String name, Scales scales, Consumer<JsonNode> config, String expected)
            throws Exception {
        Path d = dir.resolve("bad-" + name);
        rewriteScales(w8, d, scales, config);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(d).close());
        assertTrue(e.getMessage().contains(expected), name + ": " + e.getMessage());
    }

    /** A copy of checkpoint src with q_proj's scales replaced (others kept) and config.json edited. */
    private static void rewriteScales(Path src, Path dst, Scales scales, Consumer<JsonNode> config) throws Exception {
        Files.createDirectories(dst);
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "generation_config.json")) {
            if (Files.exists(src.resolve(f))) {
                Files.copy(src.resolve(f), dst.resolve(f));
            }
        }
        JsonNode c = JSON.readTree(src.resolve(HfCheckpoint.CONFIG).toFile());
        config.accept(c);
        JSON.writeValue(dst.resolve(HfCheckpoint.CONFIG).toFile(), c);
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(src.resolve(HfCheckpoint.SINGLE_FILE))) {
            for (var t : f.tensors().values()) {
                long[] shape = t.shape();
                float[] replaced = t.name().endsWith("q_proj.weight_scale") ? scales.of(t.name(), (int) shape[0]) : null;
                if (replaced != null) {
                    w.add(t.name(), SafetensorsDtype.F32, new long[] {replaced.length}, (r, out) ->
                            System.arraycopy(replaced, 0, out, 0, replaced.length));
                    continue;
                }
                var data = f.tensorData(t.name());
                int cols = (int) shape[shape.length - 1];
                SafetensorsDtype dt = t.dtype();
                w.add(t.name(), dt, shape, (r, out) -> {
                    for (int i = 0; i < cols; i++) {
                        long at = r * cols + i;
                        out[i] = dt == SafetensorsDtype.I8 ? data.get(java.lang.foreign.ValueLayout.JAVA_BYTE, at)
                                : data.get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 4 * at);
                    }
                });
            }
            w.write(dst.resolve(HfCheckpoint.SINGLE_FILE));
        }
    }

    /** Mean squared difference of the logits from the F32 checkpoint's, over a prompt. */
    private static double error(Path f32, Path quantized) throws Exception {
        try (Model a = ModelLoader.load(f32); Model b = ModelLoader.load(quantized); Parallel p = new Parallel(2)) {
            int[] prompt = text(32, 8);
            float[] want = logits(a, prompt, p);
            float[] got = logits(b, prompt, p);
            double e = 0;
            for (int i = 0; i < want.length; i++) {
                e += (want[i] - got[i]) * (double) (want[i] - got[i]);
            }
            return e / want.length;
        }
    }

    private static float[] logits(Model m, int[] prompt, Parallel p) {
        try (PagedKvCache cache = new PagedKvCache(m.config(), KvCacheType.F32, 4, 16)) {
            return new DecoderForward(m, p).forward(ForwardBatch.single(new int[] {0, 1, 2, 3}, prompt, 0,
                    ForwardBatch.Logits.ALL), cache);
        }
    }

    private static float max(float[] v) {
        float m = v[0];
        for (float x : v) {
            m = Math.max(m, x);
        }
        return m;
    }

    private static float min(float[] v) {
        float m = v[0];
        for (float x : v) {
            m = Math.min(m, x);
        }
        return m;
    }
}
