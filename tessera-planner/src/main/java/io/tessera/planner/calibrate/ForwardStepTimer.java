package io.tessera.planner.calibrate;

import io.tessera.core.forward.KvCacheType;
import io.tessera.core.forward.PagedKvCache;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.forward.DecoderForward;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.ModelConfig;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.synth.SyntheticVocabulary;
import io.tessera.core.tensor.Tensor;
import io.tessera.core.synth.ModelShape;
import io.tessera.planner.model.ModelSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Times steps of Tessera's own forward pass ({@link DecoderForward}) on a model file: for each
 * {@link StepPlan} a fresh paged KV cache (off-heap, F16 by default as in the serving engine) with
 * block tables covering every sequence's context, a ragged batch of the plan's chunks and decodes,
 * then the median of several timed forward calls. The cache contents are whatever the allocation
 * holds; timing does not depend on them.
 */
public final class ForwardStepTimer implements StepTimer {

    private static final int BLOCK = 16;

    private final Model model;
    private final DecoderForward forward;
    private final Parallel parallel;
    private final ModelSpec shape;
    private final double weightBytes;
    private final KvCacheType kvType;
    private final Map<Integer, DecoderForward> byDepth = new HashMap<>();
    private java.util.function.Consumer<String> progress = line -> { };

    public ForwardStepTimer(Path modelFile, int threads) throws IOException {
        this(modelFile, threads, KvCacheType.F16);
    }

    /** Receives a line after each round of {@link #seconds(List, int)}, for commands that run for minutes. */
    public ForwardStepTimer withProgress(java.util.function.Consumer<String> sink) {
        this.progress = sink;
        return this;
    }

    /** A timer whose steps use an off-heap paged KV cache of {@code kvType}, as the serving engine does. */
    public ForwardStepTimer(Path modelFile, int threads, KvCacheType kvType) throws IOException {
        this.kvType = kvType;
        this.model = ModelLoader.load(modelFile);
        this.parallel = new Parallel(threads);
        this.forward = new DecoderForward(model, parallel);
        ModelConfig c = model.config();
        this.shape = new ModelSpec(modelFile.getFileName().toString(), c.dim(), c.layers(), c.heads(), c.kvHeads(),
                c.headDim(), c.hiddenDim(), c.vocabSize(), model.tiedOutput(), true, c.attention().qkvBias(),
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
        return synthesize(out, shapeName, layers, null, type, seed);
    }

    /** As above, with a vocabulary of {@code vocab} entries instead of the shape's own when not null. */
    public static Path synthesize(Path out, String shapeName, Integer layers, Integer vocab, String type, long seed)
            throws IOException {
        return synthesize(out, shapeName, layers, vocab, null, type, seed);
    }

    /** As above, the vocabulary taken from a llama2.c tokenizer file when {@code tokenizer} is not null. */
    public static Path synthesize(Path out, String shapeName, Integer layers, Integer vocab, Path tokenizer, String type,
                                  long seed) throws IOException {
        ModelShape s = ModelShape.named(shapeName);
        if (layers != null) {
            s = s.withLayers(layers);
        }
        if (vocab != null) {
            s = s.withVocabulary(vocab);
        }
        var vocabulary = tokenizer != null ? io.tessera.core.tokenizer.Llama2cTokenizerReader.read(tokenizer)
                : SyntheticVocabulary.generate(s.config().vocabSize(), seed);
        SyntheticModel.write(out, s, vocabulary, WeightTypes.parse(type), seed);
        return out;
    }

    /** The model file being timed. */
    public Path file() {
        return model.source();
    }

    @Override
    public ModelSpec shape() {
        return shape;
    }

    @Override
    public double weightBytesPerParam() {
        return weightBytes;
    }

    @Override
    public double kvBytesPerValue() {
        return kvType.bytesPerValue(model.config().headDim());
    }

    @Override
    public int threads() {
        return parallel.threads();
    }

    /** The forward pass over the first {@code layers} layers (all when 0 or more than the model has). */
    private DecoderForward forwardFor(int layers) {
        ModelConfig c = model.config();
        if (layers <= 0 || layers >= c.layers()) {
            return forward;
        }
        return byDepth.computeIfAbsent(layers, n -> new DecoderForward(model.firstLayers(n), parallel));
    }

    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

    /**
     * Runs whose share of the CPU (process CPU time over wall time) is below this fraction of the
     * best run of the same step were slowed by other processes on the machine and are left out.
     */
    static final double CONTENDED = 0.85;

    /** A step ready to run: its forward pass, batch and cache. */
    private record Prepared(DecoderForward forward, ForwardBatch batch, PagedKvCache cache) {
        /** Wall seconds and CPU share of one run. */
        double[] run() {
            long c0 = OS.getProcessCpuTime();
            long t0 = System.nanoTime();
            forward.forward(batch, cache);
            long wall = System.nanoTime() - t0;
            long cpu = OS.getProcessCpuTime() - c0;
            return new double[] {wall / 1e9, (double) cpu / Math.max(1, wall)};
        }
    }

    /** Refuses, before anything is timed, a step whose sequences reach past the model's context. */
    private void requireFits(StepPlan plan) {
        int longest = 0;
        for (int i = 0; i < plan.chunk().length; i++) {
            longest = Math.max(longest, plan.cached()[i] + plan.chunk()[i]);
        }
        for (int ctx : plan.decodeContext()) {
            longest = Math.max(longest, ctx);
        }
        int context = model.config().contextLength();
        if (longest > context) {
            throw new IllegalArgumentException("the step '" + plan.name() + "' needs a context of " + longest
                    + " tokens and the model has " + context + ": time a model with a longer context");
        }
    }

    private Prepared prepare(StepPlan plan) {
        DecoderForward fwd = forwardFor(plan.layers());
        ModelConfig cfg = fwd.model().config();
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
        PagedKvCache cache = new PagedKvCache(cfg, kvType, next, BLOCK);
        ForwardBatch.Builder builder = ForwardBatch.builder();
        int vocab = cfg.vocabSize();
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
        return new Prepared(fwd, builder.build(), cache);
    }

    @Override
    public double seconds(StepPlan plan, int repeats) {
        return seconds(List.of(plan), repeats)[0];
    }

    @Override
    public double[] seconds(List<StepPlan> plans, int repeats) {
        plans.forEach(this::requireFits);
        long start = System.nanoTime();
        List<Prepared> steps = new ArrayList<>();
        for (StepPlan p : plans) {
            Prepared s = prepare(p);
            s.run();
            steps.add(s);
        }
        double[][][] runs = new double[plans.size()][Math.max(1, repeats)][];
        try {
            for (int r = 0; r < runs[0].length; r++) {
                for (int i = 0; i < steps.size(); i++) {
                    runs[i][r] = steps.get(i).run();
                }
                progress.accept(String.format(java.util.Locale.ROOT, "timed %d steps, round %d of %d, %.0f s",
                        steps.size(), r + 1, runs[0].length, (System.nanoTime() - start) / 1e9));
            }
        } finally {
            steps.forEach(p -> p.cache().close());
        }
        double[] out = new double[plans.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = uncontendedMedian(runs[i]);
        }
        return out;
    }

    /**
     * The median wall time of the runs that had the CPU: those whose CPU share is at least {@link
     * #CONTENDED} of the step's best share (a machine shared with other work preempts some runs).
     */
    static double uncontendedMedian(double[][] runs) {
        double best = Arrays.stream(runs).mapToDouble(r -> r[1]).max().orElse(0);
        double[] kept = Arrays.stream(runs).filter(r -> r[1] >= CONTENDED * best).mapToDouble(r -> r[0]).sorted().toArray();
        return kept[kept.length / 2];
    }

    @Override
    public double operatorOverheadSeconds() {
        int items = parallel.threads() * 64;
        Parallel.RangeBody empty = (from, to) -> { };
        double[] batches = new double[15];
        for (int b = -3; b < batches.length; b++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < 200; i++) {
                parallel.forRange(items, 1, empty);
            }
            double s = (System.nanoTime() - t0) / 1e9 / 200;
            if (b >= 0) {
                batches[b] = s;
            }
        }
        Arrays.sort(batches);
        return batches[batches.length / 2];
    }

    @Override
    public void close() {
        parallel.close();
        model.close();
    }
}
