package io.tessera.core.shard;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.arch.Architectures;
import io.tessera.core.forward.DecoderForward;
import io.tessera.core.forward.F32KvCache;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.model.MoeOptions;
import io.tessera.core.model.RopeStyle;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.synth.ModelShape;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.synth.SyntheticVocabulary;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A mixture-of-experts model cut into tensor-parallel ranks ({@link ModelShard}: each expert split
 * by its width, the router whole), run by threads that add their partial block outputs through an
 * in-process all-reduce, gives the whole model's logits within float rounding. F32 weights: a
 * Q8_0 column slice that does not fill whole blocks (36 of an expert's 72) is decoded to F32,
 * whose products skip the 8-bit rounding of the activations one process applies, a difference of
 * about 1% that is not the sharding's.
 */
class MoeTensorParallelTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(ints = {2, 4})
    void ranksTogetherGiveTheWholeModelsLogits(int ranks) throws Exception {
        ModelConfig c = Architectures.named("qwen2moe").configure(new ModelConfig("qwen2moe", 128, 344, 2, 8, 4, 16,
                512, 512, 1000000f, RopeStyle.NEOX, 1e-6f));
        ModelShape shape = new ModelShape("tp-moe", c.withMoe(MoeOptions.of(8, 2, 72, false)
                .withSharedExpert(96, true)), false);
        Path file = dir.resolve("tp-moe.gguf");
        SyntheticModel.write(file, shape, SyntheticVocabulary.generate(512, 8), WeightTypes.parse("F32"), 19);
        int[] prompt = new Random(4).ints(13, 0, 512).toArray();
        int vocab = 512;
        float[] whole;
        try (Model m = ModelLoader.load(file); Parallel p = new Parallel(1)) {
            whole = new DecoderForward(m, p).forward(ForwardBatch.single(new int[] {0}, prompt, 0,
                    ForwardBatch.Logits.ALL), new F32KvCache(m.config(), 1, 16));
        }
        SummingRanks sum = new SummingRanks(ranks);
        ExecutorService pool = Executors.newFixedThreadPool(ranks);
        try {
            Future<?>[] results = new Future<?>[ranks];
            for (int r = 0; r < ranks; r++) {
                int rank = r;
                results[r] = pool.submit(() -> {
                    try (Parallel p = new Parallel(1);
                            ModelShard shard = ModelShard.of(ModelLoader.load(file),
                                    new ShardSpec(rank, ranks, 0, 1, 0, shape.config().layers()))) {
                        DecoderForward f = new DecoderForward(shard, p, sum.rank(rank));
                        return f.forward(ForwardBatch.single(new int[] {0}, prompt, 0, ForwardBatch.Logits.ALL),
                                new F32KvCache(shape.config().layers(), f.kvDim(), 1, 16));
                    }
                });
            }
            float[] got = (float[]) results[0].get(60, TimeUnit.SECONDS);
            for (int r = 1; r < ranks; r++) {
                results[r].get(60, TimeUnit.SECONDS);
            }
            double worst = 0;
            double largest = 0;
            for (int i = 0; i < prompt.length * vocab; i++) {
                largest = Math.max(largest, Math.abs(whole[i]));
                worst = Math.max(worst, Math.abs(whole[i] - got[i]));
            }
            assertTrue(worst <= 1e-5 * largest, ranks + " ranks: logits differ by " + worst + " of " + largest);
        } finally {
            pool.shutdownNow();
        }
    }

    /** An all-reduce among threads: each rank's buffer added in rank order into one sum, then copied back. */
    static final class SummingRanks {
        private final CyclicBarrier barrier;
        private final float[][] buffers;
        private float[] sum = new float[0];

        SummingRanks(int ranks) {
            this.barrier = new CyclicBarrier(ranks);
            this.buffers = new float[ranks][];
        }

        Collectives rank(int rank) {
            return new Collectives() {
                @Override
                public void allReduceSum(float[] buf, int length) {
                    try {
                        buffers[rank] = buf;
                        if (barrier.await(30, TimeUnit.SECONDS) == 0) {
                            sum = new float[length];
                            for (float[] b : buffers) {
                                for (int i = 0; i < length; i++) {
                                    sum[i] += b[i];
                                }
                            }
                        }
                        barrier.await(30, TimeUnit.SECONDS);
                        System.arraycopy(sum, 0, buf, 0, length);
                        barrier.await(30, TimeUnit.SECONDS);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }

                @Override
                public float[] allGather(float[] part, int length) {
                    throw new UnsupportedOperationException("not used by the forward pass");
                }
            };
        }
    }
}
