package io.tessera.core.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.GoldenCases;
import io.tessera.core.TestModels;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Llama2cLoader;
import io.tessera.core.model.Model;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The forward pass computes what the llama2.c reference computes: same greedy tokens, logits to 1e-4. */
class GoldenForwardTest {

    static final int BLOCK = 16;
    static Model model;
    static Parallel parallel;
    static List<GoldenCases.Case> cases;

    @BeforeAll
    static void load() throws Exception {
        model = Llama2cLoader.load(TestModels.stories260K());
        parallel = new Parallel(2);
        cases = GoldenCases.load();
    }

    @AfterAll
    static void close() {
        parallel.close();
        model.close();
    }

    @Test
    void greedyTokensAndLogitsMatchReferenceFromLlama2cFile() {
        GoldenRunner.assertMatchesGolden(model, parallel, cases);
    }

    /** All golden cases fed together as one ragged batch per step give each case its own result. */
    @Test
    void raggedBatchOfAllCasesMatchesEachCaseAlone() {
        DecoderForward forward = new DecoderForward(model, parallel);
        int ctx = model.config().contextLength();
        int blocksPerSeq = ctx / BLOCK;
        KvCache cache = new F32KvCache(model.config(), blocksPerSeq * cases.size(), BLOCK);
        int[][] tables = new int[cases.size()][blocksPerSeq];
        for (int s = 0; s < cases.size(); s++) {
            for (int b = 0; b < blocksPerSeq; b++) {
                tables[s][b] = s * blocksPerSeq + b;
            }
        }
        int[][] generated = new int[cases.size()][];
        int[] fed = new int[cases.size()];
        int[] next = new int[cases.size()];
        for (int s = 0; s < cases.size(); s++) {
            generated[s] = new int[cases.get(s).generated().length];
        }
        // Step 0 prefills every prompt; later steps mix the decodes of all sequences.
        boolean active = true;
        int step = 0;
        while (active) {
            ForwardBatch.Builder b = ForwardBatch.builder();
            int[] rowOf = new int[cases.size()];
            int rows = 0;
            active = false;
            for (int s = 0; s < cases.size(); s++) {
                GoldenCases.Case c = cases.get(s);
                int produced = fed[s] - c.promptTokens().length + 1;
                if (fed[s] >= c.steps() || (step > 0 && produced >= c.generated().length)) {
                    rowOf[s] = -1;
                    continue;
                }
                int[] chunk = step == 0 ? c.promptTokens() : new int[] {next[s]};
                b.add(tables[s], chunk, fed[s], ForwardBatch.Logits.LAST);
                rowOf[s] = rows++;
                active = true;
            }
            if (!active) {
                break;
            }
            float[] logits = forward.forward(b.build(), cache);
            int vocab = model.config().vocabSize();
            for (int s = 0; s < cases.size(); s++) {
                if (rowOf[s] < 0) {
                    continue;
                }
                GoldenCases.Case c = cases.get(s);
                fed[s] += step == 0 ? c.promptTokens().length : 1;
                int tok = GoldenRunner.argmax(logits, rowOf[s] * vocab, vocab);
                generated[s][fed[s] - c.promptTokens().length] = tok;
                next[s] = tok;
            }
            step++;
        }
        for (int s = 0; s < cases.size(); s++) {
            assertArrayEquals(cases.get(s).generated(), generated[s], "case " + s + " (" + cases.get(s).prompt() + ")");
        }
        assertTrue(step > 100);
        assertEquals(cases.size(), generated.length);
    }
}
