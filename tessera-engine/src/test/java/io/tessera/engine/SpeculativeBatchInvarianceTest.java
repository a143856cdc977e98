package io.tessera.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.TestModels;
import io.tessera.core.forward.DecoderForward;
import io.tessera.core.forward.ForwardBatch;
import io.tessera.core.forward.KvCacheType;
import io.tessera.core.forward.PagedKvCache;
import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.LoadedModel;
import io.tessera.core.model.Model;
import io.tessera.core.structured.Constraints;
import io.tessera.core.structured.TokenConstraint;
import io.tessera.core.structured.TokenVocabulary;
import io.tessera.engine.executor.LocalExecutor;
import io.tessera.core.tokenizer.Llama2cTokenizerReader;
import io.tessera.core.tokenizer.SentencePieceBpeTokenizer;
import io.tessera.engine.scheduler.SchedulerConfig;
import io.tessera.engine.spec.DraftModelProposer;
import io.tessera.engine.spec.SpeculativeConfig;
import io.tessera.engine.spec.SpeculativeStats;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Speculation on real forward passes: a verify chunk gives every position the logits a plain
 * decode step gives it, bit for bit, so greedy outputs with prompt lookup are those of the model
 * run alone.
 */
class SpeculativeBatchInvarianceTest {

    static Parallel parallel;
    static LoadedModel stories;
    static Model synthetic;

    @BeforeAll
    static void load() throws Exception {
        parallel = new Parallel(2);
        stories = LoadedModel.open(TestModels.stories260K(), TestModels.tok512());
        synthetic = TestModelsEngine.synthetic(42);
    }

    @AfterAll
    static void close() {
        stories.close();
        synthetic.close();
        parallel.close();
    }

    @Test
    void aVerifyChunkGivesEachPositionTheLogitsOfPlainDecoding() {
        for (Model m : new Model[] {stories.model(), synthetic}) {
            for (KvCacheType type : new KvCacheType[] {KvCacheType.F32, KvCacheType.F16}) {
                int vocab = m.config().vocabSize();
                int[] prompt = TestModelsEngine.prompts(21, vocab, 19)[0];
                int[] next = TestModelsEngine.prompts(22, vocab, 6)[0];
                int[] table = {0, 1, 2};
                DecoderForward forward = new DecoderForward(m, parallel);
                float[] plain = new float[next.length * vocab];
                try (PagedKvCache cache = new PagedKvCache(m.config(), type, 3, 16)) {
                    forward.forward(ForwardBatch.single(table, prompt, 0, ForwardBatch.Logits.NONE), cache);
                    for (int i = 0; i < next.length; i++) {
                        float[] row = forward.forward(ForwardBatch.single(table, new int[] {next[i]},
                                prompt.length + i, ForwardBatch.Logits.LAST), cache);
                        System.arraycopy(row, 0, plain, i * vocab, vocab);
                    }
                }
                try (PagedKvCache cache = new PagedKvCache(m.config(), type, 3, 16)) {
                    forward.forward(ForwardBatch.single(table, prompt, 0, ForwardBatch.Logits.NONE), cache);
                    // the verify chunk shares its step with another sequence's prompt, as in the engine
                    ForwardBatch batch = ForwardBatch.builder()
                            .add(new int[] {2}, TestModelsEngine.prompts(23, vocab, 9)[0], 0, ForwardBatch.Logits.LAST)
                            .add(table, next, prompt.length, ForwardBatch.Logits.ALL).build();
                    float[] verify = forward.forward(batch, cache);
                    assertArrayEquals(plain, Arrays.copyOfRange(verify, vocab, vocab + plain.length),
                            m.source() + " " + type);
                }
            }
        }
    }

    static int[] periodic(int seed, int vocab, int period, int length) {
        int[] base = TestModelsEngine.prompts(seed, vocab, period)[0];
        int[] p = new int[length];
        for (int i = 0; i < length; i++) {
            p[i] = base[i % period];
        }
        return p;
    }

    @Test
    void greedyOutputsWithPromptLookupAreThoseOfTheModelAlone() {
        for (Model m : new Model[] {stories.model(), synthetic}) {
            int vocab = m.config().vocabSize();
            List<int[]> prompts = new ArrayList<>(List.of(TestModelsEngine.prompts(31, vocab, 5, 23, 12)));
            prompts.add(periodic(32, vocab, 7, 30));
            prompts.add(periodic(33, vocab, 4, 17));
            int max = 40;
            EngineConfig config = new EngineConfig(new SchedulerConfig(64, 8, 0.01), true, new int[0],
                    SpeculativeConfig.ngram(5));
            try (Harness h = new Harness(new LocalExecutor(m, parallel, KvCacheType.F32, 16, 64), config, null)) {
                h.runToEnd(step -> {
                    if (step == 0) {
                        for (int i = 0; i < prompts.size(); i++) {
                            h.add(new GenerateRequest("r" + i, prompts.get(i), GenerateParams.greedy(max)));
                        }
                    }
                });
                for (int i = 0; i < prompts.size(); i++) {
                    assertArrayEquals(TestModelsEngine.greedyAlone(m, parallel, prompts.get(i), max), h.tokens("r" + i, 0),
                            m.source() + " request " + i);
                }
                SpeculativeStats st = h.core.speculativeStats();
                assertTrue(st.acceptedTokens() > 0, m.source() + ": " + st);
                assertEquals(0, h.core.blocks().usedBlocks());
            }
        }
    }

    @Test
    void constrainedRequestsSpeculateAndStayValid() {
        Model m = stories.model();
        TokenConstraint digits = Constraints.compile(Constraints.regex("(12|34)+5", "guided_regex"),
                TokenVocabulary.of(stories.tokenizer()), "guided_regex");
        int[] prompt = stories.tokenizer().encode("Once upon a time, there was a little", true);
        List<GenerateRequest> requests = List.of(
                new GenerateRequest("c", prompt, GenerateParams.greedy(30).withConstraint(digits)),
                new GenerateRequest("free", prompt, GenerateParams.greedy(30)));
        List<Harness> runs = new ArrayList<>();
        for (SpeculativeConfig spec : new SpeculativeConfig[] {SpeculativeConfig.off(), SpeculativeConfig.ngram(4)}) {
            EngineConfig config = new EngineConfig(new SchedulerConfig(64, 8, 0.01), true,
                    new int[] {stories.tokenizer().eos()}, spec);
            Harness h = new Harness(new LocalExecutor(m, parallel, KvCacheType.F32, 16, 64), config,
                    Detokenizer.of(stories.tokenizer()));
            h.runToEnd(step -> {
                if (step == 0) {
                    requests.forEach(h::add);
                }
            });
            h.close();
            runs.add(h);
        }
        for (GenerateRequest r : requests) {
            assertArrayEquals(runs.get(0).tokens(r.id(), 0), runs.get(1).tokens(r.id(), 0), r.id());
            assertEquals(runs.get(0).text.get(r.id()).toString(), runs.get(1).text.get(r.id()).toString(), r.id());
        }
        String text = runs.get(1).text.get("c").toString();
        assertTrue(text.matches("(12|34)+5?"), text);
        assertTrue(runs.get(1).core.speculativeStats().proposedTokens() > 0);
    }

    @Test
    void draftModelOutputsAreThoseOfTheModelAlone() {
        // the target itself as its draft (every greedy proposal accepted), and its first layers
        Object[][] cases = {{stories.model(), stories.model(), 5}, {stories.model(), stories.model().firstLayers(2), 4},
            {synthetic, synthetic.firstLayers(1), 3}};
        for (Object[] c : cases) {
            Model m = (Model) c[0];
            Model draftModel = (Model) c[1];
            int k = (int) c[2];
            int vocab = m.config().vocabSize();
            List<int[]> prompts = new ArrayList<>(List.of(TestModelsEngine.prompts(41, vocab, 5, 23, 12)));
            prompts.add(periodic(42, vocab, 7, 30));
            int max = 36;
            EngineConfig config = new EngineConfig(new SchedulerConfig(64, 8, 0.01), true, new int[0],
                    SpeculativeConfig.ngram(k));
            try (DraftModelProposer draft = new DraftModelProposer(draftModel, parallel, KvCacheType.F32, 16, 40, vocab);
                    Harness run = new Harness(new LocalExecutor(m, parallel, KvCacheType.F32, 16, 64), config, null,
                            draft)) {
                run.runToEnd(step -> {
                    if (step == 0) {
                        for (int i = 0; i < prompts.size(); i++) {
                            run.add(new GenerateRequest("r" + i, prompts.get(i), GenerateParams.greedy(max)
                                    .withN(i == 0 ? 2 : 1)));
                        }
                    }
                });
                String name = m.source() + " with a draft of " + draftModel.config().layers() + " layers";
                for (int i = 0; i < prompts.size(); i++) {
                    int[] alone = TestModelsEngine.greedyAlone(m, parallel, prompts.get(i), max);
                    assertArrayEquals(alone, run.tokens("r" + i, 0), name + " request " + i);
                }
                assertArrayEquals(run.tokens("r0", 0), run.tokens("r0", 1), name + " second sample");
                SpeculativeStats st = run.core.speculativeStats();
                if (draftModel == m) {
                    assertEquals(st.proposedTokens(), st.acceptedTokens(), name + ": " + st);
                }
                assertTrue(st.acceptedTokens() > 0, name + ": " + st);
                assertEquals(0, draft.usedBlocks(), name + ": draft blocks left");
                assertEquals(0, run.core.blocks().usedBlocks());
            }
        }
    }

    @Test
    void aDraftWithAnotherTokenizerIsRefusedByName() throws Exception {
        var other = new SentencePieceBpeTokenizer(Llama2cTokenizerReader.read(
                TestModels.file("tokenizer-llama2-32k.bin")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DraftModelProposer.requireSameTokenizer(stories.tokenizer(), other, "llama2-draft.gguf"));
        assertEquals("--speculative-model llama2-draft.gguf does not share the model's tokenizer: its vocabulary has"
                + " 32000 tokens, the model's 512", e.getMessage());
        DraftModelProposer.requireSameTokenizer(stories.tokenizer(), stories.tokenizer(), "same");
    }
}
