package io.tessera.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.catalog.AcceleratorCatalog;
import io.tessera.planner.cost.CostModel;
import io.tessera.planner.memory.Layout;
import io.tessera.planner.memory.MemoryModel;
import io.tessera.planner.memory.Precision;
import io.tessera.planner.model.ModelCatalog;
import io.tessera.planner.model.ModelSpec;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class MemoryModelTest {

    static ModelSpec model(String name) throws IOException {
        return ModelCatalog.resolve(name);
    }

    static MemoryModel.Report report(String model, Precision p, int tp, int pp, String gpu) throws IOException {
        Accelerator a = gpu == null ? null : AcceleratorCatalog.builtin().get(gpu);
        return MemoryModel.report(model(model), p, p.defaultKvPrecision(), Layout.of(tp, pp), a, 4096,
                MemoryModel.Limits.DEFAULT);
    }

    /** The seed's worked example: a 6B fp16 model is 12 GB; on an A10 (600 GB/s) 0.02 s a token, 0.01 s over TP 2. */
    @Test
    void seedExampleSixBillionFp16OnA10() throws IOException {
        ModelSpec m = model("6b");
        Accelerator a10 = AcceleratorCatalog.builtin().get("A10");
        assertEquals(6_000_000_000L, m.totalParams());
        assertEquals(12e9, MemoryModel.weightsBytes(m, Precision.FP16), 0);
        assertEquals(600e9, a10.bandwidthBytesPerSecond(), 0);
        assertEquals(0.02, CostModel.weightReadSeconds(m, Precision.FP16, a10, Layout.of(1, 1)), 1e-15);
        assertEquals(0.01, CostModel.weightReadSeconds(m, Precision.FP16, a10, Layout.of(2, 1)), 1e-15);
        MemoryModel.Report tp2 = MemoryModel.report(m, Precision.FP16, Precision.FP16, Layout.of(2, 1), a10, 2048,
                MemoryModel.Limits.DEFAULT);
        assertEquals(6e9, tp2.devices().getFirst().weightsBytes(), 0);
    }

    @Test
    void llama31_8bHandComputed() throws IOException {
        ModelSpec m = model("llama-3.1-8b");
        // embedding 128256*4096 twice (untied) + 32 * (41,943,040 attention + 176,160,768 FFN + 8,192 norms) + 4,096
        assertEquals(8_030_261_248L, m.totalParams());
        MemoryModel.Report r = report("llama-3.1-8b", Precision.BF16, 1, 1, null);
        assertEquals(16_060_522_496.0, r.weightsBytes(), 0);
        assertEquals(131_072, r.kvBytesPerToken(), 0); // 2 * 32 layers * 8 kv heads * 128 * 2 bytes
        MemoryModel.Report int8 = report("llama-3.1-8b", Precision.INT8, 1, 1, null);
        assertEquals(8_030_261_248.0, int8.weightsBytes(), 0);
        assertEquals(131_072, int8.kvBytesPerToken(), 0);
        // TP 2 x PP 2: each stage 16 layers at half width; stage 0 half the embedding, stage 1 half the head + final norm
        MemoryModel.Report split = report("llama-3.1-8b", Precision.BF16, 2, 2, null);
        assertEquals(2 * 2_007_629_824.0, split.devices().get(0).weightsBytes(), 0);
        assertEquals(2 * 2_007_633_920.0, split.devices().get(1).weightsBytes(), 0);
        assertEquals(16 * 2 * 4 * 128 * 2, split.devices().get(0).kvBytesPerToken(), 0);
    }

    @Test
    void int4HalvesAndTpSplitsKvHeads() throws IOException {
        MemoryModel.Report r = report("llama-3.1-70b", Precision.INT4, 8, 1, null);
        assertEquals(r.model().totalParams() * 0.5, r.weightsBytes(), 0);
        assertEquals(327_680, r.kvBytesPerToken(), 0); // 2 * 80 * 8 * 128 * 2
        assertEquals(40_960, r.devices().getFirst().kvBytesPerToken(), 0); // one kv head per rank
        // TP 16 over 8 kv heads replicates them: still one head per rank
        ModelSpec m = model("llama-3.1-70b");
        MemoryModel.Report r16 = MemoryModel.report(m, Precision.BF16, Precision.BF16, Layout.of(16, 1), null, 1,
                MemoryModel.Limits.DEFAULT);
        assertEquals(40_960, r16.devices().getFirst().kvBytesPerToken(), 0);
    }

    @Test
    void moeCountsAllExpertsAndMlaCachesTheLatent() throws IOException {
        ModelSpec mix = model("mixtral-8x7b");
        assertEquals(46_702_792_704L, mix.totalParams());
        assertEquals(12_748_853_248L, mix.activeParams()); // head counted, embedding gather not
        assertEquals(2.0 * 32 * 8 * 128 * 2, MemoryModel.kvBytesPerToken(mix, Precision.BF16), 0);
        ModelSpec ds = model("deepseek-v3");
        assertEquals(671_026_404_352L, ds.totalParams());
        assertEquals(61.0 * (512 + 64) * 2, MemoryModel.kvBytesPerToken(ds, Precision.BF16), 0);
        // the latent is replicated over TP ranks
        MemoryModel.Report r = MemoryModel.report(ds, Precision.FP8, Precision.BF16, Layout.of(8, 1), null, 1,
                MemoryModel.Limits.DEFAULT);
        assertEquals(70_272, r.devices().getFirst().kvBytesPerToken(), 0);
        assertEquals(6_172_364_800L, model("chatglm-6b").totalParams());
    }

    @Test
    void refusesWhatDoesNotFitAndSaysByHowMuch() throws IOException {
        MemoryModel.Report r = report("llama-3.1-70b", Precision.BF16, 1, 1, "h100");
        assertFalse(r.fits());
        // 141.1 GB of weights against 72 GB usable: about 69 GB short plus activations and one sequence
        assertTrue(r.shortfallBytes() > 69e9 && r.shortfallBytes() < 73e9, "shortfall " + r.shortfallBytes());
        MemoryModel.Report ok = report("llama-3.1-70b", Precision.BF16, 4, 1, "h100");
        assertTrue(ok.fits());
        assertTrue(ok.kvTokens() > 100_000, "tokens " + ok.kvTokens());
    }

    @Test
    void rejectsInvalidLayouts() throws IOException {
        ModelSpec m = model("qwen2.5-7b");
        assertThrows(IllegalArgumentException.class, () -> MemoryModel.report(m, Precision.BF16, Precision.BF16,
                Layout.of(8, 1), null, 1, MemoryModel.Limits.DEFAULT)); // 28 heads
        assertThrows(IllegalArgumentException.class, () -> ModelCatalog.resolve("no-such-model"));
    }
}
