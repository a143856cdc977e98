package io.tessera.engine;

import io.tessera.core.forward.KvCacheType;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import io.tessera.engine.executor.Executor;
import io.tessera.engine.executor.LocalExecutor;
import io.tessera.engine.scheduler.SchedulerConfig;
import io.tessera.engine.spec.Drafter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/** Drives an {@link EngineCore} step by step for tests and collects each sample's tokens. */
final class Harness implements AutoCloseable {

    final Executor executor;
    final EngineCore core;
    final Map<String, List<List<Integer>>> tokens = new HashMap<>();
    final Map<String, RequestOutput> last = new HashMap<>();
    final Map<String, StringBuilder> text = new HashMap<>();
    /** Every delta of every request, in order. */
    final Map<String, List<RequestOutput>> outputs = new HashMap<>();
    int steps;

    Harness(Model model, Parallel parallel, KvCacheType type, int numBlocks, int maxBatchedTokens, int maxSeqs,
            boolean prefixCaching, Detokenizer detok, int... eos) {
        this(new LocalExecutor(model, parallel, type, 16, numBlocks),
                new EngineConfig(new SchedulerConfig(maxBatchedTokens, maxSeqs, 0.01), prefixCaching, eos), detok);
    }

    /** An engine over any executor; closing the harness closes the executor. */
    Harness(Executor executor, EngineConfig config, Detokenizer detok) {
        this(executor, config, detok, null);
    }

    /** With proposals from {@code draft} when the configuration speculates. */
    Harness(Executor executor, EngineConfig config, Detokenizer detok, Drafter draft) {
        this.executor = executor;
        this.core = new EngineCore(executor, config, detok, draft);
    }

    static Harness of(Model model, Parallel parallel, int numBlocks, int maxBatchedTokens, int maxSeqs) {
        return new Harness(model, parallel, KvCacheType.F32, numBlocks, maxBatchedTokens, maxSeqs, true, null);
    }

    void add(GenerateRequest r) {
        List<List<Integer>> per = new ArrayList<>();
        for (int i = 0; i < r.params().n(); i++) {
            per.add(new ArrayList<>());
        }
        tokens.put(r.id(), per);
        text.put(r.id(), new StringBuilder());
        List<RequestOutput> all = new ArrayList<>();
        outputs.put(r.id(), all);
        core.add(r, out -> {
            all.add(out);
            for (int t : out.tokenIds()) {
                per.get(out.index()).add(t);
            }
            text.get(r.id()).append(out.text());
            if (out.isLast()) {
                last.put(r.id(), out);
            }
        });
    }

    /** Steps until no work is left; {@code atStep} runs before each step with its number. */
    void runToEnd(IntConsumer atStep) {
        while (true) {
            atStep.accept(steps);
            if (!core.hasWork()) {
                break;
            }
            core.step();
            core.blocks().checkConsistency();
            steps++;
        }
    }

    int[] tokens(String id, int sample) {
        return tokens.get(id).get(sample).stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public void close() {
        executor.close();
    }
}
