package io.tessera.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.gguf.GgufWriter;
import io.tessera.core.synth.ModelShape;
import io.tessera.core.synth.SyntheticModel;
import io.tessera.core.synth.SyntheticVocabulary;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Mixture-of-experts hyperparameters out of range are refused naming the key or tensor at fault. */
class MoeValidationTest {

    @TempDir
    static Path dir;

    static Path good;

    @BeforeAll
    static void write() throws Exception {
        good = dir.resolve("tiny-moe.gguf");
        SyntheticModel.write(good, ModelShape.named("tiny-moe"), SyntheticVocabulary.generate(512, 3),
                WeightTypes.parse("F32"), 3);
    }

    private static String refused(String name, Consumer<GgufWriter> edit) throws Exception {
        return GgufEdits.refusal(good, dir, name, edit);
    }

    @Test
    void theUneditedCopyLoadsWithItsExperts() throws Exception {
        try (LoadedModel m = LoadedModel.open(GgufEdits.rewrite(good, dir.resolve("copy.gguf"), w -> { }), null)) {
            assertEquals(8, m.model().config().moe().experts());
        }
    }

    @Test
    void expertCountsAndGatingOutOfRangeAreNamed() throws Exception {
        String[][] cases = {
            {"one-expert", "llama.expert_count", "1"},
            {"too-many-experts", "llama.expert_count", "5000"},
            {"none-used", "llama.expert_used_count", "0"},
            {"more-used-than-experts", "llama.expert_used_count", "9"},
            {"unknown-gating", "llama.expert_gating_func", "7"},
        };
        for (String[] c : cases) {
            String m = refused(c[0], w -> w.putUInt32(c[1], Long.parseLong(c[2])));
            assertTrue(m.contains(c[1].substring("llama.".length())), c[0] + ": " + m);
        }
    }

    @Test
    void stackedExpertTensorsOfAnotherCountAreNamed() throws Exception {
        String m = refused("four-experts", w -> w.putUInt32("llama.expert_count", 4));
        assertTrue(m.contains("ffn_") && m.contains("exps"), m);
    }
}
