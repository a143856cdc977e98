package io.tessera.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tessera.core.forward.DecoderForward;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.forward.KvCache;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.forward.PagedKvCache;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.sampling.Sampler;
import io.tessera.core.sampling.SamplingParams;
import io.tessera.core.structured.ConstraintCursor;
import io.tessera.core.structured.Constraints;
import io.tessera.core.structured.TokenConstraint;
import io.tessera.core.structured.TokenVocabulary;
import io.tessera.core.tokenizer.Tokenizer;
import io.tessera.core.tokenizer.Tokenizers;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * What structured output costs per generated token on a large vocabulary, next to a decode step.
 * A JSON schema is compiled for the tokenizer's vocabulary; a path of tokens through it is drawn
 * with random logits (the sampler with the mask, as the engine does). Then, in alternating rounds:
 * sampling each token of the path with its mask against sampling without (the mask's per-token
 * overhead, masks cached as in steady serving), and, given a model file, one batch-of-one decode
 * step of that model. The first pass over the path, which computes each state's mask, is
 * reported apart (paid once per schema and state, then cached). Medians with min..max over rounds.
 *
 * <p>{@code java -cp tessera-bench/target/tessera-bench.jar io.tessera.bench.ConstraintMaskBench
 * TOKENIZER_DIR_OR_JSON [MODEL.gguf] [ROUNDS]}
 */
public final class ConstraintMaskBench {

    static final String SCHEMA = """
            {"type":"object","properties":{"name":{"type":"string","maxLength":24},"age":{"type":"integer"},
             "email":{"type":"string","format":"uuid"},"tags":{"type":"array","items":{"type":"string",
             "maxLength":12},"maxItems":4},"address":{"type":"object","properties":{"city":{"type":"string"},
             "zip":{"type":"string","pattern":"^[0-9]{5}$"}},"required":["city","zip"]},"active":{"type":"boolean"}},
             "required":["name","age","email","tags","address","active"],"additionalProperties":false}""";

    private ConstraintMaskBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: ConstraintMaskBench TOKENIZER_DIR_OR_JSON [MODEL.gguf] [ROUNDS=7]");
            System.exit(2);
        }
        Tokenizer tok = Tokenizers.open(Path.of(args[0]));
        Path modelFile = args.length > 1 && !args[1].equals("-") ? Path.of(args[1]) : null;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 7;
        int vocab = tok.vocabSize();

        long t0 = System.nanoTime();
        TokenVocabulary vocabulary = TokenVocabulary.of(tok);
        long t1 = System.nanoTime();
        TokenConstraint constraint = Constraints.compile(Constraints.jsonSchema(new ObjectMapper().readTree(SCHEMA),
                "schema"), vocabulary, "schema");
        long t2 = System.nanoTime();
        System.out.printf("vocabulary %d tokens: trie built in %.1f ms; schema compiled (%d states) in %.1f ms%n",
                vocab, (t1 - t0) / 1e6, constraint.automaton().size(), (t2 - t1) / 1e6);

        // the path, drawn once with the sampler and the mask, as the engine samples
        int end = tok.eos();
        List<float[]> logitRows = new ArrayList<>();
        List<Integer> path = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(1);
        Sampler sampler = new Sampler(SamplingParams.ofTemperature(1f, 1L));
        ConstraintCursor cursor = constraint.start(new int[] {end});
        while (path.size() < 400 && !cursor.complete()) {
            float[] logits = new float[vocab];
            for (int i = 0; i < vocab; i++) {
                logits[i] = (float) random.nextGaussian() * 3;
            }
            logitRows.add(logits.clone());
            int token = sampler.sample(logits, 0, vocab, null, cursor);
            if (token == end) {
                break;
            }
            cursor.advance(token);
            path.add(token);
        }
        // the same path on a fresh compile: every state's mask computed on first reach
        TokenConstraint fresh = Constraints.compile(Constraints.jsonSchema(new ObjectMapper().readTree(SCHEMA),
                "schema"), vocabulary, "schema");
        double coldUs = perToken(logitRows, path, fresh, end, true, 1);
        System.out.printf("path of %d tokens; first pass over it (each state's mask computed) %.1f us per token%n",
                path.size(), coldUs);

        DecodeStep step = modelFile == null ? null : new DecodeStep(modelFile);
        double[] masked = new double[rounds];
        double[] plain = new double[rounds];
        double[] steps = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            masked[r] = perToken(logitRows, path, constraint, end, true, 10);
            plain[r] = perToken(logitRows, path, constraint, end, false, 10);
            if (step != null) {
                steps[r] = step.microsPerStep(8);
            }
        }
        double overhead = median(diff(masked, plain));
        System.out.printf("per token: sampling with mask %.1f us (%.1f..%.1f), without %.1f us (%.1f..%.1f);"
                        + " mask overhead %.1f us%n", median(masked), min(masked), max(masked), median(plain), min(plain),
                max(plain), overhead);
        if (step != null) {
            System.out.printf("decode step (batch 1) of %s: %.0f us (%.0f..%.0f); mask overhead / step = %.4f"
                    + " (%.4f..%.4f over rounds)%n", modelFile.getFileName(), median(steps), min(steps), max(steps),
                    overhead / median(steps), min(ratios(masked, plain, steps)), max(ratios(masked, plain, steps)));
            step.close();
        }
    }

    /** Microseconds per token to sample the path (greedy over the recorded logits), with or without the mask. */
    private static double perToken(List<float[]> rows, List<Integer> path, TokenConstraint c, int end, boolean mask,
            int repeats) {
        Sampler greedy = new Sampler(SamplingParams.greedy());
        int vocab = rows.get(0).length;
        long sink = 0;
        long t = System.nanoTime();
        for (int k = 0; k < repeats; k++) {
            ConstraintCursor cursor = c.start(new int[] {end});
            for (int i = 0; i < path.size(); i++) {
                sink += greedy.sample(rows.get(i), 0, vocab, null, mask ? cursor : null);
                if (mask) {
                    cursor.advance(path.get(i)); // follow the recorded path, whatever greedy picked
                }
            }
        }
        long ns = (System.nanoTime() - t) / repeats;
        if (sink == Long.MIN_VALUE) {
            System.out.print("");
        }
        return ns / 1e3 / path.size();
    }

    private static double[] diff(double[] a, double[] b) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i] - b[i];
        }
        return d;
    }

    private static double[] ratios(double[] masked, double[] plain, double[] steps) {
        double[] d = new double[masked.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = (masked[i] - plain[i]) / steps[i];
        }
        return d;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static double min(double[] v) {
        return Arrays.stream(v).min().orElse(0);
    }

    private static double max(double[] v) {
        return Arrays.stream(v).max().orElse(0);
    }

    /** Batch-of-one decode steps of a model, as the engine runs them (paged F16 KV cache). */
    private static final class DecodeStep implements AutoCloseable {
        final Model model;
        final Parallel parallel;
        final DecoderForward forward;
        final KvCache cache;
        final int[] table;
        int position;

        DecodeStep(Path file) throws Exception {
            model = ModelLoader.load(file);
            parallel = new Parallel(Runtime.getRuntime().availableProcessors());
            forward = new DecoderForward(model, parallel);
            table = new int[64];
            Arrays.setAll(table, i -> i);
            cache = new PagedKvCache(model.config(), KvCacheType.F16, table.length, 16);
            forward.forward(ForwardBatch.single(table, new int[] {1, 2, 3, 4}, 0, ForwardBatch.Logits.LAST), cache);
            position = 4;
        }

        double microsPerStep(int steps) {
            if (position + steps >= table.length * 16) {
                position = 4;
            }
            long t = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                forward.forward(ForwardBatch.single(table, new int[] {5 + i}, position++, ForwardBatch.Logits.LAST),
                        cache);
            }
            return (System.nanoTime() - t) / 1e3 / steps;
        }

        @Override
        public void close() {
            parallel.close();
            model.close();
        }
    }
}
