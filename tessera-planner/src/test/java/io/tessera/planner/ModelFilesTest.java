package io.tessera.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.planner.calibrate.ForwardStepTimer;
import io.tessera.planner.model.ModelCatalog;
import io.tessera.core.synth.ModelShape;
import io.tessera.planner.model.ModelSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelFilesTest {

    @TempDir
    Path dir;

    @Test
    void readsTheShapeFromAGgufHeader() throws IOException {
        Path f = ForwardStepTimer.synthesize(dir.resolve("tiny.gguf"), "tiny-gqa", null, "f32", 1);
        ModelSpec m = ModelCatalog.resolve(f.toString());
        assertEquals(256, m.hidden());
        assertEquals(4, m.layers());
        assertEquals(32, m.heads());
        assertEquals(8, m.kvHeads());
        assertEquals(688, m.intermediate());
        assertFalse(m.tiedEmbeddings());
    }

    /**
     * A mixture-of-experts file: the planner counts the parameters Tessera's own header reader
     * counts, every expert in the total and the k used ones in the active count (which for the
 * planner leaves out the embedding gather); a shared expert
     * and experts narrower than the dense width (Qwen MoE) included.
     */
    @Test
    void readsExpertsFromAGgufHeaderAsTheLoaderDoes() throws IOException {
        var tiny = ModelShape.named("tiny-moe");
        var qwenLike = new ModelShape("tiny-moe-shared", tiny.config().withMoe(
                io.tessera.core.model.MoeOptions.of(8, 2, 32, false).withSharedExpert(128, true)), false);
        for (var shape : java.util.List.of(tiny, qwenLike)) {
            Path f = dir.resolve(shape.name() + ".gguf");
            io.tessera.core.synth.SyntheticModel.write(f, shape, io.tessera.core.synth.SyntheticVocabulary.generate(
                    512, 1), io.tessera.core.model.WeightTypes.parse("F32"), 1);
            io.tessera.core.model.ModelInfo info = io.tessera.core.model.ModelInfo.read(f);
            ModelSpec m = ModelCatalog.resolve(f.toString());
            assertEquals(8, m.experts(), shape.name());
            assertEquals(2, m.expertsPerToken(), shape.name());
            // the planner leaves out Qwen 2 MoE's one-row shared-expert gate (hidden values per layer)
            long gate = shape.config().moe().sharedExpertGate() ? (long) m.layers() * m.hidden() : 0;
            assertEquals(info.parameters(), m.totalParams() + gate, shape.name() + " total");
            // and its active count leaves out the embedding table (a gather, not a product)
            assertEquals(info.activeParameters() - (long) m.vocab() * m.hidden(), m.activeParams() + gate,
                    shape.name() + " active");
            // expert parallelism over 2 devices: 4 whole experts of gate, up and down each, fp32
            var d = io.tessera.planner.memory.MemoryModel.report(m, io.tessera.planner.memory.Precision.FP32,
                    io.tessera.planner.memory.Precision.FP32, new io.tessera.planner.memory.Layout(1, 1, 1, 2), null, 1,
                    io.tessera.planner.memory.MemoryModel.Limits.DEFAULT).devices().getFirst();
            assertEquals(4, d.routedExperts(), shape.name());
            assertEquals(4.0 * m.moeLayers() * 4 * 3 * m.hidden() * m.moeIntermediate(), d.expertWeightsBytes(), 0, shape.name());
        }
    }

    @Test
    void readsTheShapeFromSafetensorsAndConfigJson() throws IOException {
        // a two-layer model of hidden 256, 4 heads of 64 (config.json beside it gives the head size)
        StringBuilder h = new StringBuilder("{");
        long off = 0;
        String[][] ts = {{"model.embed_tokens.weight", "1000,256"}, {"lm_head.weight", "1000,256"}};
        for (String[] t : ts) {
            off = entry(h, t[0], t[1], off);
        }
        for (int l = 0; l < 2; l++) {
            off = entry(h, "model.layers." + l + ".self_attn.q_proj.weight", "256,256", off);
            off = entry(h, "model.layers." + l + ".self_attn.k_proj.weight", "128,256", off);
            off = entry(h, "model.layers." + l + ".mlp.gate_proj.weight", "512,256", off);
        }
        h.setLength(h.length() - 1);
        h.append('}');
        byte[] hb = h.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + hb.length).order(ByteOrder.LITTLE_ENDIAN).putLong(hb.length).put(hb);
        Path st = dir.resolve("model.safetensors");
        Files.write(st, b.array());
        try (var ch = java.nio.channels.FileChannel.open(st, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {0}), 8 + hb.length + off - 1);
        }
        ModelSpec guessed = ModelCatalog.resolve(st.toString());
        assertEquals(256, guessed.hidden());
        assertEquals(2, guessed.layers());
        assertEquals(1000, guessed.vocab());
        assertEquals(512, guessed.intermediate());
        Files.writeString(dir.resolve("config.json"), "{\"model_type\":\"llama\",\"hidden_size\":256,\"num_hidden_layers\":2,"
                + "\"num_attention_heads\":4,\"num_key_value_heads\":2,\"intermediate_size\":512,\"vocab_size\":1000}");
        ModelSpec m = ModelCatalog.resolve(st.toString());
        assertEquals(4, m.heads());
        assertEquals(2, m.kvHeads());
        assertEquals(64, m.headDim());
        assertTrue(ModelCatalog.resolve(dir.toString()).kvHeads() == 2);
    }

    private static long entry(StringBuilder h, String name, String shape, long off) {
        String[] d = shape.split(",");
        long bytes = Long.parseLong(d[0]) * Long.parseLong(d[1]) * 2;
        h.append('"').append(name).append("\":{\"dtype\":\"BF16\",\"shape\":[").append(shape)
                .append("],\"data_offsets\":[").append(off).append(',').append(off + bytes).append("]},");
        return off + bytes;
    }
}
