package io.tessera.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.model.RopeStyle;
import io.tessera.core.shard.ModelShard;
import io.tessera.core.shard.ShardSpec;
import io.tessera.core.kernel.MatMul;
import io.tessera.core.tensor.GgmlType;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Shard cutting (whole quantized blocks or an F32 fallback), head assignment, and stage balancing. */
class ShardingTest {

    @TempDir
    Path dir;

    @Test
    void columnSlicesKeepWholeBlocks() throws Exception {
        Path file = ClusterTestSupport.tinyGqa(dir, "Q8_0");
        try (Model whole = ModelLoader.load(file);
                ModelShard s1 = ModelShard.of(ModelLoader.load(file), new ShardSpec(1, 2, 0, 1, 0, 4))) {
            // attention output: 16 heads × 8 = 128 columns per rank, whole Q8_0 blocks copied as they are
            assertEquals(GgmlType.Q8_0, s1.layers().get(0).attention().wo().type());
            assertEquals(128, s1.layers().get(0).attention().wo().rowLength());
            assertEquals(0, s1.f32FallbackTensors());
            assertColumns(whole.layers().get(1).attention().wo(), s1.layers().get(1).attention().wo(), 128);
            // FFN down rows (688) hold no whole Q8_0 block, so the file keeps them F16: any split works
            assertEquals(GgmlType.F16, s1.layers().get(0).feedForward().down().type());
            assertColumns(whole.layers().get(2).feedForward().down(), s1.layers().get(2).feedForward().down(), 344);
            // query rows of rank 1: heads 16..31, a slice of the mapping
            assertEquals(128, s1.layers().get(0).attention().wq().rowCount());
            float[] q = new float[256];
            float[] qs = new float[256];
            MatMul.row(whole.layers().get(0).attention().wq(), 130, q, 0);
            MatMul.row(s1.layers().get(0).attention().wq(), 2, qs, 0);
            assertArrayEquals(q, qs);
        }
    }

    @Test
    void blocksStraddlingTheSplitFallBackToExactF32() throws Exception {
        Path file = ClusterTestSupport.tinyGqa(dir, "Q4_K");
        try (Model whole = ModelLoader.load(file);
                ModelShard s1 = ModelShard.of(ModelLoader.load(file), new ShardSpec(1, 2, 0, 1, 0, 4))) {
            // attention output rows are one Q4_K block of 256; a rank takes 128 columns of it
            assertEquals(GgmlType.Q4_K, whole.layers().get(0).attention().wo().type());
            assertEquals(GgmlType.F32, s1.layers().get(0).attention().wo().type());
            assertTrue(s1.f32FallbackTensors() >= 4);
            assertColumns(whole.layers().get(3).attention().wo(), s1.layers().get(3).attention().wo(), 128);
        }
    }

    /** Rank 1's columns of every row equal the whole matrix's decoded values. */
    private static void assertColumns(io.tessera.core.tensor.Tensor whole, io.tessera.core.tensor.Tensor part, int n) {
        float[] f = new float[whole.rowLength()];
        float[] p = new float[n];
        for (int r = 0; r < whole.rowCount(); r++) {
            MatMul.row(whole, r, f, 0);
            MatMul.row(part, r, p, 0);
            for (int i = 0; i < n; i++) {
                assertEquals(f[n + i], p[i], "row " + r + " column " + i);
            }
        }
    }

    @Test
    void kvHeadsAreReplicatedWhenTpExceedsThem() {
        ModelConfig cfg = new ModelConfig("llama", 64, 128, 2, 8, 2, 8, 32, 64, 10000f, RopeStyle.NEOX, 1e-5f);
        ShardSpec r3 = new ShardSpec(3, 4, 0, 1, 0, 2);
        r3.check(cfg);
        assertEquals(2, r3.headsPerRank(cfg));
        assertEquals(1, r3.kvHeadsPerRank(cfg));
        assertEquals(1, r3.kvHeadFrom(cfg)); // heads 6,7 read KV head 1
        assertEquals(0, new ShardSpec(1, 4, 0, 1, 0, 2).kvHeadFrom(cfg)); // heads 2,3 read KV head 0
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ShardSpec(0, 3, 0, 1, 0, 2).check(cfg));
        assertTrue(e.getMessage().contains("does not divide"), e.getMessage());
    }

    @Test
    void stagesAreBalancedAndTheLastPaysForTheHead() {
        ModelConfig small = new ModelConfig("llama", 64, 172, 5, 8, 4, 8, 512, 512, 10000f, RopeStyle.NEOX, 1e-5f);
        assertArrayEquals(new int[] {0, 3, 5}, StagePartition.split(small, 2));
        // a large vocabulary pushes layers off the last stage
        ModelConfig bigVocab = new ModelConfig("llama", 256, 688, 8, 32, 8, 8, 60000, 512, 10000f, RopeStyle.NEOX,
                1e-5f);
        int[] b = StagePartition.split(bigVocab, 2);
        assertTrue(b[1] > 4, java.util.Arrays.toString(b));
        assertArrayEquals(new int[] {0, 2, 4, 6, 8}, StagePartition.split(
                new ModelConfig("llama", 256, 688, 8, 32, 8, 8, 16, 512, 10000f, RopeStyle.NEOX, 1e-5f), 4));
    }
}
