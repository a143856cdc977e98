package io.tessera.core.hf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tessera.core.arch.TensorNames;
import io.tessera.core.format.ModelFormatException;
import io.tessera.core.forward.DecoderForward;
import io.tessera.core.forward.F32KvCache;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.ModelInfo;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.model.RopeScaling;
import io.tessera.core.quant.QuantCodec;
import io.tessera.core.safetensors.SafetensorsDtype;
import io.tessera.core.safetensors.SafetensorsFile;
import io.tessera.core.safetensors.SafetensorsTensorInfo;
import io.tessera.core.safetensors.SafetensorsWriter;
import io.tessera.core.synth.ModelShape;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.tensor.GgmlType;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Gemma 3 and Phi-3 checkpoint directories: what their config.json keys do, Gemma 3's multimodal
 * checkpoint (language model loaded, vision tower ignored), and the keys' hostile values.
 */
class HfFamiliesTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void gemma3CheckpointStoresNormWeightsAsTheirOffsetFromOne() throws Exception {
        Path dir = tmp.resolve("gemma");
        Path gguf = tmp.resolve("gemma.gguf");
        ModelShape shape = ModelShape.named("tiny-gemma3");
        SyntheticModel.writeCheckpoint(dir, shape, SafetensorsDtype.F32, 5);
        SyntheticModel.write(gguf, shape, io.tessera.core.synth.SyntheticVocabulary.generate(512, 1),
                io.tessera.core.model.WeightTypes.parse("F32"), 5);
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        assertEquals("Gemma3ForCausalLM", config.path("architectures").get(0).asText());
        assertEquals("gemma3_text", config.path("model_type").asText());
        assertEquals(8, config.path("sliding_window").asInt());
        assertEquals(6, config.path("sliding_window_pattern").asInt());
        assertEquals(32, config.path("query_pre_attn_scalar").asInt());
        assertEquals(10000.0, config.path("rope_local_base_freq").asDouble());
        assertEquals("gelu_pytorch_tanh", config.path("hidden_activation").asText());
        assertTrue(config.path("final_logit_softcapping").isNull());
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(HfCheckpoint.SINGLE_FILE));
                Model fromGguf = ModelLoader.load(gguf); Model fromHf = ModelLoader.load(dir)) {
            float stored = f.tensorData("model.norm.weight").get(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 0);
            assertEquals(fromGguf.finalNorm()[0] - 1f, stored, "HF keeps w of x·(1 + w)");
            assertArrayEquals(fromGguf.finalNorm(), fromHf.finalNorm());
            assertArrayEquals(fromGguf.layers().get(0).attention().qNorm(), fromHf.layers().get(0).attention().qNorm());
            assertArrayEquals(fromGguf.layers().get(0).feedForward().postNorm(),
                    fromHf.layers().get(0).feedForward().postNorm());
            assertEquals(fromGguf.config(), fromHf.config());
        }
    }

    /**
     * A Mistral checkpoint says MistralForCausalLM with its sliding window (Mistral 7B v0.1: 4096);
     * it runs as llama.cpp runs Mistral, as Llama with every layer seeing the whole context.
     */
    @Test
    void mistralCheckpointNamesMistralAndItsWindowIsNotApplied() throws Exception {
        ModelConfig tiny = ModelShape.named("tiny-gqa").config();
        ModelShape shape = new ModelShape("mistral-tiny", tiny.withAttention(tiny.attention().withSlidingWindow(4)),
                false).withLayers(2);
        Path dir = tmp.resolve("mistral");
        SyntheticModel.writeCheckpoint(dir, shape, SafetensorsDtype.F32, 3);
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        assertEquals("MistralForCausalLM", config.path("architectures").get(0).asText());
        assertEquals("mistral", config.path("model_type").asText());
        assertEquals(4, config.path("sliding_window").asInt());
        Path unwindowed = tmp.resolve("mistral-null-window");
        Files.createDirectories(unwindowed);
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.copy(f, unwindowed.resolve(f.getFileName()));
            }
        }
        config.putNull("sliding_window");
        JSON.writeValue(unwindowed.resolve("config.json").toFile(), config);
        int[] prompt = {5, 9, 2, 7, 300, 11, 4, 8, 100, 6}; // longer than the window
        try (Model windowed = ModelLoader.load(dir); Model plain = ModelLoader.load(unwindowed);
                Parallel p = new Parallel(2)) {
            assertEquals("llama", windowed.config().architecture());
            assertEquals(0, windowed.config().attention().slidingWindow());
            assertArrayEquals(logits(plain, prompt, p), logits(windowed, prompt, p));
        }
    }

    /** transformers says "every layer global" with sliding_window_pattern 1; no window is needed then. */
    @Test
    void gemma3CheckpointWithEveryLayerGlobalNeedsNoWindow() throws Exception {
        ModelConfig g = ModelShape.named("tiny-gemma3").config();
        ModelShape shape = new ModelShape("global", g.withAttention(g.attention().withSlidingWindow(0)), true);
        Path dir = tmp.resolve("gemma-global");
        SyntheticModel.writeCheckpoint(dir, shape, SafetensorsDtype.F32, 3);
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        assertTrue(config.path("sliding_window").isNull());
        assertEquals(1, config.path("sliding_window_pattern").asInt());
        try (Model m = ModelLoader.load(dir)) {
            for (int l = 0; l < m.config().layers(); l++) {
                assertFalse(m.config().attention().isLocal(l), "layer " + l);
            }
        }
        refused(dir, c -> c.put("sliding_window_pattern", 6), "sliding_window", "missing");
    }

    @Test
    void gemma3MultimodalCheckpointRunsItsLanguageModelAndIgnoresTheVisionTower() throws Exception {
        Path text = tmp.resolve("text");
        SyntheticModel.writeCheckpoint(text, ModelShape.named("tiny-gemma3"), SafetensorsDtype.BF16, 6);
        int[] prompt = {3, 77, 200, 5, 9, 400, 12, 13, 14, 15, 16};
        float[] want;
        try (Model m = ModelLoader.load(text); Parallel p = new Parallel(2)) {
            want = logits(m, prompt, p);
        }
        // both layouts transformers has written: language_model.model.* (< 4.52) and model.language_model.*
        for (String[] layout : new String[][] {{"language_model.model.", "language_model.lm_head.weight"},
                {"model.language_model.", "lm_head.weight"}}) {
            Path mm = tmp.resolve("mm-" + layout[0]);
            Files.createDirectories(mm);
            for (String f : new String[] {"tokenizer.json", "tokenizer_config.json", "generation_config.json"}) {
                Files.copy(text.resolve(f), mm.resolve(f));
            }
            ObjectNode textConfig = (ObjectNode) JSON.readTree(text.resolve("config.json").toFile());
            textConfig.remove("architectures");
            // the newer key: which layers are local, instead of the pattern
            textConfig.remove("sliding_window_pattern");
            ArrayNode types = textConfig.putArray("layer_types");
            for (int l = 0; l < 6; l++) {
                types.add(l == 5 ? "full_attention" : "sliding_attention");
            }
            ObjectNode root = JSON.createObjectNode();
            root.putArray("architectures").add("Gemma3ForConditionalGeneration");
            root.put("model_type", "gemma3");
            root.set("text_config", textConfig);
            root.putObject("vision_config").put("hidden_size", 16);
            JSON.writeValue(mm.resolve("config.json").toFile(), root);
            renamed(text.resolve(HfCheckpoint.SINGLE_FILE), mm.resolve(HfCheckpoint.SINGLE_FILE),
                    n -> n.startsWith("model.") ? layout[0] + n.substring("model.".length()) : n);
            try (Model m = ModelLoader.load(mm); Parallel p = new Parallel(2)) {
                assertArrayEquals(want, logits(m, prompt, p), layout[0]);
            }
            // the vision tower is not loaded, so not counted
            assertEquals(ModelInfo.read(text).parameters(), ModelInfo.read(mm).parameters());
            assertTrue(ModelInfo.read(mm).tiedOutput());
        }
    }

    @Test
    void phi4MiniCheckpointHasFusedMatricesPartialRotaryAndLongropeLists() throws Exception {
        Path dir = tmp.resolve("phi4");
        ModelShape shape = ModelShape.named("tiny-phi4");
        SyntheticModel.writeCheckpoint(dir, shape, SafetensorsDtype.F32, 5);
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        assertEquals("Phi3ForCausalLM", config.path("architectures").get(0).asText());
        assertEquals(0.75, config.path("partial_rotary_factor").asDouble());
        assertEquals(64, config.path("original_max_position_embeddings").asInt());
        assertEquals("longrope", config.path("rope_scaling").path("type").asText());
        assertEquals(12, config.path("rope_scaling").path("long_factor").size(), "24 rotary dims: 12 pairs");
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(HfCheckpoint.SINGLE_FILE))) {
            assertArrayEquals(new long[] {32 * 4 + 2 * 32 * 2, 64},
                    f.tensor("model.layers.0.self_attn.qkv_proj.weight").shape());
            assertArrayEquals(new long[] {2 * 128, 64}, f.tensor("model.layers.0.mlp.gate_up_proj.weight").shape());
        }
        try (Model m = ModelLoader.load(dir)) {
            assertEquals(shape.config(), m.config());
            assertEquals(RopeScaling.Type.LONGROPE, m.config().ropeScaling().type());
            assertTrue(m.tiedOutput());
        }
    }

    /** Each hostile value of a family's own key is refused naming the key. */
    @Test
    void familyKeysWithBadValuesAreRefusedNamingTheKey() throws Exception {
        Path gemma = tmp.resolve("g");
        SyntheticModel.writeCheckpoint(gemma, ModelShape.named("tiny-gemma3"), SafetensorsDtype.F32, 1);
        Path phi = tmp.resolve("p");
        SyntheticModel.writeCheckpoint(phi, ModelShape.named("tiny-phi4"), SafetensorsDtype.F32, 1);
        Path qwen = tmp.resolve("q");
        SyntheticModel.writeCheckpoint(qwen, new ModelShape("q", ModelShape.named("tiny-gqa").config()
                .withArchitecture("qwen2"), false).withLayers(1), SafetensorsDtype.F32, 1);

        refused(gemma, c -> c.put("hidden_activation", "relu"), "hidden_activation", "'relu' is not supported");
        refused(gemma, c -> c.put("sliding_window", 0), "sliding_window", "positive integer");
        refused(gemma, c -> {
            ArrayNode t = c.putArray("layer_types");
            for (int l = 0; l < 6; l++) {
                t.add(l == 2 ? "full_attention" : "sliding_attention");
            }
        }, "layer_types[5]", "period 3");
        refused(gemma, c -> c.putArray("layer_types").add("full_attention"), "layer_types", "one type per layer");
        refused(gemma, c -> {
            ArrayNode t = c.putArray("layer_types");
            for (int l = 0; l < 6; l++) {
                t.add(l == 1 ? "chunked_attention" : "sliding_attention");
            }
        }, "layer_types[1]", "'chunked_attention' is not");
        refused(gemma, c -> c.put("query_pre_attn_scalar", -1), "query_pre_attn_scalar", "positive finite");
        // Gemma 2's attention soft-cap: llama.cpp's Gemma 3 never applies it, so it is refused, not ignored
        refused(gemma, c -> c.put("attn_logit_softcapping", 50.0), "attn_logit_softcapping",
                "not supported for Gemma 3");
        refused(phi, c -> c.put("partial_rotary_factor", 0.72), "partial_rotary_factor", "even rotary width");
        refused(phi, c -> c.put("partial_rotary_factor", 1.5), "partial_rotary_factor", "in (0, 1]");
        refused(phi, c -> ((ArrayNode) c.path("rope_scaling").path("short_factor")).remove(0),
                "rope_scaling.short_factor", "must list 12 factors");
        refused(phi, c -> ((ArrayNode) c.path("rope_scaling").path("long_factor")).set(3, -2.0),
                "rope_scaling.long_factor[3]", "positive finite");
        refused(phi, c -> c.remove("original_max_position_embeddings"), "original_max_position_embeddings",
                "missing");
        refused(qwen, c -> c.put("partial_rotary_factor", 0.5), "partial_rotary_factor", "not supported for the qwen2");
        refused(qwen, c -> c.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 4)
                .put("beta_fast", 1).put("beta_slow", 32), "rope_scaling", "beta_fast > beta_slow");
        refused(qwen, c -> c.putObject("rope_scaling").put("rope_type", "yarn").put("factor", 0.5),
                "rope_scaling", "at least 1");
    }

    private void refused(Path dir, java.util.function.Consumer<ObjectNode> edit, String field, String reason)
            throws IOException {
        Path d = tmp.resolve("bad" + System.nanoTime());
        Files.createDirectories(d);
        try (var s = Files.list(dir)) {
            for (Path p : s.toList()) {
                Files.copy(p, d.resolve(p.getFileName()));
            }
        }
        ObjectNode c = (ObjectNode) JSON.readTree(d.resolve("config.json").toFile());
        edit.accept(c);
        JSON.writeValue(d.resolve("config.json").toFile(), c);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> LoadedModel.open(d, null).close(),
                field);
        assertTrue(e.getMessage().contains(field) && e.getMessage().contains(reason), e.getMessage());
    }

    /** Rewrites a safetensors file with every tensor renamed, plus two vision-tower tensors. */
    private static void renamed(Path from, Path to, UnaryOperator<String> rename) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(from)) {
            SafetensorsWriter w = new SafetensorsWriter();
            for (Map.Entry<String, SafetensorsTensorInfo> e : f.tensors().entrySet()) {
                SafetensorsTensorInfo t = e.getValue();
                long[] shape = t.shape();
                int rowLength = (int) shape[shape.length - 1];
                QuantCodec codec = QuantCodec.of(GgmlType.valueOf(t.dtype().name()));
                MemorySegment data = f.tensorData(t.name());
                w.add(rename.apply(e.getKey()), t.dtype(), shape,
                        (row, dst) -> codec.dequantizeRow(data, row * rowLength * t.dtype().bytes(), dst, 0, rowLength));
            }
            for (String vision : new String[] {"vision_tower.vision_model.post_layernorm.weight",
                    "multi_modal_projector.mm_soft_emb_norm.weight"}) {
                w.add(vision, SafetensorsDtype.F32, new long[] {16}, (row, dst) -> java.util.Arrays.fill(dst, 0, 16, 1f));
            }
            w.write(to);
        }
    }

    private static float[] logits(Model m, int[] prompt, Parallel p) {
        return new DecoderForward(m, p).forward(
                ForwardBatch.single(new int[] {0, 1}, prompt, 0, ForwardBatch.Logits.ALL),
                new F32KvCache(m.config(), 2, 16));
    }
}
