package io.tessera.core.hf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.arch.Architectures;
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
import io.tessera.core.model.RopeStyle;
import io.tessera.core.quant.QuantCodec;
import io.tessera.core.safetensors.SafetensorsDtype;
import io.tessera.core.safetensors.SafetensorsFile;
import io.tessera.core.safetensors.SafetensorsTensorInfo;
import io.tessera.core.safetensors.SafetensorsWriter;
import io.tessera.core.synth.ModelShape;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.tensor.GgmlType;
import io.tessera.core.tokenizer.SyntheticByteLevelTokenizer;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checkpoint directories: sharding, tokenizer files, and what a damaged or unusual one gets. */
class HfCheckpointTest {

    private static final int VOCAB = 300;

    @TempDir
    Path tmp;

    Path ckpt;
    ModelShape shape;

    @BeforeEach
    void writeCheckpoint() throws IOException {
        ModelConfig cfg = Architectures.named("qwen2").configure(new ModelConfig("qwen2", 32, 48, 2, 4, 2, 8, VOCAB,
                64, 10000f, RopeStyle.INTERLEAVED, 1e-6f));
        shape = new ModelShape("qwen2-small", cfg, false);
        ckpt = tmp.resolve("ckpt");
        SyntheticModel.writeCheckpoint(ckpt, shape, SafetensorsDtype.BF16, 3);
    }

    @Test
    void shardedCheckpointGivesTheSameLogitsAsOneFile() throws Exception {
        Path sharded = copyWithout(ckpt, tmp.resolve("sharded"), name -> true);
        Files.delete(sharded.resolve(HfCheckpoint.SINGLE_FILE));
        List<String> first = new ArrayList<>();
        List<String> second = new ArrayList<>();
        try (SafetensorsFile f = SafetensorsFile.open(ckpt.resolve(HfCheckpoint.SINGLE_FILE))) {
            for (String n : f.tensors().keySet()) {
                (n.contains("layers.1.") || n.startsWith("lm_head") ? second : first).add(n);
            }
        }
        rewrite(ckpt.resolve(HfCheckpoint.SINGLE_FILE), sharded.resolve("model-00001-of-00002.safetensors"),
                first::contains, null);
        rewrite(ckpt.resolve(HfCheckpoint.SINGLE_FILE), sharded.resolve("model-00002-of-00002.safetensors"),
                second::contains, null);
        StringBuilder map = new StringBuilder("{\"metadata\": {}, \"weight_map\": {");
        first.forEach(n -> map.append('"').append(n).append("\": \"model-00001-of-00002.safetensors\","));
        second.forEach(n -> map.append('"').append(n).append("\": \"model-00002-of-00002.safetensors\","));
        map.setLength(map.length() - 1);
        Files.writeString(sharded.resolve(HfCheckpoint.INDEX), map + "}}");

        int[] prompt = {5, 17, 260, 3, 99, 42};
        try (Model one = ModelLoader.load(ckpt); Model many = ModelLoader.load(sharded); Parallel p = new Parallel(2)) {
            assertArrayEquals(logits(one, prompt, p), logits(many, prompt, p));
        }
        ModelInfo info = ModelInfo.read(sharded);
        assertEquals(ModelLoader.Format.HUGGING_FACE, info.format());
        assertEquals(shape.config().parameterCount(false), info.parameters());
    }

    @Test
    void loadedModelTakesTheTokenizerAndChatTemplateOfTheDirectory() throws Exception {
        try (LoadedModel m = LoadedModel.open(ckpt, null)) {
            assertEquals(SyntheticByteLevelTokenizer.CHAT_TEMPLATE, m.chatTemplate());
            assertEquals(0, m.tokenizer().bos());
            assertEquals(1, m.tokenizer().eos());
            int[] ids = m.tokenizer().encode("the theme of this test", true);
            assertEquals(0, ids[0]);
            assertEquals("the theme of this test", m.tokenizer().decode(ids));
        }
        assertEquals(List.of(1), HfCheckpoint.eosTokenIds(ckpt));
        Files.writeString(ckpt.resolve("generation_config.json"), "{\"eos_token_id\": [128001, 128008, 128009]}");
        assertEquals(List.of(128001, 128008, 128009), HfCheckpoint.eosTokenIds(ckpt));
        // every end token the checkpoint names ends generation, the tokenizer's EOS first
        Files.writeString(ckpt.resolve("generation_config.json"), "{\"eos_token_id\": [7, 1, 9]}");
        try (LoadedModel m = LoadedModel.open(ckpt, null)) {
            assertArrayEquals(new int[] {1, 7, 9}, m.eosTokenIds());
        }
        Files.writeString(ckpt.resolve("generation_config.json"), "{\"eos_token_id\": [128009]}");
        assertRefused(ckpt, "eos_token_id", "token id 128009 is outside the vocabulary");
    }

    @Test
    void damagedCheckpointsAreRefusedNamingWhatIsWrong() throws Exception {
        // a tensor missing
        Path missing = copyWithout(ckpt, tmp.resolve("missing"), n -> true);
        rewrite(ckpt.resolve(HfCheckpoint.SINGLE_FILE), missing.resolve(HfCheckpoint.SINGLE_FILE),
                n -> !n.equals("model.layers.1.mlp.up_proj.weight"), null);
        assertRefused(missing, "model.layers.1.mlp.up_proj.weight", "missing from the checkpoint");

        // a tensor of a layer config.json does not have
        Path extra = copyWithout(ckpt, tmp.resolve("extra"), n -> true);
        rewrite(ckpt.resolve(HfCheckpoint.SINGLE_FILE), extra.resolve(HfCheckpoint.SINGLE_FILE), n -> true,
                "model.layers.7.mlp.up_proj.weight");
        assertRefused(extra, "model.layers.7.mlp.up_proj.weight", "not used by the qwen2 architecture");

        // a shape that disagrees with config.json
        Path wide = copyWithout(ckpt, tmp.resolve("wide"), n -> true);
        Files.writeString(wide.resolve("config.json"),
                Files.readString(ckpt.resolve("config.json")).replace("\"intermediate_size\" : 48", "\"intermediate_size\" : 64"));
        assertRefused(wide, "model.layers.0.mlp.gate_proj.weight", "does not match config.json");

        // unknown architecture, bad and missing fields, bad rope scaling
        assertConfigRefused("\"Qwen2ForCausalLM\"", "\"GPTNeoXForCausalLM\"", "architectures",
                "'GPTNeoXForCausalLM' is not supported (supported: LlamaForCausalLM");
        // a Qwen 2 checkpoint labelled as another family misses that family's own tensors
        assertConfigRefused("\"Qwen2ForCausalLM\"", "\"Gemma3ForCausalLM\"",
                "model.layers.0.self_attn.q_norm.weight", "missing from the checkpoint");
        assertConfigRefused("\"Qwen2ForCausalLM\"", "\"Phi3ForCausalLM\"",
                "model.layers.0.mlp.gate_up_proj.weight", "missing from the checkpoint");
        assertConfigRefused("\"hidden_size\" : 32", "\"hidden_size\" : -32", "hidden_size", "positive integer");
        assertConfigRefused("\"hidden_size\" : 32", "\"hidden_size\" : \"32\"", "hidden_size", "positive integer");
        assertConfigRefused("\"num_hidden_layers\" : 2,", "", "num_hidden_layers", "missing");
        assertConfigRefused("\"rope_theta\" : 10000.0", "\"rope_theta\" : 0", "rope_theta", "positive finite");
        assertConfigRefused("\"num_key_value_heads\" : 2", "\"num_key_value_heads\" : 3", "config.json",
                "KV head count 3");
        assertConfigRefused("\"rope_scaling\" : null", "\"rope_scaling\" : {\"rope_type\": \"dynamic\", \"factor\": 2}",
                "rope_scaling.rope_type", "'dynamic' is not supported");
        assertConfigRefused("\"vocab_size\" : 300", "\"vocab_size\" : 300,", "config.json", "not valid JSON");
    }

    @Test
    void anIndexMayNameOnlyShardsInsideTheDirectory() throws Exception {
        for (String shard : new String[] {"../ckpt/model.safetensors", "/etc/passwd", "sub/model.safetensors",
                "absent.safetensors", "model.bin"}) {
            Path d = copyWithout(ckpt, tmp.resolve("index" + Math.abs(shard.hashCode())), n -> true);
            Files.writeString(d.resolve(HfCheckpoint.INDEX),
                    "{\"weight_map\": {\"model.norm.weight\": \"" + shard + "\"}}");
            ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelLoader.load(d), shard);
            assertTrue(e.getMessage().contains("weight_map['model.norm.weight']"), e.getMessage());
        }
    }

    @Test
    void unsupportedDtypesAndDuplicatesAreRefused() throws Exception {
        // the same tensor in two files
        Path duplicated = copyWithout(ckpt, tmp.resolve("duplicated"), n -> true);
        Files.delete(duplicated.resolve(HfCheckpoint.SINGLE_FILE));
        rewrite(ckpt.resolve(HfCheckpoint.SINGLE_FILE), duplicated.resolve("a.safetensors"), n -> true, null);
        rewrite(ckpt.resolve(HfCheckpoint.SINGLE_FILE), duplicated.resolve("b.safetensors"),
                n -> n.equals("model.norm.weight"), null);
        assertRefused(duplicated, "model.norm.weight", "also stored in a.safetensors");

        // an integer tensor where a matrix belongs: the header's BF16 edited to I16 (same bytes)
        Path i16 = copyWithout(ckpt, tmp.resolve("i16"), n -> true);
        byte[] original = Files.readAllBytes(ckpt.resolve(HfCheckpoint.SINGLE_FILE));
        long headerLen = MemorySegment.ofArray(original).get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0);
        String header = new String(original, 8, (int) headerLen, java.nio.charset.StandardCharsets.UTF_8);
        String edited = header.replaceFirst("(\"model.embed_tokens.weight\":\\{\"dtype\":\")BF16", "$1I16");
        assertTrue(!edited.equals(header), header.substring(0, 200));
        byte[] out = original.clone();
        System.arraycopy(edited.getBytes(java.nio.charset.StandardCharsets.UTF_8), 0, out, 8, edited.length());
        Files.write(i16.resolve(HfCheckpoint.SINGLE_FILE), out);
        assertRefused(i16, "model.embed_tokens.weight", "dtype I16 is not supported (supported: F32, F16, BF16, and F8_E4M3, "
                + "F8_E5M2 or I8 matrices with their scales)");
    }

    private void assertConfigRefused(String from, String to, String field, String reason) throws IOException {
        Path d = copyWithout(ckpt, tmp.resolve("cfg" + Math.abs((from + to).hashCode())), n -> true);
        String json = Files.readString(ckpt.resolve("config.json"));
        assertTrue(json.contains(from), "config.json holds " + from + ": " + json);
        Files.writeString(d.resolve("config.json"), json.replace(from, to));
        assertRefused(d, field, reason);
    }

    private static void assertRefused(Path dir, String field, String reason) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> LoadedModel.open(dir, null).close());
        assertTrue(e.getMessage().contains(field) && e.getMessage().contains(reason), e.getMessage());
    }

    /** A copy of the directory's files whose names pass {@code keep}. */
    private static Path copyWithout(Path from, Path to, Predicate<String> keep) throws IOException {
        Files.createDirectories(to);
        try (var s = Files.list(from)) {
            for (Path p : s.toList()) {
                if (keep.test(p.getFileName().toString())) {
                    Files.copy(p, to.resolve(p.getFileName()));
                }
            }
        }
        return to;
    }

    /** Rewrites the tensors of {@code from} that pass {@code keep}, plus a copy of the last one under {@code extraName}. */
    private static void rewrite(Path from, Path to, Predicate<String> keep, String extraName) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(from)) {
            SafetensorsWriter w = new SafetensorsWriter();
            SafetensorsTensorInfo last = null;
            for (Map.Entry<String, SafetensorsTensorInfo> e : f.tensors().entrySet()) {
                if (keep.test(e.getKey())) {
                    add(w, f, e.getValue(), e.getKey());
                    last = e.getValue();
                }
            }
            if (extraName != null) {
                add(w, f, last, extraName);
            }
            w.write(to);
        }
    }

    private static void add(SafetensorsWriter w, SafetensorsFile f, SafetensorsTensorInfo t, String name)
            throws IOException {
        long[] shape = t.shape();
        int rowLength = (int) shape[shape.length - 1];
        QuantCodec codec = QuantCodec.of(GgmlType.valueOf(t.dtype().name()));
        MemorySegment data = f.tensorData(t.name());
        w.add(name, t.dtype(), shape,
                (row, dst) -> codec.dequantizeRow(data, row * rowLength * t.dtype().bytes(), dst, 0, rowLength));
    }

    private static float[] logits(Model m, int[] prompt, Parallel p) {
        return new DecoderForward(m, p).forward(
                ForwardBatch.single(new int[] {0, 1}, prompt, 0, ForwardBatch.Logits.ALL),
                new F32KvCache(m.config(), 2, 16));
    }
}
