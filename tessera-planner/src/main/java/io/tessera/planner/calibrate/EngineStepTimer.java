package io.tessera.planner.calibrate;

import io.tessera.core.forward.F32KvCache;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.forward.LlamaForward;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LlamaConfig;
import io.tessera.core.model.LlamaModel;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.synth.SyntheticVocabulary;
import io.tessera.core.tensor.Tensor;
import io.tessera.planner.model.ModelShape;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Times steps of Tessera's own forward pass ({@link LlamaForward}) on a model file: for each
 * {@link StepPlan} a fresh KV cache with block tables covering every sequence's context, a ragged
 * batch of the plan's chunks and decodes, then the median of several timed forward calls. The
 * cache contents are whatever the allocation holds; timing does not depend on them.
 */
public final class EngineStepTimer implements StepTimer {

    private static final int BLOCK = 16;

    private final LlamaModel model;
    private final LlamaForward forward;
    private final Parallel parallel;
    private final ModelShape shape;
    private final double weightBytes;

    public EngineStepTimer(Path modelFile, int threads) throws IOException {
        this.model = ModelLoader.load(modelFile);
        this.parallel = new Parallel(threads);
        this.forward = new LlamaForward(model, parallel);
        LlamaConfig c = model.config();
        this.shape = new ModelShape(modelFile.getFileName().toString(), c.dim(), c.layers(), c.heads(), c.kvHeads(),
                c.headDim(), c.hiddenDim(), c.vocabSize(), model.tiedOutput(), true, c.architecture().startsWith("qwen2"),
                c.contextLength(), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        double bytes = 0;
        double elems = 0;
        for (Tensor t : model.matrices()) {
            if (t == model.tokenEmbedding() && !model.tiedOutput()) {
                continue;
            }
            bytes += t.type().bytesFor(t.elementCount());
            elems += t.elementCount();
        }
        this.weightBytes = bytes / elems;
    }

    /** Writes a random-weight GGUF of a named core shape (see {@code tessera synth}) and returns its path. */
    public static Path synthesize(Path out, String shapeName, Integer layers, String type, long seed) throws IOException {
        io.tessera.core.synth.ModelShape s = io.tessera.core.synth.ModelShape.named(shapeName);
        if (layers != null) {
            s = s.withLayers(layers);
        }
        SyntheticModel.write(out, s, SyntheticVocabulary.generate(s.config().vocabSize(), seed), WeightTypes.parse(type), seed);
        return out;
    }

    @Override
    public ModelShape shape() {
        return shape;
    }

    @Override
    public double weightBytesPerParam() {
        return weightBytes;
    }

    @Override
    public double kvBytesPerValue() {
        return 4;
    }

    @Override
    public int threads() {
        return parallel.threads();
    }

    @Override
    public double seconds(StepPlan plan, int repeats) {
        int sequences = plan.chunk().length + plan.decodeContext().length;
        int[][] tables = new int[sequences][];
        int next = 0;
        for (int i = 0; i < sequences; i++) {
            int ctx = i < plan.chunk().length ? plan.cached()[i] + plan.chunk()[i] : plan.decodeContext()[i - plan.chunk().length];
            int blocks = (ctx + BLOCK - 1) / BLOCK;
            tables[i] = new int[blocks];
            for (int b = 0; b < blocks; b++) {
                tables[i][b] = next++;
            }
        }
        F32KvCache cache = new F32KvCache(model.config(), next, BLOCK);
        ForwardBatch.Builder builder = ForwardBatch.builder();
        int vocab = model.config().vocabSize();
        for (int i = 0; i < plan.chunk().length; i++) {
            int[] tokens = new int[plan.chunk()[i]];
            for (int t = 0; t < tokens.length; t++) {
                tokens[t] = (t * 7919 + i) % vocab;
            }
            builder.add(tables[i], tokens, plan.cached()[i], ForwardBatch.Logits.LAST);
        }
        for (int j = 0; j < plan.decodeContext().length; j++) {
            int ctx = plan.decodeContext()[j];
            builder.add(tables[plan.chunk().length + j], new int[] {(j * 31 + 1) % vocab}, ctx - 1, ForwardBatch.Logits.LAST);
        }
        ForwardBatch batch = builder.build();
        forward.forward(batch, cache);
        double[] times = new double[Math.max(1, repeats)];
        for (int r = 0; r < times.length; r++) {
            long t0 = System.nanoTime();
            forward.forward(batch, cache);
            times[r] = (System.nanoTime() - t0) / 1e9;
        }
        Arrays.sort(times);
        return times[times.length / 2];
    }

    @Override
    public void close() {
        parallel.close();
        model.close();
    }
}
