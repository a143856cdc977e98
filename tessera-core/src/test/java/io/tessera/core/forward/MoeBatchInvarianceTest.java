package io.tessera.core.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.kernel.Parallel;
import io.tessera.core.model.Model;
import io.tessera.core.model.ModelLoader;
import io.tessera.core.model.WeightTypes;
import io.tessera.core.synth.ModelShape;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.synth.SyntheticVocabulary;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A mixture-of-experts model's logits for one sequence are the same bits whether the sequence runs
 * alone or shares its steps with others, whose tokens go to the same and to other experts: the
 * experts' grouped products and the fixed order of adding their outputs keep batch invariance.
 */
class MoeBatchInvarianceTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"F32", "Q8_0"})
    void aSequencesLogitsDoNotDependOnItsBatchMates(String type) throws Exception {
        ModelShape shape = ModelShape.named("tiny-moe");
        Path file = dir.resolve("tiny-moe-" + type + ".gguf");
        int vocab = shape.config().vocabSize();
        SyntheticModel.write(file, shape, SyntheticVocabulary.generate(vocab, 3), WeightTypes.parse(type), 3);
        Random random = new Random(5);
        int[] prompt = random.ints(19, 0, vocab).toArray();
        int[] other = random.ints(23, 0, vocab).toArray();
        int[] third = random.ints(7, 0, vocab).toArray();
        try (Model m = ModelLoader.load(file); Parallel p = new Parallel(2)) {
            DecoderForward forward = new DecoderForward(m, p);
            float[] alone = forward.forward(ForwardBatch.single(new int[] {0, 1}, prompt, 0, ForwardBatch.Logits.ALL),
                    new F32KvCache(m.config(), 8, 16));
            // the same prompt after another sequence's chunk and before a third one's, with other block tables
            ForwardBatch mixed = ForwardBatch.builder()
                    .add(new int[] {2, 3}, other, 0, ForwardBatch.Logits.ALL)
                    .add(new int[] {4, 5}, prompt, 0, ForwardBatch.Logits.ALL)
                    .add(new int[] {6}, third, 0, ForwardBatch.Logits.LAST)
                    .build();
            float[] shared = forward.forward(mixed, new F32KvCache(m.config(), 8, 16));
            float[] mine = Arrays.copyOfRange(shared, other.length * vocab, (other.length + prompt.length) * vocab);
            assertArrayEquals(alone, mine, type + ": the prompt's logits change with its batch mates");
            // decode one token of the prompt alone and beside another decode
            KvCache cache = new F32KvCache(m.config(), 8, 16);
            forward.forward(ForwardBatch.single(new int[] {0, 1}, prompt, 0, ForwardBatch.Logits.NONE), cache);
            forward.forward(ForwardBatch.single(new int[] {2, 3}, other, 0, ForwardBatch.Logits.NONE), cache);
            float[] step = forward.forward(ForwardBatch.builder()
                    .add(new int[] {0, 1}, new int[] {7}, prompt.length, ForwardBatch.Logits.LAST)
                    .add(new int[] {2, 3}, new int[] {9}, other.length, ForwardBatch.Logits.LAST).build(), cache);
            KvCache solo = new F32KvCache(m.config(), 8, 16);
            forward.forward(ForwardBatch.single(new int[] {0, 1}, prompt, 0, ForwardBatch.Logits.NONE), solo);
            float[] single = forward.forward(ForwardBatch.single(new int[] {0, 1}, new int[] {7}, prompt.length,
                    ForwardBatch.Logits.LAST), solo);
            assertArrayEquals(single, Arrays.copyOf(step, vocab), type + ": a decode step changes with its batch mate");
            assertTrue(Math.abs(single[0]) + Math.abs(single[1]) > 0, "logits were computed");
        }
    }
}
