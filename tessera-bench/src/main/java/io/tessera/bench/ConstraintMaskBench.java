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
 * reported apart (paid once per schema and state, then cached). The same is measured for a GBNF
 * grammar of any JSON object ({@link #JSON_GBNF}, recursive, so a pushdown automaton whose states
 * are built as the path reaches them), in the same alternating rounds. Medians with min..max over
 * rounds.
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

    /** A JSON object of any JSON values, objects and arrays nesting through recursive rules. */
    static final String JSON_GBNF = """
            root    ::= object
            value   ::= object | array | string | number | "true" | "false" | "null"
            object  ::= "{" space ( pair ( "," space pair )* )? "}" space
            pair    ::= string ":" space value
            array   ::= "[" space ( value ( "," space value )* )? "]" space
            string  ::= "\\"" ( [^"\\\\\\x00-\\x1F] | "\\\\" ( ["\\\\/bfnrt] | "u" [0-9a-fA-F]{4} ) )* "\\"" space
            number  ::= "-"? ( "0" | [1-9] [0-9]* ) ( "." [0-9]+ )? ( [eE] [-+]? [0-9]+ )? space
            space   ::= " "?
            """;

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
        TokenConstraint constraint = schema(vocabulary);
        long t2 = System.nanoTime();
        TokenConstraint grammar = Constraints.grammar(JSON_GBNF, vocabulary, "grammar");
        long t3 = System.nanoTime();
        System.out.printf("vocabulary %d tokens: trie built in %.1f ms; schema compiled (%d states) in %.1f ms;"
                + " JSON grammar compiled in %.1f ms%n", vocab, (t1 - t0) / 1e6, constraint.automaton().size(),
                (t2 - t1) / 1e6, (t3 - t2) / 1e6);

        int end = tok.eos();
        DrawnPath schemaPath = DrawnPath.draw(constraint, vocab, end, 1);
        // the schema's text is JSON the grammar derives too: the same tokens compare the two masks
        DrawnPath grammarPath = schemaPath.follows(grammar, end) ? schemaPath : DrawnPath.draw(grammar, vocab, end, 1);
        // the same paths on fresh compiles: every state's mask (and a grammar's states) built on first reach
        double coldUs = perToken(schemaPath, schema(vocabulary), end, true, 1);
        double coldGrammarUs = perToken(grammarPath, Constraints.grammar(JSON_GBNF, vocabulary, "grammar"), end,
                true, 1);
        System.out.printf("schema path of %d tokens; first pass over it (each state's mask computed) %.1f us per"
                + " token%n", schemaPath.tokens.size(), coldUs);
        System.out.printf("grammar path: %s, %d tokens (%d configurations built); first pass %.1f us per token%n",
                grammarPath == schemaPath ? "the schema's" : "its own", grammarPath.tokens.size(),
                grammar.automaton().size(), coldGrammarUs);

        DecodeStep step = modelFile == null ? null : new DecodeStep(modelFile);
        double[] masked = new double[rounds];
        double[] plain = new double[rounds];
        double[] gMasked = new double[rounds];
        double[] gPlain = new double[rounds];
        double[] steps = new double[rounds];
        double[] schemaMask = new double[rounds];
        double[] grammarMask = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            double copy = maskOnly(schemaPath, null, end, 20);
            schemaMask[r] = maskOnly(schemaPath, constraint, end, 20) - copy;
            grammarMask[r] = maskOnly(grammarPath, grammar, end, 20) - (grammarPath == schemaPath ? copy
                    : maskOnly(grammarPath, null, end, 20));
            masked[r] = perToken(schemaPath, constraint, end, true, 20);
            plain[r] = perToken(schemaPath, constraint, end, false, 20);
            gMasked[r] = perToken(grammarPath, grammar, end, true, 20);
            gPlain[r] = perToken(grammarPath, grammar, end, false, 20);
            if (step != null) {
                steps[r] = step.microsPerStep(8);
            }
        }
        double overhead = median(diff(masked, plain));
        double gOverhead = median(diff(gMasked, gPlain));
        System.out.printf("per token: sampling with mask %.1f us (%.1f..%.1f), without %.1f us (%.1f..%.1f);"
                        + " mask overhead %.1f us%n", median(masked), min(masked), max(masked), median(plain), min(plain),
                max(plain), overhead);
        System.out.printf("JSON grammar per token: with mask %.1f us (%.1f..%.1f), without %.1f us (%.1f..%.1f);"
                        + " mask overhead %.1f us; grammar overhead / schema overhead = %.2f (%.2f..%.2f over rounds)%n",
                median(gMasked), min(gMasked), max(gMasked), median(gPlain), min(gPlain), max(gPlain), gOverhead,
                gOverhead / overhead, min(quotients(diff(gMasked, gPlain), diff(masked, plain))),
                max(quotients(diff(gMasked, gPlain), diff(masked, plain))));
        System.out.printf("mask alone (apply + advance) per token: schema %.1f us (%.1f..%.1f), JSON grammar %.1f us"
                + " (%.1f..%.1f); grammar / schema = %.2f (%.2f..%.2f over rounds)%n", median(schemaMask),
                min(schemaMask), max(schemaMask), median(grammarMask), min(grammarMask), max(grammarMask),
                median(quotients(grammarMask, schemaMask)), min(quotients(grammarMask, schemaMask)),
                max(quotients(grammarMask, schemaMask)));
        if (step != null) {
            System.out.printf("decode step (batch 1) of %s: %.0f us (%.0f..%.0f); mask overhead / step = %.4f"
                    + " (%.4f..%.4f over rounds); grammar mask overhead / step = %.4f%n", modelFile.getFileName(),
                    median(steps), min(steps), max(steps), overhead / median(steps),
                    min(ratios(masked, plain, steps)), max(ratios(masked, plain, steps)), gOverhead / median(steps));
            step.close();
        }
    }

    private static TokenConstraint schema(TokenVocabulary vocabulary) throws Exception {
        return Constraints.compile(Constraints.jsonSchema(new ObjectMapper().readTree(SCHEMA), "schema"), vocabulary,
                "schema");
    }

    /** A path of tokens through a constraint with the logits it was drawn from. */
    private record DrawnPath(List<float[]> rows, List<Integer> tokens) {
        /** Drawn once with the sampler and the mask from random logits, as the engine samples. */
        static DrawnPath draw(TokenConstraint constraint, int vocab, int end, long seed) {
            List<float[]> logitRows = new ArrayList<>();
            List<Integer> path = new ArrayList<>();
            SplittableRandom random = new SplittableRandom(seed);
            Sampler sampler = new Sampler(SamplingParams.ofTemperature(1f, seed));
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
            return new DrawnPath(logitRows, path);
        }

        /** Whether every token of the path continues {@code constraint}, ending where it may end. */
        boolean follows(TokenConstraint constraint, int end) {
            ConstraintCursor cursor = constraint.start(new int[] {end});
            try {
                for (int token : tokens) {
                    cursor.advance(token);
                }
            } catch (IllegalStateException e) {
                return false;
            }
            return cursor.accepting();
        }
    }

    /** Microseconds per token to sample the path (greedy over the recorded logits), with or without the mask. */
    private static double perToken(DrawnPath p, TokenConstraint c, int end, boolean mask, int repeats) {
        List<float[]> rows = p.rows();
        List<Integer> path = p.tokens();
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

    /**
     * Microseconds per token to copy each recorded logits row and, given a constraint, apply its
     * mask to the copy and advance along the path (null: the copy alone, to subtract).
     */
    private static double maskOnly(DrawnPath p, TokenConstraint c, int end, int repeats) {
        int vocab = p.rows().get(0).length;
        float[] scratch = new float[vocab];
        long sink = 0;
        long t = System.nanoTime();
        for (int k = 0; k < repeats; k++) {
            ConstraintCursor cursor = c == null ? null : c.start(new int[] {end});
            for (int i = 0; i < p.tokens().size(); i++) {
                System.arraycopy(p.rows().get(i), 0, scratch, 0, vocab);
                if (cursor != null) {
                    cursor.process(scratch, vocab);
                    cursor.advance(p.tokens().get(i));
                }
                sink += Float.floatToRawIntBits(scratch[i % vocab]);
            }
        }
        long ns = (System.nanoTime() - t) / repeats;
        if (sink == Long.MIN_VALUE) {
            System.out.print("");
        }
        return ns / 1e3 / p.tokens().size();
    }

    private static double[] diff(double[] a, double[] b) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i] - b[i];
        }
        return d;
    }

    private static double[] quotients(double[] a, double[] b) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i] / b[i];
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
