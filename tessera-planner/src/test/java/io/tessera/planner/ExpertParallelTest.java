package io.tessera.planner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.planner.catalog.Accelerator;
import io.tessera.planner.catalog.AcceleratorCatalog;
import io.tessera.planner.cost.Batch;
import io.tessera.planner.cost.CostModel;
import io.tessera.planner.memory.Layout;
import io.tessera.planner.memory.MemoryModel;
import io.tessera.planner.memory.Precision;
import io.tessera.planner.model.ModelCatalog;
import io.tessera.planner.model.ModelSpec;
import io.tessera.planner.sim.LengthDist;
import io.tessera.planner.sim.Simulator;
import io.tessera.planner.sim.Workload;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Expert parallelism in the memory and cost models, checked against numbers worked out by hand. */
class ExpertParallelTest {

    static final Accelerator H100 = AcceleratorCatalog.builtin().get("h100");

    // Mixtral-8x7B, from its config.json: hidden 4096, 32 layers, 32 heads, 8 KV heads of 128, experts of width 14336
    static final long ATTENTION = 4096L * 32 * 128 + 2L * 4096 * 8 * 128 + 32L * 128 * 4096; // 41,943,040
    static final long EXPERT = 3L * 4096 * 14336; // 176,160,768
    static final long ROUTER = 4096L * 8;
    static final long NORMS = 2L * 4096;
    static final long VOCAB = 32000L * 4096; // embedding, and the head again (untied)

    static MemoryModel.Report mixtral(Layout l, Accelerator a) throws IOException {
        return MemoryModel.report(ModelCatalog.resolve("mixtral-8x7b"), Precision.BF16, Precision.BF16, l, a, 4096,
                MemoryModel.Limits.DEFAULT);
    }

    /** EP 8 without TP: one whole expert per device, attention and the vocabulary replicated in 8 groups. */
    @Test
    void ep8HoldsOneWholeExpertPerDeviceAndEightAttentionGroups() throws IOException {
        Layout l = new Layout(1, 1, 1, 8);
        assertEquals(8, l.devicesPerReplica());
        assertEquals(8, l.attentionGroups());
        MemoryModel.Report r = mixtral(l, H100);
        MemoryModel.Device d = r.devices().getFirst();
        long perDevice = 32 * (ATTENTION + EXPERT + ROUTER + NORMS) + 2 * VOCAB + 4096; // 7,242,780,672
        assertEquals(7_242_780_672L, perDevice);
        assertEquals(2.0 * perDevice, d.weightsBytes(), 0);
        assertEquals(1, d.routedExperts());
        assertEquals(2.0 * 32 * EXPERT, d.expertWeightsBytes(), 0); // 11,274,289,152
        assertEquals(32 * 2 * 8 * 128 * 2, d.kvBytesPerToken(), 0); // every KV head: attention is not split
        // activations: 2048 tokens x (4 x 4096 + 48 x 128 + 2 x max(14336, 2 x 14336)) x 2 bytes + 256 x 32000 fp32 logits
        assertEquals(2048.0 * (16384 + 6144 + 57344) * 2 + 256.0 * 32000 * 4, d.activationBytes(), 0); // 359,923,712
        // 72 GB usable; the rest after weights and activations holds KV: 436,054 tokens per group, 8 groups per replica
        long groupTokens = (long) Math.floor((72e9 - 2.0 * perDevice - 359_923_712.0) / 131_072);
        assertEquals(436_054, groupTokens);
        assertEquals(groupTokens, d.kvTokens());
        assertEquals(8 * groupTokens, r.kvTokens());
        assertEquals(8 * (groupTokens / 4096), r.concurrentSequences()); // a sequence stays in one group
    }

    /** TP 2 inside each of 4 attention groups halves attention and the vocabulary, experts stay whole. */
    @Test
    void ep8OverTp2AndEpEqualToTp() throws IOException {
        MemoryModel.Device d = mixtral(new Layout(2, 1, 1, 8), null).devices().getFirst();
        assertEquals(2.0 * (32 * (ATTENTION / 2 + EXPERT + ROUTER + NORMS) + VOCAB + 4096), d.weightsBytes(), 0);
        assertEquals(2.0 * 6_440_620_032L, d.weightsBytes(), 0);
        assertEquals(32 * 2 * 4 * 128 * 2, d.kvBytesPerToken(), 0);
        // EP = TP = 2: four whole experts per device, the same bytes as TP 2 splitting each expert in half
        MemoryModel.Device ep2 = mixtral(new Layout(2, 1, 1, 2), null).devices().getFirst();
        MemoryModel.Device tp2 = mixtral(Layout.of(2, 1), null).devices().getFirst();
        assertEquals(4, ep2.routedExperts());
        assertEquals(8, tp2.routedExperts());
        assertEquals(2.0 * 32 * 4 * EXPERT, ep2.expertWeightsBytes(), 0);
        assertEquals(tp2.weightsBytes(), ep2.weightsBytes(), 0);
        assertEquals(2, new Layout(2, 1, 1, 2).devicesPerReplica());
        // EP x PP: each stage holds its 16 layers' experts
        MemoryModel.Report pp = mixtral(new Layout(1, 2, 1, 4), null);
        assertEquals(8, pp.layout().devicesPerReplica());
        assertEquals(2.0 * 16 * 2 * EXPERT, pp.devices().get(0).expertWeightsBytes(), 0);
        assertEquals(2.0 * (16 * (ATTENTION + 2 * EXPERT + ROUTER + NORMS) + VOCAB), pp.devices().get(0).weightsBytes(), 0);
    }

    /** DeepSeek-V3 over EP 32 in FP8: 8 of the 256 experts per device in each of the 58 MoE layers. */
    @Test
    void deepSeekEp32() throws IOException {
        ModelSpec ds = ModelCatalog.resolve("deepseek-v3");
        MemoryModel.Device d = MemoryModel.report(ds, Precision.FP8, Precision.BF16, new Layout(1, 1, 1, 32), null, 1,
                MemoryModel.Limits.DEFAULT).devices().getFirst();
        assertEquals(8, d.routedExperts());
        assertEquals(58.0 * 8 * 3 * 7168 * 2048, d.expertWeightsBytes(), 0); // 20,434,649,088
    }

    @Test
    void layoutsThatCannotBeBuiltAreRefusedWithTheReason() throws IOException {
        assertThrows(IllegalArgumentException.class, () -> new Layout(2, 1, 1, 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Layout(4, 1, 1, 2));
        assertTrue(e.getMessage().contains("multiple of tp"), e.getMessage());
        assertEquals("ep 16 does not divide 8 experts", new Layout(1, 1, 1, 16).invalidFor(ModelCatalog.resolve("mixtral-8x7b")));
        assertEquals("ep needs an MoE model", new Layout(2, 1, 1, 2).invalidFor(ModelCatalog.resolve("llama-3.1-8b")));
    }

    /**
     * The all-to-all within a node. 64 decodes over EP 8 (8 groups): 8 tokens per device, each sent
     * to k = 2 experts as 4096 bf16 values, 7/8 of them to other devices: 114,688 bytes each way.
     * At 450 GB/s x 0.8 link efficiency plus 3 us latency, dispatch and combine in 32 layers take
     * 64 x (114,688 / 360e9 + 3e-6) s; nothing else communicates (no TP, one stage).
     */
    @Test
    void allToAllWithinANode() throws IOException {
        CostModel c = new CostModel(ModelCatalog.resolve("mixtral-8x7b"), Precision.BF16, Precision.BF16, H100,
                new Layout(1, 1, 1, 8));
        Batch b = Batch.decodes(64, 1000);
        assertEquals(1.0 / 8, c.groupShare(b), 0);
        assertEquals(8.0 * 2 * 4096 * 2 * 7 / 8, c.dispatchBytesPerDevice(b), 0);
        assertEquals(114_688, c.dispatchBytesPerDevice(b), 0);
        assertEquals(64 * (114_688 / 360e9 + 3e-6), c.breakdown(b).communication(), 1e-15);
        // the theory: over all devices, hidden x 2 bytes x k per token each way (the local eighth included)
        assertEquals(64.0 * 4096 * 2 * 2, 8 * c.dispatchBytesPerDevice(b) * 8 / 7, 1e-6);
        // one sequence lands in one group: it gets the group to itself
        assertEquals(1, c.groupShare(Batch.decodes(1, 1000)), 0);
        assertEquals(3.0 / 20, c.groupShare(Batch.decodes(20, 1000)), 0); // ceil(20 / 8) = 3 of 20
    }

    /**
     * Across nodes. DeepSeek-V3 over EP 16 on two 8-GPU nodes, 256 decodes: 16 tokens per device, k = 8,
     * hidden 7168: 16 x 8 x 7168 x 2 x 15/16 = 1,720,320 bytes leave each device, 8/15 of them
     * (917,504) for the other node over 50 GB/s x 0.8, the rest (802,816) over NVLink at the same
     * time; the network is the slower. 58 MoE layers, two all-to-alls each.
     */
    @Test
    void allToAllAcrossNodesIsBoundByTheNetwork() throws IOException {
        CostModel c = new CostModel(ModelCatalog.resolve("deepseek-v3"), Precision.FP8, Precision.BF16, H100,
                new Layout(1, 1, 1, 16));
        Batch b = Batch.decodes(256, 2000);
        assertEquals(1_720_320, c.dispatchBytesPerDevice(b), 1e-6);
        double network = 917_504 / 40e9;
        double link = 802_816 / 360e9;
        assertTrue(network > link);
        assertEquals(2 * 58 * (network + 3e-6), c.breakdown(b).communication(), 1e-12);
    }

    /** Without expert parallelism nothing changes: a TP 2 MoE layer still all-reduces twice. */
    @Test
    void withoutEpTheMoeLayerAllReducesLikeADenseOne() throws IOException {
        CostModel c = new CostModel(ModelCatalog.resolve("mixtral-8x7b"), Precision.BF16, Precision.BF16, H100, Layout.of(2, 1));
        Batch b = Batch.decodes(10, 500);
        assertEquals(0, c.dispatchBytesPerDevice(b), 0);
        // 2 all-reduces x 32 layers of 10 x 4096 x 2 bytes: (2 x 1/2 x 81,920 / 360e9 + 2 x 3e-6) each, plus the logits' gather
        double ar = 81_920 / 360e9 + 2 * 3e-6;
        double logits = 0.5 * 10 * 32000 * 4 / 360e9 + 3e-6;
        assertEquals(64 * ar + logits, c.breakdown(b).communication(), 1e-15);
    }

    /** The engine limits hold per attention group: a lane of 4 groups runs 4 x --max-seqs sequences at once. */
    @Test
    void attentionGroupsEachScheduleUnderTheLimits() {
        Simulator.Config cfg = new Simulator.Config(2048, 2, 16, 0, 0, 10, 10);
        for (int groups : new int[] {1, 4}) {
            int[] widest = {0};
            Simulator sim = new Simulator(cfg, List.of(new Simulator.LaneGroup(Simulator.Role.COLOCATED, 1, b -> {
                widest[0] = Math.max(widest[0], b.decodes + b.prefillChunks);
                return 0.01;
            }, 100_000, groups)));
            sim.run(Workload.closed(16, 32, LengthDist.fixed(16), LengthDist.fixed(8), 1));
            assertEquals(2 * groups, widest[0], "groups " + groups);
        }
    }
}
