package io.tessera.core.shard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.arch.Architectures;
import io.tessera.core.forward.DecoderForward;
import io.tessera.core.forward.F32KvCache;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LoadOptions;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.model.QuantizingTensorSource;
import io.tessera.core.model.RopeStyle;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.safetensors.SafetensorsDtype;
import io.tessera.core.synth.ModelShape;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.tensor.GgmlType;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A W8A8 model cut into two tensor-parallel ranks: row slices keep their rows' scales and column
 * slices every row's scale, so the ranks' partial sums add up to the whole model's logits. Not bit
 * for bit: a rank of a row-parallel layer (o_proj, down) rounds its tokens over its half of the
 * columns with that half's own scale, as vLLM's int8 layers do, which differs from one process by
 * the activation rounding only.
 */
class W8A8TensorParallelTest {

    @TempDir
    Path dir;

    @Test
    void twoRanksGiveTheWholeModelsLogitsWithinTheActivationRounding() throws Exception {
        ModelConfig c = Architectures.named("llama").configure(new ModelConfig("llama", 128, 344, 2, 8, 4, 16, 400,
                256, 10000f, RopeStyle.NEOX, 1e-5f));
        ModelShape shape = new ModelShape("tp-w8a8", c, false);
        SyntheticModel.writeCheckpoint(dir, shape, SafetensorsDtype.F32, 21);
        LoadOptions w8a8 = LoadOptions.quantized(WeightTypes.parse("W8A8"), QuantizingTensorSource.Progress.NONE);
        int[] prompt = new Random(4).ints(11, 0, 400).toArray();
        float[] whole;
        try (Model m = ModelLoader.load(dir, w8a8); Parallel p = new Parallel(1)) {
            assertEquals(GgmlType.W8A8, m.layers().get(1).attention().wo().type());
            whole = new DecoderForward(m, p).forward(ForwardBatch.single(new int[] {0}, prompt, 0,
                    ForwardBatch.Logits.ALL), new F32KvCache(m.config(), 1, 16));
        }
        int ranks = 2;
        MoeTensorParallelTest.SummingRanks sum = new MoeTensorParallelTest.SummingRanks(ranks);
        ExecutorService pool = Executors.newFixedThreadPool(ranks);
        try {
            Future<?>[] results = new Future<?>[ranks];
            for (int r = 0; r < ranks; r++) {
                int rank = r;
                results[r] = pool.submit(() -> {
                    try (Parallel p = new Parallel(1);
                            ModelShard shard = ModelShard.of(ModelLoader.load(dir, w8a8),
                                    new ShardSpec(rank, ranks, 0, 1, 0, c.layers()))) {
                        DecoderForward f = new DecoderForward(shard, p, sum.rank(rank));
                        return f.forward(ForwardBatch.single(new int[] {0}, prompt, 0, ForwardBatch.Logits.ALL),
                                new F32KvCache(c.layers(), f.kvDim(), 1, 16));
                    }
                });
            }
            float[] got = (float[]) results[0].get(60, TimeUnit.SECONDS);
            results[1].get(60, TimeUnit.SECONDS);
            double largest = 0;
            double meanDiff = 0;
            for (int i = 0; i < whole.length; i++) {
                largest = Math.max(largest, Math.abs(whole[i]));
                meanDiff += Math.abs(whole[i] - got[i]) / whole.length;
            }
            assertTrue(meanDiff < 0.01 * largest, "logits differ by " + meanDiff + " on average, of "
                    + largest);
        } finally {
            pool.shutdownNow();
        }
    }
}
